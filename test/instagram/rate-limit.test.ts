import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  ARRIVAL_MARGIN_MS,
  admit,
  MemoryRateLimiter,
  type RateLimiter,
  RedisRateLimiter,
  type Slot,
} from '../../src/instagram/rate-limit.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { useSharedRedisCluster } from '../helpers/redis-cluster.ts';

const { connect: redisClient } = useRedisServer();
const cluster = useSharedRedisCluster();

/**
 * Each implementation as two handles on one store: the same object in memory, two instances
 * with their own Redis (or Redis Cluster) connections, as two igql instances have, sharing a
 * prefix.
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
  [
    'RedisRateLimiter (two instances, cluster)',
    async () => {
      const prefix = cluster.prefix();
      return [
        new RedisRateLimiter(await cluster.connect(), prefix),
        new RedisRateLimiter(await cluster.connect(), prefix),
      ];
    },
  ],
];

/** The wait of a slot taken now or ahead, or of one refused. */
const waitOf = (slot: Slot): number => (slot.taken ? slot.waitMs : slot.retryAfterMs);

describe.each(rateLimiters)('RateLimiter contract: %s', (_name, pair) => {
  const WINDOW = 1000 + ARRIVAL_MARGIN_MS;

  it('admits exactly 10 media sends a second across its handles, then refuses with a wait', async () => {
    const [a, b] = await pair();
    const slots: Slot[] = [];
    for (let i = 0; i < 10; i++) slots.push(await (i % 2 === 0 ? a : b).take('acct', 'sendMedia'));
    expect(slots).toEqual(Array(10).fill({ taken: true, waitMs: 0 }));
    for (const limiter of [a, b]) {
      const slot = await limiter.take('acct', 'sendMedia');
      expect(slot.taken).toBe(false);
      expect(waitOf(slot)).toBeGreaterThan(WINDOW - 500);
      expect(waitOf(slot)).toBeLessThanOrEqual(WINDOW);
    }
  });

  it('admits exactly 100 other sends a second', async () => {
    const [a, b] = await pair();
    const slots = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).take('acct', 'send')),
    );
    expect(slots).toEqual(Array(100).fill({ taken: true, waitMs: 0 }));
    expect((await b.take('acct', 'send')).taken).toBe(false);
  });

  it('counts per account and per bucket', async () => {
    const [a, b] = await pair();
    const now = { taken: true, waitMs: 0 };
    for (let i = 0; i < 10; i++) expect(await a.take('full', 'sendMedia')).toEqual(now);
    expect((await b.take('full', 'sendMedia')).taken).toBe(false);
    expect(await b.take('full', 'send')).toEqual(now);
    expect(await b.take('full', 'privateReplies')).toEqual(now);
    expect(await b.take('other', 'sendMedia')).toEqual(now);
  });

  it('admits 2 conversation reads a second per account, apart from the sends', async () => {
    const [a, b] = await pair();
    const now = { taken: true, waitMs: 0 };
    expect([
      await a.take('acct', 'conversationReads'),
      await b.take('acct', 'conversationReads'),
    ]).toEqual([now, now]);
    const slot = await a.take('acct', 'conversationReads');
    expect(slot.taken).toBe(false);
    expect(waitOf(slot)).toBeGreaterThan(WINDOW - 500);
    expect(waitOf(slot)).toBeLessThanOrEqual(WINDOW);
    expect(await b.take('acct', 'send')).toEqual(now);
    expect(await b.take('other', 'conversationReads')).toEqual(now);
  });

  it('a refusal takes no slot, and after the wait the next call is admitted', async () => {
    const [a, b] = await pair();
    for (let i = 0; i < 10; i++) expect((await a.take('acct', 'sendMedia')).taken).toBe(true);
    const wait = waitOf(await b.take('acct', 'sendMedia'));
    expect((await a.take('acct', 'sendMedia')).taken).toBe(false);
    await sleep(wait + 5);
    expect(await b.take('acct', 'sendMedia')).toEqual({ taken: true, waitMs: 0 });
  });

  it('takes slots ahead within maxWaitMs, in turn across handles, and refuses beyond', async () => {
    const [a, b] = await pair();
    // Two now, two a window later (the first two's slots reopen), then 2 s is not enough.
    const slots = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 === 0 ? a : b).take('q', 'conversationReads', 2000),
      ),
    );
    // Two connections may reach Redis in either order: by wait, not by call.
    slots.sort((x, y) => waitOf(x) - waitOf(y));
    expect(slots.map((slot) => slot.taken)).toEqual([true, true, true, true, false, false]);
    expect(slots.slice(0, 2).map(waitOf)).toEqual([0, 0]);
    for (const slot of slots.slice(2, 4)) {
      expect(waitOf(slot)).toBeGreaterThan(WINDOW - 500);
      expect(waitOf(slot)).toBeLessThanOrEqual(WINDOW);
    }
    for (const slot of slots.slice(4)) {
      expect(waitOf(slot)).toBeGreaterThan(2000);
      expect(waitOf(slot)).toBeLessThanOrEqual(2 * WINDOW);
    }
  });
});

