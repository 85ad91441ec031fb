import type { Session } from '../auth/jwt.ts';
import type { RequestLoaders } from '../loaders/index.ts';
import type { Logger } from '../logger.ts';
import type { PublishingService } from '../publishing/service.ts';
import type { LiveEvents } from '../pubsub/live.ts';
import type { SendService } from '../sends/service.ts';

/** What every resolver sees, whichever transport (HTTP, SSE, graphql-ws) carried the operation. */
export interface Context {
  readonly requestId: string;
  readonly logger: Logger;
  /** The Instagram Graph API version igql speaks. */
  readonly apiVersion: string;
  /**
   * igql's Instagram app id (`INSTAGRAM_APP_ID`, the simulator's in sandbox mode); '' if unknown.
   * Not the app of every account: an account of Facebook Login is the Facebook app's, so thread
   * ownership asks `loaders.ownAppId`, by the account's configuration.
   */
  readonly appId: string;
  /** The verified igql session, or null for an anonymous request. */
  readonly session: Session | null;
  /** This request's reads: authorised per account, batched, deduplicated. */
  readonly loaders: RequestLoaders;
  readonly now: () => number;
  /** Sends through the Send API: idempotent and rate limited per account. */
  readonly sends: SendService;
  /** Inbox events for subscriptions: resumable, in order. */
  readonly live: LiveEvents;
  /** `publishMedia`'s jobs: queued, polled in the background, published. */
  readonly publishing: PublishingService;
  /** The session is still valid: not expired, not revoked (subscriptions check it per event). */
  readonly stillValid: () => Promise<boolean>;
}
