/**
 * Redis faults as the contract says (issue 11, findings 5 and 11): while Redis is unreachable
 * reads answer from a short-lived copy of the token store or with SERVICE_UNAVAILABLE, session
 * checks fail open for a bounded time, webhooks answer 503, live subscriptions survive; igql
 * warns about a Redis that would lose the token store; sandboxes on one Redis keep apart.
 */

import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { ClientOfflineError } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { RedisTokenStore, TOKEN_COPY_MS } from '../../src/auth/redis-token-store.ts';
import {
  CachedRevocations,
  MemoryRevocations,
  REVOCATION_FAIL_OPEN_MS,
  RedisRevocations,
  type Revocations,
} from '../../src/auth/revocation.ts';
import { createSessions } from '../../src/auth/sessions.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { MemoryEventBus } from '../../src/pubsub/bus.ts';
import { LiveEvents } from '../../src/pubsub/live.ts';
import { type EventLog, LOG_START, MemoryEventLog, RedisEventLog } from '../../src/pubsub/log.ts';
import {
  createRedis,
  isRedisOutage,
  persistence,
  type Redis,
  warnIfNotPersistent,
} from '../../src/redis.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { DEDUPE_TTL_SECONDS, RedisDeduper } from '../../src/webhooks/dedupe.ts';
import { EventPipeline } from '../../src/webhooks/pipeline.ts';
import { type RunningApp, sandboxAccounts, startApp } from '../helpers/app.ts';
import type { GraphQLErrorBody } from '../helpers/gateway.ts';
import { messageReceived } from '../helpers/inbox-events.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';
import { watchSubscriber } from '../helpers/subscribers.ts';

const silent = createLogger('silent');

function manualClock(start = Date.now()) {
  let t = start;
  return {
    now: () => t,
    elapse: (ms: number) => {
      t += ms;
    },
  };
}

/** A logger whose JSON lines are kept, and a promise of the first line `match` accepts. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.match(line))) waiter.resolve();
      }
      done();
    },
  });
  return {
    logger: createLogger('info', stream),
    lines,
    logged: (match: (line: Record<string, unknown>) => boolean) =>
      new Promise<void>((resolve) => {
        if (lines.some(match)) resolve();
        else waiters.push({ match, resolve });
      }),
  };
}

const PERSISTENCE_WARNING = /^redis keeps no data across a restart/;

// ---- Revocation checks ------------------------------------------------------------------------

describe('revocation checks while the store is unreachable', () => {
  /** Memory revocations that throw node-redis's offline error while `down`. */
  function flaky(now: () => number) {
    const inner = new MemoryRevocations({ now });
    const state = { down: false };
    const store: Revocations = {
      revoke: async (sid, ttlMs) => {
        if (state.down) throw new ClientOfflineError();
        await inner.revoke(sid, ttlMs);
      },
      isRevoked: async (sid) => {
        if (state.down) throw new ClientOfflineError();
        return inner.isRevoked(sid);
      },
      useOnce: (id, ttlMs) => inner.useOnce(id, ttlMs),
    };
    return { store, state };
  }

  it('fail open for 60 s from the first failed check, then fail closed until the store answers', async () => {
    const clock = manualClock();
    const { store, state } = flaky(clock.now);
    const cached = new CachedRevocations(store, { now: clock.now });
    expect(REVOCATION_FAIL_OPEN_MS).toBe(60_000);
    expect(await cached.isRevoked('sid-1')).toBe(false);
    state.down = true;
    clock.elapse(1000);
    expect(await cached.isRevoked('sid-1')).toBe(false);
    expect(await cached.isRevoked('sid-never-seen')).toBe(false);
    clock.elapse(59_999);
    expect(await cached.isRevoked('sid-1')).toBe(false);
    clock.elapse(1);
    await expect(cached.isRevoked('sid-1')).rejects.toBeInstanceOf(ClientOfflineError);
    state.down = false;
    expect(await cached.isRevoked('sid-1')).toBe(false);
    // A new outage gets a new window.
    state.down = true;
    clock.elapse(1000);
    expect(await cached.isRevoked('sid-1')).toBe(false);
  });

  it('keep a session seen revoked revoked while failing open', async () => {
    const clock = manualClock();
    const { store, state } = flaky(clock.now);
    const a = new CachedRevocations(store, { now: clock.now });
    const b = new CachedRevocations(store, { now: clock.now });
    await a.revoke('sid-logged-out', 3_600_000);
    expect(await b.isRevoked('sid-logged-out')).toBe(true);
    state.down = true;
    expect(await a.isRevoked('sid-logged-out')).toBe(true);
    expect(await b.isRevoked('sid-logged-out')).toBe(true);
    expect(await b.isRevoked('sid-other')).toBe(false);
  });
});

