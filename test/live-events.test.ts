import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../src/app.ts';
import { signSession } from '../src/auth/jwt.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { globalId } from '../src/global-id.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { Simulator } from '../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../src/sandbox/webhooks.ts';
import { addAccountOf, CONFIGURATIONS, endpointsOf } from './helpers/configurations.ts';
import { type RedisServer, startRedis } from './helpers/redis.ts';
import { watchSubscriber } from './helpers/subscribers.ts';

const SECRET = 'live-app-secret';

interface Instance {
  readonly app: App;
  readonly url: string;
  readonly base: string;
}

// The same live events for accounts of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let redis: RedisServer;
  let sim: Simulator;
  let config: Config;
  let a: Instance;
  let b: Instance;
  let shop: SimAccount;
  let studio: SimAccount;
  let ana: SimUser;
  const clients: Client[] = [];

  async function instance(): Promise<Instance> {
    const app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim }),
      drainTimeoutMs: 500,
      instagram: { paceReads: false },
      reconcileIntervalMs: 0,
    });
    const url = await app.start();
    return { app, url, base: url.replace('/graphql', '').replace('localhost', '127.0.0.1') };
  }

  const session = (igIds: string[]) =>
    signSession(config.sessionSecret, { sub: 'agent', accounts: igIds }, 3600);

  /** A graphql-ws subscription that queues every event it gets. */
  async function subscribe(
    target: Instance,
    token: string,
    query: string,
    variables: Record<string, unknown>,
  ) {
    const client = createClient({
      url: target.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    const received: Record<string, unknown>[] = [];
    const errors: unknown[] = [];
    let notify: (() => void) | undefined;
    // Resolves once the server established the subscriber, or the subscription failed.
    const watch = watchSubscriber();
    const dispose = client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) errors.push(value.errors);
          if (value.data) received.push(value.data);
          notify?.();
        },
        error: (error) => {
          errors.push(error);
          watch.cancel();
        },
        complete: () => watch.cancel(),
      },
    );
    await watch.established;
    return {
      received,
      errors,
      dispose,
      async next(count: number, timeoutMs = 5000) {
        const deadline = Date.now() + timeoutMs;
        while (received.length < count && Date.now() < deadline) {
          await new Promise<void>((resolve) => {
            notify = resolve;
            setTimeout(resolve, 50);
          });
        }
        return received.slice(0, count);
      },
    };
  }

  const MESSAGES = `subscription($a: ID!, $after: String) { messageReceived(accountId: $a, after: $after) { cursor message { mid text from { igsid } } } }`;

  function delivery(
    igId: string,
    items: { igsid: string; mid: string; text: string; timestamp: number }[],
  ) {
    return {
      object: 'instagram',
      entry: items.map((m) => ({
        time: m.timestamp,
        id: igId,
        messaging: [
          {
            sender: { id: m.igsid },
            recipient: { id: igId },
            timestamp: m.timestamp,
            message: { mid: m.mid, text: m.text },
          },
        ],
      })),
    };
  }

  async function post(target: Instance, body: unknown, secret = SECRET) {
    const raw = toMetaJson(body);
    const res = await fetch(`${target.base}/webhooks/instagram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, secret) },
      body: raw,
    });
    return { status: res.status, text: await res.text() };
  }

  beforeAll(async () => {
    redis = await startRedis();
    sim = new Simulator({
      appSecret: SECRET,
      rateLimits: false,
      retryScheduleMs: [20, 50],
      // The simulator delivers to instance A, as Meta calls whichever instance it reaches.
      callbackUrl: () => (a ? `${a.base}/webhooks/instagram` : undefined),
    });
    shop = addAccountOf(sim, kind, { username: 'northwind.shop' }).account;
    studio = addAccountOf(sim, kind, { username: 'lumen.studio' }).account;
    ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
    sim.store.addMessage(shop.igId, ana.igsid, {
      fromId: ana.igsid,
      text: 'first',
      createdTime: Date.now() - 3_600_000,
    });
    await sim.start();
    config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      INSTAGRAM_APP_SECRET: SECRET,
      REDIS_URL: redis.url,
    });
    a = await instance();
    b = await instance();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await a?.app.stop();
    await b?.app.stop();
    await sim?.stop();
    await redis?.stop();
  });

  describe('webhooks to subscriptions across instances', () => {
    it('delivers a signed webhook posted to instance A to a subscriber on instance B', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      const res = await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.cross.1', text: 'Hello from A', timestamp: Date.now() },
        ]),
      );
      expect(res).toEqual({ status: 200, text: 'EVENT_RECEIVED' });
      const [event] = await sub.next(1);
      expect(event).toEqual({
        messageReceived: {
          cursor: expect.stringMatching(/^\d+-\d+$/),
          message: { mid: 'mid.cross.1', text: 'Hello from A', from: { igsid: ana.igsid } },
        },
      });
      sub.dispose();
    });

    it('keeps the webhook timestamp’s milliseconds in the message’s createdTime', async () => {
      const sub = await subscribe(
        b,
        await session([shop.igId]),
        'subscription($a: ID!) { messageReceived(accountId: $a) { occurredAt message { mid createdTime } } }',
        { a: globalId.account(shop.igId) },
      );
      await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.ms', text: 'to the millisecond', timestamp: 1764374400123 },
        ]),
      );
      const [event] = await sub.next(1);
      expect(event).toEqual({
        messageReceived: {
          occurredAt: '2025-11-29T00:00:00.123Z',
          message: { mid: 'mid.ms', createdTime: '2025-11-29T00:00:00.123Z' },
        },
      });
      sub.dispose();
    });

    it('refuses a forged or unsigned webhook with 401 and delivers nothing', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      const forged = await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.forged', text: 'forged', timestamp: Date.now() },
        ]),
        'not-the-secret',
      );
      expect(forged.status).toBe(401);
      const unsigned = await fetch(`${a.base}/webhooks/instagram`, { method: 'POST', body: '{}' });
      expect(unsigned.status).toBe(401);
      await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.after.forged', text: 'real', timestamp: Date.now() },
        ]),
      );
      const [event] = await sub.next(1);
      expect(
        (event?.messageReceived as { message: { mid: string } } | undefined)?.message.mid,
      ).toBe('mid.after.forged');
      expect(sub.received).toHaveLength(1);
      sub.dispose();
    });

    it('delivers a redelivered webhook once, even to the other instance', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      const body = delivery(shop.igId, [
        { igsid: ana.igsid, mid: 'mid.twice', text: 'twice', timestamp: Date.now() },
      ]);
      expect((await post(a, body)).status).toBe(200);
      expect((await post(b, body)).status).toBe(200);
      expect((await post(a, body)).status).toBe(200);
      await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.marker', text: 'marker', timestamp: Date.now() },
        ]),
      );
      const events = await sub.next(2);
      expect(
        events.map((e) => (e.messageReceived as { message: { mid: string } }).message.mid),
      ).toEqual(['mid.twice', 'mid.marker']);
      sub.dispose();
    });

    it('delivers a batched delivery whole and in timestamp order', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      const t = Date.now();
      const items = Array.from({ length: 20 }, (_, i) => ({
        igsid: ana.igsid,
        mid: `mid.batch.${i}`,
        text: `m${i}`,
        timestamp: t + i,
      }));
      // Shuffled: Meta does not guarantee order within a delivery.
      const shuffled = [...items].sort(
        (x, y) => ((x.timestamp * 7919) % 13) - ((y.timestamp * 7919) % 13),
      );
      expect((await post(a, delivery(shop.igId, shuffled))).status).toBe(200);
      const events = await sub.next(20);
      expect(
        events.map((e) => (e.messageReceived as { message: { text: string } }).message.text),
      ).toEqual(items.map((m) => m.text));
      sub.dispose();
    });

    it('gives a subscriber only its own accounts’ events, and refuses another account', async () => {
      const studioSub = await subscribe(b, await session([studio.igId]), MESSAGES, {
        a: globalId.account(studio.igId),
      });
      const refused = await subscribe(b, await session([studio.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      await post(
        a,
        delivery(shop.igId, [
          {
            igsid: ana.igsid,
            mid: 'mid.private',
            text: 'for the shop only',
            timestamp: Date.now(),
          },
        ]),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(studioSub.received).toEqual([]);
      expect(refused.received).toEqual([]);
      expect(refused.errors).toEqual([
        [
          expect.objectContaining({
            message: 'Account not found',
            extensions: { code: 'NOT_FOUND' },
          }),
        ],
      ]);
      studioSub.dispose();
    });

    it('resumes from a cursor without a gap or a duplicate', async () => {
      const token = await session([shop.igId]);
      const first = await subscribe(a, token, MESSAGES, { a: globalId.account(shop.igId) });
      await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.resume.0', text: 'r0', timestamp: Date.now() },
        ]),
      );
      const [seen] = await first.next(1);
      const cursor = (seen?.messageReceived as { cursor: string } | undefined)?.cursor;
      first.dispose();
      // While nobody listens: three more.
      for (const i of [1, 2, 3]) {
        await post(
          a,
          delivery(shop.igId, [
            { igsid: ana.igsid, mid: `mid.resume.${i}`, text: `r${i}`, timestamp: Date.now() },
          ]),
        );
      }
      const resumed = await subscribe(b, token, MESSAGES, {
        a: globalId.account(shop.igId),
        after: cursor,
      });
      await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.resume.4', text: 'r4', timestamp: Date.now() },
        ]),
      );
      const events = await resumed.next(4);
      expect(
        events.map((e) => (e.messageReceived as { message: { text: string } }).message.text),
      ).toEqual(['r1', 'r2', 'r3', 'r4']);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(resumed.received).toHaveLength(4);
      resumed.dispose();
    });
  });

  describe('the simulator’s own deliveries', () => {
    it('reaches a subscription from POST /sandbox/inbound, end to end', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      const res = await fetch(`${a.base}/sandbox/inbound`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          accountId: globalId.account(shop.igId),
          from: 'ana.costa',
          text: 'via the sandbox',
        }),
      });
      expect(res.status).toBe(202);
      const { mid } = (await res.json()) as { mid: string };
      const [event] = await sub.next(1);
      expect(event).toEqual({
        messageReceived: {
          cursor: expect.any(String),
          message: { mid, text: 'via the sandbox', from: { igsid: ana.igsid } },
        },
      });
      sub.dispose();
    });

    it('reads each event’s data afresh: a second message shows the conversation as it is now', async () => {
      const sub = await subscribe(
        b,
        await session([shop.igId]),
        `subscription($a: ID!) { messageReceived(accountId: $a) { message { text } conversation { messages(first: 1) { nodes { text } } } } }`,
        { a: globalId.account(shop.igId) },
      );
      for (const text of ['fresh one', 'fresh two']) {
        await fetch(`${a.base}/sandbox/inbound`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ accountId: globalId.account(shop.igId), from: 'ana.costa', text }),
        });
        await sub.next(text === 'fresh one' ? 1 : 2);
      }
      expect(sub.received).toEqual([
        {
          messageReceived: {
            message: { text: 'fresh one' },
            conversation: { messages: { nodes: [{ text: 'fresh one' }] } },
          },
        },
        {
          messageReceived: {
            message: { text: 'fresh two' },
            conversation: { messages: { nodes: [{ text: 'fresh two' }] } },
          },
        },
      ]);
      sub.dispose();
    });

    it('reconciles a message whose webhook Meta never delivered', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      sim.webhooks.withhold();
      const message = sim.users.sendMessage(shop.igId, ana.igsid, { text: 'lost webhook' });
      await sim.webhooks.idle();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sub.received).toEqual([]);
      await a.app.reconciler.runOnce();
      const [event] = await sub.next(1);
      expect(event).toEqual({
        messageReceived: {
          cursor: expect.any(String),
          message: { mid: message.mid, text: 'lost webhook', from: { igsid: ana.igsid } },
        },
      });
      // A second run finds nothing new.
      await a.app.reconciler.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sub.received).toHaveLength(1);
      sub.dispose();
    });

    it('re-subscribes an account Meta dropped', async () => {
      // Instagram Login subscribes the account; Facebook Login the Page it is linked to.
      const subscribed = () =>
        kind === 'FACEBOOK'
          ? sim.store.pageOf(studio.igId)?.subscribedFields
          : sim.store.accounts.get(studio.igId)?.subscribedFields;
      subscribed()?.clear();
      await a.app.reconciler.runOnce();
      expect([...(subscribed() ?? [])].sort()).toEqual(
        kind === 'FACEBOOK'
          ? ['feed']
          : [
              'comments',
              'live_comments',
              'message_echoes',
              'message_edit',
              'message_reactions',
              'messages',
              'messaging_handover',
              'messaging_optins',
              'messaging_postbacks',
              'messaging_referral',
              'messaging_seen',
              'standby',
            ],
      );
      const metrics = await (await fetch(`${a.base}/metrics`)).text();
      expect(metrics).toMatch(/^igql_webhook_resubscriptions_total 1$/m);
      expect(metrics).toMatch(/^igql_reconciled_events_total 1$/m);
    });
  });

  describe('subscriptions end cleanly', () => {
    const subscribers = async (target: Instance) =>
      Number(
        /^igql_subscribers (\d+)$/m.exec(await (await fetch(`${target.base}/metrics`)).text())?.[1],
      );

    it('releases a subscription at once when the client unsubscribes, with no event coming', async () => {
      const sub = await subscribe(b, await session([shop.igId]), MESSAGES, {
        a: globalId.account(shop.igId),
      });
      expect(await subscribers(b)).toBe(1);
      sub.dispose();
      // Released once the server handled the `complete` frame: no event needs to come.
      await expect.poll(() => subscribers(b)).toBe(0);
    });

    it('ends an SSE subscription when its session expires, with no event coming', async () => {
      const token = await signSession(
        config.sessionSecret,
        { sub: 'agent', accounts: [shop.igId] },
        1,
      );
      const res = await fetch(b.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: MESSAGES, variables: { a: globalId.account(shop.igId) } }),
      });
      const text = await res.text();
      expect(text).toContain('"code":"UNAUTHENTICATED"');
      expect(text).toContain('The session expired or was revoked: subscribe again with a new one');
      expect(await subscribers(b)).toBe(0);
    });
  });

  describe('igql’s own events', () => {
    it('tells subscribers when Instagram refuses an account’s token', async () => {
      const token = await session([studio.igId]);
      const sub = await subscribe(
        b,
        token,
        'subscription($a: ID!) { inboxEvents(accountId: $a, types: [ACCOUNT_STATUS_CHANGED]) { type account { igId } ... on AccountStatusChangedEvent { status reason } } }',
        { a: globalId.account(studio.igId) },
      );
      sim.inject({ endpoint: endpointsOf(kind).account, kind: 'expired-token' });
      const res = await fetch(a.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { name } }' }),
      });
      expect(
        ((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions
          .code,
      ).toBe('REAUTH_REQUIRED');
      const [event] = await sub.next(1);
      expect(event).toEqual({
        inboxEvents: {
          type: 'ACCOUNT_STATUS_CHANGED',
          account: { igId: studio.igId },
          status: 'REAUTH_REQUIRED',
          reason: 'Instagram refused the access token: it expired',
        },
      });
      sub.dispose();
    });
  });

  describe('the webhook endpoint', () => {
    it('answers the verification handshake only with the verify token', async () => {
      const ok = await fetch(
        `${a.base}/webhooks/instagram?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${config.instagram.webhookVerifyToken}`,
      );
      expect([ok.status, await ok.text()]).toEqual([200, '1158201444']);
      const bad = await fetch(
        `${a.base}/webhooks/instagram?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope`,
      );
      expect(bad.status).toBe(403);
    });

    it('answers 413 over the size limit and 400 to signed malformed JSON', async () => {
      const big = `{"object":"instagram","pad":"${'x'.repeat(1024 * 1024)}"}`;
      const tooBig = await fetch(`${a.base}/webhooks/instagram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(big, SECRET) },
        body: big,
      });
      expect(tooBig.status).toBe(413);
      const malformed = '{"object":"instagram",';
      const bad = await fetch(`${a.base}/webhooks/instagram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(malformed, SECRET) },
        body: malformed,
      });
      expect(bad.status).toBe(400);
    });

    it('streams over SSE too', async () => {
      const token = await session([shop.igId]);
      const controller = new AbortController();
      const watch = watchSubscriber();
      const res = await fetch(b.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: MESSAGES, variables: { a: globalId.account(shop.igId) } }),
        signal: controller.signal,
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await watch.established;
      await post(
        a,
        delivery(shop.igId, [
          { igsid: ana.igsid, mid: 'mid.sse', text: 'over SSE', timestamp: Date.now() },
        ]),
      );
      let text = '';
      while (!text.includes('mid.sse'))
        text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      expect(text).toContain('"text":"over SSE"');
    });

    it('answers 503 when it cannot store the events, so Meta retries', async () => {
      await redis.stop();
      try {
        const res = await post(
          a,
          delivery(shop.igId, [
            {
              igsid: ana.igsid,
              mid: 'mid.outage',
              text: 'during the outage',
              timestamp: Date.now(),
            },
          ]),
        );
        expect(res.status).toBe(503);
      } finally {
        await redis.restart();
      }
    });
  });
});
