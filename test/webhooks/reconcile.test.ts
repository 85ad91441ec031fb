import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { attachment } from '../../src/inbox/attachments.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { InstagramError } from '../../src/instagram/errors.ts';
import type { GraphConversation, GraphList, InstagramApi } from '../../src/instagram/graph.ts';
import { createLogger } from '../../src/logger.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, DAY, type SimAccount, type SimUser } from '../../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import type { EventPipeline } from '../../src/webhooks/pipeline.ts';
import {
  OPTIONAL_FIELDS,
  PAGE_FIELDS,
  REQUIRED_FIELDS,
  Reconciler,
} from '../../src/webhooks/reconcile.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';
import { type InboxEventResult, subscribeInbox } from '../helpers/inbox-events.ts';

const IG = '17841400000000001';
const IGSID = '5614879045272581';
const NOW = Date.parse('2026-11-20T12:00:00Z');

/** One run over one conversation of `page`; the events it ingested. */
async function reconcile(page: GraphList<GraphConversation>): Promise<InboxEventData[]> {
  const ingested: InboxEventData[] = [];
  const api = {
    subscribedFields: async () => [...REQUIRED_FIELDS],
    subscribe: async () => {},
    conversations: async () => page,
  } as unknown as InstagramApi;
  const pipeline = {
    onStored: () => {},
    ingest: async (events: InboxEventData[]) => {
      ingested.push(...events);
      return [];
    },
  } as unknown as EventPipeline;
  const counter = { inc: () => {}, set: () => {} } as never;
  const reconciler = new Reconciler({
    api,
    tokens: { list: async () => [{ igId: IG, accessToken: 't', status: 'ACTIVE' }] } as never,
    pipeline,
    logger: createLogger('silent'),
    metrics: { reconciled: counter, resubscriptions: counter, lastRun: counter },
    lock: { acquire: async () => true },
    now: () => NOW,
  });
  await reconciler.runOnce();
  return ingested;
}

describe('reconciliation', () => {
  it('gives a message read from Graph as its event, classified as a query classifies it', async () => {
    const events = await reconcile({
      data: [
        {
          id: 'c.1',
          updated_time: '2026-11-20T11:59:00+0000',
          participants: { data: [{ id: IG }, { id: IGSID }] },
          messages: {
            data: [
              {
                id: 'm.1',
                created_time: '2026-11-20T11:59:00+0000',
                from: { id: IGSID, username: 'ana.costa' },
                to: { data: [{ id: IG }] },
                // A shared link that is no permalink: SHARE, as a query says (before: POST).
                shares: { data: [{ link: 'https://example.com/news/article' }] },
              },
            ],
          },
        },
      ],
    });
    expect(events).toEqual([
      {
        kind: 'MESSAGE_RECEIVED',
        igId: IG,
        igsid: IGSID,
        occurredAt: Date.parse('2026-11-20T11:59:00Z'),
        identity: `${IG}|MESSAGE_RECEIVED|m.1||`,
        standby: false,
        message: {
          mid: 'm.1',
          createdTime: Date.parse('2026-11-20T11:59:00Z'),
          detailAvailable: true,
          from: { igsid: IGSID, username: 'ana.costa' },
          to: [{ igsid: IG, username: null }],
          text: null,
          attachments: [attachment('SHARE', 'https://example.com/news/article')],
          reactions: [],
          replyTo: null,
          isUnsupported: false,
        },
        quickReplyPayload: null,
        referral: null,
        isSelf: false,
      },
    ]);
  });

  it('an account’s own message is MESSAGE_SENT to the customer; one without detail is skipped', async () => {
    const events = await reconcile({
      data: [
        {
          id: 'c.1',
          updated_time: '2026-11-20T11:59:30+0000',
          participants: { data: [{ id: IG }, { id: IGSID }] },
          messages: {
            data: [
              {
                id: 'm.2',
                created_time: '2026-11-20T11:59:30+0000',
                from: { id: IG },
                to: { data: [{ id: IGSID }] },
                message: 'Yes!',
              },
              { id: 'm.old', created_time: '2026-11-20T11:59:10+0000' },
            ],
          },
        },
      ],
    });
    expect(events.map((e) => [e.kind, e.igsid, 'message' in e && e.message.text])).toEqual([
      ['MESSAGE_SENT', IGSID, 'Yes!'],
    ]);
  });
});

