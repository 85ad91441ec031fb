import type { InboxEventData } from '../inbox/events.ts';
import type { Logger } from '../logger.ts';
import type { TokenStore } from './token-store.ts';

/**
 * What happens when Instagram refuses an account's token (190): the account needs a new login.
 * Its status becomes `REAUTH_REQUIRED` (every later operation answers so without calling
 * Instagram), and subscribers get an `AccountStatusChangedEvent`.
 */
export class AccountStatusService {
  readonly #tokens: TokenStore;
  readonly #publish: (events: InboxEventData[]) => Promise<unknown>;
  readonly #logger: Logger;
  readonly #now: () => number;

  /** `publish`: the event pipeline's `ingest` (dedupe, log, bus). `now`: default `Date.now`. */
  constructor(
    tokens: TokenStore,
    publish: (events: InboxEventData[]) => Promise<unknown>,
    logger: Logger,
    now: () => number = Date.now,
  ) {
    this.#tokens = tokens;
    this.#publish = publish;
    this.#logger = logger;
    this.#now = now;
  }

  /**
   * Marks the account and tells subscribers, once per token: the event's identity names the
   * token (its issue time), so racing callers, here or on other instances, dedupe to one event.
   */
  async tokenRejected(igId: string, reason: string): Promise<void> {
    const stored = await this.#tokens.get(igId);
    if (!stored || stored.status === 'REAUTH_REQUIRED') return;
    await this.#tokens.setStatus(igId, 'REAUTH_REQUIRED');
    this.#logger.warn({ igId, reason }, 'instagram refused the account token: re-login required');
    await this.#publish([
      {
        kind: 'ACCOUNT_STATUS_CHANGED',
        igId,
        igsid: null,
        occurredAt: this.#now(),
        identity: `${igId}|ACCOUNT_STATUS_CHANGED|REAUTH_REQUIRED|token issued ${stored.issuedAt ?? 0}|`,
        standby: false,
        status: 'REAUTH_REQUIRED',
        reason,
      },
    ]);
  }
}
