import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { attachment } from '../../src/inbox/attachments.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { type EventBus, MemoryEventBus, RedisEventBus } from '../../src/pubsub/bus.ts';
import {
  type EventLog,
  entryJson,
  eventJson,
  InvalidCursorError,
  LOG_START,
  type LogEntry,
  MemoryEventLog,
  READ_PAGE,
  RedisEventLog,
} from '../../src/pubsub/log.ts';
import {
  type ClusterClient,
  createRedis,
  createRedisCluster,
  keySlot,
  MAX_BATCH,
  type Redis,
  type RedisClient,
  slotGroup,
} from '../../src/redis.ts';
import {
  DEDUPE_PENDING_SECONDS,
  DEDUPE_TTL_SECONDS,
  type Deduper,
  MemoryDeduper,
  RedisDeduper,
} from '../../src/webhooks/dedupe.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';
import { useSharedRedisCluster } from '../helpers/redis-cluster.ts';

const logger = createLogger('silent');

/** The run's shared Redis Cluster: each test under a prefix of its own (`cluster.prefix()`). */
const cluster = useSharedRedisCluster();
let server: RedisServer;
const connections: Redis[] = [];
const closers: (() => Promise<void>)[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await Promise.all(connections.splice(0).map((redis) => redis.close()));
});

afterAll(async () => {
  await server.stop();
});

/** A new connected client on the test's own redis-server, closed after the test. */
async function connect(): Promise<RedisClient> {
  const redis = createRedis(server.url, logger);
  connections.push(redis);
  await redis.client.connect();
  return redis.client;
}

/** A key prefix no other test uses, so tests share the server without flushing it. */
const newPrefix = () => `igql-test-${++prefixes}`;

const IG = '17841400000000001';
const OTHER = '17841400000000002';
const THIRD = '17841400000000003';

const event = (n: number, igId = IG): InboxEventData => ({
  kind: 'MESSAGE_RECEIVED',
  igId,
  igsid: '5614879045272581',
  occurredAt: 1_700_000_000_000 + n,
  identity: `${igId}|MESSAGE_RECEIVED|mid.${n}||`,
  standby: false,
  message: {
    mid: `mid.${n}`,
    createdTime: 1_700_000_000_000 + n,
    detailAvailable: true,
    from: { igsid: '5614879045272581', username: null },
    to: [{ igsid: igId, username: null }],
    text: `héllo ❤ ${n}`,
    attachments: [
      attachment('IMAGE', null),
      attachment('STORY_REPLY', null, { storyId: '18000000000000003' }),
    ],
    reactions: [],
    replyTo: null,
    isUnsupported: false,
  },
  quickReplyPayload: null,
  referral: { ref: 'r', ads_context_data: { ad_title: 'T' } },
  isSelf: false,
});

// ---- Deduper ------------------------------------------------------------------------------

interface DeduperBackend {
  readonly name: string;
  /** Two dedupers over one store (for Redis: two instances on two connections). */
  pair(
    ttlSeconds: number,
    pendingSeconds?: number,
  ): Promise<{ a: Deduper; b: Deduper; elapse(ms: number): Promise<void> }>;
}

const dedupers: DeduperBackend[] = [
  {
    name: 'MemoryDeduper',
    async pair(ttlSeconds, pendingSeconds = 60) {
      let now = 1_700_000_000_000;
      const deduper = new MemoryDeduper({
        ttlMs: ttlSeconds * 1000,
        pendingTtlMs: pendingSeconds * 1000,
        now: () => now,
      });
      return {
        a: deduper,
        b: deduper,
        async elapse(ms) {
          now += ms;
        },
      };
    },
  },
  {
    name: 'RedisDeduper',
    async pair(ttlSeconds, pendingSeconds = 60) {
      const prefix = newPrefix();
      return {
        a: new RedisDeduper(await connect(), prefix, ttlSeconds, pendingSeconds),
        b: new RedisDeduper(await connect(), prefix, ttlSeconds, pendingSeconds),
        // Redis expires keys on its own clock: the test waits out a TTL of 1 s.
        elapse: (ms) => sleep(ms),
      };
    },
  },
  {
    name: 'RedisDeduper (cluster)',
    async pair(ttlSeconds, pendingSeconds = 60) {
      const prefix = cluster.prefix();
      return {
        a: new RedisDeduper(await cluster.connect(), prefix, ttlSeconds, pendingSeconds),
        b: new RedisDeduper(await cluster.connect(), prefix, ttlSeconds, pendingSeconds),
        elapse: (ms) => sleep(ms),
      };
    },
  },
];

