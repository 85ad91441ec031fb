import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  ARRIVAL_MARGIN_MS,
  admit,
  MemoryRateLimiter,
  type RateLimiter,
  RedisRateLimiter,
} from '../../src/instagram/rate-limit.ts';
import { useRedisServer } from '../helpers/redis.ts';

const { connect: redisClient } = useRedisServer();

/**
 * Each implementation as two handles on one store: the same object in memory, two instances
 * with their own Redis connections (as two igql instances have) sharing a prefix.
 */
type Pair<T> = () => Promise<readonly [T, T]>;

const rateLimiters: readonly [string, Pair<RateLimiter>][] = [
  [
    'MemoryRateLimiter',
    async () => {
      const limiter = new MemoryRateLimiter();
      return [limiter, limiter];
    },
  ],
  [
    'RedisRateLimiter (two instances)',
    async () => {
      const prefix = `test-${randomUUID()}`;
      return [
        new RedisRateLimiter(await redisClient(), prefix),
        new RedisRateLimiter(await redisClient(), prefix),
      ];
    },
  ],
];

describe.each(rateLimiters)('RateLimiter contract: %s', (_name, pair) => {
  const WINDOW = 1000 + ARRIVAL_MARGIN_MS;

  it('admits exactly 10 media sends a second across its handles, then a positive wait', async () => {
    const [a, b] = await pair();
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) waits.push(await (i % 2 === 0 ? a : b).take('acct', 'sendMedia'));
    expect(waits).toEqual(Array(10).fill(0));
    for (const limiter of [a, b]) {
      const wait = await limiter.take('acct', 'sendMedia');
      expect(wait).toBeGreaterThan(WINDOW - 500);
      expect(wait).toBeLessThanOrEqual(WINDOW);
    }
  });

  it('admits exactly 100 other sends a second', async () => {
    const [a, b] = await pair();
    const waits = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).take('acct', 'send')),
    );
    expect(waits).toEqual(Array(100).fill(0));
    expect(await b.take('acct', 'send')).toBeGreaterThan(0);
  });

  it('counts per account and per bucket', async () => {
    const [a, b] = await pair();
    for (let i = 0; i < 10; i++) expect(await a.take('full', 'sendMedia')).toBe(0);
    expect(await b.take('full', 'sendMedia')).toBeGreaterThan(0);
    expect(await b.take('full', 'send')).toBe(0);
    expect(await b.take('full', 'privateReplies')).toBe(0);
    expect(await b.take('other', 'sendMedia')).toBe(0);
  });

  it('admits 2 conversation reads a second per account, apart from the sends', async () => {
    const [a, b] = await pair();
    expect([
      await a.take('acct', 'conversationReads'),
      await b.take('acct', 'conversationReads'),
    ]).toEqual([0, 0]);
    const wait = await a.take('acct', 'conversationReads');
    expect(wait).toBeGreaterThan(WINDOW - 500);
    expect(wait).toBeLessThanOrEqual(WINDOW);
    expect(await b.take('acct', 'send')).toBe(0);
    expect(await b.take('other', 'conversationReads')).toBe(0);
  });

  it('a refusal takes no slot, and after the wait the next call is admitted', async () => {
    const [a, b] = await pair();
    for (let i = 0; i < 10; i++) expect(await a.take('acct', 'sendMedia')).toBe(0);
    const wait = await b.take('acct', 'sendMedia');
    expect(await a.take('acct', 'sendMedia')).toBeGreaterThan(0);
    await sleep(wait + 5);
    expect(await b.take('acct', 'sendMedia')).toBe(0);
  });
});

describe('admit', () => {
  /** A limiter answering the given waits in turn, counting its calls. */
  function scripted(waits: readonly number[]) {
    const calls: number[] = [];
    const limiter: RateLimiter = {
      async take() {
        calls.push(Date.now());
        return waits[calls.length - 1] ?? 0;
      },
    };
    return { limiter, calls };
  }

  it('queues a wait of up to 250 ms, then admits', async () => {
    const { limiter, calls } = scripted([120, 0]);
    const started = Date.now();
    expect(await admit(limiter, 'acct', 'sendMedia')).toBe(0);
    expect(calls).toHaveLength(2);
    expect((calls[1] ?? 0) - started).toBeGreaterThanOrEqual(115);
  });

  it('queues exactly 250 ms, but refuses a longer wait at once with it', async () => {
    const queued = scripted([250, 0]);
    expect(await admit(queued.limiter, 'acct', 'send')).toBe(0);
    expect(queued.calls).toHaveLength(2);

    const refused = scripted([251]);
    const started = Date.now();
    expect(await admit(refused.limiter, 'acct', 'send')).toBe(251);
    expect(refused.calls).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(100);
  });
});

describe('MemoryRateLimiter on an injected clock', () => {
  it('slides its window by the clock it is given, to the millisecond', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(undefined, () => now);
    for (let i = 0; i < 2; i++) expect(await limiter.take('acct', 'conversationReads')).toBe(0);
    expect(await limiter.take('acct', 'conversationReads')).toBe(1000 + ARRIVAL_MARGIN_MS);
    now += 400;
    expect(await limiter.take('acct', 'conversationReads')).toBe(600 + ARRIVAL_MARGIN_MS);
    now += 600 + ARRIVAL_MARGIN_MS;
    expect(await limiter.take('acct', 'conversationReads')).toBe(0);
    expect(await limiter.take('other', 'conversationReads')).toBe(0);
  });
});
