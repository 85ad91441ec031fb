import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createRedis, type Redis, type RedisClient } from '../../src/redis.ts';
import {
  type Claim,
  type IdempotencyStore,
  MemoryIdempotencyStore,
  RedisIdempotencyStore,
} from '../../src/sends/idempotency.ts';
import {
  ARRIVAL_MARGIN_MS,
  admit,
  MemoryRateLimiter,
  type RateLimiter,
  RedisRateLimiter,
} from '../../src/sends/rate-limit.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';

let redis: RedisServer;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const connection of connections) await connection.close();
  await redis?.stop();
});

/** A connected client of the test's own Redis server, closed after the file. */
async function redisClient(): Promise<RedisClient> {
  const connection = createRedis(redis.url, createLogger('silent'));
  connections.push(connection);
  connection.connect();
  for (let tries = 0; !connection.client.isReady; tries++) {
    if (tries > 200) throw new Error('redis client never became ready');
    await sleep(10);
  }
  return connection.client;
}

/**
 * Each implementation as two handles on one store: the same object in memory, two instances
 * with their own Redis connections (as two igql instances have) sharing a prefix.
 */
type Pair<T> = () => Promise<readonly [T, T]>;

const idempotencyStores: readonly [string, Pair<IdempotencyStore>][] = [
  [
    'MemoryIdempotencyStore',
    async () => {
      const store = new MemoryIdempotencyStore();
      return [store, store];
    },
  ],
  [
    'RedisIdempotencyStore (two instances)',
    async () => {
      const prefix = `test-${randomUUID()}`;
      return [
        new RedisIdempotencyStore(await redisClient(), prefix),
        new RedisIdempotencyStore(await redisClient(), prefix),
      ];
    },
  ],
];

/** Resolves with which of `claims` have settled so far, after `ms`. */
async function settledAfter(claims: readonly Promise<Claim>[], ms: number): Promise<number> {
  let settled = 0;
  for (const claim of claims) void claim.then(() => settled++);
  await sleep(ms);
  return settled;
}

describe.each(idempotencyStores)('IdempotencyStore contract: %s', (_name, pair) => {
  it('claims a new key, then replays its result to every later claim', async () => {
    const [a, b] = await pair();
    expect(await a.claim('k', 'f1')).toEqual({ kind: 'new' });
    await a.complete('k', 'f1', '{"sent":1}');
    expect(await a.claim('k', 'f1')).toEqual({ kind: 'replay', result: '{"sent":1}' });
    expect(await b.claim('k', 'f1')).toEqual({ kind: 'replay', result: '{"sent":1}' });
  });

  it('the same key with other content is a conflict, while pending and once done', async () => {
    const [a, b] = await pair();
    expect(await a.claim('k', 'f1')).toEqual({ kind: 'new' });
    expect(await b.claim('k', 'f2')).toEqual({ kind: 'conflict' });
    await a.complete('k', 'f1', 'r');
    expect(await b.claim('k', 'f2')).toEqual({ kind: 'conflict' });
    expect(await a.claim('k', 'f2')).toEqual({ kind: 'conflict' });
  });

  it('release forgets the attempt: the key may be claimed again, with any content', async () => {
    const [a, b] = await pair();
    expect(await a.claim('k', 'f1')).toEqual({ kind: 'new' });
    await a.release('k');
    expect(await b.claim('k', 'f2')).toEqual({ kind: 'new' });
    await b.complete('k', 'f2', 'second');
    expect(await a.claim('k', 'f2')).toEqual({ kind: 'replay', result: 'second' });
  });

  it('keys are independent', async () => {
    const [a, b] = await pair();
    expect(await a.claim('k1', 'f')).toEqual({ kind: 'new' });
    expect(await b.claim('k2', 'f')).toEqual({ kind: 'new' });
    await b.complete('k2', 'f', 'two');
    await a.complete('k1', 'f', 'one');
    expect(await b.claim('k1', 'f')).toEqual({ kind: 'replay', result: 'one' });
    expect(await a.claim('k2', 'f')).toEqual({ kind: 'replay', result: 'two' });
  });

  it('racing claims: exactly one is new, the others wait and get its result', async () => {
    const [a, b] = await pair();
    const claims = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).claim('race', 'f'));
    expect(await settledAfter(claims, 150)).toBe(1);
    await a.complete('race', 'f', 'the one result');
    const results = await Promise.all(claims);
    expect(results.filter((r) => r.kind === 'new')).toHaveLength(1);
    expect(results.filter((r) => r.kind !== 'new')).toEqual(
      Array(19).fill({ kind: 'replay', result: 'the one result' }),
    );
  });

  it('a waiter takes the key over when the owner releases it', async () => {
    const [a, b] = await pair();
    expect(await a.claim('k', 'f')).toEqual({ kind: 'new' });
    const waiter = b.claim('k', 'f');
    expect(await settledAfter([waiter], 100)).toBe(0);
    await a.release('k');
    expect(await waiter).toEqual({ kind: 'new' });
    const next = a.claim('k', 'f');
    expect(await settledAfter([next], 100)).toBe(0);
    await b.complete('k', 'f', 'after takeover');
    expect(await next).toEqual({ kind: 'replay', result: 'after takeover' });
  });
});

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