describe.each(dedupers)('Deduper contract: $name', (backend) => {
  it('claims first, pending until confirmed, then duplicate, on every instance', async () => {
    const { a, b } = await backend.pair(3600);
    expect(await a.claim(IG, 'x')).toBe('first');
    expect(await a.claim(IG, 'x')).toBe('pending');
    expect(await b.claim(IG, 'x')).toBe('pending');
    await a.confirm(IG, 'x');
    expect(await a.claim(IG, 'x')).toBe('duplicate');
    expect(await b.claim(IG, 'x')).toBe('duplicate');
    expect(await b.claim(IG, 'y')).toBe('first');
    expect(await a.claim(IG, 'y')).toBe('pending');
  });

  it('answers claims made together as it would one after another', async () => {
    const { a, b } = await backend.pair(3600);
    const claims = [
      a.claim(IG, 'x'),
      a.claim(IG, 'y'),
      a.claim(IG, 'x'),
      a.claim(IG, 'z'),
      a.claim(IG, 'y'),
    ];
    expect(await Promise.all(claims)).toEqual(['first', 'first', 'pending', 'first', 'pending']);
    expect(await b.claim(IG, 'x')).toBe('pending');
    await Promise.all([a.confirm(IG, 'x'), a.confirm(IG, 'y')]);
    expect(await Promise.all([b.claim(IG, 'x'), b.claim(IG, 'y'), b.claim(IG, 'z')])).toEqual([
      'duplicate',
      'duplicate',
      'pending',
    ]);
  });

  it('tells identities apart exactly (react, unreact, react again)', async () => {
    const { a } = await backend.pair(3600);
    const identities = [
      `${IG}|REACTION_CHANGED|mid.1|react|1000`,
      `${IG}|REACTION_CHANGED|mid.1|unreact|2000`,
      `${IG}|REACTION_CHANGED|mid.1|react|3000`,
      `${OTHER}|REACTION_CHANGED|mid.1|react|1000`,
    ];
    for (const identity of identities) expect(await a.claim(IG, identity)).toBe('first');
    for (const identity of identities) await a.confirm(IG, identity);
    for (const identity of identities) expect(await a.claim(IG, identity)).toBe('duplicate');
  });

  it('lets exactly one of many concurrent claims on two instances win; the rest see it pending', async () => {
    const { a, b } = await backend.pair(3600);
    for (const identity of ['race-1', 'race-2', 'race-3']) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).claim(IG, identity)),
      );
      expect(results.filter((r) => r === 'first')).toHaveLength(1);
      expect(results.filter((r) => r === 'pending')).toHaveLength(19);
    }
  });

  it('forgets a pending claim when told, on every instance; never a confirmed one', async () => {
    const { a, b } = await backend.pair(3600);
    expect(await a.claim(IG, 'x')).toBe('first');
    await b.forget(IG, 'x');
    expect(await b.claim(IG, 'x')).toBe('first');
    expect(await a.claim(IG, 'x')).toBe('pending');
    await b.confirm(IG, 'x');
    await a.forget(IG, 'x');
    expect(await a.claim(IG, 'x')).toBe('duplicate');
    await a.forget(IG, 'never-seen');
    expect(await a.claim(IG, 'never-seen')).toBe('first');
  });

  it('confirms an identity whose claim lapsed (the event was stored)', async () => {
    const { a, b, elapse } = await backend.pair(3600, 1);
    expect(await a.claim(IG, 'x')).toBe('first');
    await elapse(1500);
    await a.confirm(IG, 'x');
    expect(await b.claim(IG, 'x')).toBe('duplicate');
  });

  it('lets a claim never confirmed nor forgotten lapse after the pending TTL: first again', async () => {
    const { a, b, elapse } = await backend.pair(3600, 1);
    expect(await a.claim(IG, 'x')).toBe('first');
    await elapse(500);
    expect(await b.claim(IG, 'x')).toBe('pending');
    await elapse(1000);
    expect(await b.claim(IG, 'x')).toBe('first');
    expect(await a.claim(IG, 'x')).toBe('pending');
  });

  it('sees a confirmed identity again after the TTL', async () => {
    const { a, b, elapse } = await backend.pair(1);
    expect(await a.claim(IG, 'x')).toBe('first');
    await a.confirm(IG, 'x');
    await elapse(500);
    expect(await b.claim(IG, 'x')).toBe('duplicate');
    await elapse(1100);
    expect(await b.claim(IG, 'x')).toBe('first');
    expect(await a.claim(IG, 'x')).toBe('pending');
  });
});

// ---- EventLog -----------------------------------------------------------------------------

interface LogBackend {
  readonly name: string;
  log(maxLen?: number): Promise<EventLog>;
  /** Entries kept past `maxLen`: 0 for an exact bound; Redis's `MAXLEN ~` trims whole nodes. */
  readonly slack: number;
}

const logs: LogBackend[] = [
  {
    name: 'MemoryEventLog',
    slack: 0,
    async log(maxLen) {
      const log = new MemoryEventLog(maxLen === undefined ? {} : { maxLen });
      closers.push(() => log.close());
      return log;
    },
  },
  {
    name: 'RedisEventLog',
    // stream-node-max-entries defaults to 100.
    slack: 100,
    async log(maxLen) {
      const log = new RedisEventLog(await connect(), newPrefix(), maxLen);
      closers.push(() => log.close());
      return log;
    },
  },
  {
    name: 'RedisEventLog (cluster)',
    slack: 100,
    async log(maxLen) {
      const log = new RedisEventLog(await cluster.connect(), cluster.prefix(), maxLen);
      closers.push(() => log.close());
      return log;
    },
  },
];

/** Every event after `cursor`, read a page at a time as subscribers do. */
async function readAll(log: EventLog, igId: string, cursor = LOG_START): Promise<LogEntry[]> {
  const all: LogEntry[] = [];
  for (let after = cursor; ; ) {
    const page = await log.readAfter(igId, after);
    expect(page.length).toBeLessThanOrEqual(READ_PAGE);
    all.push(...page);
    if (page.length < READ_PAGE) return all;
    after = page.at(-1)?.cursor ?? after;
  }
}