// ---- Stores on a Redis that goes away -------------------------------------------------------

describe('stores on a Redis that stops', () => {
  let server: RedisServer;
  let redis: Redis;
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' });

  beforeAll(async () => {
    server = await startRedis();
    redis = createRedis(server.url, silent);
    redis.connect();
    await redis.ready(5000);
  });
  afterAll(async () => {
    await redis?.close();
    await server?.stop();
  });

  it('sessions: taken as not revoked for 60 s, then SERVICE_UNAVAILABLE (503 before execution)', async () => {
    const clock = manualClock();
    const revocations = new CachedRevocations(new RedisRevocations(redis.client, 'faults'), {
      now: clock.now,
    });
    const sessions = createSessions(config, revocations, clock.now);
    const token = await signSession(config.sessionSecret, { sub: 'agent', accounts: ['1'] }, 3600);
    const session = await sessions.fromToken(token);
    expect(await sessions.stillValid(session)).toBe(true);
    await server.stop();
    try {
      clock.elapse(1000);
      expect(await sessions.stillValid(session)).toBe(true);
      expect((await sessions.fromToken(token)).sub).toBe('agent');
      clock.elapse(REVOCATION_FAIL_OPEN_MS);
      const unavailable = {
        message: 'igql is briefly unavailable; retry later',
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 },
      };
      const during = await sessions.stillValid(session).catch((e: unknown) => e);
      expect(during).toBeInstanceOf(GraphQLError);
      expect((during as GraphQLError).toJSON()).toEqual(unavailable);
      const refused = await sessions.fromToken(token).catch((e: unknown) => e);
      expect((refused as GraphQLError).toJSON()).toEqual({
        ...unavailable,
        extensions: {
          ...unavailable.extensions,
          http: { status: 503, headers: { 'Retry-After': '5' } },
        },
      });
    } finally {
      await server.restart();
      await redis.ready(5000);
    }
    expect(await sessions.stillValid(session)).toBe(true);
  });

  it('tokens: an account read within 60 s answers from memory; another rejects as an outage', async () => {
    const clock = manualClock();
    const keys = config.tokenEncryptionKeys;
    const tokens = new RedisTokenStore({
      client: redis.client,
      prefix: 'faults',
      keys,
      logger: silent,
      now: clock.now,
    });
    const shop = { igId: '17841400000000001', accessToken: 'IGAAshop', status: 'ACTIVE' as const };
    const studio = {
      igId: '17841400000000002',
      accessToken: 'IGAAstudio',
      status: 'ACTIVE' as const,
    };
    await tokens.put(shop);
    await tokens.put(studio);
    expect(await tokens.get(shop.igId)).toEqual(shop);
    await server.stop();
    try {
      clock.elapse(TOKEN_COPY_MS - 1);
      expect(await tokens.get(shop.igId)).toEqual(shop);
      const never = await tokens.get(studio.igId).catch((e: unknown) => e);
      expect(isRedisOutage(never)).toBe(true);
      clock.elapse(1);
      const expired = await tokens.get(shop.igId).catch((e: unknown) => e);
      expect(isRedisOutage(expired)).toBe(true);
    } finally {
      await server.restart();
      await redis.ready(5000);
    }
    // Restarted empty (no persistence): what Redis says goes, and the copy is forgotten.
    expect(await tokens.get(shop.igId)).toBeUndefined();
    await server.stop();
    try {
      expect(isRedisOutage(await tokens.get(shop.igId).catch((e: unknown) => e))).toBe(true);
    } finally {
      await server.restart();
      await redis.ready(5000);
    }
  });
});