/** Graph's time form: `2026-11-20T11:59:00+0000`. */
const graphTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

/** A conversation with the customer holding one message of theirs per time, newest first. */
const conversation = (id: string, times: readonly number[]): GraphConversation => ({
  id,
  updated_time: graphTime(Math.max(...times)),
  participants: { data: [{ id: IG }, { id: IGSID }] },
  messages: {
    data: [...times]
      .sort((a, b) => b - a)
      .map((t) => ({
        id: `m.${id}.${t}`,
        created_time: graphTime(t),
        from: { id: IGSID },
        to: { data: [{ id: IG }] },
        message: 'hi',
      })),
  },
});

/**
 * A reconciler over a fake Conversations API: each conversation of `list` (id → its messages'
 * times) holds the messages written by the clock's time, newest conversation first, `perPage`
 * at a time. The test moves the clock and can make reads fail.
 */
function harness(
  list: Record<string, readonly number[]>,
  perPage = 2,
  pages?: number,
  options: {
    /** The account is of Facebook Login: its Page's folders (by name, `inbox` the default). */
    folders?: Record<string, Record<string, readonly number[]>>;
  } = {},
) {
  const clock: { now: number; failing: boolean; refuse?: { folder: string; error: Error } } = {
    now: NOW,
    failing: false,
  };
  const ingested: string[] = [];
  const calls: (string | undefined)[] = [];
  /** Facebook Login: the folder of each call (`inbox`: none named). */
  const folders: string[] = [];
  const api = {
    subscribedFields: async () => [...REQUIRED_FIELDS, ...PAGE_FIELDS],
    subscribe: async () => {},
    conversations: async (
      _auth: unknown,
      args: { limit: number; after?: string; folder?: string },
    ) => {
      calls.push(args.after);
      folders.push(args.folder ?? 'inbox');
      if (clock.failing) throw new Error('Instagram is down');
      if (clock.refuse?.folder === (args.folder ?? 'inbox')) throw clock.refuse.error;
      const listed = options.folders?.[args.folder ?? 'inbox'] ?? list;
      const all = Object.entries(listed)
        .map(([id, times]) => [id, times.filter((t) => t <= clock.now)] as const)
        .filter(([, times]) => times.length > 0)
        .sort(([, a], [, b]) => Math.max(...b) - Math.max(...a))
        .map(([id, times]) => conversation(id, times));
      const start = args.after === undefined ? 0 : Number(args.after);
      const end = start + args.limit;
      return {
        data: all.slice(start, end),
        ...(end < all.length ? { paging: { cursors: { after: String(end) }, next: 'next' } } : {}),
      };
    },
  } as unknown as InstagramApi;
  const pipeline = {
    ingest: async (events: InboxEventData[]) => {
      ingested.push(...events.map((e) => ('message' in e ? e.message.mid : e.kind)));
      return [];
    },
  } as unknown as EventPipeline;
  const counter = { inc: () => {}, set: () => {} } as never;
  const account = options.folders
    ? { loginKind: 'FACEBOOK', pageId: '101234567890123' }
    : ({} as const);
  const reconciler = new Reconciler({
    api,
    tokens: {
      list: async () => [{ igId: IG, accessToken: 't', status: 'ACTIVE', ...account }],
    } as never,
    pipeline,
    logger: createLogger('silent'),
    metrics: { reconciled: counter, resubscriptions: counter, lastRun: counter },
    lock: { acquire: async () => true },
    conversations: perPage,
    ...(pages === undefined ? {} : { pages }),
    now: () => clock.now,
  });
  return { clock, ingested, calls, folders, reconciler };
}

const MINUTE = 60_000;

