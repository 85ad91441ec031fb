import type { Logger } from '../logger.ts';

/** What every resolver sees, whichever transport (HTTP, SSE, graphql-ws) carried the operation. */
export interface Context {
  readonly requestId: string;
  readonly logger: Logger;
  /** The Instagram Graph API version igql speaks. */
  readonly apiVersion: string;
}
