import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  type CacheRead,
  GENERATIONS_TTL_MS,
  keepFor,
  MAX_SCOPES,
  MemoryReadCache,
  mediaUrlsExpireAt,
  type ReadCache,
  type ReadCacheOptions,
  RedisReadCache,
} from '../../src/inbox/read-cache.ts';
import {
  eventsKey,
  keyspace,
  readCacheGenerationsKey,
  readCacheKey,
  readCacheLockKey,
} from '../../src/keys.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedis, isCluster, type RedisClient } from '../../src/redis.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startRedis, useRedisServer } from '../helpers/redis.ts';
import { clusterKeys, useSharedRedisCluster } from '../helpers/redis-cluster.ts';

const { connect: redisClient } = useRedisServer();
const cluster = useSharedRedisCluster();

const IG = '17841400000000001';
const OTHER_IG = '17841400000000002';
const silent = createLogger('silent');

/**
 * Each implementation as two handles on one cache: the same object in memory; two instances
 * with their own Redis (or Redis Cluster) connections, as two igql instances have, sharing a
 * prefix.
 */
type Pair = (options?: ReadCacheOptions) => Promise<readonly [ReadCache, ReadCache]>;

const caches: readonly [string, Pair][] = [
  [
    'MemoryReadCache',
    async () => {
      const cache = new MemoryReadCache();
      return [cache, cache];
    },
  ],
  [
    'RedisReadCache (two instances)',
    async (options) => {
      const prefix = `test-${randomUUID()}`;
      return [
        new RedisReadCache(await redisClient(), prefix, options),
        new RedisReadCache(await redisClient(), prefix, options),
      ];
    },
  ],
  [
    'RedisReadCache (two instances, cluster)',
    async (options) => {
      const prefix = cluster.prefix();
      return [
        new RedisReadCache(await cluster.connect(), prefix, options),
        new RedisReadCache(await cluster.connect(), prefix, options),
      ];
    },
  ],
];

/** A promise with its resolve, to hold a load until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * An upstream read that counts its calls: answers `answer(n)` for the nth, after `wait` when
 * given; `called` resolves at the first call.
 */
function upstream<T>(answer: (call: number) => T, wait?: Promise<void>) {
  const first = gate();
  const counter = {
    calls: 0,
    called: first.promise,
    load: async (): Promise<T> => {
      const call = ++counter.calls;
      first.open();
      await wait;
      return answer(call);
    },
  };
  return counter;
}

const read = <T>(
  key: string,
  scopes: readonly string[],
  load: () => Promise<T>,
  more: Partial<CacheRead<T>> = {},
): CacheRead<T> => ({ igId: IG, key, scopes, ttlMs: 60_000, load, ...more });

/** How many of `reads` have settled after `ms`. */
async function settledAfter(reads: readonly Promise<unknown>[], ms: number): Promise<number> {
  let settled = 0;
  for (const r of reads)
    void r.then(
      () => settled++,
      () => settled++,
    );
  await sleep(ms);
  return settled;
}

/** An Instagram CDN URL expiring at `at` (ms; `oe` is whole seconds, in hex). */
const cdnUrl = (at: number) =>
  `https://scontent.cdninstagram.com/v/t51.29350-15/1_n.jpg?_nc_ht=scontent.cdninstagram.com&oe=${Math.floor(
    at / 1000,
  )
    .toString(16)
    .toUpperCase()}`;

const CONVERSATIONS = 'GET /17841400000000001/conversations?platform=instagram';
const THREAD_1 = 'GET /t_1?fields=messages';
const THREAD_2 = 'GET /t_2?fields=messages';
const MESSAGE_1 = 'GET /m_1?fields=message,from';