describe('reconciliation: the look-back window', () => {
  it('reads the last 10 minutes on every run, not what is newer than the newest message seen', async () => {
    const { clock, ingested, reconciler } = harness({
      a: [NOW - 11 * MINUTE, NOW - 5 * MINUTE],
      b: [NOW + 2 * MINUTE],
    });
    clock.now = NOW + 3 * MINUTE;
    await reconciler.runOnce();
    clock.now = NOW + 4 * MINUTE;
    await reconciler.runOnce();
    // Both runs publish the whole window again (dedupe drops repeats); 11 minutes ago is out.
    const window = [`m.a.${NOW - 5 * MINUTE}`, `m.b.${NOW + 2 * MINUTE}`];
    expect(ingested).toEqual([...window, ...window]);
  });

  it('after failed runs, reads back to a minute before the last successful one', async () => {
    const { clock, ingested, reconciler } = harness({ a: [NOW + 2 * MINUTE] });
    await reconciler.runOnce();
    expect(ingested).toEqual([]);
    clock.failing = true;
    clock.now = NOW + 10 * MINUTE;
    await reconciler.runOnce();
    clock.failing = false;
    // 18 minutes after the message: outside 10 minutes, inside "since the last success - 1 min".
    clock.now = NOW + 20 * MINUTE;
    await reconciler.runOnce();
    expect(ingested).toEqual([`m.a.${NOW + 2 * MINUTE}`]);
    // That run succeeded: the next one looks back 10 minutes again.
    clock.now = NOW + 21 * MINUTE;
    await reconciler.runOnce();
    expect(ingested).toEqual([`m.a.${NOW + 2 * MINUTE}`]);
  });

  it('never reads further back than 24 hours, however long ago the last success was', async () => {
    const { clock, ingested, reconciler } = harness({
      a: [NOW + DAY - MINUTE, NOW + 2 * DAY - 60 * MINUTE],
    });
    await reconciler.runOnce();
    clock.failing = true;
    clock.now = NOW + DAY;
    await reconciler.runOnce();
    clock.failing = false;
    clock.now = NOW + 2 * DAY;
    await reconciler.runOnce();
    expect(ingested).toEqual([`m.a.${NOW + 2 * DAY - 60 * MINUTE}`]);
  });

  it('pages through the conversations updated in the window and stops at the first older one', async () => {
    const minutes = [1, 2, 3, 4, 5, 30, 40];
    const { calls, ingested, reconciler } = harness(
      Object.fromEntries(minutes.map((m) => [`c${m}`, [NOW - m * MINUTE]])),
    );
    await reconciler.runOnce();
    // Pages of 2: [1, 2], [3, 4], [5, 30]: the third holds one past the window, so no fourth.
    expect(calls).toEqual([undefined, '2', '4']);
    expect(ingested).toEqual([5, 4, 3, 2, 1].map((m) => `m.c${m}.${NOW - m * MINUTE}`));
  });

  it('reads at most `pages` pages a run', async () => {
    const seconds = [1, 2, 3, 4, 5, 6];
    const { calls, ingested, reconciler } = harness(
      Object.fromEntries(seconds.map((t) => [`c${t}`, [NOW - t * 1000]])),
      2,
      2,
    );
    await reconciler.runOnce();
    expect(calls).toEqual([undefined, '2']);
    expect(ingested).toEqual([4, 3, 2, 1].map((t) => `m.c${t}.${NOW - t * 1000}`));
  });
});