describe.each(logs)('EventLog contract: $name', (backend) => {
  const appendAll = async (log: EventLog, events: InboxEventData[]) => {
    const cursors: string[] = [];
    for (const e of events) cursors.push(await log.append(e.igId, e));
    return cursors;
  };

  it('returns exactly the events after a cursor, in order', async () => {
    const log = await backend.log();
    const events = [1, 2, 3, 4, 5].map((n) => event(n));
    const cursors = await appendAll(log, events);
    const all = await log.readAfter(IG, LOG_START);
    expect(all).toEqual(events.map((e, i) => ({ cursor: cursors[i], event: e })));
    expect(await log.readAfter(IG, cursors[1] ?? '')).toEqual(all.slice(2));
    expect(await log.readAfter(IG, cursors[4] ?? '')).toEqual([]);
    expect(await log.readAfter(IG, cursors[0] ?? '', 2)).toEqual(all.slice(1, 3));
  });

  it('appends a batch (appendAll) and appends made together in call order', async () => {
    const log = await backend.log();
    const together = [
      log.append(IG, event(1)),
      log.appendAll?.(IG, [event(2), event(3)]),
      log.append(OTHER, event(4, OTHER)),
      log.append(IG, event(5)),
    ];
    const [one, batch, other, five] = await Promise.all(together);
    const cursors = [one, ...((batch as string[] | undefined) ?? []), five];
    expect(await log.readAfter(IG, LOG_START)).toEqual(
      [1, 2, 3, 5].map((n, i) => ({ cursor: cursors[i], event: event(n) })),
    );
    expect(await log.readAfter(OTHER, LOG_START)).toEqual([
      { cursor: other, event: event(4, OTHER) },
    ]);
  });

  it("gives an account's cursors that only increase, compared with isAfter", async () => {
    const log = await backend.log();
    await log.append(OTHER, event(1, OTHER));
    const cursors = await appendAll(log, [event(2), event(3), event(4), event(5)]);
    for (let i = 1; i < cursors.length; i++) {
      const [earlier, later] = [cursors[i - 1] ?? '', cursors[i] ?? ''];
      expect(log.isAfter(later, earlier)).toBe(true);
      expect(log.isAfter(earlier, later)).toBe(false);
      expect(log.isAfter(later, later)).toBe(false);
      expect(log.isAfter(later, LOG_START)).toBe(true);
    }
  });

  it('keeps accounts apart', async () => {
    const log = await backend.log();
    await appendAll(log, [event(1), event(2, OTHER), event(3), event(4, OTHER)]);
    const mids = async (igId: string) =>
      (await log.readAfter(igId, LOG_START)).map((e) =>
        e.event.kind === 'MESSAGE_RECEIVED' ? e.event.message.mid : '',
      );
    expect(await mids(IG)).toEqual(['mid.1', 'mid.3']);
    expect(await mids(OTHER)).toEqual(['mid.2', 'mid.4']);
    expect(await log.readAfter('17841400000000003', LOG_START)).toEqual([]);
  });

  it('stores a copy: changing the appended object changes nothing', async () => {
    const log = await backend.log();
    const original = event(1);
    const copy = structuredClone(original);
    await log.append(IG, original);
    if (original.kind === 'MESSAGE_RECEIVED') {
      (original.message as { text: string | null }).text = 'changed';
    }
    const [read] = await log.readAfter(IG, LOG_START);
    expect(read?.event).toEqual(copy);
  });

  it('reads a page of at most READ_PAGE (100) events, never the whole log', async () => {
    const log = await backend.log();
    const events = Array.from({ length: 250 }, (_, i) => event(i + 1));
    const cursors = await appendAll(log, events);
    const first = await log.readAfter(IG, LOG_START);
    expect(READ_PAGE).toBe(100);
    expect(first).toEqual(events.slice(0, 100).map((e, i) => ({ cursor: cursors[i], event: e })));
    const second = await log.readAfter(IG, cursors[99] ?? '');
    expect(second.map((e) => e.cursor)).toEqual(cursors.slice(100, 200));
    const last = await log.readAfter(IG, cursors[199] ?? '');
    expect(last.map((e) => e.cursor)).toEqual(cursors.slice(200));
    expect(await log.readAfter(IG, cursors[0] ?? '', 3)).toEqual(first.slice(1, 4));
  });

  it('pages through the whole window, each event once, in order', async () => {
    const log = await backend.log();
    const events = Array.from({ length: 230 }, (_, i) => event(i + 1));
    const cursors = await appendAll(log, events);
    const all = await readAll(log, IG);
    expect(all).toEqual(events.map((e, i) => ({ cursor: cursors[i], event: e })));
    expect((await readAll(log, IG, cursors[29])).map((e) => e.cursor)).toEqual(cursors.slice(30));
  });

  it('rejects a malformed cursor', async () => {
    const log = await backend.log();
    await log.append(IG, event(1));
    for (const cursor of ['', 'abc', '-1', '1.5', 'x-1', '1-2-3', ' 1', '(1']) {
      await expect(log.readAfter(IG, cursor)).rejects.toBeInstanceOf(InvalidCursorError);
      expect(() => log.isAfter(cursor, LOG_START)).toThrow(InvalidCursorError);
    }
  });

  it('keeps a bounded window; from a cursor older than it, what remains', async () => {
    const maxLen = 10;
    const log = await backend.log(maxLen);
    const events = Array.from({ length: 250 }, (_, i) => event(i + 1));
    const cursors = await appendAll(log, events);
    const kept = await readAll(log, IG);
    expect(kept.length).toBeGreaterThanOrEqual(maxLen);
    expect(kept.length).toBeLessThanOrEqual(maxLen + backend.slack);
    expect(kept.length).toBeLessThan(events.length);
    const newest = events.length - kept.length;
    expect(kept).toEqual(
      events.slice(newest).map((e, i) => ({ cursor: cursors[newest + i], event: e })),
    );
    expect(await readAll(log, IG, cursors[0])).toEqual(kept);
  });
});

describe('MemoryEventLog', () => {
  it('keeps exactly the newest 1,000 events per account by default', async () => {
    const log = new MemoryEventLog();
    for (let n = 1; n <= 1005; n++) await log.append(IG, event(n));
    await log.append(OTHER, event(1, OTHER));
    const kept = await readAll(log, IG);
    expect(kept).toHaveLength(1000);
    expect(kept[0]?.event).toEqual(event(6));
    expect(kept.at(-1)?.cursor).toBe('0000000000001005');
    expect(await log.readAfter(OTHER, LOG_START)).toHaveLength(1);
    await log.close();
  });
});

// ---- EventBus -----------------------------------------------------------------------------

interface BusBackend {
  readonly name: string;
  /** Two buses over one transport: for Redis, two instances on two connections. */
  pair(): Promise<{ a: EventBus; b: EventBus }>;
  /**
   * Another account whose publishes reach a subscriber in order with `igId`'s: any other one on
   * one connection; on a Redis Cluster, one in `igId`'s slot (its shard, and so its connections).
   */
  beside(igId: string): string;
}

/** The first account after `igId` whose hash tag falls in `igId`'s slot. */
function sameSlot(igId: string): string {
  const slot = keySlot(`{${igId}}`);
  for (let n = BigInt(igId) + 1n; ; n++) if (keySlot(`{${n}}`) === slot) return String(n);
}

const buses: BusBackend[] = [
  {
    name: 'MemoryEventBus',
    async pair() {
      const bus = new MemoryEventBus(logger);
      closers.push(() => bus.close());
      return { a: bus, b: bus };
    },
    beside: () => OTHER,
  },
  {
    name: 'RedisEventBus',
    async pair() {
      const prefix = newPrefix();
      const a = new RedisEventBus(await connect(), prefix, logger);
      const b = new RedisEventBus(await connect(), prefix, logger);
      closers.push(
        () => a.close(),
        () => b.close(),
      );
      return { a, b };
    },
    beside: () => OTHER,
  },
  {
    name: 'RedisEventBus (cluster)',
    async pair() {
      const prefix = cluster.prefix();
      const a = new RedisEventBus(await cluster.connect(), prefix, logger);
      const b = new RedisEventBus(await cluster.connect(), prefix, logger);
      closers.push(
        () => a.close(),
        () => b.close(),
      );
      return { a, b };
    },
    beside: sameSlot,
  },
];

const entry = (n: number, igId = IG): LogEntry => ({
  cursor: String(n).padStart(16, '0'),
  event: event(n, igId),
});

/** A listener that records what it gets. */
const recorder = () => {
  const got: LogEntry[] = [];
  const listener = (e: LogEntry) => {
    got.push(e);
  };
  return { got, listener, cursors: () => got.map((e) => e.cursor) };
};

