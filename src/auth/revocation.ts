import type { RedisClient } from '../redis.ts';

/**
 * Revoked sessions (logout) and one-time ids (OAuth `state`), shared by every instance through
 * Redis, or in memory for one instance.
 */
export interface Revocations {
  /** Revokes a session (`sid`) for `ttlMs`: as long as any of its tokens could still be valid. */
  revoke(sid: string, ttlMs: number): Promise<void>;
  isRevoked(sid: string): Promise<boolean>;
  /** Marks a one-time id used; false when it had been used already. */
  useOnce(id: string, ttlMs: number): Promise<boolean>;
}

export interface MemoryRevocationsOptions {
  /** The clock revocations and one-time ids expire by. Default `Date.now`. */
  readonly now?: () => number;
}

export class MemoryRevocations implements Revocations {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;

  constructor(options: MemoryRevocationsOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async revoke(sid: string, ttlMs: number): Promise<void> {
    this.#until.set(`sid:${sid}`, this.#now() + ttlMs);
  }

  async isRevoked(sid: string): Promise<boolean> {
    return (this.#until.get(`sid:${sid}`) ?? 0) > this.#now();
  }

  async useOnce(id: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
    if ((this.#until.get(`once:${id}`) ?? 0) > now) return false;
    this.#until.set(`once:${id}`, now + ttlMs);
    return true;
  }
}

export class RedisRevocations implements Revocations {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  async revoke(sid: string, ttlMs: number): Promise<void> {
    await this.#client.set(`${this.#prefix}:revoked:${sid}`, '1', {
      expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
    });
  }

  async isRevoked(sid: string): Promise<boolean> {
    return (await this.#client.exists(`${this.#prefix}:revoked:${sid}`)) === 1;
  }

  async useOnce(id: string, ttlMs: number): Promise<boolean> {
    const set = await this.#client.set(`${this.#prefix}:once:${id}`, '1', {
      condition: 'NX',
      expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
    });
    return set === 'OK';
  }
}

export interface CachedRevocationsOptions {
  /** How long a "not revoked" answer is kept, in ms. Default 1000. */
  readonly ttlMs?: number;
  /** The clock cached answers expire by. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Remembers for `ttlMs` (default 1 s) that a session is not revoked, so that a subscription's
 * check on every event does not cost a Redis call per subscriber. A revocation made through it
 * takes effect here at once, on other instances within `ttlMs`.
 */
export class CachedRevocations implements Revocations {
  readonly #inner: Revocations;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #valid = new Map<string, number>();

  constructor(inner: Revocations, options: CachedRevocationsOptions = {}) {
    this.#inner = inner;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  async revoke(sid: string, ttlMs: number): Promise<void> {
    this.#valid.delete(sid);
    await this.#inner.revoke(sid, ttlMs);
  }

  async isRevoked(sid: string): Promise<boolean> {
    const now = this.#now();
    if ((this.#valid.get(sid) ?? 0) > now) return false;
    const revoked = await this.#inner.isRevoked(sid);
    if (!revoked) {
      if (this.#valid.size > 100_000) this.#valid.clear();
      this.#valid.set(sid, now + this.#ttlMs);
    }
    return revoked;
  }

  useOnce(id: string, ttlMs: number): Promise<boolean> {
    return this.#inner.useOnce(id, ttlMs);
  }
}
