/**
 * The pipeline's one-step path on a real Redis (src/pubsub/store-and-publish.ts): a delivery whose
 * events need nothing read is claimed, appended, published and confirmed by one script call, with
 * exactly what the step-by-step path would have stored, published and confirmed; beside that
 * path, each event is stored once whichever path claims it first; a script that fails part-way
 * fails every delivery it served, and their redeliveries store what it did not.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { entryJson, LOG_START, type LogEntry, type RedisEventLog } from '../../src/pubsub/log.ts';
import { MAX_BATCH, type RedisClient } from '../../src/redis.ts';
import { createSharedState, type SharedState } from '../../src/state.ts';
import { DEDUPE_TTL_SECONDS } from '../../src/webhooks/dedupe.ts';
import { needsCompletion } from '../../src/webhooks/enrich.ts';
import { EventPipeline } from '../../src/webhooks/pipeline.ts';
import { messageReceived } from '../helpers/inbox-events.ts';
import { useRedisServer } from '../helpers/redis.ts';

const redis = useRedisServer();
const logger = createLogger('silent');
const A = '17841400000000001';
const B = '17841400000000002';
/** The account of warm-up deliveries: Redis learns each script once (EVAL after NOSCRIPT). */
const C = '17841400000000003';
const NOW = Date.parse('2026-11-20T12:00:00Z');
let prefixes = 0;

/** Shared state on the test's Redis under a prefix of its own, and a pipeline over it. */
async function setUp(complete?: (events: readonly InboxEventData[]) => Promise<InboxEventData[]>) {
  const client = await redis.connect();
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const prefix = `sp${++prefixes}`;
  const state = createSharedState(config, { client } as never, logger, prefix);
  const metrics = createMetrics();
  const pipeline = new EventPipeline({
    deduper: state.deduper,
    log: state.log,
    bus: state.bus,
    logger,
    counter: metrics.inboxEvents,
    now: () => NOW,
    ...(state.publishAndConfirm ? { publishAndConfirm: state.publishAndConfirm } : {}),
    ...(state.storeAndPublish ? { storeAndPublish: state.storeAndPublish } : {}),
    needsCompletion,
    ...(complete ? { complete } : {}),
  });
  const outcomes = async () =>
    Object.fromEntries(
      (await metrics.inboxEvents.get()).values.map((v) => [
        `${v.labels.kind} ${v.labels.outcome}`,
        v.value,
      ]),
    );
  return { client, state, pipeline, prefix, outcomes };
}

