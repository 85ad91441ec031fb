import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import {
  CachedRevocations,
  MemoryRevocations,
  RedisRevocations,
  type Revocations,
} from '../../src/auth/revocation.ts';
import { createLogger } from '../../src/logger.ts';
import { type ClusterClient, type RedisClient, replicated } from '../../src/redis.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { clusterKeys, lastCommandTo, useSharedRedisCluster } from '../helpers/redis-cluster.ts';

const _silent = createLogger('silent');
const T0 = 1_790_000_000_000;
const HOUR = 3_600_000;

const single = useRedisServer();
const cluster = useSharedRedisCluster();
let prefixes = 0;
let ids = 0;

/** One Redis server of the file's own, or the run's shared Redis Cluster. */
interface RedisKind {
  readonly name: string;
  connect(): Promise<RedisClient>;
  /** A key prefix no other test uses, so tests share the server without flushing it. */
  newPrefix(): string;
  /** Every key of the server (of every primary, on a cluster) that matches `pattern`. */
  keys(client: RedisClient, pattern: string): Promise<string[]>;
}

const server: RedisKind = {
  name: 'Redis',
  connect: () => single.connect(),
  newPrefix: () => `igql-rev-${++prefixes}`,
  keys: (client, pattern) => client.keys(pattern),
};

/** Revocations and one-time ids are global keys: the same names as on one server, untagged. */
const redisCluster: RedisKind = {
  name: 'Redis Cluster',
  connect: () => cluster.connect(),
  newPrefix: () => cluster.prefix('igql-rev'),
  keys: (client, pattern) => clusterKeys(client as ClusterClient, pattern),
};

/** A clock the test moves by hand. */
function manualClock() {
  let now = T0;
  return {
    now: () => now,
    elapse(ms: number) {
      now += ms;
    },
  };
}

/** Two handles on one store: one object in memory; two instances sharing a prefix in Redis. */
interface Pair {
  readonly a: Revocations;
  readonly b: Revocations;
}

interface Backend {
  readonly name: string;
  pair(): Promise<Pair>;
}

/** Two Redis instances on two connections sharing a prefix, as two igql instances are. */
async function redisPair(
  redis: RedisKind,
  wrap: (inner: Revocations) => Revocations = (inner) => inner,
) {
  const prefix = redis.newPrefix();
  const client = await redis.connect();
  return {
    prefix,
    client,
    a: wrap(new RedisRevocations(client, prefix)),
    b: wrap(new RedisRevocations(await redis.connect(), prefix)),
  };
}

const backends: Backend[] = [
  {
    name: 'MemoryRevocations',
    async pair() {
      const store = new MemoryRevocations();
      return { a: store, b: store };
    },
  },
  { name: 'RedisRevocations', pair: () => redisPair(server) },
  { name: 'RedisRevocations (cluster)', pair: () => redisPair(redisCluster) },
  {
    name: 'CachedRevocations over memory',
    async pair() {
      const store = new CachedRevocations(new MemoryRevocations());
      return { a: store, b: store };
    },
  },
  {
    name: 'CachedRevocations over Redis',
    pair: () => redisPair(server, (inner) => new CachedRevocations(inner)),
  },
  {
    name: 'CachedRevocations over a Redis Cluster',
    pair: () => redisPair(redisCluster, (inner) => new CachedRevocations(inner)),
  },
];

