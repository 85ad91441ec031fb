/**
 * The two-phase dedupe through the pipeline and the webhook route: a failed store never leaves
 * its event taken for a duplicate (the claim lapses when even `forget` failed), and a delivery
 * that meets another's pending claim is answered 503, never 200.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { MemoryEventBus } from '../../src/pubsub/bus.ts';
import { type EventLog, LOG_START, type LogEntry, MemoryEventLog } from '../../src/pubsub/log.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { DEDUPE_PENDING_SECONDS, type Deduper, MemoryDeduper } from '../../src/webhooks/dedupe.ts';
import { EventPipeline } from '../../src/webhooks/pipeline.ts';
import { PENDING_RETRY_AFTER_S, webhookRoutes } from '../../src/webhooks/routes.ts';
import { messageReceived } from '../helpers/inbox-events.ts';

const logger = createLogger('silent');
const IG = '17841400000000001';
const IGSID = '5614879045272581';
const NOW = Date.parse('2026-11-20T12:00:00Z');
const SECRET = 'pipeline-secret';

const event = (n: number): InboxEventData =>
  messageReceived(n, { igId: IG, igsid: IGSID, at: NOW - 1000 + n });

/** A memory log whose appends first go through `before(n)` (n counts appends from 1). */
function logWith(before: (n: number) => Promise<void>) {
  const inner = new MemoryEventLog();
  let n = 0;
  const log: EventLog = {
    append: async (igId, e) => {
      await before(++n);
      return inner.append(igId, e);
    },
    readAfter: (igId, cursor, limit) => inner.readAfter(igId, cursor, limit),
    isAfter: (a, b) => inner.isAfter(a, b),
    close: () => inner.close(),
  };
  return { log, stored: () => inner.readAfter(IG, LOG_START) };
}

/** A Redis that went away: what a command then rejects with. */
const unreachable = () => new Error('The client is offline');

/** `inner`, except that `forget` or `confirm` reject as an unreachable Redis would. */
function failing(inner: Deduper, fail: { forget?: boolean; confirm?: boolean }): Deduper {
  return {
    claim: (igId, identity) => inner.claim(igId, identity),
    confirm: async (igId, identity) => {
      if (fail.confirm) throw unreachable();
      await inner.confirm(igId, identity);
    },
    forget: async (igId, identity) => {
      if (fail.forget) throw unreachable();
      await inner.forget(igId, identity);
    },
  };
}

async function setup(o: { deduper: Deduper; log: EventLog; now?: () => number }) {
  const metrics = createMetrics();
  const bus = new MemoryEventBus(logger);
  const published: LogEntry[] = [];
  await bus.subscribe(IG, (entry) => {
    published.push(entry);
  });
  const pipeline = new EventPipeline({
    deduper: o.deduper,
    log: o.log,
    bus,
    logger,
    counter: metrics.inboxEvents,
    now: o.now ?? (() => NOW),
  });
  return { pipeline, metrics, published };
}

/** `igql_inbox_events_total` by outcome, summed over kinds. */
async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { labels, value } of (await metrics.inboxEvents.get()).values) {
    const outcome = String(labels.outcome);
    counts[outcome] = (counts[outcome] ?? 0) + value;
  }
  return counts;
}