/** Every entry the bus hands the account's listeners, as it arrives. */
async function listen(state: SharedState, igId: string) {
  const got: LogEntry[] = [];
  const waiters: (() => void)[] = [];
  await state.bus.subscribe(igId, (entry) => {
    got.push(entry);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    got,
    async until(n: number) {
      while (got.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return got;
    },
  };
}

/** The calls of scripts (EVALSHA and EVAL) Redis has run so far. */
async function scriptCalls(client: RedisClient): Promise<number> {
  const stats = await client.info('commandstats');
  let calls = 0;
  for (const name of ['evalsha', 'eval']) {
    calls += Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  }
  return calls;
}

const message = (n: number, igId = A) => messageReceived(n, { igId, at: NOW - 1000 + n });

describe('EventPipeline with storeAndPublish on Redis', () => {
  it('stores, publishes and confirms a delivery of three events in one script call', async () => {
    const { client, state, pipeline, prefix, outcomes } = await setUp();
    const onA = await listen(state, A);
    const onB = await listen(state, B);
    await pipeline.accept([message(100, C)]);
    const before = await scriptCalls(client);

    const accepted = await pipeline.accept([message(1), message(2, B), message(3)]);

    expect(await scriptCalls(client)).toBe(before + 1);
    expect(accepted.pending).toBe(0);
    expect(accepted.published).toBe(true);
    expect(accepted.entries.map((e) => e.event.identity)).toEqual([
      message(1).identity,
      message(2, B).identity,
      message(3).identity,
    ]);
    // The log holds each event under the cursor the pipeline answered, in order.
    const logA = await state.log.readAfter(A, LOG_START);
    const logB = await state.log.readAfter(B, LOG_START);
    expect(logA).toEqual([accepted.entries[0], accepted.entries[2]]);
    expect(logB).toEqual([accepted.entries[1]]);
    expect(state.log.isAfter(logA[1]?.cursor ?? '', logA[0]?.cursor ?? '')).toBe(true);
    // Subscribers receive the same entries, as the step-by-step path publishes them.
    expect(await onA.until(2)).toEqual([accepted.entries[0], accepted.entries[2]]);
    expect(await onB.until(1)).toEqual([accepted.entries[1]]);
    // Each identity is confirmed done for the dedupe TTL.
    for (const { event } of accepted.entries) {
      const key = (state.deduper as unknown as { keyOf(igId: string, id: string): string }).keyOf(
        event.igId,
        event.identity,
      );
      expect(key.startsWith(`${prefix}:dedupe:`)).toBe(true);
      expect(await client.get(key)).toBe('done');
      const ttl = await client.ttl(key);
      expect(ttl).toBeGreaterThan(DEDUPE_TTL_SECONDS - 5);
      expect(ttl).toBeLessThanOrEqual(DEDUPE_TTL_SECONDS);
    }
    expect(await outcomes()).toEqual({ 'MESSAGE_RECEIVED new': 4 });
  });

  it('publishes the bytes entryJson writes for the entry', async () => {
    const { client, state, pipeline, prefix } = await setUp();
    const raw = await redis.connect();
    const messages: string[] = [];
    let heard: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      heard = resolve;
    });
    await raw.subscribe(`${prefix}:events:${A}`, (m) => {
      messages.push(m);
      heard();
    });
    const { entries } = await pipeline.accept([message(7)]);
    await arrived;
    expect(messages).toEqual([entryJson(entries[0] as LogEntry)]);
    expect(await client.xLen(`${prefix}:events:${A}`)).toBe(1);
    await raw.unsubscribe();
    void state;
  });

  it('a redelivery is a duplicate: nothing stored, nothing published, counted', async () => {
    const { state, pipeline, outcomes } = await setUp();
    const first = await pipeline.accept([message(1), message(2)]);
    const onA = await listen(state, A);
    const again = await pipeline.accept([message(1), message(2), message(3)]);

    expect(again.entries.map((e) => e.event.identity)).toEqual([message(3).identity]);
    expect(await onA.until(1)).toEqual(again.entries);
    expect((await state.log.readAfter(A, LOG_START)).map((e) => e.cursor)).toEqual([
      ...first.entries.map((e) => e.cursor),
      again.entries[0]?.cursor,
    ]);
    expect(await outcomes()).toEqual({
      'MESSAGE_RECEIVED new': 3,
      'MESSAGE_RECEIVED duplicate': 2,
    });
  });

  it('an identity another delivery holds pending is left to it: pending, not stored', async () => {
    const { state, pipeline, outcomes } = await setUp();
    expect(await state.deduper.claim(message(1).igId, message(1).identity)).toBe('first');

    const accepted = await pipeline.accept([message(1), message(2)]);

    expect(accepted.pending).toBe(1);
    expect(accepted.entries.map((e) => e.event.identity)).toEqual([message(2).identity]);
    expect((await state.log.readAfter(A, LOG_START)).length).toBe(1);
    expect(await outcomes()).toEqual({
      'MESSAGE_RECEIVED new': 1,
      'MESSAGE_RECEIVED pending': 1,
    });
  });

  it('a delivery with an event to complete goes step by step, completed before it is stored', async () => {
    const seen: InboxEventData = {
      kind: 'MESSAGES_SEEN',
      igId: A,
      igsid: null,
      occurredAt: NOW - 10,
      identity: `${A}|MESSAGES_SEEN|mid.1||`,
      standby: false,
      mid: 'mid.1',
    } as InboxEventData;
    const completedWith: InboxEventData[][] = [];
    const { client, state, pipeline } = await setUp(async (events) => {
      completedWith.push([...events]);
      return events.map((e) => (e.kind === 'MESSAGES_SEEN' ? { ...e, igsid: '42' } : e));
    });
    await pipeline.accept([{ ...seen, igId: C, identity: `${C}|MESSAGES_SEEN|mid.1||` }]);
    completedWith.length = 0;
    const before = await scriptCalls(client);

    const accepted = await pipeline.accept([message(1), seen]);

    // Claim, append, then publish-and-confirm: three script calls, not one.
    expect(await scriptCalls(client)).toBe(before + 3);
    expect(completedWith).toEqual([[message(1), seen]]);
    expect((await state.log.readAfter(A, LOG_START)).map((e) => e.event.igsid)).toEqual([
      message(1).igsid,
      '42',
    ]);
    expect(accepted.entries.length).toBe(2);
  });

  it('rejects when Redis refuses the script, storing nothing; the redelivery stores it once', async () => {
    const { client, state, pipeline } = await setUp();
    // Redis out of memory refuses writes: the XADD fails inside the script.
    await client.configSet({ maxmemory: '1', 'maxmemory-policy': 'noeviction' });
    try {
      await expect(pipeline.accept([message(1)])).rejects.toThrow(/OOM/);
    } finally {
      await client.configSet({ maxmemory: '0' });
    }
    expect(await state.log.readAfter(A, LOG_START)).toEqual([]);
    const accepted = await pipeline.accept([message(1)]);
    expect(accepted.entries.length).toBe(1);
    expect((await state.log.readAfter(A, LOG_START)).length).toBe(1);
  });
});

