import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis.ts';

/**
 * One holder at a time per account, across every instance: token refresh and reconciliation
 * each take one, so that an account is refreshed, or reconciled, by one instance at a time.
 */
export interface AccountLock {
  /** True when this caller now holds the account's lock, for at most `ttlMs`. */
  acquire(igId: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock if this caller still holds it; never someone else's. */
  release(igId: string): Promise<void>;
}

/** One instance only: keeps a process's own holders apart. */
export class MemoryAccountLock implements AccountLock {
  readonly #held = new Map<string, number>();
  readonly #now: () => number;

  /** `now`: default `Date.now`. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async acquire(igId: string, ttlMs: number): Promise<boolean> {
    if ((this.#held.get(igId) ?? 0) > this.#now()) return false;
    this.#held.set(igId, this.#now() + ttlMs);
    return true;
  }

  async release(igId: string): Promise<void> {
    this.#held.delete(igId);
  }
}

/** Deletes the lock only if it still holds our value (it may have expired and passed on). */
const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Shared by every instance: `SET <key(igId)> <random> NX PX <ttl>`, released with a
 * compare-and-delete. The client stays the caller's to connect and close.
 */
export class RedisAccountLock implements AccountLock {
  readonly #client: RedisClient;
  readonly #key: (igId: string) => string;
  readonly #values = new Map<string, string>();

  /**
   * `key`: the lock's key for an igId (or the id locked), from src/keys.ts, such as
   * `(igId) => refreshLockKey(prefix, igId)`; no default.
   */
  constructor(client: RedisClient, key: (igId: string) => string) {
    this.#client = client;
    this.#key = key;
  }

  async acquire(igId: string, ttlMs: number): Promise<boolean> {
    const value = randomBytes(16).toString('hex');
    const reply = await this.#client.set(this.#key(igId), value, {
      condition: 'NX',
      expiration: { type: 'PX', value: ttlMs },
    });
    if (reply !== 'OK') return false;
    this.#values.set(igId, value);
    return true;
  }

  async release(igId: string): Promise<void> {
    const value = this.#values.get(igId);
    if (value === undefined) return;
    this.#values.delete(igId);
    await this.#client.eval(COMPARE_AND_DELETE, { keys: [this.#key(igId)], arguments: [value] });
  }
}