describe.each(backends)('Revocations contract: $name', ({ pair }) => {
  it('answers false for a session never revoked', async () => {
    const { a, b } = await pair();
    expect(await a.isRevoked('sid-never')).toBe(false);
    expect(await b.isRevoked('sid-never')).toBe(false);
  });

  it('revokes a session on every instance, and only that session', async () => {
    const { a, b } = await pair();
    await a.revoke('sid-1', HOUR);
    expect(await a.isRevoked('sid-1')).toBe(true);
    expect(await b.isRevoked('sid-1')).toBe(true);
    for (const other of ['sid-2', 'sid-10', 'sid-', 'SID-1', ''])
      expect(await b.isRevoked(other)).toBe(false);
    await b.revoke('sid-2', HOUR);
    expect(await a.isRevoked('sid-2')).toBe(true);
    expect(await a.isRevoked('sid-1')).toBe(true);
  });

  it('uses a one-time id once, on every instance; another id is still free', async () => {
    const { a, b } = await pair();
    expect(await a.useOnce('state:1', HOUR)).toBe(true);
    expect(await a.useOnce('state:1', HOUR)).toBe(false);
    expect(await b.useOnce('state:1', HOUR)).toBe(false);
    expect(await b.useOnce('state:2', HOUR)).toBe(true);
    expect(await a.useOnce('state:2', HOUR)).toBe(false);
  });

  it('lets exactly one of many concurrent useOnce calls on two instances win', async () => {
    const { a, b } = await pair();
    for (const id of ['race-1', 'race-2', 'race-3']) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).useOnce(id, HOUR)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it('keeps sessions and one-time ids apart', async () => {
    const { a, b } = await pair();
    await a.revoke('shared-1', HOUR);
    expect(await b.useOnce('shared-1', HOUR)).toBe(true);
    expect(await a.useOnce('shared-2', HOUR)).toBe(true);
    expect(await b.isRevoked('shared-2')).toBe(false);
  });
});

// ---- Expiry on an injected clock ----------------------------------------------------------

interface ClockedBackend {
  readonly name: string;
  create(now: () => number): Revocations;
}

const clocked: ClockedBackend[] = [
  { name: 'MemoryRevocations', create: (now) => new MemoryRevocations({ now }) },
  {
    name: 'CachedRevocations over memory',
    create: (now) => new CachedRevocations(new MemoryRevocations({ now }), { now }),
  },
];

describe.each(clocked)('Revocations expiry on an injected clock: $name', ({ create }) => {
  it('revokes a session for exactly ttlMs', async () => {
    const clock = manualClock();
    const store = create(clock.now);
    await store.revoke('sid-1', 1000);
    clock.elapse(999);
    expect(await store.isRevoked('sid-1')).toBe(true);
    clock.elapse(1);
    expect(await store.isRevoked('sid-1')).toBe(false);
    await store.revoke('sid-1', 500);
    expect(await store.isRevoked('sid-1')).toBe(true);
    clock.elapse(500);
    expect(await store.isRevoked('sid-1')).toBe(false);
  });

  it('holds a one-time id used for exactly ttlMs, then lets it be used once more', async () => {
    const clock = manualClock();
    const store = create(clock.now);
    expect(await store.useOnce('state:1', 1000)).toBe(true);
    clock.elapse(999);
    expect(await store.useOnce('state:1', 1000)).toBe(false);
    clock.elapse(1);
    expect(await store.useOnce('state:1', 1000)).toBe(true);
    expect(await store.useOnce('state:1', 1000)).toBe(false);
  });
});

// ---- Redis: keys, prefix and Redis's own expiry -------------------------------------------

const redisBackends = [server, redisCluster].flatMap((redis) => [
  { name: `RedisRevocations on ${redis.name}`, redis, wrap: (inner: Revocations) => inner },
  {
    name: `CachedRevocations over ${redis.name}`,
    redis,
    wrap: (inner: Revocations) => new CachedRevocations(inner),
  },
]);

describe.each(redisBackends)('Revocations in Redis: $name', ({ redis, wrap }) => {
  /** The key's PTTL, with the bound no elapsed time can be below (what `run` took, rounded up). */
  async function timed(client: RedisClient, key: string, run: () => Promise<unknown>) {
    const started = performance.now();
    await run();
    const pttl = await client.pTTL(key);
    return { pttl, elapsed: Math.ceil(performance.now() - started) };
  }

  it('keeps exactly one key per revocation and per one-time id, under the prefix', async () => {
    const { a, client, prefix } = await redisPair(redis, wrap);
    const n = ++ids;
    await a.revoke(`sid-keyed-${n}`, HOUR);
    expect(await a.useOnce(`state:keyed-${n}`, HOUR)).toBe(true);
    // Every key of the server that names either id: the tests use one server, not one prefix.
    expect((await redis.keys(client, `*keyed-${n}`)).sort()).toEqual([
      `${prefix}:once:state:keyed-${n}`,
      `${prefix}:revoked:sid-keyed-${n}`,
    ]);
    expect(await client.get(`${prefix}:revoked:sid-keyed-${n}`)).toBe('1');
    expect(await client.get(`${prefix}:once:state:keyed-${n}`)).toBe('1');
  });

  it('shares nothing with an instance of another prefix', async () => {
    const { a, client } = await redisPair(redis, wrap);
    const other = wrap(new RedisRevocations(client, redis.newPrefix()));
    await a.revoke('sid-apart', HOUR);
    expect(await a.useOnce('state:apart', HOUR)).toBe(true);
    expect(await other.isRevoked('sid-apart')).toBe(false);
    expect(await other.useOnce('state:apart', HOUR)).toBe(true);
  });

  it('sets the key to expire in ttlMs, a fraction rounded to whole milliseconds', async () => {
    const { a, client, prefix } = await redisPair(redis, wrap);
    const revoked = await timed(client, `${prefix}:revoked:sid-ttl`, () =>
      a.revoke('sid-ttl', 90_000.2),
    );
    expect(revoked.pttl).toBeLessThanOrEqual(90_001);
    expect(revoked.pttl).toBeGreaterThanOrEqual(90_001 - revoked.elapsed);
    const once = await timed(client, `${prefix}:once:state:ttl`, () =>
      a.useOnce('state:ttl', 60_000),
    );
    expect(once.pttl).toBeLessThanOrEqual(60_000);
    expect(once.pttl).toBeGreaterThanOrEqual(60_000 - once.elapsed);
    // A refused use leaves the first one's expiry as it was.
    const before = await client.pTTL(`${prefix}:once:state:ttl`);
    expect(await a.useOnce('state:ttl', HOUR)).toBe(false);
    expect(await client.pTTL(`${prefix}:once:state:ttl`)).toBeLessThanOrEqual(before);
  });

  it('accepts a TTL under a millisecond (Redis refuses PX 0)', async () => {
    const { a } = await redisPair(redis, wrap);
    await expect(a.revoke('sid-zero', 0)).resolves.toBeUndefined();
    expect(await a.useOnce('state:zero', 0.4)).toBe(true);
  });

  it('ends a revocation and frees a one-time id when Redis expires the key', async () => {
    const { a, b } = await redisPair(redis, wrap);
    // Redis's own expiry decides here: a short real TTL, then waiting for it to act.
    await a.revoke('sid-short', 20);
    await expect.poll(() => b.isRevoked('sid-short'), { interval: 5 }).toBe(false);
    expect(await a.useOnce('state:short', 20)).toBe(true);
    await expect.poll(() => b.useOnce('state:short', HOUR), { interval: 5 }).toBe(true);
    expect(await a.useOnce('state:short', HOUR)).toBe(false);
  });
});

describe('Revocations on a Redis Cluster', () => {
  it('waits for a replica to hold a revocation and a used one-time id (a failover keeps a logout)', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix('igql-rev');
    const store = new RedisRevocations(client, prefix);
    for (const [key, write] of [
      [`${prefix}:revoked:sid-kept`, () => store.revoke('sid-kept', HOUR)],
      [`${prefix}:once:state:kept`, () => store.useOnce('state:kept', HOUR)],
    ] as const) {
      const last = await lastCommandTo(client, await cluster.connect(), key);
      // The key's shard has a replica: WAIT is what `replicated` sends there.
      expect(await replicated(client, key)).toBe(1);
      await write();
      expect(await last()).toBe('wait');
    }
    // A use refused wrote nothing: nothing to wait for.
    const key = `${prefix}:once:state:kept`;
    const last = await lastCommandTo(client, await cluster.connect(), key);
    expect(await store.useOnce('state:kept', HOUR)).toBe(false);
    expect(await last()).toBe('set');
  });
});