describe('reconciliation of an account of Facebook Login: the Page’s inbox and message requests', () => {
  it('reads the default list, then `pending`, within the same budget of calls', async () => {
    const minutes = (from: number, n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`c${from + i}`, [NOW - (from + i) * 1000]]),
      );
    const { calls, folders, ingested, reconciler } = harness({}, 2, 4, {
      // 8 threads updated in the window in the inbox: more than its 3 calls read.
      folders: { inbox: minutes(1, 8), pending: { r1: [NOW - 30_000] } },
    });
    await reconciler.runOnce();
    expect(folders).toEqual(['inbox', 'inbox', 'inbox', 'pending']);
    expect(calls).toEqual([undefined, '2', '4', undefined]);
    expect(ingested).toEqual([
      `m.r1.${NOW - 30_000}`,
      ...[6, 5, 4, 3, 2, 1].map((t) => `m.c${t}.${NOW - t * 1000}`),
    ]);
  });

  it('costs two calls when little changed; an account of Instagram Login keeps its one', async () => {
    const facebook = harness({}, 25, undefined, {
      folders: { inbox: { a: [NOW - 1000] }, pending: {} },
    });
    await facebook.reconciler.runOnce();
    expect(facebook.folders).toEqual(['inbox', 'pending']);
    expect(facebook.ingested).toEqual([`m.a.${NOW - 1000}`]);
    const instagram = harness({ a: [NOW - 1000] }, 25);
    await instagram.reconciler.runOnce();
    expect(instagram.folders).toEqual(['inbox']);
  });

  it('never makes more calls than `pages`: with 1, the inbox only', async () => {
    const { folders, ingested, reconciler } = harness({}, 25, 1, {
      folders: { inbox: { a: [NOW - 1000] }, pending: { r: [NOW - 2000] } },
    });
    await reconciler.runOnce();
    expect(folders).toEqual(['inbox']);
    expect(ingested).toEqual([`m.a.${NOW - 1000}`]);
  });

  it('stores the inbox’s events when the message requests’ read fails, and reads that window again', async () => {
    const { clock, folders, ingested, reconciler } = harness({}, 25, undefined, {
      folders: { inbox: { a: [NOW + 9 * MINUTE] }, pending: { r: [NOW + 2 * MINUTE] } },
    });
    await reconciler.runOnce();
    clock.now = NOW + 10 * MINUTE;
    // The `pending` read refused (as Graph would if it did not take `folder` here).
    clock.refuse = {
      folder: 'pending',
      error: new InstagramError({ kind: 'invalid_parameter', message: '(#100) Invalid folder' }),
    };
    await reconciler.runOnce();
    expect(ingested).toEqual([`m.a.${NOW + 9 * MINUTE}`]);
    clock.refuse = undefined;
    // 18 minutes after the request: outside 10 minutes, inside "since the last success - 1 min"
    // (the run at NOW; the failed one was none).
    clock.now = NOW + 20 * MINUTE;
    await reconciler.runOnce();
    expect(ingested).toEqual([
      `m.a.${NOW + 9 * MINUTE}`,
      `m.r.${NOW + 2 * MINUTE}`,
      `m.a.${NOW + 9 * MINUTE}`,
    ]);
    expect(folders).toEqual(['inbox', 'pending', 'inbox', 'pending', 'inbox', 'pending']);
  });

  it('stores the inbox’s events when the token is refused at the message requests', async () => {
    const { clock, folders, ingested, reconciler } = harness({}, 25, undefined, {
      folders: { inbox: { a: [NOW - 1000] }, pending: { r: [NOW - 2000] } },
    });
    clock.refuse = {
      folder: 'pending',
      error: new InstagramError({ kind: 'token', message: 'Error validating access token' }),
    };
    await reconciler.runOnce();
    expect(folders).toEqual(['inbox', 'pending']);
    expect(ingested).toEqual([`m.a.${NOW - 1000}`]);
  });

  it('makes no call for an account of Facebook Login stored without its Page', async () => {
    const calls: string[] = [];
    const api = new Proxy(
      {},
      {
        get: (_target, name) => async () => {
          calls.push(String(name));
          return { data: [] };
        },
      },
    ) as InstagramApi;
    const counter = { inc: () => {}, set: () => {} } as never;
    const reconciler = new Reconciler({
      api,
      tokens: {
        list: async () => [
          { igId: IG, accessToken: 'EAApage', status: 'ACTIVE', loginKind: 'FACEBOOK' },
        ],
      } as never,
      pipeline: { ingest: async () => [] } as unknown as EventPipeline,
      logger: createLogger('silent'),
      metrics: { reconciled: counter, resubscriptions: counter, lastRun: counter },
      lock: { acquire: async () => true },
      now: () => NOW,
    });
    await reconciler.runOnce();
    expect(calls).toEqual([]);
  });
});