describe.each(caches)('ReadCache contract: %s', (_name, pair) => {
  it('a miss loads and keeps; later reads hit, on either instance', async () => {
    const [a, b] = await pair();
    const list = upstream((n) => ({ data: [{ id: 't_1' }], call: n }));
    const r = read(CONVERSATIONS, ['conversations'], list.load);
    expect(await a.read(r)).toEqual({ value: { data: [{ id: 't_1' }], call: 1 }, outcome: 'miss' });
    expect(await a.read(r)).toEqual({ value: { data: [{ id: 't_1' }], call: 1 }, outcome: 'hit' });
    expect(await b.read(r)).toEqual({ value: { data: [{ id: 't_1' }], call: 1 }, outcome: 'hit' });
    expect(list.calls).toBe(1);
  });

  it('answers the JSON of the value, on a miss as on a hit', async () => {
    const [a, b] = await pair();
    const odd = upstream(() => ({ at: new Date(0), gone: undefined, n: 1 }));
    const kept = { at: '1970-01-01T00:00:00.000Z', n: 1 };
    expect(await a.read(read('GET /odd', [], odd.load))).toEqual({ value: kept, outcome: 'miss' });
    expect(await b.read(read('GET /odd', [], odd.load))).toEqual({ value: kept, outcome: 'hit' });
  });

  it('invalidating scopes misses exactly the entries naming them; the others stay hits', async () => {
    const [a, b] = await pair();
    const load = upstream((n) => n);
    const reads = [
      read(CONVERSATIONS, ['conversations'], load.load),
      read(THREAD_1, ['thread:1'], load.load),
      read(THREAD_2, ['thread:2'], load.load),
      read(MESSAGE_1, ['message:m_1', 'thread:1'], load.load),
      read(THREAD_1, ['thread:1'], load.load, { igId: OTHER_IG }),
    ];
    for (const r of reads) expect((await a.read(r)).outcome).toBe('miss');
    await b.invalidate(IG, ['thread:1', 'user:never-read']);
    const outcomes = [];
    for (const r of reads) outcomes.push((await a.read(r)).outcome);
    expect(outcomes).toEqual(['hit', 'miss', 'hit', 'miss', 'hit']);
    expect(load.calls).toBe(7);
    // Reloaded under the new tokens, they hit again.
    for (const r of reads) expect((await b.read(r)).outcome).toBe('hit');
  });

  it('invalidates several accounts at once (one call a turn), each exactly', async () => {
    const [a, b] = await pair();
    const load = upstream((n) => n);
    const THIRD_IG = '17841400000000003';
    const reads = [IG, OTHER_IG, THIRD_IG].flatMap((igId) => [
      read(CONVERSATIONS, ['conversations'], load.load, { igId }),
      read(THREAD_1, ['thread:1'], load.load, { igId }),
    ]);
    for (const r of reads) expect((await a.read(r)).outcome).toBe('miss');
    await Promise.all([
      b.invalidate(IG, ['conversations']),
      b.invalidate(OTHER_IG, ['thread:1', 'conversations']),
      b.invalidate(THIRD_IG, ['message:never-read']),
    ]);
    const outcomes = [];
    for (const r of reads) outcomes.push((await a.read(r)).outcome);
    expect(outcomes).toEqual(['miss', 'hit', 'miss', 'miss', 'hit', 'hit']);
  });

  it('takes scopes as a set: their order and repeats name the same entry', async () => {
    const [a] = await pair();
    const load = upstream((n) => n);
    await a.read(read(MESSAGE_1, ['thread:1', 'message:m_1'], load.load));
    expect(
      await a.read(read(MESSAGE_1, ['message:m_1', 'thread:1', 'thread:1'], load.load)),
    ).toEqual({ value: 1, outcome: 'hit' });
  });

  it('an invalidation during a load: that load is not kept, the next read loads again', async () => {
    const [a, b] = await pair();
    const slow = gate();
    const thread = upstream((n) => `thread as of load ${n}`, slow.promise);
    const first = a.read(read(THREAD_1, ['thread:1'], thread.load));
    await thread.called;
    await b.invalidate(IG, ['thread:1']);
    slow.open();
    // The read begun before the invalidation answers what it loaded…
    expect(await first).toEqual({ value: 'thread as of load 1', outcome: 'miss' });
    // …but no later read is answered from it.
    expect(await a.read(read(THREAD_1, ['thread:1'], thread.load))).toEqual({
      value: 'thread as of load 2',
      outcome: 'miss',
    });
    expect(await b.read(read(THREAD_1, ['thread:1'], thread.load))).toEqual({
      value: 'thread as of load 2',
      outcome: 'hit',
    });
  });

  it('a read after an invalidation never waits on, nor joins, a load from before it', async () => {
    // A lock longer than the test's time-out: a read held up by the earlier load would fail.
    const [a, b] = await pair({ lockMs: 60_000 });
    const slow = gate();
    const before = upstream(() => 'before', slow.promise);
    const pending = a.read(read(THREAD_1, ['thread:1'], before.load));
    await before.called;
    await a.invalidate(IG, ['thread:1']);
    const after = upstream(() => 'after');
    expect(await a.read(read(THREAD_1, ['thread:1'], after.load))).toEqual({
      value: 'after',
      outcome: 'miss',
    });
    expect(await b.read(read(THREAD_1, ['thread:1'], after.load))).toEqual({
      value: 'after',
      outcome: 'hit',
    });
    slow.open();
    expect(await pending).toEqual({ value: 'before', outcome: 'miss' });
    // The earlier load finished last, under old tokens: it did not replace the fresh entry.
    expect(await b.read(read(THREAD_1, ['thread:1'], after.load))).toEqual({
      value: 'after',
      outcome: 'hit',
    });
    expect([before.calls, after.calls]).toEqual([1, 1]);
  });

  it('loads again once the TTL has ended', async () => {
    const [a, b] = await pair();
    const load = upstream((n) => n);
    const started = Date.now();
    const r = read(CONVERSATIONS, ['conversations'], load.load, { ttlMs: 1000 });
    expect(await a.read(r)).toEqual({ value: 1, outcome: 'miss' });
    expect(await b.read(r)).toEqual({ value: 1, outcome: 'hit' });
    const deadline = Date.now() + 5000;
    let answered = await b.read(r);
    while (answered.outcome === 'hit' && Date.now() < deadline) {
      await sleep(50);
      answered = await b.read(r);
    }
    expect(answered).toEqual({ value: 2, outcome: 'miss' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('concurrent reads on one instance share one load, each with its own copy', async () => {
    const [a] = await pair();
    const slow = gate();
    const list = upstream(() => ({ data: ['t_1'] }), slow.promise);
    const reads = Array.from({ length: 10 }, () =>
      a.read(read(CONVERSATIONS, ['conversations'], list.load)),
    );
    await list.called;
    slow.open();
    const answers = await Promise.all(reads);
    expect(list.calls).toBe(1);
    expect(answers.map((x) => x.outcome).sort()).toEqual([...Array(9).fill('coalesced'), 'miss']);
    expect(answers.map((x) => x.value)).toEqual(Array(10).fill({ data: ['t_1'] }));
    expect(answers[0]?.value).not.toBe(answers[1]?.value);
  });

  it('concurrent reads on two instances make one load', async () => {
    const [a, b] = await pair();
    const slow = gate();
    const list = upstream(() => ({ data: ['t_1'] }), slow.promise);
    const onA = Array.from({ length: 5 }, () =>
      a.read(read(CONVERSATIONS, ['conversations'], list.load)),
    );
    await list.called;
    const onB = Array.from({ length: 5 }, () =>
      b.read(read(CONVERSATIONS, ['conversations'], list.load)),
    );
    expect(await settledAfter(onB, 150)).toBe(0);
    slow.open();
    const [answersA, answersB] = [await Promise.all(onA), await Promise.all(onB)];
    expect(list.calls).toBe(1);
    expect(answersA.map((x) => x.outcome).sort()).toEqual([...Array(4).fill('coalesced'), 'miss']);
    expect(answersB.map((x) => x.outcome)).toEqual(Array(5).fill('coalesced'));
    expect([...answersA, ...answersB].map((x) => x.value)).toEqual(
      Array(10).fill({ data: ['t_1'] }),
    );
  });

  it("a load's error reaches every read sharing it, is not kept, and frees the lock", async () => {
    // A lock longer than the test's time-out: a lock left held would hold b's read up.
    const [a, b] = await pair({ lockMs: 60_000 });
    const slow = gate();
    const refused = new Error('(#2) Service temporarily unavailable');
    const failing = upstream((): string => {
      throw refused;
    }, slow.promise);
    const reads = [1, 2].map(() => a.read(read(THREAD_1, ['thread:1'], failing.load)));
    await failing.called;
    slow.open();
    for (const r of reads) await expect(r).rejects.toBe(refused);
    expect(failing.calls).toBe(1);
    const working = upstream(() => 'loaded');
    expect(await b.read(read(THREAD_1, ['thread:1'], working.load))).toEqual({
      value: 'loaded',
      outcome: 'miss',
    });
    expect(await a.read(read(THREAD_1, ['thread:1'], working.load))).toEqual({
      value: 'loaded',
      outcome: 'hit',
    });
    expect([failing.calls, working.calls]).toEqual([1, 1]);
  });

  it('answers a value over 512 KiB without keeping it', async () => {
    const [a] = await pair();
    const big = upstream(() => ({ text: 'x'.repeat(600_000) }));
    const r = read(MESSAGE_1, ['message:m_1'], big.load);
    expect((await a.read(r)).outcome).toBe('miss');
    expect(await a.read(r)).toEqual({ value: { text: 'x'.repeat(600_000) }, outcome: 'miss' });
    expect(big.calls).toBe(2);
  });

  it('keeps no value whose media URL has expired or expires within a minute', async () => {
    const [a] = await pair();
    for (const expiresIn of [-3_600_000, 30_000]) {
      const message = upstream(() => ({
        attachments: { data: [{ image_data: { url: cdnUrl(Date.now() + expiresIn) } }] },
      }));
      const r = read(`GET /m_${expiresIn}`, ['message:m_1'], message.load);
      expect((await a.read(r)).outcome).toBe('miss');
      expect((await a.read(r)).outcome).toBe('miss');
      expect(message.calls).toBe(2);
    }
  });

  it('keeps a value whose media URLs outlive its TTL', async () => {
    const [a, b] = await pair();
    const profile = upstream(() => ({ profile_pic: cdnUrl(Date.now() + 86_400_000) }));
    const r = read('GET /u_1?fields=profile_pic', ['user:u_1'], profile.load);
    expect((await a.read(r)).outcome).toBe('miss');
    expect((await b.read(r)).outcome).toBe('hit');
    expect(profile.calls).toBe(1);
  });
});

describe('media URL expiry', () => {
  it("reads Instagram's oe (hex seconds) from a real profile's picture URL", () => {
    const json = JSON.stringify(fixture('api-user-profile-postman.json'));
    expect(mediaUrlsExpireAt(json)).toBe(0x68bdb031 * 1000);
    expect(mediaUrlsExpireAt(json)).toBe(1_757_261_873_000);
  });

  it('takes the earliest of several, and none from text without one', () => {
    const json = JSON.stringify({
      a: 'https://x.cdninstagram.com/a.jpg?oe=68BDB031&_nc_ht=x',
      b: 'https://x.cdninstagram.com/b.jpg?_nc_ht=x&oe=68bdb030',
      c: 'https://example.com/?shoe=1&toe=2',
    });
    expect(mediaUrlsExpireAt(json)).toBe(0x68bdb030 * 1000);
    expect(mediaUrlsExpireAt('{"text":"oe=1 and ?oe=zz"}')).toBeUndefined();
  });

  it('cuts the TTL to the earliest URL less a minute, and within 24 hours', () => {
    const now = 1_700_000_000_000;
    const url = (seconds: number) => JSON.stringify({ url: cdnUrl(now + seconds * 1000) });
    expect(keepFor(url(3600), 600_000, now)).toBe(600_000);
    expect(keepFor(url(300), 3_600_000, now)).toBe(240_000);
    expect(keepFor(url(61), 3_600_000, now)).toBe(1000);
    expect(keepFor(url(60), 3_600_000, now)).toBe(0);
    expect(keepFor(url(-60), 3_600_000, now)).toBe(0);
    expect(keepFor('{}', 7 * 86_400_000, now)).toBe(86_400_000);
    expect(keepFor(JSON.stringify('x'.repeat(512 * 1024 - 2)), 60_000, now)).toBe(60_000);
    expect(keepFor(JSON.stringify('x'.repeat(512 * 1024 - 1)), 60_000, now)).toBe(0);
  });
});

describe('MemoryReadCache on an injected clock', () => {
  it('hits until the TTL, to the millisecond', async () => {
    let now = 1_000_000;
    const cache = new MemoryReadCache({ now: () => now });
    const load = upstream((n) => n);
    const r = read(CONVERSATIONS, ['conversations'], load.load, { ttlMs: 1000 });
    expect(await cache.read(r)).toEqual({ value: 1, outcome: 'miss' });
    now += 999;
    expect(await cache.read(r)).toEqual({ value: 1, outcome: 'hit' });
    now += 1;
    expect(await cache.read(r)).toEqual({ value: 2, outcome: 'miss' });
  });

  it('keeps an entry until a minute before its earliest media URL expires', async () => {
    let now = 1_700_000_000_000;
    const cache = new MemoryReadCache({ now: () => now });
    const message = upstream(() => ({ url: cdnUrl(now + 300_000) }));
    const r = read(MESSAGE_1, ['message:m_1'], message.load, { ttlMs: 3_600_000 });
    expect((await cache.read(r)).outcome).toBe('miss');
    now += 239_999;
    expect((await cache.read(r)).outcome).toBe('hit');
    now += 1;
    expect((await cache.read(r)).outcome).toBe('miss');
  });

  it('keeps at most maxEntries, the least recently used out first', async () => {
    const cache = new MemoryReadCache({ maxEntries: 2 });
    const load = upstream((n) => n);
    const r = (key: string) => read(key, [], load.load);
    await cache.read(r('GET /1'));
    await cache.read(r('GET /2'));
    expect((await cache.read(r('GET /1'))).outcome).toBe('hit');
    await cache.read(r('GET /3'));
    expect((await cache.read(r('GET /1'))).outcome).toBe('hit');
    expect((await cache.read(r('GET /3'))).outcome).toBe('hit');
    expect(await cache.read(r('GET /2'))).toEqual({ value: 4, outcome: 'miss' });
  });
});

/** Both kinds of Redis, with a raw client on the same keys. */
const redisKinds: readonly [string, () => Promise<{ client: RedisClient; prefix: string }>][] = [
  ['one Redis', async () => ({ client: await redisClient(), prefix: `test-${randomUUID()}` })],
  ['Redis Cluster', async () => ({ client: await cluster.connect(), prefix: cluster.prefix() })],
];

describe.each(redisKinds)('RedisReadCache on %s', (kind, connect) => {
  const onCluster = kind === 'Redis Cluster';

  it("keeps an entry and its scopes' tokens under the names of src/keys.ts", async () => {
    const { client, prefix } = await connect();
    const ks = keyspace(prefix, onCluster);
    const cache = new RedisReadCache(client, prefix);
    const load = upstream(() => ({ id: 't_1' }));
    await cache.read(read(THREAD_1, ['thread:1', 'conversations'], load.load, { ttlMs: 30_000 }));
    const generations = await client.hGetAll(readCacheGenerationsKey(ks, IG));
    expect(Object.keys(generations).sort()).toEqual(['conversations', 'thread:1']);
    const entry = readCacheKey(ks, IG, THREAD_1);
    expect(JSON.parse((await client.get(entry)) ?? '')).toEqual({
      tokens: [generations.conversations, generations['thread:1']],
      value: { id: 't_1' },
    });
    const ttl = await client.pTTL(entry);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await client.pTTL(readCacheGenerationsKey(ks, IG))).toBeGreaterThan(
      GENERATIONS_TTL_MS - 5000,
    );
    if (onCluster) {
      const slots = [entry, readCacheGenerationsKey(ks, IG), readCacheLockKey(ks, IG, 'x')].map(
        (key) => client.clusterKeySlot(key),
      );
      expect(new Set(await Promise.all(slots))).toEqual(
        new Set([await client.clusterKeySlot(eventsKey(ks, IG))]),
      );
    }
  });

  it("sets an entry's PX to a minute before its earliest media URL expires", async () => {
    const { client, prefix } = await connect();
    const cache = new RedisReadCache(client, prefix);
    const message = upstream(() => ({ url: cdnUrl(Date.now() + 300_000) }));
    await cache.read(read(MESSAGE_1, ['message:m_1'], message.load, { ttlMs: 3_600_000 }));
    const ttl = await client.pTTL(readCacheKey(keyspace(prefix, onCluster), IG, MESSAGE_1));
    // `oe` is whole seconds: up to a second less than 240 s, and the time the test took.
    expect(ttl).toBeGreaterThan(235_000);
    expect(ttl).toBeLessThanOrEqual(240_000);
  });

  it("leaves no lock behind, after a load as after a load's error", async () => {
    const { client, prefix } = await connect();
    const cache = new RedisReadCache(client, prefix);
    await cache.read(read(THREAD_1, ['thread:1'], async () => 'ok'));
    await expect(
      cache.read(
        read(THREAD_2, ['thread:2'], async () => {
          throw new Error('refused');
        }),
      ),
    ).rejects.toThrow('refused');
    const pattern = `${prefix}:read-cache-lock:*`;
    const locks = isCluster(client)
      ? await clusterKeys(client, pattern)
      : await client.keys(pattern);
    expect(locks).toEqual([]);
  });

  it("a waiter loads itself once the holder's lock lapses", async () => {
    const { client, prefix } = await connect();
    const other = onCluster ? await cluster.connect() : await redisClient();
    const holder = new RedisReadCache(client, prefix, { lockMs: 300 });
    const waiter = new RedisReadCache(other, prefix);
    const stuck = gate();
    const hanging = upstream(() => 'late', stuck.promise);
    const held = holder.read(read(THREAD_1, ['thread:1'], hanging.load));
    await hanging.called;
    const own = upstream(() => 'own');
    expect(await waiter.read(read(THREAD_1, ['thread:1'], own.load))).toEqual({
      value: 'own',
      outcome: 'miss',
    });
    stuck.open();
    expect(await held).toEqual({ value: 'late', outcome: 'miss' });
    expect([hanging.calls, own.calls]).toEqual([1, 1]);
    // The late load's lock had lapsed: its older answer did not replace the waiter's.
    const again = upstream(() => 'again');
    expect(await waiter.read(read(THREAD_1, ['thread:1'], again.load))).toEqual({
      value: 'own',
      outcome: 'hit',
    });
    expect(again.calls).toBe(0);
  });

  it('misses every entry once the tokens are gone: a missing token never matches', async () => {
    const { client, prefix } = await connect();
    const ks = keyspace(prefix, onCluster);
    const cache = new RedisReadCache(client, prefix);
    const load = upstream((n) => n);
    const r = read(THREAD_1, ['thread:1'], load.load);
    await cache.read(r);
    expect((await cache.read(r)).outcome).toBe('hit');
    await client.del(readCacheGenerationsKey(ks, IG));
    expect(await cache.read(r)).toEqual({ value: 2, outcome: 'miss' });
    expect(await cache.read(r)).toEqual({ value: 2, outcome: 'hit' });
  });

  it(`drops an account's tokens whole at ${MAX_SCOPES} scopes rather than grow`, async () => {
    const { client, prefix } = await connect();
    const ks = keyspace(prefix, onCluster);
    const cache = new RedisReadCache(client, prefix);
    const load = upstream((n) => n);
    const kept = read(THREAD_1, ['thread:1'], load.load);
    await cache.read(kept);
    const name = readCacheGenerationsKey(ks, IG);
    const filler = Object.fromEntries(
      Array.from({ length: MAX_SCOPES - 1 }, (_, i) => [`message:${i}`, 't']),
    );
    await client.hSet(name, filler);
    expect(await client.hLen(name)).toBe(MAX_SCOPES);
    expect((await cache.read(kept)).outcome).toBe('hit');
    await cache.read(read(THREAD_2, ['thread:2'], load.load));
    expect(await client.hLen(name)).toBe(1);
    expect(await cache.read(kept)).toEqual({ value: 3, outcome: 'miss' });
  });
});

describe('RedisReadCache through an outage', () => {
  it('answers load() directly (bypass) while Redis is down, and caches again once it is back', async () => {
    const server = await startRedis();
    const redis = createRedis(server.url, silent);
    try {
      await redis.client.connect();
      const cache = new RedisReadCache(redis.client, `test-${randomUUID()}`);
      const list = upstream((n) => ({ call: n }));
      const r = read(CONVERSATIONS, ['conversations'], list.load);
      expect(await cache.read(r)).toEqual({ value: { call: 1 }, outcome: 'miss' });
      const offline = once(redis.client, 'error');
      await server.stop();
      await offline;
      expect(await cache.read(r)).toEqual({ value: { call: 2 }, outcome: 'bypass' });
      expect(await cache.read(r)).toEqual({ value: { call: 3 }, outcome: 'bypass' });
      const dated = read('GET /dated', [], async () => ({ at: new Date(0) }));
      expect(await cache.read(dated)).toEqual({
        value: { at: '1970-01-01T00:00:00.000Z' },
        outcome: 'bypass',
      });
      await expect(cache.invalidate(IG, ['conversations'])).rejects.toThrow();
      const failing = cache.read(
        read(THREAD_1, [], async () => {
          throw new Error('upstream down too');
        }),
      );
      await expect(failing).rejects.toThrow('upstream down too');
      await server.restart();
      await redis.ready(5000);
      expect(await cache.read(r)).toEqual({ value: { call: 4 }, outcome: 'miss' });
      expect(await cache.read(r)).toEqual({ value: { call: 4 }, outcome: 'hit' });
    } finally {
      await redis.close();
      await server.stop();
    }
  });
});