describe.each(buses)('EventBus contract: $name', (backend) => {
  /**
   * Publishes a marker to an account beside `igId` on `a` and waits until `b`'s subscriber of it
   * has it: every publish to `igId` made before it has then been delivered (one connection each
   * way keeps order).
   */
  const barrier = async (a: EventBus, b: EventBus, igId = IG) => {
    const marker = recorder();
    const beside = backend.beside(igId);
    const stop = await b.subscribe(beside, marker.listener);
    await a.publish(beside, entry(999_999, beside));
    await vi.waitFor(() => expect(marker.got).toHaveLength(1), { timeout: 5000, interval: 5 });
    await stop();
  };

  it("delivers a publish from one instance to another's subscriber, as equal data", async () => {
    const { a, b } = await backend.pair();
    const sub = recorder();
    await b.subscribe(IG, sub.listener);
    await a.publish(IG, entry(1));
    await vi.waitFor(() => expect(sub.got).toEqual([entry(1)]), { timeout: 5000, interval: 5 });
  });

  it('delivers to every subscriber of the account, in publish order', async () => {
    const { a, b } = await backend.pair();
    const [one, two, three] = [recorder(), recorder(), recorder()];
    await b.subscribe(IG, one.listener);
    await b.subscribe(IG, two.listener);
    await a.subscribe(IG, three.listener);
    for (let n = 1; n <= 20; n++) await a.publish(IG, entry(n));
    const expected = Array.from({ length: 20 }, (_, i) => entry(i + 1).cursor);
    await vi.waitFor(
      () => {
        for (const r of [one, two, three]) expect(r.cursors()).toEqual(expected);
      },
      { timeout: 5000, interval: 5 },
    );
  });

  it("does not deliver another account's events", async () => {
    const { a, b } = await backend.pair();
    const sub = recorder();
    await b.subscribe(IG, sub.listener);
    await a.publish(THIRD, entry(1, THIRD));
    await barrier(a, b, THIRD);
    expect(sub.got).toEqual([]);
  });

  it('stops delivery on unsubscribe, and only for that subscriber', async () => {
    const { a, b } = await backend.pair();
    const [gone, stays] = [recorder(), recorder()];
    const stop = await b.subscribe(IG, gone.listener);
    await b.subscribe(IG, stays.listener);
    await a.publish(IG, entry(1));
    await barrier(a, b);
    await stop();
    await stop();
    await a.publish(IG, entry(2));
    await barrier(a, b);
    expect(gone.cursors()).toEqual([entry(1).cursor]);
    expect(stays.cursors()).toEqual([entry(1).cursor, entry(2).cursor]);
  });

  it('stops delivery when the last subscriber leaves, and resumes for a new one', async () => {
    const { a, b } = await backend.pair();
    const first = recorder();
    const stop = await b.subscribe(IG, first.listener);
    await stop();
    await a.publish(IG, entry(1));
    await barrier(a, b);
    expect(first.got).toEqual([]);
    const second = recorder();
    await b.subscribe(IG, second.listener);
    await a.publish(IG, entry(2));
    await barrier(a, b);
    expect(second.cursors()).toEqual([entry(2).cursor]);
    expect(first.got).toEqual([]);
  });

  it('treats one function subscribed twice as two subscriptions', async () => {
    const { a, b } = await backend.pair();
    const sub = recorder();
    const stop = await b.subscribe(IG, sub.listener);
    await b.subscribe(IG, sub.listener);
    await a.publish(IG, entry(1));
    await barrier(a, b);
    await stop();
    await a.publish(IG, entry(2));
    await barrier(a, b);
    expect(sub.cursors()).toEqual([entry(1).cursor, entry(1).cursor, entry(2).cursor]);
  });

  it('keeps delivering to the others when a listener throws', async () => {
    const { a, b } = await backend.pair();
    const sub = recorder();
    await b.subscribe(IG, () => {
      throw new Error('listener bug');
    });
    await b.subscribe(IG, sub.listener);
    await a.publish(IG, entry(1));
    await barrier(a, b);
    expect(sub.cursors()).toEqual([entry(1).cursor]);
  });

  it('refuses to work once closed', async () => {
    const { a } = await backend.pair();
    await a.close();
    await a.close();
    await expect(a.publish(IG, entry(1))).rejects.toThrow('closed');
    await expect(a.subscribe(IG, () => {})).rejects.toThrow('closed');
  });
});

// ---- What only Redis has: keys, channels, connections, reconnects --------------------------