describe('reconciliation against the simulator: a missed message request of an account of Facebook Login', () => {
  let gw: Gateway;
  let cafe: SimAccount;
  let ana: SimUser;
  let pat: SimUser;

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      cafe = sim.addFacebookAccount({ username: 'harbor.cafe' }).account;
      ana = sim.store.addUser(cafe.igId, { username: 'ana.costa' });
      pat = sim.store.addUser(cafe.igId, { username: 'pat.unknown' });
      sim.store.addMessage(cafe.igId, pat.igsid, {
        fromId: pat.igsid,
        text: 'first',
        createdTime: sim.clock.now() - 60_000,
      });
      // A message request: in the Page's `pending` folder, not in its inbox's default list.
      const request = sim.store.conversationWith(cafe.igId, pat.igsid);
      if (request) request.folder = 'pending';
    });
  });
  afterAll(() => gw.stop());

  it('comes back as its inbox’s do', async () => {
    const token = await gw.session([cafe.igId]);
    const sub = await subscribeInbox(gw.url, token, globalId.account(cafe.igId));
    try {
      gw.sim.webhooks.withhold();
      const request = gw.sim.users.sendMessage(cafe.igId, pat.igsid, { text: 'are you hiring?' });
      const inbox = gw.sim.users.sendMessage(cafe.igId, ana.igsid, { text: 'hello' });
      await gw.sim.webhooks.idle();
      const mark = gw.sim.requests.length;
      await gw.app.reconciler.runOnce();
      await sub.until((e) => e.message?.mid === request.mid);
      await sub.until((e) => e.message?.mid === inbox.mid);
      expect(
        gw.sim.requests
          .slice(mark)
          .filter((r) => r.endpoint === '/{id}/conversations')
          .map((r) => [r.host, r.query.platform, r.query.folder]),
      ).toEqual([
        ['facebook', 'instagram', undefined],
        ['facebook', 'instagram', 'pending'],
      ]);
      expect(sub.events.map((e) => [e.type, e.message?.text]).sort()).toEqual([
        ['MESSAGE_RECEIVED', 'are you hiring?'],
        ['MESSAGE_RECEIVED', 'first'],
        ['MESSAGE_RECEIVED', 'hello'],
      ]);
      expect(sub.errors).toEqual([]);
    } finally {
      await sub.dispose();
    }
  });
});