describe('EventPipeline: claim, store, confirm', () => {
  it('stores the redelivery of an event whose append failed, forget failing too, once its claim lapses', async () => {
    let now = NOW;
    const deduper = failing(new MemoryDeduper({ now: () => now }), { forget: true });
    const { log, stored } = logWith(async (n) => {
      if (n === 1) throw unreachable();
    });
    const { pipeline, metrics } = await setup({ deduper, log });

    await expect(pipeline.store([event(1)])).rejects.toThrow('The client is offline');
    // Meta delivers it again while the failed claim still holds: not stored, not acknowledged.
    expect(await pipeline.store([event(1)])).toEqual({ entries: [], pending: 1 });
    now += DEDUPE_PENDING_SECONDS * 1000 - 1;
    expect(await pipeline.store([event(1)])).toEqual({ entries: [], pending: 1 });
    now += 1;
    const again = await pipeline.store([event(1)]);
    expect(again).toEqual({
      entries: [{ cursor: '0000000000000001', event: event(1) }],
      pending: 0,
    });
    expect(await stored()).toEqual(again.entries);
    expect(await pipeline.store([event(1)])).toEqual({ entries: [], pending: 0 });
    expect(await outcomes(metrics)).toEqual({ new: 1, pending: 2, duplicate: 1 });
  });

  it('forgets every claim of a delivery whose append failed: its redelivery stores it whole, at least once', async () => {
    const { log, stored } = logWith(async (n) => {
      if (n === 2) throw unreachable();
    });
    const { pipeline } = await setup({ deduper: new MemoryDeduper({ now: () => NOW }), log });
    await expect(pipeline.store([event(1), event(2), event(3)])).rejects.toThrow(
      'The client is offline',
    );
    const again = await pipeline.store([event(1), event(2), event(3)]);
    expect(again).toEqual({
      entries: [
        { cursor: '0000000000000002', event: event(1) },
        { cursor: '0000000000000003', event: event(2) },
        { cursor: '0000000000000004', event: event(3) },
      ],
      pending: 0,
    });
    // Event 1 was appended before the failure: stored twice, never lost.
    expect((await stored()).map((e) => e.event)).toEqual([event(1), event(1), event(2), event(3)]);
  });

  it('keeps an event stored whose confirm failed: resolved, and stored again only once its claim lapses', async () => {
    let now = NOW;
    const deduper = failing(new MemoryDeduper({ now: () => now }), { confirm: true });
    const { log, stored } = logWith(async () => {});
    const { pipeline } = await setup({ deduper, log });
    expect(await pipeline.store([event(1)])).toEqual({
      entries: [{ cursor: '0000000000000001', event: event(1) }],
      pending: 0,
    });
    expect(await pipeline.store([event(1)])).toEqual({ entries: [], pending: 1 });
    // At least once: never lost, at worst stored twice.
    now += DEDUPE_PENDING_SECONDS * 1000;
    expect((await pipeline.store([event(1)])).entries).toHaveLength(1);
    expect(await stored()).toHaveLength(2);
  });

  it('ingest (reconciliation, account status) leaves an event another delivery holds to it', async () => {
    const deduper = new MemoryDeduper({ now: () => NOW });
    const { log, stored } = logWith(async () => {});
    const { pipeline, published } = await setup({ deduper, log });
    expect(await deduper.claim(event(1).igId, event(1).identity)).toBe('first');
    expect(await pipeline.ingest([event(1), event(2)])).toEqual([
      { cursor: '0000000000000001', event: event(2) },
    ]);
    // The holder failed and forgot it: the next run stores it.
    await deduper.forget(event(1).igId, event(1).identity);
    expect(await pipeline.ingest([event(1), event(2)])).toEqual([
      { cursor: '0000000000000002', event: event(1) },
    ]);
    expect(published.map((e) => e.event)).toEqual([event(2), event(1)]);
    expect((await stored()).map((e) => e.event)).toEqual([event(2), event(1)]);
  });
});