/** A read without sender, `n`th of its kind: it needs completing, so it goes step by step. */
const seen = (n: number): InboxEventData =>
  ({
    kind: 'MESSAGES_SEEN',
    igId: A,
    igsid: null,
    occurredAt: NOW - 10,
    identity: `${A}|MESSAGES_SEEN|mid.s${n}||`,
    standby: false,
    mid: `mid.s${n}`,
  }) as InboxEventData;

/**
 * A pipeline over both paths (a delivery with a read goes step by step, one of messages only in
 * one script), whose completion waits while `hold()`'s gate is shut.
 */
async function bothPaths() {
  let gate = Promise.resolve();
  let entered: () => void = () => {};
  const completedWith: InboxEventData[][] = [];
  const set = await setUp(async (events) => {
    completedWith.push([...events]);
    entered();
    await gate;
    return [...events];
  });
  return {
    ...set,
    completedWith,
    /** Shuts the gate: `inside` resolves once a delivery is completing (its claims taken). */
    hold() {
      let release: () => void = () => {};
      gate = new Promise((resolve) => {
        release = resolve;
      });
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      return { inside, release };
    },
  };
}

describe('EventPipeline on Redis: the one-step and the step-by-step paths share one dedupe', () => {
  it('an identity a step-by-step delivery holds is pending for a one-step one, then a duplicate', async () => {
    const { state, pipeline, outcomes, hold } = await bothPaths();
    const onA = await listen(state, A);
    const held = hold();
    const stepping = pipeline.accept([seen(1), message(1)]);
    await held.inside;

    const meanwhile = await pipeline.accept([message(1)]);
    expect(meanwhile).toEqual({ entries: [], pending: 1, published: true });

    held.release();
    const stepped = await stepping;
    expect(stepped.pending).toBe(0);
    expect(stepped.entries.map((e) => e.event.identity)).toEqual([
      seen(1).identity,
      message(1).identity,
    ]);
    const redelivered = await pipeline.accept([message(1)]);
    expect(redelivered).toEqual({ entries: [], pending: 0, published: true });
    // A later event, published after everything before it on the same connection: once it came,
    // whatever else was published has come too.
    const later = await pipeline.accept([message(2)]);
    expect(await onA.until(3)).toEqual([...stepped.entries, ...later.entries]);
    expect(await state.log.readAfter(A, LOG_START)).toEqual([...stepped.entries, ...later.entries]);
    expect(await outcomes()).toEqual({
      'MESSAGES_SEEN new': 1,
      'MESSAGE_RECEIVED new': 2,
      'MESSAGE_RECEIVED pending': 1,
      'MESSAGE_RECEIVED duplicate': 1,
    });
  });

  it('an identity stored in one step is a duplicate for a step-by-step claim', async () => {
    const { state, pipeline, outcomes, completedWith } = await bothPaths();
    const quick = await pipeline.accept([message(2)]);

    const stepped = await pipeline.accept([seen(2), message(2)]);

    expect(stepped.pending).toBe(0);
    expect(stepped.entries.map((e) => e.event.identity)).toEqual([seen(2).identity]);
    expect(completedWith).toEqual([[seen(2)]]);
    expect(await state.log.readAfter(A, LOG_START)).toEqual([...quick.entries, ...stepped.entries]);
    expect(await outcomes()).toEqual({
      'MESSAGES_SEEN new': 1,
      'MESSAGE_RECEIVED new': 1,
      'MESSAGE_RECEIVED duplicate': 1,
    });
  });

  // Both calls of one turn: each path's Redis calls go out in the order the deliveries came.
  it('a step-by-step delivery, then a one-step one in the same turn: stored once, pending', async () => {
    const { state, pipeline } = await bothPaths();

    const [stepped, quick] = await Promise.all([
      pipeline.accept([seen(3), message(3)]),
      pipeline.accept([message(3)]),
    ]);

    expect(stepped.entries.map((e) => e.event.identity)).toEqual([
      seen(3).identity,
      message(3).identity,
    ]);
    expect(quick).toEqual({ entries: [], pending: 1, published: true });
    expect(await state.log.readAfter(A, LOG_START)).toEqual(stepped.entries);
  });

  it('a one-step delivery, then a step-by-step one in the same turn: stored once, duplicate', async () => {
    const { state, pipeline } = await bothPaths();

    const [quick, stepped] = await Promise.all([
      pipeline.accept([message(3)]),
      pipeline.accept([seen(3), message(3)]),
    ]);

    expect(quick.entries.map((e) => e.event.identity)).toEqual([message(3).identity]);
    expect(stepped.pending).toBe(0);
    expect(stepped.entries.map((e) => e.event.identity)).toEqual([seen(3).identity]);
    expect(await state.log.readAfter(A, LOG_START)).toEqual([...quick.entries, ...stepped.entries]);
  });
});

