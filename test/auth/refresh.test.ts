import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisTokenStore } from '../../src/auth/redis-token-store.ts';
import { TokenRefresher, type TokenRefresherOptions } from '../../src/auth/refresh.ts';
import {
  MemoryTokenStore,
  type StoredAccount,
  type TokenStore,
} from '../../src/auth/token-store.ts';
import type { EncryptionKey } from '../../src/config.ts';
import { InstagramClient } from '../../src/instagram/client.ts';
import { keyspace, refreshLockKey } from '../../src/keys.ts';
import { MemoryAccountLock, RedisAccountLock } from '../../src/lock.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { createRedis, type Redis, type RedisClient } from '../../src/redis.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { type Clock, createClock, DAY, HOUR, type SimToken } from '../../src/sandbox/store.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';

const T0 = Date.UTC(2026, 10, 25, 12);
const KEYS: readonly EncryptionKey[] = [{ kid: 'k1', key: Buffer.alloc(32, 7) }];
const REFRESH = 'GET /refresh_access_token';
const silent = createLogger('silent');

let server: RedisServer;
let sim: Simulator;
let clock: Clock;
const connections: Redis[] = [];
const clients: InstagramClient[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});

beforeEach(async () => {
  clock = createClock(T0, true);
  sim = new Simulator({ appSecret: 'app-secret', rateLimits: false, clock });
  await sim.start();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await sim.stop();
  await Promise.all(connections.splice(0).map((redis) => redis.close()));
});

afterAll(async () => {
  await server.stop();
});

async function connect(): Promise<RedisClient> {
  const redis = createRedis(server.url, silent);
  connections.push(redis);
  await redis.client.connect();
  return redis.client;
}

/** A simulated account holding a long-lived token issued `ageMs` before T0, stored in `tokens`. */
async function seed(tokens: TokenStore, username: string, ageMs: number): Promise<SimToken> {
  const { account } = sim.addAccount({ username });
  const token = sim.store.issueToken(account.igId, 'long', T0 - ageMs);
  await tokens.put({
    igId: account.igId,
    accessToken: token.token,
    status: 'ACTIVE',
    issuedAt: token.issuedAt,
    expiresAt: token.expiresAt,
  });
  return token;
}

/** Log lines as written, before any redaction: the refresher itself must leave tokens out. */
function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

/** A refresher over its own Instagram client, whose refused-token reports land in `rejected`. */
function refresher(
  tokens: TokenStore,
  options: Partial<TokenRefresherOptions> & { metrics?: Metrics } = {},
): { refresher: TokenRefresher; rejected: [string, string][] } {
  const rejected: [string, string][] = [];
  const { metrics = createMetrics(), ...rest } = options;
  const client = new InstagramClient({
    graphUrl: () => sim.url,
    apiVersion: 'v25.0',
    metrics,
    logger: rest.logger ?? silent,
    onTokenRejected: async (igId, reason) => {
      rejected.push([igId, reason]);
      await tokens.setStatus(igId, 'REAUTH_REQUIRED');
    },
  });
  clients.push(client);
  return {
    rejected,
    refresher: new TokenRefresher({
      tokens,
      client,
      logger: silent,
      lock: new MemoryAccountLock(() => clock.now()),
      now: () => clock.now(),
      ...rest,
    }),
  };
}