describe('reconciliation against the simulator: missed webhooks come back, once', () => {
  const SECRET = 'reconcile-secret';
  const T0 = Date.parse('2026-11-20T12:00:00Z');
  let sim: Simulator;
  let config: Config;
  let app: App;
  let base: string;
  let url: string;
  let shop: SimAccount;
  let ana: SimUser;
  const subscribers: { dispose(): Promise<void> }[] = [];

  beforeAll(async () => {
    sim = new Simulator({
      appSecret: SECRET,
      rateLimits: false,
      retryScheduleMs: [20, 50],
      clock: createClock(T0, true),
      callbackUrl: () => (base ? `${base}/webhooks/instagram` : undefined),
    });
    shop = sim.addAccount({ username: 'northwind.shop' }).account;
    ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
    sim.store.addMessage(shop.igId, ana.igsid, {
      fromId: ana.igsid,
      text: 'an hour ago',
      createdTime: T0 - 3_600_000,
    });
    await sim.start();
    config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', INSTAGRAM_APP_SECRET: SECRET });
    app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim }),
      now: () => sim.clock.now(),
      // The simulator's limits are lifted; igql's own pacing of reads would only slow the runs.
      instagram: { paceReads: false },
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

  const subscribe = async () => {
    const token = await signSession(
      config.sessionSecret,
      { sub: 'agent', accounts: [shop.igId] },
      3600,
    );
    const sub = await subscribeInbox(url, token, globalId.account(shop.igId));
    subscribers.push(sub);
    return sub;
  };

  /** A message whose webhook is delivered; resolves once `sub` received it. */
  const delivered = async (sub: Awaited<ReturnType<typeof subscribe>>, text: string) => {
    const message = sim.users.sendMessage(shop.igId, ana.igsid, { text });
    await sub.until((e) => e.message?.mid === message.mid);
    return message;
  };

  /** A message whose webhook Meta never sends. */
  const missed = async (text: string) => {
    sim.webhooks.withhold();
    const message = sim.users.sendMessage(shop.igId, ana.igsid, { text });
    await sim.webhooks.idle();
    return message;
  };

  const conversationReads = () =>
    sim.requests.filter((r) => r.endpoint === '/me/conversations').length;

  const seen = (events: readonly InboxEventResult[]) =>
    events.map((e) => [e.type, e.occurredAt, e.message?.mid, e.message?.text]);
  const iso = (ms: number) => new Date(ms).toISOString();

  it('publishes a missed message followed by a delivered one exactly once, and the delivered one not again', async () => {
    const sub = await subscribe();
    const lost = await missed('lost');
    sim.clock.advance(30_000);
    const arrived = await delivered(sub, 'arrived');
    sim.clock.advance(30_000);
    const reads = conversationReads();
    await app.reconciler.runOnce();
    const first = await delivered(sub, 'after the first run');
    // A second run reads the same window again: dedupe publishes nothing twice.
    await app.reconciler.runOnce();
    expect(conversationReads()).toBe(reads + 2);
    const second = await delivered(sub, 'after the second run');
    expect(seen(sub.events)).toEqual([
      ['MESSAGE_RECEIVED', iso(arrived.createdTime), arrived.mid, 'arrived'],
      ['MESSAGE_RECEIVED', iso(lost.createdTime), lost.mid, 'lost'],
      ['MESSAGE_RECEIVED', iso(first.createdTime), first.mid, 'after the first run'],
      ['MESSAGE_RECEIVED', iso(second.createdTime), second.mid, 'after the second run'],
    ]);
    expect(lost.createdTime).toBe(T0);
    expect(sub.errors).toEqual([]);
    expect(sim.webhooks.dropped.map((d) => d.reason)).toEqual(['withheld']);
  });

  it('refuses a signed webhook a year ahead at the door, and still recovers a later missed message', async () => {
    const sub = await subscribe();
    const future = sim.clock.now() + 365 * DAY;
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: future,
          id: shop.igId,
          messaging: [
            {
              sender: { id: ana.igsid },
              recipient: { id: shop.igId },
              timestamp: future,
              message: { mid: 'mid.from.the.future', text: 'a year ahead' },
            },
          ],
        },
      ],
    });
    const res = await fetch(`${base}/webhooks/instagram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, SECRET) },
      body: raw,
    });
    expect([res.status, await res.text()]).toEqual([200, 'EVENT_RECEIVED']);
    sim.clock.advance(30_000);
    const lost = await missed('lost after the future');
    sim.clock.advance(30_000);
    await app.reconciler.runOnce();
    const marker = await delivered(sub, 'marker');
    expect(seen(sub.events)).toEqual([
      ['MESSAGE_RECEIVED', iso(lost.createdTime), lost.mid, 'lost after the future'],
      ['MESSAGE_RECEIVED', iso(marker.createdTime), marker.mid, 'marker'],
    ]);
    expect(sub.errors).toEqual([]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /^igql_inbox_events_total\{kind="MESSAGE_RECEIVED",outcome="bad_time"\} 1$/m,
    );
  });
});

describe('the subscription watchdog', () => {
  /** A reconciler over an account subscribed to `listed`, Instagram refusing `refused` fields. */
  function watchdog(listed: string[], refused: readonly string[]) {
    const fields = new Set(listed);
    const subscribes: string[][] = [];
    const api = {
      subscribedFields: async () => [...fields],
      subscribe: async (_auth: unknown, asked: string[]) => {
        subscribes.push([...asked].sort());
        if (asked.some((f) => refused.includes(f))) throw new Error('(#200) permission missing');
        fields.clear();
        for (const f of asked) fields.add(f);
      },
      conversations: async () => ({ data: [] }),
    } as unknown as InstagramApi;
    const counter = { inc: () => {}, set: () => {} } as never;
    const reconciler = new Reconciler({
      api,
      tokens: { list: async () => [{ igId: IG, accessToken: 't', status: 'ACTIVE' }] } as never,
      pipeline: { ingest: async () => [] } as unknown as EventPipeline,
      logger: createLogger('silent'),
      metrics: { reconciled: counter, resubscriptions: counter, lastRun: counter },
      lock: { acquire: async () => true },
      now: () => NOW,
    });
    return { fields, subscribes, reconciler };
  }

  it('subscribes the inbox’s fields in a call of their own: comment fields refused leave them subscribed', async () => {
    const { fields, subscribes, reconciler } = watchdog([], OPTIONAL_FIELDS);
    await reconciler.runOnce();
    expect([...fields].sort()).toEqual([...REQUIRED_FIELDS].sort());
    expect(subscribes).toEqual([
      [...REQUIRED_FIELDS].sort(),
      [...REQUIRED_FIELDS, ...OPTIONAL_FIELDS].sort(),
    ]);
    // Not asked again every run; asked again after Meta drops the subscription.
    await reconciler.runOnce();
    expect(subscribes).toHaveLength(2);
    fields.clear();
    await reconciler.runOnce();
    expect(subscribes).toHaveLength(4);
    expect([...fields].sort()).toEqual([...REQUIRED_FIELDS].sort());
  });

  it('adds the comment fields when Instagram allows them', async () => {
    const { fields, reconciler } = watchdog([...REQUIRED_FIELDS], []);
    await reconciler.runOnce();
    expect([...fields].sort()).toEqual([...REQUIRED_FIELDS, ...OPTIONAL_FIELDS].sort());
  });
});
