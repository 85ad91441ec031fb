import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis.ts';

/**
 * Instagram's documented per-account limits (RL) that igql keeps itself, and the window each is
 * counted over: the Send API's, and the Conversations API's for reads.
 */
export const ACCOUNT_LIMITS = {
  /** Text, links, reactions, stickers, templates, sender actions: 100 a second. */
  send: { limit: 100, windowMs: 1000 },
  /** Audio and video: 10 a second. */
  sendMedia: { limit: 10, windowMs: 1000 },
  /** Private replies to comments on posts and reels: 750 an hour. */
  privateReplies: { limit: 750, windowMs: 3_600_000 },
  /** Conversations API reads (conversation lists, conversations, messages): 2 a second. */
  conversationReads: { limit: 2, windowMs: 1000 },
} as const;

/** A limit of `ACCOUNT_LIMITS`, counted per account. */
export type Bucket = keyof typeof ACCOUNT_LIMITS;

/** The buckets a send is counted in. */
export type SendBucket = Exclude<Bucket, 'conversationReads'>;

/**
 * Added to every window: Instagram counts a call when it arrives, a little after igql takes its
 * slot, and arrivals jitter; without it a call admitted at the window's edge gets 613 or 80002.
 */
export const ARRIVAL_MARGIN_MS = 100;

/** Per-account sliding windows: `take` admits a call (0) or says how long to wait (ms). */
export interface RateLimiter {
  take(igId: string, bucket: Bucket): Promise<number>;
}

/** One instance only. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #calls = new Map<string, number[]>();
  readonly #limits: typeof ACCOUNT_LIMITS;
  readonly #now: () => number;

  /** `limits`: default `ACCOUNT_LIMITS`; `now`: the clock windows slide by, default `Date.now`. */
  constructor(limits: typeof ACCOUNT_LIMITS = ACCOUNT_LIMITS, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  async take(igId: string, bucket: Bucket): Promise<number> {
    const { limit } = this.#limits[bucket];
    const windowMs = this.#limits[bucket].windowMs + ARRIVAL_MARGIN_MS;
    const now = this.#now();
    const key = `${igId}:${bucket}`;
    const calls = (this.#calls.get(key) ?? []).filter((t) => t > now - windowMs);
    this.#calls.set(key, calls);
    if (calls.length < limit) {
      calls.push(now);
      return 0;
    }
    return (calls[calls.length - limit] ?? now) + windowMs - now;
  }
}

// A sliding-window log in a sorted set, timed by Redis itself so instances' clocks never matter.
const TAKE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/** Shared by every instance, so igql refuses before Instagram would. */
export class RedisRateLimiter implements RateLimiter {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #limits: typeof ACCOUNT_LIMITS;
  #sequence = 0;

  /** `prefix`: the key prefix (`REDIS_PREFIX`), no default; `limits`: `ACCOUNT_LIMITS`. */
  constructor(client: RedisClient, prefix: string, limits: typeof ACCOUNT_LIMITS = ACCOUNT_LIMITS) {
    this.#client = client;
    this.#prefix = prefix;
    this.#limits = limits;
  }

  async take(igId: string, bucket: Bucket): Promise<number> {
    const { limit } = this.#limits[bucket];
    const windowMs = this.#limits[bucket].windowMs + ARRIVAL_MARGIN_MS;
    const member = `${process.pid}:${Date.now()}:${this.#sequence++}:${Math.random()}`;
    const wait = await this.#client.eval(TAKE, {
      keys: [`${this.#prefix}:ratelimit:${igId}:${bucket}`],
      arguments: [String(windowMs), String(limit), member],
    });
    return Number(wait);
  }
}

/**
 * Admits a call, queueing briefly (up to `maxWaitMs`, default 250 ms) when the account is at its
 * limit; resolves with 0, or with the wait that was too long (the caller refuses with it).
 */
export async function admit(
  limiter: RateLimiter,
  igId: string,
  bucket: Bucket,
  maxWaitMs = 250,
): Promise<number> {
  for (;;) {
    const wait = await limiter.take(igId, bucket);
    if (wait === 0) return 0;
    if (wait > maxWaitMs) return wait;
    await sleep(wait);
  }
}