describe('Redis implementations', () => {
  it('RedisDeduper: <prefix>:dedupe:<sha256(identity)> pending for 60 s, then done for 48 h', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const identity = `${IG}|MESSAGE_RECEIVED|mid.1||`;
    const deduper = new RedisDeduper(client, prefix);
    const key = `${prefix}:dedupe:${createHash('sha256').update(identity).digest('hex')}`;
    expect(DEDUPE_PENDING_SECONDS).toBe(60);
    expect(DEDUPE_TTL_SECONDS).toBe(48 * 3600);
    expect(await deduper.claim(IG, identity)).toBe('first');
    expect(await client.get(key)).toBe('pending');
    const pendingTtl = await client.ttl(key);
    expect(pendingTtl).toBeGreaterThan(60 - 5);
    expect(pendingTtl).toBeLessThanOrEqual(60);
    await deduper.confirm(IG, identity);
    expect(await client.get(key)).toBe('done');
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(48 * 3600 - 5);
    expect(ttl).toBeLessThanOrEqual(48 * 3600);
  });

  it('RedisDeduper: a key an older igql set (1) reads as a duplicate', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const identity = `${IG}|MESSAGE_RECEIVED|mid.old||`;
    const key = `${prefix}:dedupe:${createHash('sha256').update(identity).digest('hex')}`;
    await client.set(key, '1', { expiration: { type: 'EX', value: 3600 } });
    const deduper = new RedisDeduper(client, prefix);
    expect(await deduper.claim(IG, identity)).toBe('duplicate');
    await deduper.forget(IG, identity);
    expect(await deduper.claim(IG, identity)).toBe('duplicate');
  });

  it('RedisEventLog: one stream per account, the stream id as cursor', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const log = new RedisEventLog(client, prefix, 1000);
    const cursor = await log.append(IG, event(1));
    expect(cursor).toMatch(/^\d+-\d+$/);
    const key = `${prefix}:events:${IG}`;
    expect(await client.type(key)).toBe('stream');
    const [stored] = (await client.xRange(key, '-', '+')) ?? [];
    expect(stored?.id).toBe(cursor);
    expect(JSON.parse(String(stored?.message.event))).toEqual(event(1));
    // A cursor past the end, and the largest stream id, read nothing.
    expect(await log.readAfter(IG, '18446744073709551615-18446744073709551615')).toEqual([]);
    expect(log.isAfter('5-0', '4-99')).toBe(true);
    expect(log.isAfter('5-10', '5-9')).toBe(true);
    expect(log.isAfter('5', '5-0')).toBe(false);
    expect(() => log.isAfter('18446744073709551616-0', '0')).toThrow(InvalidCursorError);
  });

  it('RedisEventBus: JSON on <prefix>:events:<igId>, one channel subscription per account on one connection', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const channel = `${prefix}:events:${IG}`;
    const other = `${prefix}:events:${OTHER}`;
    const numsub = async () => {
      const counts = await client.pubSubNumSub([channel, other]);
      return [counts[channel], counts[other]];
    };
    const clientCount = async () => (await client.clientList()).length;
    const before = await clientCount();

    const stops = [
      await bus.subscribe(IG, () => {}),
      await bus.subscribe(IG, () => {}),
      await bus.subscribe(OTHER, () => {}),
    ];
    expect(await numsub()).toEqual([1, 1]);
    expect(await clientCount()).toBe(before + 1);

    const raw = await connect();
    const heard: string[] = [];
    await raw.subscribe(channel, (message) => {
      heard.push(message);
    });
    await bus.publish(IG, entry(1));
    await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 5000, interval: 5 });
    expect(JSON.parse(heard[0] ?? '')).toEqual(entry(1));
    await raw.unsubscribe(channel);

    await stops[0]?.();
    expect(await numsub()).toEqual([1, 1]);
    await stops[1]?.();
    await stops[2]?.();
    await vi.waitFor(async () => expect(await numsub()).toEqual([0, 0]), { timeout: 5000 });
  });

  it('RedisEventLog, RedisEventBus: an event an older igql stored or published reads as built now', async () => {
    const client = await connect();
    const prefix = newPrefix();
    // A message event as igql wrote it before its Message model (src/inbox/legacy.ts).
    const old = {
      kind: 'MESSAGE_RECEIVED',
      igId: IG,
      igsid: '5614879045272581',
      occurredAt: 1_700_000_000_001,
      identity: `${IG}|MESSAGE_RECEIVED|mid.old||`,
      standby: false,
      message: {
        mid: 'mid.old',
        text: 'from before',
        attachments: [{ type: 'like_heart', url: null, payload: null }],
        replyTo: null,
        quickReplyPayload: 'Q',
        referral: null,
        isUnsupported: false,
        isSelf: false,
      },
    };
    const cursor = await client.xAdd(`${prefix}:events:${IG}`, '*', {
      event: JSON.stringify(old),
    });
    const upgraded = {
      ...old,
      message: {
        mid: 'mid.old',
        createdTime: 1_700_000_000_001,
        detailAvailable: true,
        from: { igsid: '5614879045272581', username: null },
        to: [{ igsid: IG, username: null }],
        text: 'from before',
        attachments: [attachment('IMAGE', null, { type: 'like_heart' })],
        reactions: [],
        replyTo: null,
        isUnsupported: false,
      },
      quickReplyPayload: 'Q',
      referral: null,
      isSelf: false,
    };
    const log = new RedisEventLog(client, prefix, 1000);
    expect(await log.readAfter(IG, LOG_START)).toEqual([{ cursor, event: upgraded }]);

    const bus = new RedisEventBus(await connect(), prefix, logger);
    closers.push(() => bus.close());
    const heard: unknown[] = [];
    await bus.subscribe(IG, (entry) => heard.push(entry));
    await client.publish(`${prefix}:events:${IG}`, JSON.stringify({ cursor, event: old }));
    await vi.waitFor(() => expect(heard).toEqual([{ cursor, event: upgraded }]), {
      timeout: 5000,
      interval: 5,
    });
  });

  it('RedisEventBus: subscriptions come back after redis-server restarts', async () => {
    const prefix = newPrefix();
    const a = new RedisEventBus(await connect(), prefix, logger);
    const b = new RedisEventBus(await connect(), prefix, logger);
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    const sub = recorder();
    await b.subscribe(IG, sub.listener);
    await a.publish(IG, entry(1));
    await vi.waitFor(() => expect(sub.cursors()).toEqual([entry(1).cursor]), { timeout: 5000 });

    await server.restart();
    // Publishes fail while the publisher reconnects, and are lost while the subscriber has not
    // re-subscribed (at most once): keep publishing until one arrives.
    let n = 1;
    await vi.waitFor(
      async () => {
        await a.publish(IG, entry(++n)).catch(() => {});
        expect(sub.got.length).toBeGreaterThan(1);
      },
      { timeout: 15_000, interval: 100 },
    );
    // Once back, every publish arrives, in order (the last one last).
    await a.publish(IG, entry(1000));
    await vi.waitFor(() => expect(sub.got.at(-1)).toEqual(entry(1000)), { timeout: 5000 });
  });

  it('RedisEventBus: a subscribe while Redis is down waits for it, then delivers', async () => {
    const prefix = newPrefix();
    const a = new RedisEventBus(await connect(), prefix, logger);
    const b = new RedisEventBus(await connect(), prefix, logger);
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    await server.stop();
    const sub = recorder();
    let subscribed = false;
    const subscribing = b.subscribe(IG, sub.listener).then(() => {
      subscribed = true;
    });
    await sleep(300);
    expect(subscribed).toBe(false);
    await server.restart();
    await subscribing;
    await vi.waitFor(
      async () => {
        await a.publish(IG, entry(1));
        expect(sub.got.length).toBeGreaterThan(0);
      },
      { timeout: 15_000, interval: 100 },
    );
  });
});

