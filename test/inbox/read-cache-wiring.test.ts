import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';

/**
 * The shared inbox cache wired into igql (issue 18): repeated reads of one inbox answered from
 * it, upstream again only once a webhook or a send changed the inbox; across instances on one
 * Redis; straight upstream while Redis is down.
 */

/** The inbox: one `GET /me/conversations` (the messages come with the conversations). */
const INBOX = `{ viewer { conversations(first: 10) { nodes { id participants { username } messages(first: 3) { nodes { text } } } } } }`;

interface Inbox {
  viewer: {
    conversations: {
      nodes: {
        id: string;
        participants: { username: string }[];
        messages: { nodes: { text: string }[] };
      }[];
    };
  };
}

/** Each conversation's newest message's text, by the customer's username. */
const newestTexts = (data: Inbox | undefined) =>
  Object.fromEntries(
    (data?.viewer.conversations.nodes ?? []).map((c) => [
      c.participants.map((p) => p.username).find((u) => u !== 'northwind.shop'),
      c.messages.nodes[0]?.text,
    ]),
  );

/**
 * The sandbox stores its two accounts at start, as two logins: each invalidates its account's
 * entries (none yet).
 */
const SEEDED = { 'igql_read_cache_invalidations_total{source=account}': 2 };

/** `igql_read_cache_total` and `igql_read_cache_invalidations_total`, as `/metrics` exposes them. */
async function cacheMetrics(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^(igql_read_cache_\w+)\{(\w+)="(\w+)"\} (\d+)$/gm))
    counts[`${match[1]}{${match[2]}=${match[3]}}`] = Number(match[4]);
  return counts;
}

describe('the shared inbox cache, in memory (one instance without Redis)', () => {
  let gw: Gateway;
  let shop: SimAccount;
  let studio: SimAccount;
  let ana: SimUser;
  let shopToken: string;

  beforeEach(async () => {
    gw = await startGateway((sim) => {
      shop = sim.addAccount({ username: 'northwind.shop' }).account;
      studio = sim.addAccount({ username: 'lumen.studio' }).account;
      ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
      sim.store.addMessage(shop.igId, ana.igsid, {
        fromId: ana.igsid,
        text: 'first',
        createdTime: T0 - 3_600_000,
      });
      const leo = sim.store.addUser(studio.igId, { username: 'leo.studio' });
      sim.store.addMessage(studio.igId, leo.igsid, {
        fromId: leo.igsid,
        text: 'studio secret',
        createdTime: T0 - 3_600_000,
      });
    });
    shopToken = await gw.session([shop.igId]);
  });
  afterEach(() => gw.stop());

  /** The inbox and the Graph requests it made. */
  async function inbox(token = shopToken) {
    const mark = gw.sim.requests.length;
    const res = await gw.query<Inbox>(token, INBOX);
    expect(res.body.errors).toBeUndefined();
    return { texts: newestTexts(res.body.data), upstream: gw.upstream(mark) };
  }

  it('answers a repeated inbox query from the cache: one upstream call for two queries', async () => {
    expect(await inbox()).toEqual({
      texts: { 'ana.costa': 'first' },
      upstream: ['GET /me/conversations 200'],
    });
    expect(await inbox()).toEqual({ texts: { 'ana.costa': 'first' }, upstream: [] });
    expect(await cacheMetrics(gw.base)).toEqual({
      ...SEEDED,
      'igql_read_cache_total{outcome=miss}': 1,
      'igql_read_cache_total{outcome=hit}': 1,
    });
  });

  it('reads upstream once after a webhook message, and shows it: nothing stale', async () => {
    await inbox();
    gw.sim.users.sendMessage(shop.igId, ana.igsid, { text: 'a new question' });
    await gw.sim.webhooks.idle();
    expect(await inbox()).toEqual({
      texts: { 'ana.costa': 'a new question' },
      upstream: ['GET /me/conversations 200'],
    });
    expect(await inbox()).toEqual({ texts: { 'ana.costa': 'a new question' }, upstream: [] });
    expect(await cacheMetrics(gw.base)).toEqual({
      ...SEEDED,
      'igql_read_cache_total{outcome=miss}': 2,
      'igql_read_cache_total{outcome=hit}': 1,
      'igql_read_cache_invalidations_total{source=webhook}': 1,
    });
  });

  it('shows a message sent through igql in the next query, before any echo webhook', async () => {
    await inbox();
    // The echo is never delivered: only the send itself invalidates.
    gw.sim.webhooks.withhold();
    const sent = await gw.query(
      shopToken,
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { userErrors { message } } }',
      {
        input: {
          accountId: globalId.account(shop.igId),
          recipientId: globalId.participant(shop.igId, ana.igsid),
          text: 'on its way',
        },
      },
    );
    expect(sent.body).toEqual({ data: { sendTextMessage: { userErrors: [] } } });
    expect(await inbox()).toEqual({
      texts: { 'ana.costa': 'on its way' },
      upstream: ['GET /me/conversations 200'],
    });
    expect(await cacheMetrics(gw.base)).toEqual({
      ...SEEDED,
      'igql_read_cache_total{outcome=miss}': 2,
      'igql_read_cache_invalidations_total{source=send}': 1,
    });
  });

  it('never answers an account’s entries to a session without access to it', async () => {
    const studioToken = await gw.session([studio.igId]);
    const studioInbox = await gw.query<Inbox>(studioToken, INBOX);
    const conversationId = studioInbox.body.data?.viewer.conversations.nodes[0]?.id;
    expect(newestTexts(studioInbox.body.data)).toEqual({ 'leo.studio': 'studio secret' });
    const NODE = `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: 1) { nodes { text } } } } }`;
    // Read by the studio's session: now in the cache.
    expect((await gw.query(studioToken, NODE, { id: conversationId })).body).toEqual({
      data: { node: { messages: { nodes: [{ text: 'studio secret' }] } } },
    });
    // The shop's session: as for any id it may not read, null and no call.
    const mark = gw.sim.requests.length;
    expect((await gw.query(shopToken, NODE, { id: conversationId })).body).toEqual({
      data: { node: null },
    });
    expect(gw.upstream(mark)).toEqual([]);
    // And its own inbox is its own.
    expect((await inbox()).texts).toEqual({ 'ana.costa': 'first' });
  });
});

