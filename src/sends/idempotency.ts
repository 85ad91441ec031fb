import { setTimeout as sleep } from 'node:timers/promises';
import { idempotencyKey, type Keyspace, keyspace } from '../keys.ts';
import { isCluster, isRedisOutage, type RedisClient, replicated } from '../redis.ts';

/** How long a result is replayed (Stripe keeps 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/**
 * The longest idempotency key accepted, in characters (Stripe's bound): a longer one is refused
 * as invalid input before anything is stored under it.
 */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** How long an attempt may stay in flight before another may take the key over. */
export const PENDING_TTL_MS = 30_000;
/** How long a send's result is written again through a Redis outage (half the claim's life). */
export const COMPLETE_RETRY_MS = 15_000;

export type Claim =
  /** The caller owns the key: send, then `complete` or `release`. */
  | { readonly kind: 'new' }
  /** An earlier attempt with the same content finished: answer its result again. */
  | { readonly kind: 'replay'; readonly result: string }
  /** The key was used for different content. */
  | { readonly kind: 'conflict' };

/**
 * Idempotency keys (scoped by the caller: user, account, key), each of the account `igId` that
 * sends. Identical requests that race wait for the first and get its result; the same key with
 * other content is a conflict.
 */
export interface IdempotencyStore {
  claim(igId: string, key: string, fingerprint: string): Promise<Claim>;
  /** Stores the result of an attempt that reached Instagram, for 24 hours. */
  complete(igId: string, key: string, fingerprint: string, result: string): Promise<void>;
  /** Forgets an attempt that stored nothing (invalid input, rate limited): the key may be retried. */
  release(igId: string, key: string): Promise<void>;
}

interface Entry {
  readonly f: string;
  readonly r?: string;
}

/** One instance only. The igId is not needed: the key is scoped by it already. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #entries = new Map<
    string,
    Entry & { expires: number; done: Promise<void>; settle: () => void }
  >();
  readonly #now: () => number;

  /** `now`: the clock records expire by. Default `Date.now`. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async claim(_igId: string, key: string, fingerprint: string): Promise<Claim> {
    this.#sweep();
    for (;;) {
      const entry = this.#entries.get(key);
      if (!entry || entry.expires < this.#now()) {
        let settle = () => {};
        const done = new Promise<void>((resolve) => {
          settle = resolve;
        });
        this.#entries.set(key, {
          f: fingerprint,
          expires: this.#now() + PENDING_TTL_MS,
          done,
          settle,
        });
        return { kind: 'new' };
      }
      if (entry.f !== fingerprint) return { kind: 'conflict' };
      if (entry.r !== undefined) return { kind: 'replay', result: entry.r };
      // Wait for the first attempt; a pending entry older than its TTL is taken over.
      const abandoned = new AbortController();
      await Promise.race([
        entry.done,
        sleep(Math.max(0, entry.expires - this.#now()), undefined, {
          signal: abandoned.signal,
        }).catch(() => {}),
      ]);
      abandoned.abort();
    }
  }

  /** Drops expired entries: the map is in insertion order, so the oldest come first. */
  #sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expires >= now) break;
      this.#entries.delete(key);
    }
  }

  async complete(_igId: string, key: string, fingerprint: string, result: string): Promise<void> {
    const entry = this.#entries.get(key);
    // Re-inserted at the end: the map stays roughly in order of expiry for the sweep.
    this.#entries.delete(key);
    this.#entries.set(key, {
      f: fingerprint,
      r: result,
      expires: this.#now() + IDEMPOTENCY_TTL_MS,
      done: Promise.resolve(),
      settle: () => {},
    });
    entry?.settle();
  }

  async release(_igId: string, key: string): Promise<void> {
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    entry?.settle();
  }
}

/** Shared by every instance: `SET NX` claims, waiters poll until the result is stored. */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;

  constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#keys = keyspace(prefix, isCluster(client));
  }

  async claim(igId: string, key: string, fingerprint: string): Promise<Claim> {
    const name = idempotencyKey(this.#keys, igId, key);
    const deadline = Date.now() + PENDING_TTL_MS;
    for (;;) {
      const set = await this.#client.set(name, JSON.stringify({ f: fingerprint }), {
        condition: 'NX',
        expiration: { type: 'PX', value: PENDING_TTL_MS },
      });
      if (set === 'OK') {
        // On a cluster, held by a replica too before Instagram is called: a failover then
        // cannot forget the claim and let a retry send a second time.
        await replicated(this.#client, name);
        return { kind: 'new' };
      }
      const raw = await this.#client.get(name);
      if (raw !== null) {
        const entry = JSON.parse(raw) as Entry;
        if (entry.f !== fingerprint) return { kind: 'conflict' };
        if (entry.r !== undefined) return { kind: 'replay', result: entry.r };
      }
      if (Date.now() > deadline) throw new Error('idempotency key stayed pending too long');
      await sleep(20);
    }
  }

  /**
   * The send went out: its result must be recorded, or a retry would send again once the claim
   * lapses. While Redis is unreachable (a restart, a cluster failover: seconds), it is written
   * again with backoff for up to `COMPLETE_RETRY_MS`, well within the claim's lifetime, before
   * the caller hears the outage.
   */
  async complete(igId: string, key: string, fingerprint: string, result: string): Promise<void> {
    const value = JSON.stringify({ f: fingerprint, r: result });
    const name = idempotencyKey(this.#keys, igId, key);
    const deadline = Date.now() + COMPLETE_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#client.set(name, value, {
          expiration: { type: 'PX', value: IDEMPOTENCY_TTL_MS },
        });
        break;
      } catch (error) {
        if (!isRedisOutage(error) || Date.now() >= deadline) throw error;
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
    await replicated(this.#client, name);
  }

  async release(igId: string, key: string): Promise<void> {
    await this.#client.del(idempotencyKey(this.#keys, igId, key));
  }
}