describe('Redis Cluster implementations', () => {
  /** A key's slot, as the cluster computes it (`CLUSTER KEYSLOT`). */
  const slotOf = (client: ClusterClient, key: string) => client.clusterKeySlot(key);

  it("RedisDeduper: <prefix>:dedupe:{<igId>}:<sha256(identity)>, in the slot of the account's stream", async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const identity = `${IG}|MESSAGE_RECEIVED|mid.1||`;
    const deduper = new RedisDeduper(client, prefix);
    const key = `${prefix}:dedupe:{${IG}}:${createHash('sha256').update(identity).digest('hex')}`;
    expect(deduper.keyOf(IG, identity)).toBe(key);
    expect(await deduper.claim(IG, identity)).toBe('first');
    expect(await client.get(key)).toBe('pending');
    const pendingTtl = await client.ttl(key);
    expect(pendingTtl).toBeGreaterThan(60 - 5);
    expect(pendingTtl).toBeLessThanOrEqual(60);
    await deduper.confirm(IG, identity);
    expect(await client.get(key)).toBe('done');
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(48 * 3600 - 5);
    expect(ttl).toBeLessThanOrEqual(48 * 3600);
    expect(await slotOf(client, key)).toBe(await slotOf(client, `${prefix}:events:{${IG}}`));
    // igql's own hash (`keySlot`, which picks a shard's replicas to wait for) agrees with Redis.
    expect(keySlot(key)).toBe(await slotOf(client, key));
  });

  it('RedisEventLog: one stream per account, <prefix>:events:{<igId>}, the stream id as cursor', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const log = new RedisEventLog(client, prefix, 1000);
    const cursor = await log.append(IG, event(1));
    expect(cursor).toMatch(/^\d+-\d+$/);
    const key = `${prefix}:events:{${IG}}`;
    expect(log.keyOf(IG)).toBe(key);
    expect(await client.type(key)).toBe('stream');
    const [stored] = (await client.xRange(key, '-', '+')) ?? [];
    expect(stored?.id).toBe(cursor);
    expect(JSON.parse(String(stored?.message.event))).toEqual(event(1));
    expect(await client.exists(`${prefix}:events:${IG}`)).toBe(0);
  });

  it('RedisEventBus: JSON on the sharded channel <prefix>:events:{<igId>}, one subscription per account', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const channel = `${prefix}:events:{${IG}}`;
    const other = `${prefix}:events:{${OTHER}}`;
    expect(bus.channelOf(IG)).toBe(channel);
    /**
     * Subscribers of each channel, asked of the primary of its slot (a raw PUBSUB through the
     * cluster client goes to any node): sharded (SSUBSCRIBE), and classic (SUBSCRIBE, none).
     */
    const subscribers = async () =>
      Promise.all(
        [channel, other].map(async (name) => {
          const shard = client.slots[keySlot(name)]?.master;
          if (!shard) throw new Error(`no primary serves ${name}`);
          const node = await client.nodeClient(shard);
          const count = async (command: string) =>
            Number((await node.sendCommand<unknown[]>(['PUBSUB', command, name]))[1]);
          return [await count('SHARDNUMSUB'), await count('NUMSUB')];
        }),
      );

    const stops = [
      await bus.subscribe(IG, () => {}),
      await bus.subscribe(IG, () => {}),
      await bus.subscribe(OTHER, () => {}),
    ];
    expect(await subscribers()).toEqual([
      [1, 0],
      [1, 0],
    ]);

    const raw = await cluster.connect();
    const heard: string[] = [];
    await raw.sSubscribe(channel, (message) => {
      heard.push(message);
    });
    await bus.publish(IG, entry(1));
    await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 5000, interval: 5 });
    expect(JSON.parse(heard[0] ?? '')).toEqual(entry(1));
    await raw.sUnsubscribe(channel);

    await stops[0]?.();
    await stops[1]?.();
    await stops[2]?.();
    await vi.waitFor(
      async () =>
        expect(await subscribers()).toEqual([
          [0, 0],
          [0, 0],
        ]),
      { timeout: 5000 },
    );
  });
});

describe('RedisEventBus during an outage', () => {
  it('unsubscribes at once while Redis is down', async () => {
    const bus = new RedisEventBus(await connect(), newPrefix(), logger);
    closers.push(() => bus.close());
    const stop = await bus.subscribe(IG, () => {});
    await server.stop();
    const started = Date.now();
    await stop();
    expect(Date.now() - started).toBeLessThan(500);
    await server.restart();
  });
});

describe('Redis: what is asked in one turn of the event loop is one script call', () => {
  /** Calls per command since the last `CONFIG RESETSTAT` (scripts' own commands included). */
  const commandCalls = async (client: RedisClient) => {
    const calls: Record<string, number> = {};
    for (const line of (await client.info('commandstats')).split('\n')) {
      const found = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
      if (found?.[1] && found[2]) calls[found[1]] = Number(found[2]);
    }
    return calls;
  };

  it('RedisDeduper, RedisEventLog, RedisEventBus: one EVALSHA each for claims, confirms, appends, publishes', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const deduper = new RedisDeduper(client, prefix);
    const log = new RedisEventLog(client, prefix, 1000);
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const sub = recorder();
    await bus.subscribe(IG, sub.listener);
    // The first run of each script sends its source (EVAL); later ones its SHA1 only.
    await Promise.all([
      deduper.claim(IG, 'warm'),
      deduper.confirm(IG, 'warm'),
      log.append(OTHER, event(0, OTHER)),
      bus.publish(OTHER, entry(0, OTHER)),
    ]);
    const stats = await connect();
    await stats.configResetStat();

    const identities = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    expect(await Promise.all([...identities, 'id-0'].map((id) => deduper.claim(IG, id)))).toEqual([
      ...identities.map(() => 'first'),
      'pending',
    ]);
    await Promise.all(identities.map((id) => deduper.confirm(IG, id)));
    const [batch, , four] = await Promise.all([
      log.appendAll(IG, [event(1), event(2)]),
      log.append(OTHER, event(3, OTHER)),
      log.append(IG, event(4)),
    ]);
    const entries = [...batch, four].map((cursor, i) => ({
      cursor,
      event: event([1, 2, 4][i] ?? 0),
    }));
    expect(await log.readAfter(IG, LOG_START)).toEqual(entries);
    await Promise.all(entries.map((e) => bus.publish(IG, e)));
    await vi.waitFor(() => expect(sub.got).toEqual(entries), { timeout: 5000, interval: 5 });

    const calls = await commandCalls(stats);
    expect({
      evalsha: calls.evalsha,
      eval: calls.eval,
      xadd: calls.xadd,
      publish: calls.publish,
    }).toEqual({ evalsha: 4, eval: undefined, xadd: 4, publish: 3 });
    expect(
      await stats.get(`${prefix}:dedupe:${createHash('sha256').update('id-7').digest('hex')}`),
    ).toBe('done');
  });

  it('RedisEventBus.publishAndSet: publishes and confirms a turn of events in one script, confirm after publish', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const deduper = new RedisDeduper(client, prefix);
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const sub = recorder();
    await bus.subscribe(IG, sub.listener);
    const entries = [1, 2, 3].map((n) => entry(n));
    for (const e of entries)
      expect(await deduper.claim(e.event.igId, e.event.identity)).toBe('first');
    // The first run of a script sends its source (EVAL); later ones its SHA1 only.
    await bus.publishAndSet(OTHER, entry(0, OTHER), deduper.confirmation(IG, 'warm'));
    const stats = await connect();
    await stats.configResetStat();
    await Promise.all(
      entries.map((e) =>
        bus.publishAndSet(IG, e, deduper.confirmation(e.event.igId, e.event.identity)),
      ),
    );
    await vi.waitFor(() => expect(sub.got).toEqual(entries), { timeout: 5000, interval: 5 });
    const calls = await commandCalls(stats);
    expect({
      evalsha: calls.evalsha,
      eval: calls.eval,
      publish: calls.publish,
      set: calls.set,
    }).toEqual({ evalsha: 1, eval: undefined, publish: 3, set: 3 });
    for (const e of entries)
      expect(await deduper.claim(e.event.igId, e.event.identity)).toBe('duplicate');
    const key = deduper.confirmation(IG, entries[0]?.event.identity ?? '').key;
    expect(await stats.get(key)).toBe('done');
    expect(await stats.ttl(key)).toBeGreaterThan(DEDUPE_TTL_SECONDS - 5);
  });

  it('RedisEventBus.publishAndSet: when Redis refuses the SET (out of memory) it rejects and the claim stays pending', async () => {
    // A server of its own: its memory limit must not reach the other tests.
    const own = await startRedis();
    closers.push(() => own.stop());
    const redis = createRedis(own.url, logger);
    connections.push(redis);
    await redis.client.connect();
    const { client } = redis;
    const prefix = newPrefix();
    const deduper = new RedisDeduper(client, prefix);
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const identity = entry(1).event.identity;
    expect(await deduper.claim(IG, identity)).toBe('first');
    await client.configSet({ maxmemory: '1', 'maxmemory-policy': 'noeviction' });
    await expect(
      bus.publishAndSet(IG, entry(1), deduper.confirmation(IG, identity)),
    ).rejects.toThrow(/OOM/);
    await client.configSet({ maxmemory: '0' });
    expect(await deduper.claim(IG, identity)).toBe('pending');
  });

  it('splits a turn of more than MAX_BATCH calls into script calls of at most MAX_BATCH', async () => {
    const client = await connect();
    const deduper = new RedisDeduper(client, newPrefix());
    expect(await deduper.claim(IG, 'warm')).toBe('first');
    const stats = await connect();
    await stats.configResetStat();
    const identities = Array.from({ length: 2 * MAX_BATCH + 1 }, (_, i) => `many-${i}`);
    const claims = await Promise.all(identities.map((id) => deduper.claim(IG, id)));
    expect(claims).toEqual(identities.map(() => 'first'));
    expect((await commandCalls(stats)).evalsha).toBe(3);
  });

  it('runs its scripts again once Redis has lost them (SCRIPT FLUSH, a restart)', async () => {
    const client = await connect();
    const prefix = newPrefix();
    const deduper = new RedisDeduper(client, prefix);
    const log = new RedisEventLog(client, prefix, 1000);
    expect(await deduper.claim(IG, 'before')).toBe('first');
    await log.append(IG, event(1));
    await client.scriptFlush();
    expect(await deduper.claim(IG, 'after')).toBe('first');
    expect(await deduper.claim(IG, 'before')).toBe('pending');
    await log.append(IG, event(2));
    expect((await log.readAfter(IG, LOG_START)).map((e) => e.event)).toEqual([event(1), event(2)]);
  });

  it('rejects every call of a turn when Redis cannot take them', async () => {
    // A client never connected: every command fails at once, as while Redis is away.
    const offline = createRedis(server.url, logger).client;
    const deduper = new RedisDeduper(offline, newPrefix());
    const claims = await Promise.allSettled(['a', 'b', 'c'].map((id) => deduper.claim(IG, id)));
    expect(claims.map((c) => c.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const log = new RedisEventLog(offline, newPrefix(), 1000);
    await expect(log.appendAll(IG, [event(1), event(2)])).rejects.toThrow();
  });
});

