import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventsKey, keyspace, reconcileLockKey, refreshLockKey } from '../src/keys.ts';
import { type AccountLock, MemoryAccountLock, RedisAccountLock } from '../src/lock.ts';
import { useRedisServer } from './helpers/redis.ts';
import { useSharedRedisCluster } from './helpers/redis-cluster.ts';

/** The account lock that token refresh and reconciliation take, on memory, Redis and a cluster. */
const T0 = Date.UTC(2026, 10, 25, 12);
const { connect } = useRedisServer();
const cluster = useSharedRedisCluster();
let prefixes = 0;

interface LockBackend {
  readonly name: string;
  /** Two locks over one store (for Redis: two instances on two connections). */
  pair(): Promise<{ a: AccountLock; b: AccountLock; elapse(ms: number): Promise<void> }>;
}

const locks: LockBackend[] = [
  {
    name: 'MemoryAccountLock',
    async pair() {
      let now = T0;
      const lock = new MemoryAccountLock(() => now);
      return {
        a: lock,
        b: lock,
        elapse: async (ms) => {
          now += ms;
        },
      };
    },
  },
  {
    name: 'RedisAccountLock',
    async pair() {
      const prefix = `igql-lock-${++prefixes}`;
      return {
        a: new RedisAccountLock(await connect(), (igId) => `${prefix}:${igId}`),
        b: new RedisAccountLock(await connect(), (igId) => `${prefix}:${igId}`),
        elapse: (ms) => sleep(ms),
      };
    },
  },
  {
    name: 'RedisAccountLock (cluster)',
    async pair() {
      // The lock's key as token refresh names it: the account's hash tag.
      const ks = keyspace(cluster.prefix('igql-lock'), true);
      return {
        a: new RedisAccountLock(await cluster.connect(), (igId) => refreshLockKey(ks, igId)),
        b: new RedisAccountLock(await cluster.connect(), (igId) => refreshLockKey(ks, igId)),
        elapse: (ms) => sleep(ms),
      };
    },
  },
];

describe.each(locks)('$name', ({ pair }) => {
  const IG = '17841400000000001';

  it('admits one holder per account until released', async () => {
    const { a, b } = await pair();
    expect(await a.acquire(IG, 10_000)).toBe(true);
    expect(await b.acquire(IG, 10_000)).toBe(false);
    expect(await b.acquire('17841400000000002', 10_000)).toBe(true);
    await a.release(IG);
    expect(await b.acquire(IG, 10_000)).toBe(true);
  });

  it('lapses after its TTL', async () => {
    const { a, b, elapse } = await pair();
    expect(await a.acquire(IG, 50)).toBe(true);
    await elapse(100);
    expect(await b.acquire(IG, 10_000)).toBe(true);
  });
});

describe('RedisAccountLock ownership', () => {
  it('a holder whose lock lapsed never releases the next holder', async () => {
    const prefix = `igql-lock-${++prefixes}`;
    const a = new RedisAccountLock(await connect(), (igId) => `${prefix}:${igId}`);
    const b = new RedisAccountLock(await connect(), (igId) => `${prefix}:${igId}`);
    expect(await a.acquire('17841400000000001', 50)).toBe(true);
    await sleep(100);
    expect(await b.acquire('17841400000000001', 10_000)).toBe(true);
    await a.release('17841400000000001');
    expect(await a.acquire('17841400000000001', 10_000)).toBe(false);
    await b.release('17841400000000001');
    expect(await a.acquire('17841400000000001', 10_000)).toBe(true);
  });
});

describe('RedisAccountLock on a Redis Cluster', () => {
  it("holds <prefix>:refresh-lock:{<igId>} and <prefix>:reconcile-lock:{<igId>}, in the account's slot", async () => {
    const client = await cluster.connect();
    const ks = keyspace(cluster.prefix('igql-lock'), true);
    const IG = '17841400000000001';
    const refresh = new RedisAccountLock(client, (igId) => refreshLockKey(ks, igId));
    const reconcile = new RedisAccountLock(client, (igId) => reconcileLockKey(ks, igId));
    const keys = [`${ks.prefix}:refresh-lock:{${IG}}`, `${ks.prefix}:reconcile-lock:{${IG}}`];
    expect(await refresh.acquire(IG, 10_000)).toBe(true);
    expect(await reconcile.acquire(IG, 10_000)).toBe(true);
    for (const key of keys) expect(await client.get(key)).toMatch(/^[0-9a-f]{32}$/);
    const slots = await Promise.all(
      [...keys, eventsKey(ks, IG)].map((key) => client.clusterKeySlot(key)),
    );
    expect(new Set(slots).size).toBe(1);
    await refresh.release(IG);
    await reconcile.release(IG);
    expect(await client.exists(keys)).toBe(0);
  });
});