// ---- Persistence ------------------------------------------------------------------------------

describe('a Redis that would lose the token store on a restart', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is told by CONFIG GET: lost, kept, or unknown where CONFIG is refused', async () => {
    const admin = createRedis(server.url, silent);
    await admin.client.connect();
    try {
      expect(await persistence(admin.client)).toBe('lost');
      await admin.client.configSet('appendonly', 'yes');
      expect(await persistence(admin.client)).toBe('kept');
      await admin.client.configSet('appendonly', 'no');
      await admin.client.configSet('save', '3600 1');
      expect(await persistence(admin.client)).toBe('kept');
      await admin.client.configSet('save', '');
      expect(await persistence(admin.client)).toBe('lost');
      // A managed service: CONFIG refused (here by ACL).
      await admin.client.sendCommand([
        'ACL',
        'SETUSER',
        'app',
        'on',
        '>app-password',
        '~*',
        '&*',
        '+@all',
        '-config',
      ]);
      const managed = createRedis(
        server.url.replace('redis://', 'redis://app:app-password@'),
        silent,
      );
      await managed.client.connect();
      try {
        expect(await persistence(managed.client)).toBe('unknown');
        const captured = capturedLogger();
        await warnIfNotPersistent(managed.client, captured.logger);
        await warnIfNotPersistent(admin.client, captured.logger);
        expect(captured.lines.map((l) => [l.level, l.msg])).toEqual([
          [40, expect.stringMatching(PERSISTENCE_WARNING)],
        ]);
      } finally {
        await managed.close();
      }
    } finally {
      await admin.close();
    }
  });

  it('makes igql log one warning at start, and only one', async () => {
    const captured = capturedLogger();
    const config = loadConfig({ PORT: '0', LOG_LEVEL: 'info', REDIS_URL: server.url });
    const sandbox = await startSandbox({ config, logger: silent });
    const app = createApp({ config, sandbox, logger: captured.logger, drainTimeoutMs: 500 });
    try {
      await app.start();
      await captured.logged((l) => PERSISTENCE_WARNING.test(String(l.msg)));
      const warnings = captured.lines.filter((l) => PERSISTENCE_WARNING.test(String(l.msg)));
      expect(warnings.map((l) => l.level)).toEqual([40]);
      expect(String(warnings[0]?.msg)).toBe(
        'redis keeps no data across a restart (save "" and appendonly no): a restart loses every stored Instagram token and every account must log in again; enable appendonly yes (or RDB snapshots) in production',
      );
    } finally {
      await app.stop();
      await sandbox.stop();
    }
  });
});

// ---- Sandboxes sharing one Redis ---------------------------------------------------------------

/** Business Login against the sandbox's simulator (it consents at once): the account's username. */
async function sandboxLogin(app: RunningApp): Promise<string> {
  const started = await fetch(`${app.base}/auth/instagram/login`, { redirect: 'manual' });
  const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const consented = await fetch(new URL(started.headers.get('location') ?? ''), {
    redirect: 'manual',
  });
  const back = new URL(consented.headers.get('location') ?? '');
  const res = await fetch(back, {
    redirect: 'manual',
    headers: { cookie, accept: 'application/json' },
  });
  return ((await res.json()) as { account: { username: string } }).account.username;
}

