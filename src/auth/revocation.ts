import { type Keyspace, keyspace, onceKey, revokedKey } from '../keys.ts';
import type { Logger } from '../logger.ts';
import { isCluster, type RedisClient, replicated } from '../redis.ts';

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
  readonly #keys: Keyspace;

  constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#keys = keyspace(prefix, isCluster(client));
  }

  async revoke(sid: string, ttlMs: number): Promise<void> {
    const key = revokedKey(this.#keys, sid);
    await this.#client.set(key, '1', {
      expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
    });
    // On a cluster, held by a replica too: a logout lost in a failover would bring the session
    // back for as long as its tokens live.
    await replicated(this.#client, key);
  }

  async isRevoked(sid: string): Promise<boolean> {
    return (await this.#client.exists(revokedKey(this.#keys, sid))) === 1;
  }

  async useOnce(id: string, ttlMs: number): Promise<boolean> {
    const key = onceKey(this.#keys, id);
    const set = await this.#client.set(key, '1', {
      condition: 'NX',
      expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) },
    });
    // Replicated as well: one round trip per login, and an id used before a failover is not
    // usable again after it.
    if (set === 'OK') await replicated(this.#client, key);
    return set === 'OK';
  }
}

/** How long revocation checks fail open while the store is unreachable (see `CachedRevocations`). */
export const REVOCATION_FAIL_OPEN_MS = 60_000;

export interface CachedRevocationsOptions {
  /** How long a "not revoked" answer is kept, in ms. Default 1000. */
  readonly ttlMs?: number;
  /**
   * How long, from the first check that failed, an unreachable store answers "not revoked"
   * before checks fail (rethrow). Default `REVOCATION_FAIL_OPEN_MS` (60 s).
   */
  readonly failOpenMs?: number;
  /** Told once per outage that checks fail open. */
  readonly logger?: Logger;
  /** The clock cached answers expire by. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Remembers for `ttlMs` (default 1 s) that a session is not revoked, so that a subscription's
 * check on every event does not cost a Redis call per subscriber. A revocation made through it
 * takes effect here at once, on other instances within `ttlMs`.
 *
 * While the store is unreachable (a Redis blip), checks **fail open** for `failOpenMs` (60 s)
 * from the first one that failed, so that live subscriptions outlast the blip: a session this
 * instance saw revoked stays revoked, any other reads as not revoked. Past that, checks reject
 * with the store's error (fail closed) until it answers again, which ends the outage.
 */
export class CachedRevocations implements Revocations {
  readonly #inner: Revocations;
  readonly #ttlMs: number;
  readonly #failOpenMs: number;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #valid = new Map<string, number>();
  /** Sessions seen revoked, until when: they stay revoked while the store is unreachable. */
  readonly #revoked = new Map<string, number>();
  /** When the first check of the current outage failed; null while the store answers. */
  #failingSince: number | null = null;

  constructor(inner: Revocations, options: CachedRevocationsOptions = {}) {
    this.#inner = inner;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#failOpenMs = options.failOpenMs ?? REVOCATION_FAIL_OPEN_MS;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async revoke(sid: string, ttlMs: number): Promise<void> {
    this.#valid.delete(sid);
    this.#remember(this.#revoked, sid, this.#now() + ttlMs);
    await this.#inner.revoke(sid, ttlMs);
  }

  async isRevoked(sid: string): Promise<boolean> {
    const now = this.#now();
    if ((this.#valid.get(sid) ?? 0) > now) return false;
    let revoked: boolean;
    try {
      revoked = await this.#inner.isRevoked(sid);
    } catch (error) {
      if ((this.#revoked.get(sid) ?? 0) > now) return true;
      if (this.#failingSince === null) {
        this.#failingSince = now;
        this.#logger?.warn(
          { err: error, failOpenMs: this.#failOpenMs },
          'session revocations unreachable: sessions are taken as not revoked for at most failOpenMs',
        );
      }
      if (now - this.#failingSince < this.#failOpenMs) return false;
      throw error;
    }
    this.#failingSince = null;
    // How long it stays revoked is the store's to know: remembered until the map is cleared.
    if (revoked) this.#remember(this.#revoked, sid, Number.POSITIVE_INFINITY);
    else this.#remember(this.#valid, sid, now + this.#ttlMs);
    return revoked;
  }

  useOnce(id: string, ttlMs: number): Promise<boolean> {
    return this.#inner.useOnce(id, ttlMs);
  }

  #remember(map: Map<string, number>, sid: string, until: number): void {
    if (map.size > 100_000) map.clear();
    map.set(sid, until);
  }
}
