import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type AccountLock, MemoryAccountLock, RedisAccountLock } from '../src/lock.ts';
import { useRedisServer } from './helpers/redis.ts';

/** The account lock that token refresh and reconciliation take, on memory and on Redis. */
const T0 = Date.UTC(2026, 10, 25, 12);
const { connect } = useRedisServer();
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