describe('two sandboxes on one Redis (finding 11)', () => {
  let server: RedisServer;
  const apps: RunningApp[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await server?.stop();
  });

  it('each reads its own accounts with its own tokens; none is marked REAUTH_REQUIRED', async () => {
    apps.push(await startApp({ REDIS_URL: server.url }));
    apps.push(await startApp({ REDIS_URL: server.url }));
    const query = '{ accounts { username status conversations(first: 1) { nodes { id } } } }';
    for (let round = 0; round < 2; round++) {
      // Between the rounds, someone logs in through Business Login on the first sandbox: its
      // simulator issues a new token, which only it knows.
      if (round === 1) expect(await sandboxLogin(apps[0] as RunningApp)).toBe('northwind.shop');
      for (const app of apps) {
        for (const account of await sandboxAccounts(app.base)) {
          const res = await fetch(app.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${account.token}`,
            },
            body: JSON.stringify({ query }),
          });
          const body = (await res.json()) as {
            data: { accounts: { username: string; status: string }[] };
          };
          expect(body).toEqual({
            data: {
              accounts: [
                {
                  username: account.username,
                  status: 'ACTIVE',
                  conversations: { nodes: [{ id: expect.any(String) }] },
                },
              ],
            },
          });
        }
      }
    }
    // Their keys live apart: two token stores, one per simulator.
    const admin = createRedis(server.url, silent);
    await admin.client.connect();
    try {
      const sets = (await admin.client.keys('igql:sandbox:*:accounts')).sort();
      expect(sets).toEqual([
        expect.stringMatching(/^igql:sandbox:[0-9a-f]{12}:accounts$/),
        expect.stringMatching(/^igql:sandbox:[0-9a-f]{12}:accounts$/),
      ]);
      expect(sets[0]).not.toBe(sets[1]);
      expect(await admin.client.keys('igql:account:*')).toEqual([]);
    } finally {
      await admin.close();
    }
  });
});

// ---- A subscriber's tail across an outage -------------------------------------------------------

describe('live events while the log is unreadable, then lost', () => {
  const IG = '17841400000000001';
  const event = (n: number): InboxEventData => messageReceived(n, { igId: IG });

  it('delivers, in order, what the bus carried while the log was down and what the log lost', async () => {
    const inner = new MemoryEventLog();
    const state = { down: false, lost: new Set<string>() };
    let drop = () => {};
    const dropped = new Promise<void>((resolve) => {
      drop = resolve;
    });
    // A log on a Redis that goes away, then comes back without what it held.
    const log: EventLog = {
      append: (igId, e) => inner.append(igId, e),
      readAfter: async (igId, cursor, limit) => {
        // A read in flight when the connection drops fails once it has dropped.
        if (state.down) await dropped.then(() => Promise.reject(new ClientOfflineError()));
        return (await inner.readAfter(igId, cursor, limit)).filter(
          (e) => !state.lost.has(e.cursor),
        );
      },
      isAfter: (a, b) => inner.isAfter(a, b),
      close: () => inner.close(),
    };
    const bus = new MemoryEventBus(silent);
    const live = new LiveEvents(log, bus, silent);
    const publish = async (n: number) => {
      const cursor = await inner.append(IG, event(n));
      await bus.publish(IG, { cursor, event: event(n) });
      return cursor;
    };
    const watch = watchSubscriber();
    const stream = live.stream(IG, undefined);
    const mids: string[] = [];
    const reading = (async () => {
      for await (const entry of stream) {
        const mid = entry.event.kind === 'MESSAGE_RECEIVED' ? entry.event.message.mid : '';
        mids.push(mid);
        if (mid === 'mid.5') return;
      }
    })();
    await watch.established;
    await publish(1);
    await publish(2);
    // The log's connection is down while the bus's is up (they reconnect one at a time).
    state.down = true;
    const lost = [await publish(3), await publish(4)];
    drop();
    // Redis came back empty: the log lost 3 and 4, which only the bus carried.
    for (const cursor of lost) state.lost.add(cursor);
    state.down = false;
    await publish(5);
    await reading;
    expect(mids).toEqual(['mid.1', 'mid.2', 'mid.3', 'mid.4', 'mid.5']);
  });
});

// ---- Kill and restart Redis under two instances -----------------------------------------------

/**
 * What "resume" means when Redis comes back empty (started without persistence): the event log
 * and the dedupe keys are gone with it. Events acknowledged before the outage had already been
 * delivered; events refused with 503 during it are stored when Meta delivers them again (the
 * dedupe that would have refused them is gone too, and they were never stored); the stream ids
 * of the new log are later than every earlier cursor, so a subscriber's tail goes on from where
 * it was. What a subscriber does not get back is a replay of what came before the outage.
 */
describe('Redis killed and restarted empty under two instances, webhooks flowing', () => {
  const SECRET = 'faults-app-secret';
  const MESSAGES =
    'subscription($a: ID!) { messageReceived(accountId: $a) { cursor message { mid text } } }';
  const VIEWER = '{ viewer { username status } }';
  let server: RedisServer;
  let sim: Simulator;
  let config: Config;
  let shop: SimAccount;
  let studio: SimAccount;
  let ana: SimUser;
  const apps: App[] = [];
  const clients: Client[] = [];

  async function instance(): Promise<{ app: App; base: string; url: string }> {
    const app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim, logger: silent }),
      drainTimeoutMs: 500,
      instagram: { paceReads: false },
      reconcileIntervalMs: 0,
      refreshIntervalMs: 0,
      // Every socket's session is checked often, so that checks run during the outage.
      socketCheckMs: 100,
    });
    apps.push(app);
    const url = (await app.start()).replace('localhost', '127.0.0.1');
    return { app, url, base: url.replace(/\/graphql$/, '') };
  }

  beforeAll(async () => {
    server = await startRedis();
    sim = new Simulator({ appSecret: SECRET, rateLimits: false, callbackUrl: () => undefined });
    shop = sim.addAccount({ username: 'northwind.shop' }).account;
    studio = sim.addAccount({ username: 'lumen.studio' }).account;
    ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
    sim.store.addMessage(shop.igId, ana.igsid, {
      fromId: ana.igsid,
      text: 'first',
      createdTime: Date.now() - 60_000,
    });
    await sim.start();
    config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      INSTAGRAM_APP_SECRET: SECRET,
      REDIS_URL: server.url,
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    for (const app of apps) await app.stop();
    await sim?.stop();
    await server?.stop();
  });

  /** A signed delivery of one message to the shop, as Meta posts it. */
  async function post(base: string, mid: string): Promise<number> {
    const timestamp = Date.now();
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: timestamp,
          id: shop.igId,
          messaging: [
            {
              sender: { id: ana.igsid },
              recipient: { id: shop.igId },
              timestamp,
              message: { mid, text: `text of ${mid}` },
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
    await res.text();
    return res.status;
  }

  /** A graphql-ws subscriber that records everything its client saw. */
  async function subscriber(url: string, token: string) {
    const seen = {
      mids: [] as string[],
      errors: [] as unknown[],
      completed: 0,
      connected: 0,
      closed: [] as unknown[],
    };
    let notify = () => {};
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization: `Bearer ${token}` },
      on: {
        connected: () => {
          seen.connected++;
        },
        closed: (event) => {
          seen.closed.push((event as { code?: number }).code);
        },
      },
    });
    clients.push(client);
    const watch = watchSubscriber();
    client.subscribe<{ messageReceived: { message: { mid: string } } }>(
      { query: MESSAGES, variables: { a: globalId.account(shop.igId) } },
      {
        next: (value) => {
          if (value.errors) seen.errors.push(value.errors);
          const mid = value.data?.messageReceived.message.mid;
          if (mid) seen.mids.push(mid);
          notify();
        },
        error: (error) => {
          seen.errors.push(error);
          watch.cancel();
          notify();
        },
        complete: () => {
          seen.completed++;
          watch.cancel();
          notify();
        },
      },
    );
    await watch.established;
    return {
      seen,
      /** Resolves once every one of `mids` arrived (or the subscription ended). */
      async received(mids: ReadonlySet<string>) {
        const has = () => {
          const got = new Set(seen.mids);
          return [...mids].every((m) => got.has(m)) || seen.errors.length > 0 || seen.completed;
        };
        while (!has()) await new Promise<void>((resolve) => (notify = resolve));
      },
    };
  }

  async function graphql(url: string, token: string, query: string, variables = {}) {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { data?: unknown; errors?: GraphQLErrorBody[] },
    };
  }

  /** Polls `/readyz` until it answers `status` (a condition, not a delay). */
  async function readyz(base: string, status: number) {
    for (;;) {
      const res = await fetch(`${base}/readyz`);
      const body = await res.json();
      if (res.status === status) return body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('acknowledged = delivered, none twice; 503s are delivered once re-posted; nobody resubscribed', async () => {
    const a = await instance();
    const b = await instance();
    const session = (igIds: string[]) =>
      signSession(config.sessionSecret, { sub: 'agent', accounts: igIds }, 3600);
    const shopToken = await session([shop.igId]);
    const studioToken = await session([studio.igId]);
    const subscribers: Awaited<ReturnType<typeof subscriber>>[] = [];
    for (let i = 0; i < 3; i++) subscribers.push(await subscriber(b.url, shopToken));
    // B reads the shop once: its token is then at hand for a brief outage.
    const shopViewer = { data: { viewer: { username: 'northwind.shop', status: 'ACTIVE' } } };
    expect(await graphql(b.url, shopToken, VIEWER)).toEqual({ status: 200, body: shopViewer });

    const acked = new Set<string>();
    const refused: string[] = [];
    let refusals = 0;
    const everRefused = new Set<string>();
    let ackedWhileDown = 0;
    const unexpected: [string, number][] = [];
    let sequence = 0;
    let redisUp = true;
    let posting = true;
    let wake = () => {};
    /** Resolves once `condition` holds, checked after every answered post. */
    const until = async (condition: () => boolean) => {
      while (!condition()) await new Promise<void>((resolve) => (wake = resolve));
    };
    // Two posters, as Meta delivers concurrently; 503s are delivered again once Redis is back.
    const poster = async () => {
      while (posting) {
        const mid =
          redisUp && refused.length > 0 ? (refused.shift() as string) : `mid.fault.${++sequence}`;
        // Posted once a refusal showed Redis down, and before it was restarted.
        const whileDown = !redisUp && refusals > 0;
        const status = await post(a.base, mid).catch(() => 0);
        if (status === 200 && whileDown && !redisUp) ackedWhileDown++;
        if (status === 200) acked.add(mid);
        else if (status === 503) {
          refusals++;
          everRefused.add(mid);
          refused.push(mid);
        } else unexpected.push([mid, status]);
        wake();
        // Meta's pace, not an ordering: a post every few milliseconds per poster.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const posters = [poster(), poster()];
    // During the outage an agent's client reads the shop on B, again and again.
    const answers = new Map<string, number>();
    const reader = async () => {
      while (!redisUp) {
        const { status, body } = await graphql(b.url, shopToken, VIEWER);
        const answer =
          JSON.stringify(body) === JSON.stringify(shopViewer)
            ? 'data'
            : `${status} ${JSON.stringify(body.errors?.map((e) => e.extensions?.code))}`;
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    let reading = Promise.resolve();
    try {
      await until(() => acked.size >= 20);
      await server.stop();
      redisUp = false;
      reading = reader();
      const ackedBefore = acked.size;
      await until(() => refusals >= 5);
      // The outage lasts a few seconds (a scenario parameter, not an ordering): long enough for
      // every client's reconnection delay to reach its 2 s ceiling, so that they come back apart.
      const outage = new Promise((resolve) => setTimeout(resolve, 3000));
      // During the outage.
      expect(await readyz(a.base, 503)).toEqual({
        status: 'unavailable',
        checks: { redis: 'unreachable' },
      });
      expect(await readyz(b.base, 503)).toEqual({
        status: 'unavailable',
        checks: { redis: 'unreachable' },
      });
      expect(await graphql(b.url, shopToken, VIEWER)).toEqual({ status: 200, body: shopViewer });
      const unavailable = {
        message: 'igql is briefly unavailable; retry later',
        locations: [{ line: 1, column: 21 }],
        path: ['viewer', 'status'],
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 },
      };
      expect(await graphql(b.url, studioToken, VIEWER)).toEqual({
        status: 200,
        body: { data: null, errors: [unavailable] },
      });
      const send = await graphql(
        b.url,
        shopToken,
        'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } } }',
        {
          input: {
            accountId: globalId.account(shop.igId),
            recipientId: globalId.participant(shop.igId, ana.igsid),
            text: 'during the outage',
            idempotencyKey: 'outage-1',
          },
        },
      );
      expect(send.body.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(ackedWhileDown).toBe(0);

      await outage;
      await server.restart();
      redisUp = true;
      await until(() => acked.size >= ackedBefore + 20 && refused.length === 0);
    } finally {
      posting = false;
      await Promise.all([...posters, reading]);
    }
    // The shop's token was at hand throughout the outage: every read answered with data. (Redis
    // came back empty: from then on the shop reads NOT_FOUND, as igql warned at start.)
    expect([...answers.keys()]).toEqual(['data']);
    expect(await readyz(a.base, 200)).toEqual({ status: 'ok', checks: { redis: 'ok' } });

    expect(unexpected).toEqual([]);
    for (const s of subscribers) await s.received(acked);
    for (const s of subscribers) {
      expect(s.seen.errors).toEqual([]);
      expect(s.seen.completed).toBe(0);
      expect(s.seen.closed).toEqual([]);
      expect(s.seen.connected).toBe(1);
      expect([...s.seen.mids].sort()).toEqual([...acked].sort());
    }
    // Every refused delivery was delivered again, acknowledged, and reached every subscriber.
    expect(refusals).toBeGreaterThanOrEqual(5);
    for (const mid of everRefused) expect(acked.has(mid)).toBe(true);
    expect(acked.size).toBe(sequence);
  }, 60_000);
});

// ---- Dedupe across a failed store -------------------------------------------------------------

describe('a webhook store that fails with Redis, and a Redis that comes back with its data', () => {
  it('refuses the redelivery while the claim is pending, then stores it: never taken for a duplicate', async () => {
    const server = await startRedis();
    const redis = createRedis(server.url, silent);
    try {
      await redis.client.connect();
      const IG = '17841400000000001';
      const now = Date.now();
      const event: InboxEventData = {
        kind: 'MESSAGE_RECEIVED',
        igId: IG,
        igsid: '5614879045272581',
        occurredAt: now,
        identity: `${IG}|MESSAGE_RECEIVED|mid.kept||`,
        standby: false,
        message: {
          mid: 'mid.kept',
          createdTime: now,
          detailAvailable: true,
          from: { igsid: '5614879045272581', username: null },
          to: [{ igsid: IG, username: null }],
          text: 'kept',
          attachments: [],
          reactions: [],
          replyTo: null,
          isUnsupported: false,
        },
        quickReplyPayload: null,
        referral: null,
        isSelf: false,
      };
      const real = new RedisEventLog(redis.client, 'kept');
      let appends = 0;
      const log: EventLog = {
        // Redis stops between the claim and the append, saving its data (the claim with it):
        // the append and then the forget fail for real.
        append: async (igId, e) => {
          if (++appends === 1) await redis.client.sendCommand(['SHUTDOWN', 'SAVE']).catch(() => {});
          return real.append(igId, e);
        },
        readAfter: (igId, cursor, limit) => real.readAfter(igId, cursor, limit),
        isAfter: (a, b) => real.isAfter(a, b),
        close: () => real.close(),
      };
      const pipeline = new EventPipeline({
        // A pending claim of 1 s (60 s in production): the test waits it out.
        deduper: new RedisDeduper(redis.client, 'kept', DEDUPE_TTL_SECONDS, 1),
        log,
        bus: new MemoryEventBus(silent),
        logger: silent,
        counter: createMetrics().inboxEvents,
      });
      await expect(pipeline.store([event])).rejects.toThrow();
      await server.restart();
      await redis.ready(10_000);
      expect(redis.client.isReady).toBe(true);
      // Meta delivers it again, and again: refused (503) while the failed claim holds, then
      // stored. Before the claim lapsed on its own, this was a duplicate for 48 h, and lost.
      for (;;) {
        const { entries, pending } = await pipeline.store([event]);
        if (entries.length > 0) break;
        expect(pending).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await real.readAfter(IG, LOG_START)).map((e) => e.event)).toEqual([event]);
      expect(await pipeline.store([event])).toEqual({ entries: [], pending: 0 });
    } finally {
      await redis.close();
      await server.stop();
    }
  });
});
