import type { InstagramClient } from '../instagram/client.ts';
import { InstagramError } from '../instagram/errors.ts';
import type { AccountLock } from '../lock.ts';
import type { Logger } from '../logger.ts';
import type { StoredAccount, TokenStore } from './token-store.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Instagram refreshes a long-lived token only once it is at least 24 hours old (RAT). */
export const MIN_REFRESH_AGE_MS = DAY;

export interface TokenRefresherOptions {
  readonly tokens: TokenStore;
  /**
   * The Instagram client the refresh goes through (time-out, metrics, error mapping); a refused
   * token (190), or one that expired before its refresh, is reported through its
   * `onTokenRejected`. No default.
   */
  readonly client: InstagramClient;
  /** Logs refreshes and failures by igId; never a token. */
  readonly logger: Logger;
  /** Keeps two instances from refreshing one account at once. */
  readonly lock: AccountLock;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Refresh a token once it expires within this many ms (and is at least 24 hours old).
   * Default 7 days.
   */
  readonly refreshWithinMs?: number;
  /** How long one account's lock lasts; longer than a call may take. Default 60 000 ms. */
  readonly lockTtlMs?: number;
}

/** What one pass did, by igId. Accounts another instance refreshed appear in neither list. */
export interface RefreshResult {
  readonly refreshed: string[];
  readonly failed: string[];
}

/**
 * Keeps long-lived Instagram tokens alive (instagram-api.md §5): each pass refreshes every
 * ACTIVE account whose token is at least 24 hours old and expires within `refreshWithinMs`,
 * one account after the other, under a per-account lock. Accounts of Facebook Login are left
 * alone: their Page token, from a long-lived user token, does not expire ("Long-Lived Access
 * Tokens", developers.facebook.com) and has no refresh; a refusal (190) on use marks the account
 * REAUTH_REQUIRED, and logging in with Facebook again stores a new one.
 */
export class TokenRefresher {
  readonly #o: TokenRefresherOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RefreshResult> | undefined;

  constructor(options: TokenRefresherOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** One pass over every account; one account's failure never stops the others. */
  refreshDue(): Promise<RefreshResult> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs a pass now, then every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    const run = () =>
      void this.refreshDue().catch((err: unknown) =>
        this.#o.logger.warn({ err }, 'token refresh pass failed'),
      );
    this.#timer = setInterval(run, intervalMs);
    this.#timer.unref();
    run();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  async #pass(): Promise<RefreshResult> {
    const refreshed: string[] = [];
    const failed: string[] = [];
    for (const account of await this.#o.tokens.list()) {
      if (account.loginKind === 'FACEBOOK') continue;
      const { igId } = account;
      try {
        if (this.#expired(account)) {
          failed.push(igId);
          await this.#o.client.reportTokenRejected(
            igId,
            'The Instagram token expired before it was refreshed',
          );
        } else if (this.#due(account) && (await this.#refreshLocked(account))) {
          refreshed.push(igId);
        }
      } catch (error) {
        // A refused token (190) was reported by the client: the account is no longer ACTIVE.
        failed.push(igId);
        this.#o.logger.warn({ err: error, igId }, 'instagram token refresh failed');
      }
    }
    return { refreshed, failed };
  }

  #expired(account: StoredAccount): boolean {
    return (
      account.status === 'ACTIVE' &&
      account.expiresAt !== undefined &&
      account.expiresAt <= this.#now()
    );
  }

  /** Unknown `issuedAt` counts as old enough: a token near its end is weeks old. */
  #due(account: StoredAccount): boolean {
    const now = this.#now();
    const within = this.#o.refreshWithinMs ?? 7 * DAY;
    return (
      account.status === 'ACTIVE' &&
      account.expiresAt !== undefined &&
      account.expiresAt > now &&
      account.expiresAt - now <= within &&
      (account.issuedAt === undefined || now - account.issuedAt >= MIN_REFRESH_AGE_MS)
    );
  }

  /** True when this call refreshed the token; false when another instance has it in hand. */
  async #refreshLocked(listed: StoredAccount): Promise<boolean> {
    const { igId } = listed;
    if (!(await this.#o.lock.acquire(igId, this.#o.lockTtlMs ?? 60_000))) return false;
    try {
      // Another instance may have refreshed it between our list and our lock.
      const current = await this.#o.tokens.get(igId);
      if (
        !current ||
        current.loginKind === 'FACEBOOK' ||
        current.issuedAt !== listed.issuedAt ||
        !this.#due(current)
      ) {
        return false;
      }
      const answer = await this.#call(igId, current.accessToken);
      const now = this.#now();
      const expiresAt = now + answer.expires_in * 1000;
      if (!(await this.#o.tokens.replaceToken(igId, answer.access_token, now, expiresAt))) {
        // A Facebook login stored the account's Page token meanwhile (or it was removed): the
        // store kept that record, and the refreshed Instagram token is dropped.
        this.#o.logger.info(
          { igId },
          'instagram token refreshed but not stored: the account changed meanwhile',
        );
        return false;
      }
      this.#o.logger.info(
        { igId, expiresAt: new Date(expiresAt).toISOString() },
        'instagram token refreshed',
      );
      return true;
    } finally {
      await this.#o.lock
        .release(igId)
        .catch((err: unknown) => this.#o.logger.warn({ err, igId }, 'refresh lock release failed'));
    }
  }

  /**
   * `GET <graph>/refresh_access_token?grant_type=ig_refresh_token&access_token=…`, unversioned,
   * the token in the query as Meta documents it; never retried (each call issues a token).
   */
  async #call(igId: string, token: string): Promise<{ access_token: string; expires_in: number }> {
    const answer = await this.#o.client.call<{ access_token?: unknown; expires_in?: unknown }>({
      method: 'GET',
      versioned: false,
      path: 'refresh_access_token',
      endpoint: '/refresh_access_token',
      igId,
      query: { grant_type: 'ig_refresh_token' },
      credentials: { access_token: token },
      retry: false,
    });
    if (
      typeof answer.access_token !== 'string' ||
      answer.access_token === '' ||
      typeof answer.expires_in !== 'number' ||
      answer.expires_in <= 0
    ) {
      throw new InstagramError({
        kind: 'transient',
        message: 'Instagram answered a token refresh without access_token and expires_in',
      });
    }
    return { access_token: answer.access_token, expires_in: answer.expires_in };
  }
}
