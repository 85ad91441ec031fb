import { setTimeout as sleep } from 'node:timers/promises';
import { type Keyspace, keyspace, rateLimitKey } from '../keys.ts';
import { isCluster, type RedisClient } from '../redis.ts';

/**
 * Instagram's documented per-account limits (RL) that igql keeps itself, and the window each is
 * counted over: the Send API's, and the Conversations API's for reads. They are the same for both
 * configurations but one: Facebook Login's Send API takes 300 text sends a second.
 */
export const ACCOUNT_LIMITS = {
  /**
   * Text, links, reactions, stickers (RL's 100 a second), and every other write igql counts as
   * a send: images, files, templates, quick replies, shares, sender actions, uploads, thread
   * control, the messaging profile, welcome flows.
   */
  send: { limit: 100, windowMs: 1000 },
  /**
   * Text, links, reactions and stickers of an account of Facebook Login: 300 a second (Messenger
   * Platform rate limiting, "Messenger API for Instagram": "300 calls per second per Instagram
   * Professional account for messages that contain text, links, reactions, and stickers"). Its
   * other sends stay in `send` at 100 a second: Meta names no other limit for them (UNCONFIRMED,
   * the stricter choice; the simulator counts them the same way).
   */
  sendFacebookLogin: { limit: 300, windowMs: 1000 },
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
 * What a send counts against whatever the account's configuration: `text` for the messages
 * Meta's higher Facebook Login limit names (text, links, reactions, stickers), else its bucket.
 */
export type SendLimit = 'text' | Exclude<SendBucket, 'sendFacebookLogin'>;

/**
 * The bucket of a send of the account `auth` names: `text` is Facebook Login's 300 a second for
 * an account reached through its Page (`pageId`: graph.facebook.com), else the 100 of `send`.
 */
export const sendBucketFor = (limit: SendLimit, auth: { readonly pageId?: string }): SendBucket =>
  limit !== 'text' ? limit : auth.pageId === undefined ? 'send' : 'sendFacebookLogin';

/**
 * Added to every window: Instagram counts a call when it arrives, a little after igql takes its
 * slot, and arrivals jitter; without it a call admitted at the window's edge gets 613 or 80002.
 */
export const ARRIVAL_MARGIN_MS = 100;

/**
 * What `take` answered: a slot taken, `waitMs` from now (0: at once), or none taken because the
 * next one is further away than the caller would wait (`retryAfterMs` away).
 */
export type Slot =
  | { readonly taken: true; readonly waitMs: number }
  | { readonly taken: false; readonly retryAfterMs: number };

/**
 * Per-account sliding windows whose slots may be taken ahead: a call that takes the next slot,
 * even a future one, holds it, so concurrent callers get successive slots and a caller is
 * refused at once, never after waiting, when its slot would be too far away.
 */
export interface RateLimiter {
  /** Takes the next slot of the account's bucket if it is at most `maxWaitMs` (default 0) away. */
  take(igId: string, bucket: Bucket, maxWaitMs?: number): Promise<Slot>;
}

/** The answer for a slot `waitMs` away: taken within `maxWaitMs`, refused beyond. */
const slot = (waitMs: number, maxWaitMs: number): Slot =>
  waitMs <= maxWaitMs ? { taken: true, waitMs } : { taken: false, retryAfterMs: waitMs };

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

  async take(igId: string, bucket: Bucket, maxWaitMs = 0): Promise<Slot> {
    const { limit } = this.#limits[bucket];
    const windowMs = this.#limits[bucket].windowMs + ARRIVAL_MARGIN_MS;
    const now = this.#now();
    const key = `${igId}:${bucket}`;
    // The times of calls made or to be made, in order: slots are taken in order.
    const calls = (this.#calls.get(key) ?? []).filter((t) => t > now - windowMs);
    this.#calls.set(key, calls);
    const at = calls.length < limit ? now : Math.max(now, (calls.at(-limit) ?? now) + windowMs);
    const answer = slot(at - now, maxWaitMs);
    if (answer.taken) calls.push(at);
    return answer;
  }
}

// A sliding-window log of slots (taken ahead) in a sorted set, timed by Redis itself so
// instances' clocks never matter. Answers {1, wait} for a slot taken, {0, wait} for one refused.
const TAKE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local at = now
if redis.call('ZCARD', KEYS[1]) >= limit then
  local nth = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
  at = math.max(now, tonumber(nth[2]) + window)
end
if at - now > maxWait then return {0, at - now} end
redis.call('ZADD', KEYS[1], at, ARGV[3])
redis.call('PEXPIRE', KEYS[1], at - now + window)
return {1, at - now}
`;

/** Shared by every instance, so igql refuses before Instagram would. */
export class RedisRateLimiter implements RateLimiter {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;
  readonly #limits: typeof ACCOUNT_LIMITS;
  #sequence = 0;

  /** `prefix`: the key prefix (`REDIS_PREFIX`), no default; `limits`: `ACCOUNT_LIMITS`. */
  constructor(client: RedisClient, prefix: string, limits: typeof ACCOUNT_LIMITS = ACCOUNT_LIMITS) {
    this.#client = client;
    this.#keys = keyspace(prefix, isCluster(client));
    this.#limits = limits;
  }

  async take(igId: string, bucket: Bucket, maxWaitMs = 0): Promise<Slot> {
    const { limit } = this.#limits[bucket];
    const windowMs = this.#limits[bucket].windowMs + ARRIVAL_MARGIN_MS;
    const member = `${process.pid}:${Date.now()}:${this.#sequence++}:${Math.random()}`;
    const [taken, wait] = (await this.#client.eval(TAKE, {
      keys: [rateLimitKey(this.#keys, igId, bucket)],
      arguments: [String(windowMs), String(limit), member, String(Math.floor(maxWaitMs))],
    })) as [number, number];
    return taken === 1
      ? { taken: true, waitMs: Number(wait) }
      : { taken: false, retryAfterMs: Number(wait) };
  }
}

/**
 * Admits a call: takes the account's next slot if it is at most `maxWaitMs` (default 250 ms)
 * away and waits for it, then resolves with 0; resolves at once with the wait when the slot is
 * further away (the caller refuses with it). A caller never waits longer than `maxWaitMs`.
 */
export async function admit(
  limiter: RateLimiter,
  igId: string,
  bucket: Bucket,
  maxWaitMs = 250,
): Promise<number> {
  const answer = await limiter.take(igId, bucket, maxWaitMs);
  if (!answer.taken) return answer.retryAfterMs;
  if (answer.waitMs > 0) await sleep(answer.waitMs);
  return 0;
}