// ---- CachedRevocations ----------------------------------------------------------------------

/** Memory revocations counting the `isRevoked` calls that reach them. */
function counted(now: () => number) {
  const inner = new MemoryRevocations({ now });
  const calls = { isRevoked: 0 };
  const store: Revocations = {
    revoke: (sid, ttlMs) => inner.revoke(sid, ttlMs),
    isRevoked: (sid) => {
      calls.isRevoked++;
      return inner.isRevoked(sid);
    },
    useOnce: (id, ttlMs) => inner.useOnce(id, ttlMs),
  };
  return { store, calls };
}

describe('CachedRevocations', () => {
  it('answers "not revoked" from its cache for ttlMs (default 1000), then asks again', async () => {
    const clock = manualClock();
    const { store, calls } = counted(clock.now);
    const cached = new CachedRevocations(store, { now: clock.now });
    expect(await cached.isRevoked('sid-1')).toBe(false);
    clock.elapse(999);
    expect(await cached.isRevoked('sid-1')).toBe(false);
    expect(await cached.isRevoked('sid-1')).toBe(false);
    expect(calls.isRevoked).toBe(1);
    clock.elapse(1);
    expect(await cached.isRevoked('sid-1')).toBe(false);
    expect(calls.isRevoked).toBe(2);
    expect(await cached.isRevoked('sid-2')).toBe(false);
    expect(calls.isRevoked).toBe(3);
  });

  it('takes its own revocation at once, and asks every time about a revoked session', async () => {
    const clock = manualClock();
    const { store, calls } = counted(clock.now);
    const cached = new CachedRevocations(store, { ttlMs: 5000, now: clock.now });
    expect(await cached.isRevoked('sid-1')).toBe(false);
    await cached.revoke('sid-1', HOUR);
    expect(await cached.isRevoked('sid-1')).toBe(true);
    expect(await cached.isRevoked('sid-1')).toBe(true);
    expect(calls.isRevoked).toBe(3);
  });

  it('takes another instance’s revocation within ttlMs', async () => {
    const clock = manualClock();
    const { store } = counted(clock.now);
    const a = new CachedRevocations(store, { ttlMs: 2000, now: clock.now });
    const b = new CachedRevocations(store, { ttlMs: 2000, now: clock.now });
    expect(await b.isRevoked('sid-1')).toBe(false);
    await a.revoke('sid-1', HOUR);
    expect(await a.isRevoked('sid-1')).toBe(true);
    clock.elapse(1999);
    expect(await b.isRevoked('sid-1')).toBe(false);
    clock.elapse(1);
    expect(await b.isRevoked('sid-1')).toBe(true);
  });

  it('passes one-time ids straight through', async () => {
    const clock = manualClock();
    const { store } = counted(clock.now);
    const cached = new CachedRevocations(store, { now: clock.now });
    expect(await cached.useOnce('state:1', 1000)).toBe(true);
    expect(await store.useOnce('state:1', 1000)).toBe(false);
    expect(await store.useOnce('state:2', 1000)).toBe(true);
    expect(await cached.useOnce('state:2', 1000)).toBe(false);
  });
});
