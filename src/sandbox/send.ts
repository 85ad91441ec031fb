import type { SimAccount, SimToken, Store } from './store.ts';
import type { WebhookSink } from './webhook-sink.ts';

export interface SendContext {
  readonly store: Store;
  /** The account the token belongs to (the `<IG_ID>` of the path, or `me`). */
  readonly account: SimAccount;
  readonly token: SimToken;
  readonly webhooks: WebhookSink;
}

/**
 * `POST /<IG_ID>/messages` and `POST /me/messages`: validates the body as Instagram does and
 * returns the response body, or throws a `GraphError`. `body` is the request's JSON object
 * (form-encoded bodies arrive already decoded, with JSON-valued fields parsed).
 */
export function handleSend(_ctx: SendContext, _body: Record<string, unknown>): Record<string, unknown> {
  throw new Error('not implemented yet');
}