describe('Redis Cluster: what is asked in one turn of the event loop is one script call per account', () => {
  const ACCOUNTS = [IG, OTHER, THIRD];

  /**
   * What the cluster's primaries run under `prefix`, from MONITOR on each (a connection of its
   * own): the shared cluster serves other files' tests meanwhile, under other prefixes.
   */
  async function watch(client: ClusterClient, prefix: string) {
    const ran: { byScript: boolean; args: string[] }[] = [];
    let markers = 0;
    await Promise.all(
      client.masters.map(async ({ host, port }) => {
        const monitor = createClient({ socket: { host, port } });
        closers.push(async () => monitor.destroy());
        await monitor.connect();
        // `<time> [<db> <client address>|lua] "<arg>" "<arg>" …`, quotes in arguments escaped.
        await monitor.monitor((line) => {
          if (!line.includes(prefix)) return;
          const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((found) => found[1] ?? '');
          ran.push({ byScript: / \[\d+ lua\] /.test(line), args });
        });
      }),
    );
    /** The account a command is of: the hash tag of its keys, all of them. */
    const accountOf = (keys: string[]) => [...new Set(keys.map(slotGroup))].join(' and ');
    return {
      /**
       * What ran since the last call, per account: each script call a client made (`EVALSHA
       * <number of keys>`, or `EVAL`), and each command the scripts ran, in order.
       */
      async next() {
        // A marker each primary runs after what came before it: once MONITOR reports it there,
        // it has reported all of that.
        const marker = `${prefix}:marker:${++markers}`;
        await Promise.all(
          client.masters.map(async (node) => (await client.nodeClient(node)).echo(marker)),
        );
        await vi.waitFor(
          () => expect(ran.filter((r) => r.args[1] === marker)).toHaveLength(client.masters.length),
          { timeout: 5000, interval: 5 },
        );
        const scripts: Record<string, string[]> = {};
        const commands: Record<string, string[]> = {};
        const add = (into: Record<string, string[]>, account: string, what: string) => {
          into[account] = [...(into[account] ?? []), what];
        };
        for (const { byScript, args } of ran.splice(0)) {
          const [command = '', , numKeys] = args;
          if (byScript) {
            add(commands, accountOf(args.slice(1, 2)), command);
          } else if (command === 'EVALSHA' || command === 'EVAL') {
            const keys = args.slice(3, 3 + Number(numKeys));
            add(scripts, accountOf(keys), `${command} ${keys.length}`);
          }
        }
        return { scripts, commands };
      },
    };
  }

  /**
   * Runs every script once on each account's primary, under a prefix of its own: the first run of
   * a script on a node sends its source (EVAL), later ones its SHA1 only.
   */
  async function warm(client: ClusterClient) {
    const prefix = cluster.prefix();
    const deduper = new RedisDeduper(client, prefix);
    const log = new RedisEventLog(client, prefix, 1000);
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    await Promise.all(
      ACCOUNTS.map(async (igId) => {
        await deduper.claim(igId, 'warm');
        await deduper.confirm(igId, 'warm');
        await log.append(igId, event(0, igId));
        await bus.publish(igId, entry(0, igId));
        await bus.publishAndSet(igId, entry(0, igId), deduper.confirmation(igId, 'warm'));
      }),
    );
  }

  it('RedisDeduper, RedisEventLog, RedisEventBus: one EVALSHA per account for claims, confirms, appends, publishes', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const deduper = new RedisDeduper(client, prefix);
    const log = new RedisEventLog(client, prefix, 1000);
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const sub = recorder();
    await bus.subscribe(IG, sub.listener);
    await warm(client);
    const ran = await watch(client, prefix);

    const identities = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    const claims = ACCOUNTS.flatMap((igId) => identities.map((id) => deduper.claim(igId, id)));
    expect(await Promise.all([...claims, deduper.claim(IG, 'id-0')])).toEqual([
      ...claims.map(() => 'first'),
      'pending',
    ]);
    expect((await ran.next()).scripts).toEqual({
      [IG]: ['EVALSHA 21'],
      [OTHER]: ['EVALSHA 20'],
      [THIRD]: ['EVALSHA 20'],
    });

    await Promise.all(
      ACCOUNTS.flatMap((igId) => identities.map((id) => deduper.confirm(igId, id))),
    );
    expect((await ran.next()).scripts).toEqual({
      [IG]: ['EVALSHA 20'],
      [OTHER]: ['EVALSHA 20'],
      [THIRD]: ['EVALSHA 20'],
    });

    const [batch, other, four, third] = await Promise.all([
      log.appendAll(IG, [event(1), event(2)]),
      log.append(OTHER, event(3, OTHER)),
      log.append(IG, event(4)),
      log.append(THIRD, event(5, THIRD)),
    ]);
    expect(await ran.next()).toEqual({
      scripts: { [IG]: ['EVALSHA 2'], [OTHER]: ['EVALSHA 1'], [THIRD]: ['EVALSHA 1'] },
      commands: { [IG]: ['XADD', 'XADD', 'XADD'], [OTHER]: ['XADD'], [THIRD]: ['XADD'] },
    });
    const entries = [...batch, four].map((cursor, i) => ({
      cursor,
      event: event([1, 2, 4][i] ?? 0),
    }));
    expect(await log.readAfter(IG, LOG_START)).toEqual(entries);

    await Promise.all([
      ...entries.map((e) => bus.publish(IG, e)),
      bus.publish(OTHER, { cursor: other, event: event(3, OTHER) }),
      bus.publish(THIRD, { cursor: third, event: event(5, THIRD) }),
    ]);
    await vi.waitFor(() => expect(sub.got).toEqual(entries), { timeout: 5000, interval: 5 });
    expect(await ran.next()).toEqual({
      scripts: { [IG]: ['EVALSHA 3'], [OTHER]: ['EVALSHA 1'], [THIRD]: ['EVALSHA 1'] },
      commands: {
        [IG]: ['SPUBLISH', 'SPUBLISH', 'SPUBLISH'],
        [OTHER]: ['SPUBLISH'],
        [THIRD]: ['SPUBLISH'],
      },
    });
    expect(await client.get(deduper.keyOf(THIRD, 'id-7'))).toBe('done');
  });

  it('RedisEventBus.publishAndSet: publishes and confirms a turn of events in one script per account, confirm after publish', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const deduper = new RedisDeduper(client, prefix);
    const bus = new RedisEventBus(client, prefix, logger);
    closers.push(() => bus.close());
    const sub = recorder();
    await bus.subscribe(IG, sub.listener);
    const entries = [entry(1), entry(2), entry(3, OTHER), entry(4, THIRD)];
    for (const e of entries)
      expect(await deduper.claim(e.event.igId, e.event.identity)).toBe('first');
    await warm(client);
    const ran = await watch(client, prefix);
    await Promise.all(
      entries.map((e) =>
        bus.publishAndSet(e.event.igId, e, deduper.confirmation(e.event.igId, e.event.identity)),
      ),
    );
    await vi.waitFor(() => expect(sub.got).toEqual(entries.slice(0, 2)), {
      timeout: 5000,
      interval: 5,
    });
    // Each script's keys: a channel and the key to set after it, per event.
    expect(await ran.next()).toEqual({
      scripts: { [IG]: ['EVALSHA 4'], [OTHER]: ['EVALSHA 2'], [THIRD]: ['EVALSHA 2'] },
      commands: {
        [IG]: ['SPUBLISH', 'SET', 'SPUBLISH', 'SET'],
        [OTHER]: ['SPUBLISH', 'SET'],
        [THIRD]: ['SPUBLISH', 'SET'],
      },
    });
    for (const e of entries)
      expect(await deduper.claim(e.event.igId, e.event.identity)).toBe('duplicate');
    const key = deduper.keyOf(THIRD, entry(4, THIRD).event.identity);
    expect(await client.get(key)).toBe('done');
    expect(await client.ttl(key)).toBeGreaterThan(DEDUPE_TTL_SECONDS - 5);
  });

  it('splits an account’s turn of more than MAX_BATCH calls into script calls of at most MAX_BATCH', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const deduper = new RedisDeduper(client, prefix);
    await warm(client);
    const ran = await watch(client, prefix);
    const identities = Array.from({ length: 2 * MAX_BATCH + 1 }, (_, i) => `many-${i}`);
    const claims = await Promise.all([
      ...identities.map((id) => deduper.claim(IG, id)),
      deduper.claim(OTHER, 'one'),
    ]);
    expect(claims).toEqual([...identities.map(() => 'first'), 'first']);
    expect((await ran.next()).scripts).toEqual({
      [IG]: [`EVALSHA ${MAX_BATCH}`, `EVALSHA ${MAX_BATCH}`, 'EVALSHA 1'],
      [OTHER]: ['EVALSHA 1'],
    });
  });

  it('rejects every call of a turn when the cluster cannot take them', async () => {
    // A client never connected: every command fails at once, as while the cluster is away.
    const offline = createRedisCluster(inject('redisClusterNodes'), logger).client;
    const deduper = new RedisDeduper(offline, cluster.prefix());
    const claims = await Promise.allSettled(
      ACCOUNTS.flatMap((igId) => ['a', 'b'].map((id) => deduper.claim(igId, id))),
    );
    expect(claims.map((c) => c.status)).toEqual(ACCOUNTS.flatMap(() => ['rejected', 'rejected']));
    const log = new RedisEventLog(offline, cluster.prefix(), 1000);
    await expect(log.appendAll(IG, [event(1), event(2)])).rejects.toThrow();
  });
});

describe('entryJson', () => {
  it('is JSON.stringify(entry), its event written once and reused', () => {
    const e = event(7);
    const entries = [
      { cursor: '1764000000000-0', event: e },
      { cursor: '0000000000000002', event: e },
    ];
    for (const entry of entries) expect(entryJson(entry)).toBe(JSON.stringify(entry));
    expect(eventJson(e)).toBe(eventJson(e));
    expect(JSON.parse(entryJson(entries[0] as LogEntry))).toEqual(entries[0]);
  });
});

describe('MemoryDeduper', () => {
  it('forgets the oldest identities past maxEntries', async () => {
    const deduper = new MemoryDeduper({ maxEntries: 3 });
    for (const identity of ['a', 'b', 'c', 'd']) {
      expect(await deduper.claim(IG, identity)).toBe('first');
      await deduper.confirm(IG, identity);
    }
    expect(await deduper.claim(IG, 'd')).toBe('duplicate');
    expect(await deduper.claim(IG, 'b')).toBe('duplicate');
    expect(await deduper.claim(IG, 'a')).toBe('first');
  });
});
