import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, DAY, type SimAccount, type SimUser } from '../../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { EARLIEST_EVENT_TIME } from '../../src/webhooks/normalise.ts';
import {
  type InboxEventResult,
  type InboxSubscriber,
  subscribeInbox,
} from '../helpers/inbox-events.ts';

/**
 * Timestamps refused at the door: a webhook event whose time is not a whole number of ms within
 * [2010-01-01, now + 1 day] (now: igql's injected clock) is dropped with a warning and counted
 * (`igql_inbox_events_total{outcome="bad_time"}`); the rest of the delivery is stored and the
 * webhook answered 200.
 */
const SECRET = 'door-secret';
const T0 = Date.parse('2026-11-20T12:00:00Z');

let sim: Simulator;
let config: Config;
let app: App;
let url: string;
let base: string;
let shop: SimAccount;
let ana: SimUser;
const subscribers: InboxSubscriber[] = [];

beforeAll(async () => {
  sim = new Simulator({ appSecret: SECRET, rateLimits: false, clock: createClock(T0, true) });
  shop = sim.addAccount({ username: 'northwind.shop' }).account;
  ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
  await sim.start();
  config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', INSTAGRAM_APP_SECRET: SECRET });
  app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    // igql's clock is the simulator's, eight days or more behind the real one.
    now: () => sim.clock.now(),
    reconcileIntervalMs: 0,
    refreshIntervalMs: 0,
    drainTimeoutMs: 500,
  });
  url = await app.start();
  base = url.replace(/\/graphql$/, '');
});

afterAll(async () => {
  await Promise.all(subscribers.map((s) => s.dispose()));
  await app?.stop();
  await sim?.stop();
});

async function subscribe(): Promise<InboxSubscriber> {
  const token = await signSession(
    config.sessionSecret,
    { sub: 'agent', accounts: [shop.igId] },
    3600,
  );
  const sub = await subscribeInbox(url, token, globalId.account(shop.igId));
  subscribers.push(sub);
  return sub;
}

/** One messaging entry: ana writes `mid` at `timestamp`; `entry.time` is the clock's now. */
const messaging = (mid: string, timestamp: unknown) => ({
  time: sim.clock.now(),
  id: shop.igId,
  messaging: [
    {
      sender: { id: ana.igsid },
      recipient: { id: shop.igId },
      timestamp,
      message: { mid, text: mid },
    },
  ],
});

/** One changes entry: a comment `id` at `time`, in seconds. */
const comment = (id: string, time: number) => ({
  id: shop.igId,
  time,
  changes: [{ value: { id, text: id, from: { id: ana.igsid } }, field: 'comments' }],
});