describe('the shared inbox cache on Redis, two instances', () => {
  const SECRET = 'read-cache-app-secret';
  let redis: RedisServer;
  let sim: Simulator;
  let config: Config;
  let a: App;
  let b: App;
  let urls: { a: string; b: string };
  let shop: SimAccount;
  let ana: SimUser;
  let token: string;
  /** Where the simulator delivers webhooks: instance A, as Meta calls whichever it reaches. */
  let callback: string | undefined;

  async function instance(): Promise<{ app: App; url: string }> {
    const app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim }),
      drainTimeoutMs: 500,
      instagram: { paceReads: false },
      reconcileIntervalMs: 0,
    });
    return { app, url: await app.start() };
  }

  beforeAll(async () => {
    redis = await startRedis();
    sim = new Simulator({
      appSecret: SECRET,
      rateLimits: false,
      retryScheduleMs: [20],
      callbackUrl: () => callback,
    });
    shop = sim.addAccount({ username: 'northwind.shop' }).account;
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
    const first = await instance();
    const second = await instance();
    a = first.app;
    b = second.app;
    urls = { a: first.url, b: second.url };
    callback = `${first.url.replace('/graphql', '').replace('localhost', '127.0.0.1')}/webhooks/instagram`;
    token = await signSession(config.sessionSecret, { sub: 'agent', accounts: [shop.igId] }, 3600);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  async function query(url: string) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: INBOX }),
    });
    return (await res.json()) as { data?: Inbox; errors?: unknown[] };
  }

  const upstreamSince = (mark: number) =>
    sim.requests.slice(mark).map((r) => `${r.method} ${r.endpoint} ${r.status}`);

  it('makes 10 concurrent identical queries over both instances one upstream call', async () => {
    const mark = sim.requests.length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => query(i % 2 === 0 ? urls.a : urls.b)),
    );
    expect(answers.map((answer) => newestTexts(answer.data))).toEqual(
      Array.from({ length: 10 }, () => ({ 'ana.costa': 'first' })),
    );
    expect(upstreamSince(mark)).toEqual(['GET /me/conversations 200']);
    // A later query on either instance is a hit.
    expect(newestTexts((await query(urls.b)).data)).toEqual({ 'ana.costa': 'first' });
    expect(upstreamSince(mark)).toEqual(['GET /me/conversations 200']);
  });

  it('a webhook to one instance makes the other read upstream once and show it', async () => {
    await query(urls.b);
    const mark = sim.requests.length;
    sim.users.sendMessage(shop.igId, ana.igsid, { text: 'seen everywhere' });
    await sim.webhooks.idle();
    expect(newestTexts((await query(urls.b)).data)).toEqual({ 'ana.costa': 'seen everywhere' });
    expect(newestTexts((await query(urls.a)).data)).toEqual({ 'ana.costa': 'seen everywhere' });
    expect(upstreamSince(mark)).toEqual(['GET /me/conversations 200']);
  });

  it('answers from Instagram, without an error, while Redis is down', async () => {
    // Read first: the token and the session are then known for a while without Redis.
    await query(urls.a);
    const before = await cacheMetrics(urls.a.replace('/graphql', ''));
    await redis.stop();
    try {
      const mark = sim.requests.length;
      for (let i = 0; i < 2; i++) {
        const answer = await query(urls.a);
        expect(answer.errors).toBeUndefined();
        expect(newestTexts(answer.data)).toEqual({ 'ana.costa': 'seen everywhere' });
      }
      expect(upstreamSince(mark)).toEqual([
        'GET /me/conversations 200',
        'GET /me/conversations 200',
      ]);
      const after = await cacheMetrics(urls.a.replace('/graphql', ''));
      expect(
        (after['igql_read_cache_total{outcome=bypass}'] ?? 0) -
          (before['igql_read_cache_total{outcome=bypass}'] ?? 0),
      ).toBe(2);
    } finally {
      await redis.restart();
    }
  });
});