describe('EventPipeline on Redis: a script that fails part-way', () => {
  const P = '17841400000000009';
  /** Redis's answer to an XADD on a key that is not a stream. */
  const wrongType = /^WRONGTYPE /;

  it('fails every delivery of its turn; the redeliveries store each event once', async () => {
    const { client, state, pipeline } = await setUp();
    // The account's stream is not a stream: its XADD fails, after the event before it was stored
    // (Redis keeps what a script wrote before an error).
    const poisoned = (state.log as RedisEventLog).keyOf(P);
    await client.set(poisoned, 'not a stream');

    const results = await Promise.allSettled([
      pipeline.accept([message(10)]),
      pipeline.accept([message(11, P)]),
      pipeline.accept([message(12)]),
    ]);

    const failed = {
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(wrongType) }),
    };
    expect(results).toEqual([failed, failed, failed]);
    expect((await state.log.readAfter(A, LOG_START)).map((e) => e.event.identity)).toEqual([
      message(10).identity,
    ]);

    await client.del(poisoned);
    const again = await Promise.all([
      pipeline.accept([message(10)]),
      pipeline.accept([message(11, P)]),
      pipeline.accept([message(12)]),
    ]);

    expect(again.map((a) => a.entries.map((e) => e.event.identity))).toEqual([
      [],
      [message(11, P).identity],
      [message(12).identity],
    ]);
    expect((await state.log.readAfter(A, LOG_START)).map((e) => e.event.identity)).toEqual([
      message(10).identity,
      message(12).identity,
    ]);
    expect(await state.log.readAfter(P, LOG_START)).toEqual(again[1]?.entries);
  });

  it(`a delivery of ${MAX_BATCH + 1} events, two scripts: the second fails, the first's are kept; the redelivery stores the rest`, async () => {
    const { client, state, pipeline, outcomes } = await setUp();
    const events = Array.from({ length: MAX_BATCH }, (_, i) => message(1000 + i));
    events.push(message(5000, P));
    const poisoned = (state.log as RedisEventLog).keyOf(P);
    await client.set(poisoned, 'not a stream');
    await pipeline.accept([message(100, C)]);
    const before = await scriptCalls(client);

    await expect(pipeline.accept(events)).rejects.toThrow(wrongType);
    expect(await scriptCalls(client)).toBe(before + 2);
    expect(await client.xLen((state.log as RedisEventLog).keyOf(A))).toBe(MAX_BATCH);

    await client.del(poisoned);
    const again = await pipeline.accept(events);

    expect(again.entries.map((e) => e.event.identity)).toEqual([message(5000, P).identity]);
    expect(await client.xLen((state.log as RedisEventLog).keyOf(A))).toBe(MAX_BATCH);
    expect(
      (await state.log.readAfter(A, LOG_START, MAX_BATCH)).map((e) => e.event.identity),
    ).toEqual(events.slice(0, MAX_BATCH).map((e) => e.identity));
    expect(await state.log.readAfter(P, LOG_START)).toEqual(again.entries);
    expect(await outcomes()).toEqual({
      'MESSAGE_RECEIVED new': MAX_BATCH + 2,
      'MESSAGE_RECEIVED duplicate': MAX_BATCH,
    });
  });
});
