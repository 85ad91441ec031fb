import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createRedis } from '../../src/redis.ts';
import {
  type Claim,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyStore,
  MemoryIdempotencyStore,
  RedisIdempotencyStore,
} from '../../src/sends/idempotency.ts';
import { startRedis, useRedisServer } from '../helpers/redis.ts';
import { useSharedRedisCluster } from '../helpers/redis-cluster.ts';

const { connect: redisClient } = useRedisServer();
const cluster = useSharedRedisCluster();

const IG = '17841400000000001';
const silent = createLogger('silent');

/**
 * Each implementation as two handles on one store: the same object in memory, two instances
 * with their own Redis (or Redis Cluster) connections, as two igql instances have, sharing a
 * prefix.
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
  [
    'RedisIdempotencyStore (two instances, cluster)',
    async () => {
      const prefix = cluster.prefix();
      return [
        new RedisIdempotencyStore(await cluster.connect(), prefix),
        new RedisIdempotencyStore(await cluster.connect(), prefix),
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
    expect(await a.claim(IG, 'k', 'f1')).toEqual({ kind: 'new' });
    await a.complete(IG, 'k', 'f1', '{"sent":1}');
    expect(await a.claim(IG, 'k', 'f1')).toEqual({ kind: 'replay', result: '{"sent":1}' });
    expect(await b.claim(IG, 'k', 'f1')).toEqual({ kind: 'replay', result: '{"sent":1}' });
  });

  it('the same key with other content is a conflict, while pending and once done', async () => {
    const [a, b] = await pair();
    expect(await a.claim(IG, 'k', 'f1')).toEqual({ kind: 'new' });
    expect(await b.claim(IG, 'k', 'f2')).toEqual({ kind: 'conflict' });
    await a.complete(IG, 'k', 'f1', 'r');
    expect(await b.claim(IG, 'k', 'f2')).toEqual({ kind: 'conflict' });
    expect(await a.claim(IG, 'k', 'f2')).toEqual({ kind: 'conflict' });
  });

  it('release forgets the attempt: the key may be claimed again, with any content', async () => {
    const [a, b] = await pair();
    expect(await a.claim(IG, 'k', 'f1')).toEqual({ kind: 'new' });
    await a.release(IG, 'k');
    expect(await b.claim(IG, 'k', 'f2')).toEqual({ kind: 'new' });
    await b.complete(IG, 'k', 'f2', 'second');
    expect(await a.claim(IG, 'k', 'f2')).toEqual({ kind: 'replay', result: 'second' });
  });

  it('keys are independent', async () => {
    const [a, b] = await pair();
    expect(await a.claim(IG, 'k1', 'f')).toEqual({ kind: 'new' });
    expect(await b.claim(IG, 'k2', 'f')).toEqual({ kind: 'new' });
    await b.complete(IG, 'k2', 'f', 'two');
    await a.complete(IG, 'k1', 'f', 'one');
    expect(await b.claim(IG, 'k1', 'f')).toEqual({ kind: 'replay', result: 'one' });
    expect(await a.claim(IG, 'k2', 'f')).toEqual({ kind: 'replay', result: 'two' });
  });

  it('racing claims: exactly one is new, the others wait and get its result', async () => {
    const [a, b] = await pair();
    const claims = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? a : b).claim(IG, 'race', 'f'),
    );
    expect(await settledAfter(claims, 150)).toBe(1);
    await a.complete(IG, 'race', 'f', 'the one result');
    const results = await Promise.all(claims);
    expect(results.filter((r) => r.kind === 'new')).toHaveLength(1);
    expect(results.filter((r) => r.kind !== 'new')).toEqual(
      Array(19).fill({ kind: 'replay', result: 'the one result' }),
    );
  });

  it('a waiter takes the key over when the owner releases it', async () => {
    const [a, b] = await pair();
    expect(await a.claim(IG, 'k', 'f')).toEqual({ kind: 'new' });
    const waiter = b.claim(IG, 'k', 'f');
    expect(await settledAfter([waiter], 100)).toBe(0);
    await a.release(IG, 'k');
    expect(await waiter).toEqual({ kind: 'new' });
    const next = a.claim(IG, 'k', 'f');
    expect(await settledAfter([next], 100)).toBe(0);
    await b.complete(IG, 'k', 'f', 'after takeover');
    expect(await next).toEqual({ kind: 'replay', result: 'after takeover' });
  });
});

describe('RedisIdempotencyStore on a Redis Cluster', () => {
  it("keeps <prefix>:idempotency:{<igId>}:<key>, in the account's slot", async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const store = new RedisIdempotencyStore(client, prefix);
    const key = JSON.stringify(['user-1', IG, 'k']);
    expect(await store.claim(IG, key, 'f')).toEqual({ kind: 'new' });
    const name = `${prefix}:idempotency:{${IG}}:${key}`;
    expect(JSON.parse((await client.get(name)) ?? '')).toEqual({ f: 'f' });
    await store.complete(IG, key, 'f', 'r');
    expect(JSON.parse((await client.get(name)) ?? '')).toEqual({ f: 'f', r: 'r' });
    expect(await client.clusterKeySlot(name)).toBe(
      await client.clusterKeySlot(`${prefix}:events:{${IG}}`),
    );
  });
});

describe('MemoryIdempotencyStore on an injected clock', () => {
  it('replays a result for 24 hours to the millisecond, then takes the key as new', async () => {
    let now = 1_000_000;
    const store = new MemoryIdempotencyStore(() => now);
    expect(await store.claim(IG, 'key', 'f')).toEqual({ kind: 'new' });
    await store.complete(IG, 'key', 'f', '{"ok":true}');
    now += IDEMPOTENCY_TTL_MS;
    expect(await store.claim(IG, 'key', 'f')).toEqual({ kind: 'replay', result: '{"ok":true}' });
    now += 1;
    expect(await store.claim(IG, 'key', 'f')).toEqual({ kind: 'new' });
  });
});

describe('RedisIdempotencyStore through an outage', () => {
  it("records a send's result once Redis is back, rather than leave its claim to lapse", async () => {
    const server = await startRedis();
    const [a, b] = [createRedis(server.url, silent), createRedis(server.url, silent)];
    try {
      await a.client.connect();
      await b.client.connect();
      const prefix = `test-${randomUUID()}`;
      const store = new RedisIdempotencyStore(a.client, prefix);
      expect(await store.claim(IG, 'order-7', 'f')).toEqual({ kind: 'new' });
      // The send went out; Redis goes away before its result is written.
      const offline = once(a.client, 'error');
      await server.stop();
      await offline;
      const completed = store.complete(IG, 'order-7', 'f', '{"mid":"m_7"}');
      await server.restart();
      await completed;
      await b.ready(5000);
      expect(await new RedisIdempotencyStore(b.client, prefix).claim(IG, 'order-7', 'f')).toEqual({
        kind: 'replay',
        result: '{"mid":"m_7"}',
      });
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});