describe('EventPipeline: one round trip per phase', () => {
  /** A round trip: settles on a later turn of the event loop, as a Redis reply does. */
  const roundTrip = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** Memory dedupe, log and bus that record when each call starts and ends. */
  function traced() {
    const trace: string[] = [];
    const call = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      trace.push(`${name} >`);
      await roundTrip();
      const result = await run();
      trace.push(`${name} <`);
      return result;
    };
    const inner = new MemoryDeduper({ now: () => NOW });
    const deduper: Deduper = {
      claim: (igId, id) => call(`claim ${id.split('|')[2]}`, () => inner.claim(igId, id)),
      confirm: (igId, id) => call(`confirm ${id.split('|')[2]}`, () => inner.confirm(igId, id)),
      forget: (igId, id) => call(`forget ${id.split('|')[2]}`, () => inner.forget(igId, id)),
    };
    const memory = new MemoryEventLog();
    const log: EventLog = {
      append: (igId, e) => call(`append ${e.igId}`, () => memory.append(igId, e)),
      appendAll: (igId, events) =>
        call(`appendAll ${igId} ×${events.length}`, () => memory.appendAll(igId, events)),
      readAfter: (igId, cursor, limit) => memory.readAfter(igId, cursor, limit),
      isAfter: (a, b) => memory.isAfter(a, b),
      close: () => memory.close(),
    };
    const bus = new MemoryEventBus(logger);
    const traceBus = {
      publish: (igId: string, entry: LogEntry) =>
        call(`publish ${entry.cursor}`, () => bus.publish(igId, entry)),
      subscribe: bus.subscribe.bind(bus),
      close: bus.close.bind(bus),
    };
    const metrics = createMetrics();
    const pipeline = new EventPipeline({
      deduper,
      log,
      bus: traceBus,
      logger,
      counter: metrics.inboxEvents,
      now: () => NOW,
    });
    return {
      pipeline,
      trace,
      metrics,
      stored: (igId: string) => memory.readAfter(igId, LOG_START),
    };
  }

  const OTHER_IG = '17841400000000002';
  const other = (n: number): InboxEventData => ({
    ...event(n),
    igId: OTHER_IG,
    identity: `${OTHER_IG}|MESSAGE_RECEIVED|mid.${n}||`,
  });

  it('accept: claims every event at once, appends each account in one call, publishes, then confirms', async () => {
    const { pipeline, trace, stored } = traced();
    const accepted = await pipeline.accept([event(1), other(2), event(3)]);
    expect(accepted).toEqual({
      entries: [
        { cursor: '0000000000000001', event: event(1) },
        { cursor: '0000000000000003', event: other(2) },
        { cursor: '0000000000000002', event: event(3) },
      ],
      pending: 0,
      published: true,
    });
    expect(trace).toEqual([
      'claim mid.1 >',
      'claim mid.2 >',
      'claim mid.3 >',
      'claim mid.1 <',
      'claim mid.2 <',
      'claim mid.3 <',
      `appendAll ${IG} ×2 >`,
      `appendAll ${OTHER_IG} ×1 >`,
      `appendAll ${IG} ×2 <`,
      `appendAll ${OTHER_IG} ×1 <`,
      'publish 0000000000000001 >',
      'publish 0000000000000003 >',
      'publish 0000000000000002 >',
      'publish 0000000000000001 <',
      'publish 0000000000000003 <',
      'publish 0000000000000002 <',
      'confirm mid.1 >',
      'confirm mid.2 >',
      'confirm mid.3 >',
      'confirm mid.1 <',
      'confirm mid.2 <',
      'confirm mid.3 <',
    ]);
    expect((await stored(IG)).map((e) => e.event)).toEqual([event(1), event(3)]);
    // Confirmed before the answer: a redelivery is a duplicate.
    expect(await pipeline.store([event(1), other(2), event(3)])).toEqual({
      entries: [],
      pending: 0,
    });
  });

  it('accept: a publish that fails forgets the claims, so the redelivery stores and publishes again', async () => {
    const inner = new MemoryDeduper({ now: () => NOW });
    const { log, stored } = logWith(async () => {});
    const memory = new MemoryEventBus(logger);
    const published: LogEntry[] = [];
    await memory.subscribe(IG, (entry) => {
      published.push(entry);
    });
    let refuse = true;
    const pipeline = new EventPipeline({
      deduper: inner,
      log,
      bus: {
        publish: async (igId, entry) => {
          if (refuse) throw unreachable();
          await memory.publish(igId, entry);
        },
        subscribe: memory.subscribe.bind(memory),
        close: memory.close.bind(memory),
      },
      logger,
      counter: createMetrics().inboxEvents,
      now: () => NOW,
    });
    expect(await pipeline.accept([event(1)])).toEqual({
      entries: [{ cursor: '0000000000000001', event: event(1) }],
      pending: 0,
      published: false,
    });
    expect(published).toEqual([]);
    expect(await inner.claim(event(1).igId, event(1).identity)).toBe('first');
    await inner.forget(event(1).igId, event(1).identity);
    refuse = false;
    expect(await pipeline.accept([event(1)])).toEqual({
      entries: [{ cursor: '0000000000000002', event: event(1) }],
      pending: 0,
      published: true,
    });
    expect(published).toEqual([{ cursor: '0000000000000002', event: event(1) }]);
    expect(await inner.claim(event(1).igId, event(1).identity)).toBe('duplicate');
    expect(await stored()).toHaveLength(2);
  });

  it('accept with publishAndConfirm: publishes and confirms in one step per event, no confirm after it', async () => {
    const trace: string[] = [];
    const inner = new MemoryDeduper({ now: () => NOW });
    const memory = new MemoryEventLog();
    const bus = new MemoryEventBus(logger);
    const pipeline = new EventPipeline({
      deduper: inner,
      log: memory,
      bus,
      logger,
      counter: createMetrics().inboxEvents,
      now: () => NOW,
      publishAndConfirm: async (entry) => {
        trace.push(`publish+confirm ${entry.cursor}`);
        await bus.publish(entry.event.igId, entry);
        await inner.confirm(entry.event.igId, entry.event.identity);
      },
    });
    expect((await pipeline.accept([event(1), event(2)])).published).toBe(true);
    expect(trace).toEqual(['publish+confirm 0000000000000001', 'publish+confirm 0000000000000002']);
    expect(await inner.claim(event(2).igId, event(2).identity)).toBe('duplicate');
    expect((await memory.readAfter(IG, LOG_START)).map((e) => e.event)).toEqual([
      event(1),
      event(2),
    ]);
  });

  it('accept with publishAndConfirm that fails: every claim forgotten, published false', async () => {
    const inner = new MemoryDeduper({ now: () => NOW });
    const pipeline = new EventPipeline({
      deduper: inner,
      log: new MemoryEventLog(),
      bus: new MemoryEventBus(logger),
      logger,
      counter: createMetrics().inboxEvents,
      now: () => NOW,
      publishAndConfirm: async () => {
        throw unreachable();
      },
    });
    expect((await pipeline.accept([event(1), event(2)])).published).toBe(false);
    expect(await inner.claim(event(1).igId, event(1).identity)).toBe('first');
    expect(await inner.claim(event(2).igId, event(2).identity)).toBe('first');
  });

  it('stores an event a delivery repeats once, and counts the copy a duplicate', async () => {
    const { pipeline, metrics } = traced();
    expect(await pipeline.store([event(1), event(1), event(2)])).toEqual({
      entries: [
        { cursor: '0000000000000001', event: event(1) },
        { cursor: '0000000000000002', event: event(2) },
      ],
      pending: 0,
    });
    expect(await outcomes(metrics)).toEqual({ new: 2, duplicate: 1 });
  });

  it('a failed append of one account forgets every claim of the delivery: the redelivery stores both', async () => {
    const failing = new MemoryEventLog();
    // The other account's log refuses: every claim is forgotten, though IG's event was stored.
    const log: EventLog = {
      append: (igId, e) => failing.append(igId, e),
      appendAll: async (igId, events) => {
        if (igId === OTHER_IG) throw unreachable();
        return failing.appendAll(igId, events);
      },
      readAfter: (igId, cursor, limit) => failing.readAfter(igId, cursor, limit),
      isAfter: (a, b) => failing.isAfter(a, b),
      close: () => failing.close(),
    };
    const inner = new MemoryDeduper({ now: () => NOW });
    const { pipeline } = await setup({ deduper: inner, log });
    await expect(pipeline.store([event(1), other(2)])).rejects.toThrow('The client is offline');
    expect(await inner.claim(event(1).igId, event(1).identity)).toBe('first');
    expect(await inner.claim(other(2).igId, other(2).identity)).toBe('first');
    expect((await failing.readAfter(IG, LOG_START)).map((e) => e.event)).toEqual([event(1)]);
  });
});

