import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis.ts';

/**
 * Remembers event identities (`InboxEventBase.identity`) so a redelivered event is published
 * once. Meta retries for up to 36 hours (REFERENCE.md), so keep identities for longer.
 */
export interface Deduper {
  /**
   * True the first time `identity` is seen within the TTL, false for every repeat; of several
   * concurrent calls for one identity, on any instance, exactly one is true. Rejects when the
   * store cannot be reached.
   */
  firstSeen(identity: string): Promise<boolean>;
  /**
   * Forgets `identity`, so its next delivery is first seen again: for an event that was seen
   * but could not be stored, whose redelivery must not be taken for a duplicate.
   */
  forget(identity: string): Promise<void>;
}

/** 48 hours: longer than Meta's 36 hours of retries. */
export const DEDUPE_TTL_SECONDS = 48 * 60 * 60;

export interface MemoryDeduperOptions {
  /** How long an identity is remembered, in ms. Default 48 h (`DEDUPE_TTL_SECONDS`). */
  readonly ttlMs?: number;
  /**
   * Identities kept at most; past it the oldest is forgotten early (a redelivery of it would
   * then pass again). Default 100,000.
   */
  readonly maxEntries?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

/** One instance's memory: dedupes within this process only. */
export class MemoryDeduper implements Deduper {
  /** identity → expiry; insertion order is expiry order, as every entry gets the same TTL. */
  private readonly seen = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryDeduperOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEDUPE_TTL_SECONDS * 1000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  async firstSeen(identity: string): Promise<boolean> {
    const now = this.now();
    for (const [key, expiresAt] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(key);
    }
    if (this.seen.has(identity)) return false;
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(identity, now + this.ttlMs);
    return true;
  }

  async forget(identity: string): Promise<void> {
    this.seen.delete(identity);
  }
}

/**
 * Shared by every instance: `SET <prefix>:dedupe:<sha256(identity)> 1 NX EX <ttlSeconds>`, atomic
 * in Redis, so concurrent deliveries to two instances publish once. The client stays the
 * caller's to connect and close.
 */
export class RedisDeduper implements Deduper {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  /** `prefix`: the deployment's key prefix (no default). `ttlSeconds`: default 48 h. */
  constructor(client: RedisClient, prefix: string, ttlSeconds = DEDUPE_TTL_SECONDS) {
    this.client = client;
    this.prefix = prefix;
    this.ttlSeconds = ttlSeconds;
  }

  async firstSeen(identity: string): Promise<boolean> {
    const reply = await this.client.set(this.key(identity), '1', {
      condition: 'NX',
      expiration: { type: 'EX', value: this.ttlSeconds },
    });
    return reply === 'OK';
  }

  async forget(identity: string): Promise<void> {
    await this.client.del(this.key(identity));
  }

  private key(identity: string): string {
    return `${this.prefix}:dedupe:${createHash('sha256').update(identity).digest('hex')}`;
  }
}