describe('RedisRateLimiter on a Redis Cluster', () => {
  it("counts in <prefix>:ratelimit:{<igId>}:<bucket>, every bucket in the account's slot", async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const limiter = new RedisRateLimiter(client, prefix);
    const IG = '17841400000000001';
    await limiter.take(IG, 'send');
    await limiter.take(IG, 'sendMedia');
    await limiter.take(IG, 'sendMedia');
    const send = `${prefix}:ratelimit:{${IG}}:send`;
    const media = `${prefix}:ratelimit:{${IG}}:sendMedia`;
    expect([await client.zCard(send), await client.zCard(media)]).toEqual([1, 2]);
    const slots = await Promise.all(
      [send, media, `${prefix}:events:{${IG}}`].map((key) => client.clusterKeySlot(key)),
    );
    expect(new Set(slots).size).toBe(1);
  });
});

describe('admit', () => {
  /** A limiter answering the given slots in turn, recording the longest wait each call allowed. */
  function scripted(slots: readonly Slot[]) {
    const allowed: number[] = [];
    const limiter: RateLimiter = {
      async take(_igId, _bucket, maxWaitMs = 0) {
        allowed.push(maxWaitMs);
        return slots[allowed.length - 1] ?? { taken: true, waitMs: 0 };
      },
    };
    return { limiter, allowed };
  }

  it('waits for a slot taken ahead (up to 250 ms by default), then admits', async () => {
    const { limiter, allowed } = scripted([{ taken: true, waitMs: 120 }]);
    const started = Date.now();
    expect(await admit(limiter, 'acct', 'sendMedia')).toBe(0);
    expect(allowed).toEqual([250]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('asks for one slot within its bound, and answers a refusal at once with its wait', async () => {
    const refused = scripted([{ taken: false, retryAfterMs: 2201 }]);
    expect(await admit(refused.limiter, 'acct', 'conversationReads', 2000)).toBe(2201);
    expect(refused.allowed).toEqual([2000]);
  });
});

describe('MemoryRateLimiter on an injected clock', () => {
  it('slides its window by the clock it is given, to the millisecond', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(undefined, () => now);
    const take = async (igId = 'acct', maxWaitMs = 0) =>
      waitOf(await limiter.take(igId, 'conversationReads', maxWaitMs));
    for (let i = 0; i < 2; i++) expect(await take()).toBe(0);
    expect(await take()).toBe(1000 + ARRIVAL_MARGIN_MS);
    now += 400;
    expect(await take()).toBe(600 + ARRIVAL_MARGIN_MS);
    now += 600 + ARRIVAL_MARGIN_MS;
    expect(await take()).toBe(0);
    expect(await take('other')).toBe(0);
  });

  it('takes slots ahead on that clock: 40 reads at once with 2 s to wait, 4 taken', async () => {
    const limiter = new MemoryRateLimiter(undefined, () => 1_000_000);
    const slots = await Promise.all(
      Array.from({ length: 40 }, () => limiter.take('acct', 'conversationReads', 2000)),
    );
    const W = 1000 + ARRIVAL_MARGIN_MS;
    expect(slots).toEqual([
      { taken: true, waitMs: 0 },
      { taken: true, waitMs: 0 },
      { taken: true, waitMs: W },
      { taken: true, waitMs: W },
      ...Array(36).fill({ taken: false, retryAfterMs: 2 * W }),
    ]);
  });
});