describe('POST /webhooks/instagram while another delivery holds the claim', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** The route on a server of its own, its first append held until `release`. */
  async function start() {
    let entered = () => {};
    const inAppend = new Promise<void>((resolve) => (entered = resolve));
    let release: (error?: Error) => void = () => {};
    const gate = new Promise<void>((resolve, reject) => {
      release = (error) => (error ? reject(error) : resolve());
    });
    const { log, stored } = logWith(async (n) => {
      if (n !== 1) return;
      entered();
      await gate;
    });
    const { pipeline, metrics, published } = await setup({
      deduper: new MemoryDeduper(),
      log,
      now: Date.now,
    });
    const route = webhookRoutes({
      appSecret: SECRET,
      verifyToken: 'verify',
      pipeline,
      logger,
      deliveries: metrics.webhookDeliveries,
    })['POST /webhooks/instagram'];
    const server = createServer((req, res) => void route?.(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/instagram`;
    const timestamp = Date.now();
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: timestamp,
          id: IG,
          messaging: [
            {
              sender: { id: IGSID },
              recipient: { id: IG },
              timestamp,
              message: { mid: 'mid.1', text: 'hello' },
            },
          ],
        },
      ],
    });
    /** Meta delivering the same event (again). */
    const deliver = async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(raw, SECRET) },
        body: raw,
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: await res.text(),
      };
    };
    const deliveries = async () =>
      Object.fromEntries(
        (await metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]),
      );
    return { deliver, inAppend, release, stored, published, deliveries };
  }

  const refused = {
    status: 503,
    retryAfter: String(PENDING_RETRY_AFTER_S),
    body: JSON.stringify({ error: 'these events are being stored by another delivery; retry' }),
  };
  const accepted = { status: 200, retryAfter: null, body: 'EVENT_RECEIVED' };

  it('answers 503 with Retry-After, not 200; once the first stored the event, 200', async () => {
    const { deliver, inAppend, release, stored, published, deliveries } = await start();
    const first = deliver();
    await inAppend;
    expect(await deliver()).toEqual(refused);
    release();
    expect(await first).toEqual(accepted);
    expect(await deliver()).toEqual(accepted);
    expect((await stored()).map((e) => e.cursor)).toEqual(['0000000000000001']);
    expect(published.map((e) => e.cursor)).toEqual(['0000000000000001']);
    expect(await deliveries()).toEqual({ pending: 1, accepted: 2 });
  });

  it('when the first then fails to store it, the refused delivery, delivered again, stores it once', async () => {
    const { deliver, inAppend, release, stored, published, deliveries } = await start();
    const first = deliver();
    await inAppend;
    expect(await deliver()).toEqual(refused);
    release(unreachable());
    expect((await first).status).toBe(503);
    expect(await stored()).toEqual([]);
    expect(await deliver()).toEqual(accepted);
    expect(await deliver()).toEqual(accepted);
    expect((await stored()).map((e) => e.cursor)).toEqual(['0000000000000001']);
    expect(published.map((e) => e.cursor)).toEqual(['0000000000000001']);
    expect(await deliveries()).toEqual({ pending: 1, store_failed: 1, accepted: 2 });
  });
});