async function me(token: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sim.url}/v25.0/me?fields=user_id`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: await res.json() };
}

const pieces = (token: string) =>
  Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));

describe('TokenRefresher', () => {
  it('refreshes a due token, stores the new one, and logs no token', async () => {
    const tokens = new MemoryTokenStore({ keys: KEYS });
    const old = await seed(tokens, 'shop_a', 55 * DAY);
    const { logger, lines } = capture();
    const metrics = createMetrics();
    const { refresher: r, rejected } = refresher(tokens, { logger, metrics });

    expect(await r.refreshDue()).toEqual({ refreshed: [old.igId], failed: [] });

    expect(sim.count(REFRESH)).toBe(1);
    expect(sim.requests[0]?.query).toEqual({
      grant_type: 'ig_refresh_token',
      access_token: old.token,
    });
    const stored = await tokens.get(old.igId);
    expect(stored).toEqual({
      igId: old.igId,
      accessToken: expect.stringMatching(/^IG/),
      status: 'ACTIVE',
      issuedAt: T0,
      expiresAt: T0 + 60 * DAY,
    });
    expect(stored?.accessToken).not.toBe(old.token);
    expect(await me(stored?.accessToken ?? '')).toEqual({
      status: 200,
      body: { id: expect.any(String), user_id: old.igId },
    });
    expect(rejected).toEqual([]);
    expect(
      await metrics.registry.getSingleMetricAsString('instagram_upstream_requests_total'),
    ).toContain(
      'instagram_upstream_requests_total{method="GET",endpoint="/refresh_access_token",outcome="ok"} 1',
    );
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ igId: old.igId, msg: 'instagram token refreshed' }),
    );
    const log = lines.join('\n');
    for (const piece of [...pieces(old.token), ...pieces(stored?.accessToken ?? '')]) {
      expect(log).not.toContain(piece);
    }

    // Now fresh: the next pass leaves it alone.
    expect(await r.refreshDue()).toEqual({ refreshed: [], failed: [] });
    expect(sim.count(REFRESH)).toBe(1);
  });

  it('leaves alone tokens under 24 hours old, far from expiry, or not ACTIVE', async () => {
    const tokens = new MemoryTokenStore();
    const young = await seed(tokens, 'young', 12 * HOUR);
    const far = await seed(tokens, 'far', 30 * DAY);
    const reauth = await seed(tokens, 'reauth', 55 * DAY);
    await tokens.setStatus(reauth.igId, 'REAUTH_REQUIRED');

    // A window of 60 days makes every one of them near expiry: only age holds `young` back.
    const wide = refresher(tokens, { refreshWithinMs: 60 * DAY });
    const { refresher: r } = refresher(tokens);
    expect(await r.refreshDue()).toEqual({ refreshed: [], failed: [] });
    expect(sim.count(REFRESH)).toBe(0);
    expect(await wide.refresher.refreshDue()).toEqual({ refreshed: [far.igId], failed: [] });
    expect(sim.count(REFRESH)).toBe(1);
    expect((await tokens.get(young.igId))?.accessToken).toBe(young.token);
    expect((await tokens.get(reauth.igId))?.accessToken).toBe(reauth.token);
  });

  it('reports a refused token (190) and still refreshes the other accounts', async () => {
    const tokens = new MemoryTokenStore();
    const a = await seed(tokens, 'shop_a', 55 * DAY);
    const revoked = await seed(tokens, 'shop_b', 56 * DAY);
    const c = await seed(tokens, 'shop_c', 57 * DAY);
    revoked.revoked = true;
    const { refresher: r, rejected } = refresher(tokens);

    expect(await r.refreshDue()).toEqual({ refreshed: [a.igId, c.igId], failed: [revoked.igId] });
    expect(sim.count(REFRESH)).toBe(3);
    expect(rejected).toEqual([[revoked.igId, expect.stringMatching(/access token/i)]]);
    expect(rejected[0]?.[1]).not.toContain(revoked.token);
    expect(await tokens.get(revoked.igId)).toMatchObject({
      accessToken: revoked.token,
      status: 'REAUTH_REQUIRED',
    });
    expect((await tokens.get(a.igId))?.issuedAt).toBe(T0);
    expect((await tokens.get(c.igId))?.issuedAt).toBe(T0);

    expect(await r.refreshDue()).toEqual({ refreshed: [], failed: [] });
    expect(sim.count(REFRESH)).toBe(3);
  });

  it('keeps the account ACTIVE after a transient failure and retries on the next pass', async () => {
    const tokens = new MemoryTokenStore();
    const old = await seed(tokens, 'shop_a', 55 * DAY);
    sim.inject({ endpoint: REFRESH, kind: 'server-error' });
    const { refresher: r, rejected } = refresher(tokens);

    expect(await r.refreshDue()).toEqual({ refreshed: [], failed: [old.igId] });
    expect(rejected).toEqual([]);
    expect(await tokens.get(old.igId)).toMatchObject({ accessToken: old.token, status: 'ACTIVE' });

    expect(await r.refreshDue()).toEqual({ refreshed: [old.igId], failed: [] });
    expect(sim.count(REFRESH)).toBe(2);
  });

  it('reports a token that already expired without calling Instagram', async () => {
    const tokens = new MemoryTokenStore();
    const dead = await seed(tokens, 'shop_a', 61 * DAY);
    const { refresher: r, rejected } = refresher(tokens);

    expect(await r.refreshDue()).toEqual({ refreshed: [], failed: [dead.igId] });
    expect(rejected).toEqual([[dead.igId, 'The Instagram token expired before it was refreshed']]);
    expect(sim.count(REFRESH)).toBe(0);
    expect((await tokens.get(dead.igId))?.status).toBe('REAUTH_REQUIRED');
  });

  it('skips an account another instance refreshed between its list and its lock', async () => {
    const tokens = new MemoryTokenStore();
    const old = await seed(tokens, 'shop_a', 55 * DAY);
    const stale = await tokens.list();
    await refresher(tokens).refresher.refreshDue();
    expect(sim.count(REFRESH)).toBe(1);

    // A store whose list was read before that refresh.
    const lagging: TokenStore = {
      get: (igId) => tokens.get(igId),
      put: (account) => tokens.put(account),
      setStatus: (igId, status) => tokens.setStatus(igId, status),
      replaceToken: (...args) => tokens.replaceToken(...args),
      list: async () => stale,
    };
    expect(await refresher(lagging).refresher.refreshDue()).toEqual({ refreshed: [], failed: [] });
    expect(sim.count(REFRESH)).toBe(1);
    expect((await tokens.get(old.igId))?.issuedAt).toBe(T0);
  });

  it('drops the refreshed token when a Facebook login stored the account meanwhile', async () => {
    const tokens = new MemoryTokenStore({ keys: KEYS });
    const old = await seed(tokens, 'shop_a', 55 * DAY);
    const facebook: StoredAccount = {
      igId: old.igId,
      accessToken: 'EAAGm0PX4ZCpsBAPageTokenStoredByAFacebookLogin_0123456789',
      loginKind: 'FACEBOOK',
      pageId: '101234567890123',
      status: 'ACTIVE',
      issuedAt: T0,
    };
    // The Facebook login lands between the refresher's read and its write.
    const racing: TokenStore = {
      get: (igId) => tokens.get(igId),
      put: (account) => tokens.put(account),
      setStatus: (igId, status) => tokens.setStatus(igId, status),
      replaceToken: async (...args) => {
        await tokens.put(facebook);
        return tokens.replaceToken(...args);
      },
      list: () => tokens.list(),
    };
    const { logger, lines } = capture();
    expect(await refresher(racing, { logger }).refresher.refreshDue()).toEqual({
      refreshed: [],
      failed: [],
    });
    expect(sim.count(REFRESH)).toBe(1);
    expect(await tokens.get(old.igId)).toEqual(facebook);
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({
        igId: old.igId,
        msg: 'instagram token refreshed but not stored: the account changed meanwhile',
      }),
    );
  });

  it('two instances racing over one Redis call Instagram once per account', async () => {
    const prefix = `igql-refresh-${++prefixes}`;
    const store = (client: RedisClient) =>
      new RedisTokenStore({ client, prefix, keys: KEYS, logger: silent });
    const [clientA, clientB] = [await connect(), await connect()];
    const old = await seed(store(clientA), 'shop_a', 55 * DAY);
    const a = refresher(store(clientA), {
      lock: new RedisAccountLock(clientA, (igId) => refreshLockKey(keyspace(prefix), igId)),
    });
    const b = refresher(store(clientB), {
      lock: new RedisAccountLock(clientB, (igId) => refreshLockKey(keyspace(prefix), igId)),
    });

    const results = await Promise.all([a.refresher.refreshDue(), b.refresher.refreshDue()]);

    expect(sim.count(REFRESH)).toBe(1);
    expect(results.flatMap((result) => result.refreshed)).toEqual([old.igId]);
    expect(results.flatMap((result) => result.failed)).toEqual([]);
    const stored = await store(clientB).get(old.igId);
    expect(stored).toMatchObject({ status: 'ACTIVE', issuedAt: T0, expiresAt: T0 + 60 * DAY });
    expect((await me(stored?.accessToken ?? '')).status).toBe(200);
    expect(await clientA.keys(`${prefix}:refresh-lock:*`)).toEqual([]);
  });

  it('two instances racing over several accounts refresh each once', async () => {
    const prefix = `igql-refresh-${++prefixes}`;
    const store = (client: RedisClient) =>
      new RedisTokenStore({ client, prefix, keys: KEYS, logger: silent });
    const [clientA, clientB] = [await connect(), await connect()];
    const seeded: StoredAccount[] = [];
    for (const name of ['shop_a', 'shop_b', 'shop_c', 'shop_d']) {
      const token = await seed(store(clientA), name, 55 * DAY);
      seeded.push({ igId: token.igId, accessToken: token.token, status: 'ACTIVE' });
    }
    const a = refresher(store(clientA), {
      lock: new RedisAccountLock(clientA, (igId) => refreshLockKey(keyspace(prefix), igId)),
    });
    const b = refresher(store(clientB), {
      lock: new RedisAccountLock(clientB, (igId) => refreshLockKey(keyspace(prefix), igId)),
    });

    const results = await Promise.all([a.refresher.refreshDue(), b.refresher.refreshDue()]);

    expect(sim.count(REFRESH)).toBe(4);
    expect(results.flatMap((result) => result.refreshed).sort()).toEqual(
      seeded.map((account) => account.igId).sort(),
    );
  });

  it('start runs a pass at once and then on its interval; stop ends it', async () => {
    const tokens = new MemoryTokenStore();
    await seed(tokens, 'shop_a', 55 * DAY);
    const { refresher: r } = refresher(tokens);
    r.start(20);
    await vi.waitFor(() => expect(sim.count(REFRESH)).toBe(1));
    await seed(tokens, 'shop_b', 55 * DAY);
    await vi.waitFor(() => expect(sim.count(REFRESH)).toBe(2));
    await r.stop();
    await seed(tokens, 'shop_c', 55 * DAY);
    await sleep(60);
    expect(sim.count(REFRESH)).toBe(2);
  });
});