/** Posts Meta's bytes of `body` (after `edit`), signed; answers status and text. */
async function post(body: unknown, edit: (raw: string) => string = (raw) => raw) {
  const raw = edit(toMetaJson(body));
  const res = await fetch(`${base}/webhooks/instagram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(raw, SECRET) },
    body: raw,
  });
  return [res.status, await res.text()];
}

/** A good message after the others: once it arrived, everything posted before it has. */
async function marker(sub: InboxSubscriber, mid: string) {
  expect(await post({ object: 'instagram', entry: [messaging(mid, sim.clock.now())] })).toEqual([
    200,
    'EVENT_RECEIVED',
  ]);
  await sub.until((e) => e.message?.mid === mid);
}

async function badTimes(kind: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = new RegExp(
    `^igql_inbox_events_total\\{kind="${kind}",outcome="bad_time"\\} (\\d+)$`,
    'm',
  );
  return Number(line.exec(text)?.[1] ?? 0);
}

const seen = (events: readonly InboxEventResult[]) =>
  events.map((e) => [e.type, e.occurredAt, e.message?.mid]);
const iso = (ms: number) => new Date(ms).toISOString();

describe('timestamps refused at the door', () => {
  it('refuses a time past 8.64e15 ms, unreadable or fractional; the rest passes, subscribers unaffected', async () => {
    const sub = await subscribe();
    const before = await badTimes('MESSAGE_RECEIVED');
    const now = sim.clock.now();
    const body = {
      object: 'instagram',
      entry: [
        messaging('mid.past.any.date', 8.64e15 + 1),
        // entry.time is good: an unreadable timestamp is still no time.
        messaging('mid.nan', 'NaN'),
        // 1e400 in the bytes: JSON.parse reads it as Infinity.
        messaging('mid.infinite', '<INFINITY>'),
        messaging('mid.fraction', now + 0.5),
        messaging('mid.good', now),
      ],
    };
    expect(await post(body, (raw) => raw.replace('"<INFINITY>"', '1e400'))).toEqual([
      200,
      'EVENT_RECEIVED',
    ]);
    await marker(sub, 'mid.marker.1');
    expect(seen(sub.events)).toEqual([
      ['MESSAGE_RECEIVED', iso(now), 'mid.good'],
      ['MESSAGE_RECEIVED', iso(now), 'mid.marker.1'],
    ]);
    expect(sub.errors).toEqual([]);
    expect((await badTimes('MESSAGE_RECEIVED')) - before).toBe(4);
  });

  it('accepts times exactly at the bounds, and refuses a millisecond (or a second) outside them', async () => {
    const sub = await subscribe();
    const before = [await badTimes('MESSAGE_RECEIVED'), await badTimes('UNKNOWN')];
    const latest = sim.clock.now() + DAY;
    expect(EARLIEST_EVENT_TIME).toBe(Date.parse('2010-01-01T00:00:00.000Z'));
    expect(
      await post({
        object: 'instagram',
        entry: [
          messaging('mid.too.early', EARLIEST_EVENT_TIME - 1),
          messaging('mid.earliest', EARLIEST_EVENT_TIME),
          messaging('mid.latest', latest),
          messaging('mid.too.late', latest + 1),
        ],
      }),
    ).toEqual([200, 'EVENT_RECEIVED']);
    // `changes` carry their time in seconds.
    expect(
      await post({
        entry: [
          comment('c.too.early', EARLIEST_EVENT_TIME / 1000 - 1),
          comment('c.earliest', EARLIEST_EVENT_TIME / 1000),
          comment('c.latest', latest / 1000),
          comment('c.too.late', latest / 1000 + 1),
          comment('c.fraction', latest / 1000 - 0.5),
        ],
        object: 'instagram',
      }),
    ).toEqual([200, 'EVENT_RECEIVED']);
    await marker(sub, 'mid.marker.2');
    expect(seen(sub.events)).toEqual([
      ['MESSAGE_RECEIVED', '2010-01-01T00:00:00.000Z', 'mid.earliest'],
      ['MESSAGE_RECEIVED', iso(latest), 'mid.latest'],
      ['UNKNOWN', '2010-01-01T00:00:00.000Z', undefined],
      ['UNKNOWN', iso(latest), undefined],
      ['MESSAGE_RECEIVED', iso(sim.clock.now()), 'mid.marker.2'],
    ]);
    expect(sub.errors).toEqual([]);
    expect([
      (await badTimes('MESSAGE_RECEIVED')) - (before[0] ?? 0),
      (await badTimes('UNKNOWN')) - (before[1] ?? 0),
    ]).toEqual([2, 3]);
  });
});

describe('accounts refused at the door', () => {
  async function noAccount(kind: string): Promise<number> {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = new RegExp(
      `^igql_inbox_events_total\\{kind="${kind}",outcome="no_account"\\} (\\d+)$`,
      'm',
    );
    return Number(line.exec(text)?.[1] ?? 0);
  }

  it('refuses an entry whose id is not all digits (an id beginning "}" breaks the cluster layout); the rest passes', async () => {
    const sub = await subscribe();
    const before = await noAccount('MESSAGE_RECEIVED');
    const now = sim.clock.now();
    const entry = (id: string, mid: string) => ({ ...messaging(mid, now), id });
    expect(
      await post({
        object: 'instagram',
        entry: [
          entry(`}${shop.igId}`, 'mid.brace'),
          entry(`${shop.igId}}`, 'mid.brace.after'),
          entry(`{${shop.igId}}`, 'mid.braces'),
          entry('northwind', 'mid.name'),
          entry(shop.igId, 'mid.digits'),
        ],
      }),
    ).toEqual([200, 'EVENT_RECEIVED']);
    await marker(sub, 'mid.marker.3');
    expect(seen(sub.events)).toEqual([
      ['MESSAGE_RECEIVED', iso(now), 'mid.digits'],
      ['MESSAGE_RECEIVED', iso(sim.clock.now()), 'mid.marker.3'],
    ]);
    expect(sub.errors).toEqual([]);
    expect((await noAccount('MESSAGE_RECEIVED')) - before).toBe(4);
  });
});
