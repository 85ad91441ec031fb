/**
 * The names of igql's Redis keys and channels are stored data: deployments keep tokens and
 * conversation origins under them without expiry, and a renamed key loses them. These tests pin
 * every name: src/keys.ts's functions against literal strings, then what a real instance writes
 * to a Redis of its own through a scenario that touches every family.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../src/app.ts';
import { RedisTokenStore } from '../src/auth/redis-token-store.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { globalId } from '../src/global-id.ts';
import {
  accountKey,
  accountsKey,
  dedupeKey,
  eventsChannel,
  eventsKey,
  idempotencyKey,
  keyspace,
  onceKey,
  originKey,
  publishDueKey,
  publishJobKey,
  publishJobsKey,
  publishLockKey,
  rateLimitKey,
  readCacheGenerationsKey,
  readCacheKey,
  readCacheLockKey,
  reconcileLockKey,
  refreshLockKey,
  revokedKey,
  sandboxPrefix,
  threadOwnerKey,
} from '../src/keys.ts';
import { createLogger } from '../src/logger.ts';
import { createRedis, keySlot, type RedisClient } from '../src/redis.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { Simulator } from '../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../src/sandbox/webhooks.ts';
import { type RedisServer, startRedis } from './helpers/redis.ts';

const IG = '17841400000000001';
const IGSID = '5614879045272581';
/** A read cache entry's request, and the identity of its lock (the request and its tokens). */
const REQUEST = 'GET /17841400000000001/conversations?platform=instagram';
const LOCKED = JSON.stringify([REQUEST, ['k2N0c2VjcmV0MDEy']]);
const REQUEST_SHA = '71782d281a309821363f3a21caa36e1842f86c21e75e62bcb26b242916c46336';
const LOCKED_SHA = 'c4e6037293df7b3592fc8b1d35a4c3cc7e277ed4affb282137564fb00d8b8fbf';

describe('src/keys.ts', () => {
  const single = keyspace('igql');
  const cluster = keyspace('igql', true);

  it('builds each name exactly as igql has always stored it', () => {
    const identity = `${IG}|MESSAGE_RECEIVED|mid.1||`;
    expect([
      sandboxPrefix('igql', '0123456789ab'),
      accountKey(single, IG),
      accountsKey(single),
      refreshLockKey(single, IG),
      reconcileLockKey(single, IG),
      revokedKey(single, 'user:2026-11-29'),
      onceKey(single, 'state:0f6f…'),
      eventsKey(single, IG),
      eventsChannel(single, IG),
      dedupeKey(single, IG, identity),
      idempotencyKey(single, IG, JSON.stringify(['ig:1', IG, 'k{1}'])),
      rateLimitKey(single, IG, 'privateReplies'),
      threadOwnerKey(single, IG, IGSID),
      originKey(single, IG, IGSID),
      readCacheKey(single, IG, REQUEST),
      readCacheGenerationsKey(single, IG),
      readCacheLockKey(single, IG, LOCKED),
      publishJobKey(single, '019ac3d4e5f60001a1b2c3d4e5f6'),
      publishJobsKey(single, IG),
      publishDueKey(single),
      publishLockKey(single, '019ac3d4e5f60001a1b2c3d4e5f6'),
    ]).toEqual([
      'igql:sandbox:0123456789ab',
      'igql:account:17841400000000001',
      'igql:accounts',
      'igql:refresh-lock:17841400000000001',
      'igql:reconcile-lock:17841400000000001',
      'igql:revoked:user:2026-11-29',
      'igql:once:state:0f6f…',
      'igql:events:17841400000000001',
      'igql:events:17841400000000001',
      'igql:dedupe:09515c7c2ddcd71061b849f1a2c6f573bff8c0b2896d8badcbb387ab7f1b370b',
      'igql:idempotency:["ig:1","17841400000000001","k{1}"]',
      'igql:ratelimit:17841400000000001:privateReplies',
      'igql:thread-owner:17841400000000001:5614879045272581',
      'igql:origin:17841400000000001:5614879045272581',
      `igql:read-cache:17841400000000001:${REQUEST_SHA}`,
      'igql:read-cache-generations:17841400000000001',
      `igql:read-cache-lock:17841400000000001:${LOCKED_SHA}`,
      'igql:publish-job:019ac3d4e5f60001a1b2c3d4e5f6',
      'igql:publish-jobs:17841400000000001',
      'igql:publish-jobs:due',
      'igql:publish-lock:019ac3d4e5f60001a1b2c3d4e5f6',
    ]);
  });

  it('names a dedupe key by the sha256 of the identity alone, an idempotency key as given', () => {
    const identity = `${IG}|MESSAGE_RECEIVED|mid.1||`;
    const sha = createHash('sha256').update(identity).digest('hex');
    expect(dedupeKey(keyspace('p'), IG, identity)).toBe(`p:dedupe:${sha}`);
    expect(dedupeKey(keyspace('p'), '17841400000000002', identity)).toBe(`p:dedupe:${sha}`);
    expect(idempotencyKey(keyspace('p'), '17841400000000002', 'as given')).toBe(
      'p:idempotency:as given',
    );
  });

  it('names a read cache entry and its lock by the sha256 of the request, after the igId', () => {
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(sha(REQUEST)).toBe(REQUEST_SHA);
    expect(sha(LOCKED)).toBe(LOCKED_SHA);
    expect(readCacheKey(keyspace('p'), '17841400000000002', 'GET /me?fields=id')).toBe(
      `p:read-cache:17841400000000002:${sha('GET /me?fields=id')}`,
    );
    expect(readCacheLockKey(keyspace('p'), '17841400000000002', 'GET /me?fields=id')).toBe(
      `p:read-cache-lock:17841400000000002:${sha('GET /me?fields=id')}`,
    );
  });

  it('tags every key of one account with {igId} on a cluster, and no global key', () => {
    const identity = `${IG}|MESSAGE_RECEIVED|mid.1||`;
    const sha = createHash('sha256').update(identity).digest('hex');
    const accountKeys = [
      accountKey(cluster, IG),
      refreshLockKey(cluster, IG),
      reconcileLockKey(cluster, IG),
      eventsKey(cluster, IG),
      eventsChannel(cluster, IG),
      dedupeKey(cluster, IG, identity),
      idempotencyKey(cluster, IG, JSON.stringify(['ig:1', IG, 'k{1}'])),
      rateLimitKey(cluster, IG, 'privateReplies'),
      threadOwnerKey(cluster, IG, IGSID),
      originKey(cluster, IG, IGSID),
      readCacheKey(cluster, IG, REQUEST),
      readCacheGenerationsKey(cluster, IG),
      readCacheLockKey(cluster, IG, LOCKED),
      publishJobsKey(cluster, IG),
    ];
    expect(accountKeys).toEqual([
      'igql:account:{17841400000000001}',
      'igql:refresh-lock:{17841400000000001}',
      'igql:reconcile-lock:{17841400000000001}',
      'igql:events:{17841400000000001}',
      'igql:events:{17841400000000001}',
      `igql:dedupe:{17841400000000001}:${sha}`,
      'igql:idempotency:{17841400000000001}:["ig:1","17841400000000001","k{1}"]',
      'igql:ratelimit:{17841400000000001}:privateReplies',
      'igql:thread-owner:{17841400000000001}:5614879045272581',
      'igql:origin:{17841400000000001}:5614879045272581',
      `igql:read-cache:{17841400000000001}:${REQUEST_SHA}`,
      'igql:read-cache-generations:{17841400000000001}',
      `igql:read-cache-lock:{17841400000000001}:${LOCKED_SHA}`,
      'igql:publish-jobs:{17841400000000001}',
    ]);
    // One slot for all of them (the user's idempotency key's own braces come after the tag).
    expect(new Set(accountKeys.map(keySlot))).toEqual(new Set([keySlot(IG)]));
    expect([
      accountsKey(cluster),
      revokedKey(cluster, 'user:2026-11-29'),
      onceKey(cluster, 'state:0f6f…'),
      publishJobKey(cluster, '019ac3d4e5f60001a1b2c3d4e5f6'),
      publishDueKey(cluster),
      publishLockKey(cluster, '019ac3d4e5f60001a1b2c3d4e5f6'),
    ]).toEqual([
      'igql:accounts',
      'igql:revoked:user:2026-11-29',
      'igql:once:state:0f6f…',
      'igql:publish-job:019ac3d4e5f60001a1b2c3d4e5f6',
      'igql:publish-jobs:due',
      'igql:publish-lock:019ac3d4e5f60001a1b2c3d4e5f6',
    ]);
  });

  it("computes a key's slot as CLUSTER KEYSLOT does (hash tag, else the whole key)", () => {
    // Values from Redis's own documentation and `CLUSTER KEYSLOT` on redis-server 7.0.15.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });
});

// ---- What a real instance writes ----------------------------------------------------------------

const SECRET = 'redis-keys-app-secret';
const silent = createLogger('silent');

/**
 * Every key and channel a sandboxed instance touches on its own Redis while it: seeds its
 * accounts, takes a plain webhook (one script) and one with a referral and a handover (step by
 * step), sends with an idempotency key, publishes an image, refreshes a token, reconciles,
 * completes a Business Login and logs its session out. Keys are seen through keyspace
 * notifications, so locks released and rate-limit windows that lapse within a second count too.
 */
describe('the keys and channels igql writes', () => {
  let server: RedisServer;
  let sim: Simulator;
  let shop: SimAccount;
  let ana: SimUser;
  let config: Config;
  let app: App;
  let url: string;
  let watcher: RedisClient;
  let admin: RedisClient;
  const touched = new Set<string>();
  const published = new Set<string>();
  let sentinel = () => {};

  beforeAll(async () => {
    server = await startRedis();
    const connect = async () => {
      const redis = createRedis(server.url, silent);
      await redis.client.connect();
      return redis.client;
    };
    admin = await connect();
    await admin.configSet('notify-keyspace-events', 'KA');
    watcher = admin.duplicate();
    await watcher.connect();
    await watcher.pSubscribe('*', (_message, channel) => {
      const keyspace = '__keyspace@0__:';
      if (channel === 'redis-keys:done') sentinel();
      else if (channel.startsWith(keyspace)) touched.add(channel.slice(keyspace.length));
      else published.add(channel);
    });
    sim = new Simulator({ appSecret: SECRET, rateLimits: false });
    shop = sim.addAccount({ username: 'northwind.shop' }).account;
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
    app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim, logger: silent }),
      drainTimeoutMs: 500,
      instagram: { paceReads: false },
      reconcileIntervalMs: 0,
      refreshIntervalMs: 0,
      publishPollIntervalMs: 0,
    });
    url = (await app.start()).replace(/\/graphql$/, '');
  });

  afterAll(async () => {
    await app?.stop();
    await sim?.stop();
    await watcher?.close();
    await admin?.close();
    await server?.stop();
  });

  it('are exactly the families of src/keys.ts, under their names of today', async () => {
    const prefix = app.sandbox?.redisPrefix ?? '';
    expect(prefix).toMatch(/^igql:sandbox:[0-9a-f]{12}$/);

    // Two signed deliveries: a plain message (stored in one script), then a message from an ad
    // and a handover (stored step by step, their origin and owner recorded).
    const deliver = async (items: Record<string, unknown>[]) => {
      const time = Date.now();
      const raw = toMetaJson({
        object: 'instagram',
        entry: [
          {
            time,
            id: shop.igId,
            messaging: items.map((item) => ({
              sender: { id: ana.igsid },
              recipient: { id: shop.igId },
              timestamp: time,
              ...item,
            })),
          },
        ],
      });
      const res = await fetch(`${url}/webhooks/instagram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(raw, SECRET) },
        body: raw,
      });
      expect(res.status).toBe(200);
      await res.text();
    };
    await deliver([{ message: { mid: 'mid.plain', text: 'hello' } }]);
    await deliver([
      {
        message: {
          mid: 'mid.ad',
          text: 'from the ad',
          referral: { ref: 'spring', source: 'ADS', type: 'OPEN_THREAD', ad_id: '5' },
        },
      },
      { pass_thread_control: { new_owner_app_id: '999', metadata: 'to the bot' } },
    ]);

    // A Business Login: its state is used once; its session is then logged out (revoked).
    const started = await fetch(`${url}/auth/instagram/login`, { redirect: 'manual' });
    const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const consented = await fetch(new URL(started.headers.get('location') ?? ''), {
      redirect: 'manual',
    });
    const login = await fetch(new URL(consented.headers.get('location') ?? ''), {
      redirect: 'manual',
      headers: { cookie, accept: 'application/json' },
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const graphql = async (query: string, variables: object) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data: Record<string, { userErrors: unknown[] }> };
    };

    // A send with an idempotency key (and its rate-limit slot), then a publish job, worked on.
    const sent = await graphql(
      'mutation($i: SendTextMessageInput!) { sendTextMessage(input: $i) { message { id } userErrors { message } } }',
      {
        i: {
          accountId: globalId.account(shop.igId),
          recipientId: globalId.participant(shop.igId, ana.igsid),
          text: 'Thanks!',
          idempotencyKey: 'send-1',
        },
      },
    );
    expect(sent.data.sendTextMessage?.userErrors).toEqual([]);
    const publishing = await graphql(
      'mutation($i: PublishMediaInput!) { publishMedia(input: $i) { job { id } userErrors { message } } }',
      {
        i: {
          accountId: globalId.account(shop.igId),
          type: 'IMAGE',
          imageUrl: 'https://cdn.example.com/a.jpg',
        },
      },
    );
    expect(publishing.data.publishMedia?.userErrors).toEqual([]);
    await app.publishing.poll();
    const [job] = await app.publishing.ofAccount(shop.igId, 1);

    // A token near its end, refreshed under its lock; a reconciliation round under its own.
    const tokens = new RedisTokenStore({
      client: admin,
      prefix,
      keys: config.tokenEncryptionKeys,
      logger: silent,
    });
    const stored = await tokens.get(shop.igId);
    if (!stored) throw new Error('the sandbox did not seed its account');
    await tokens.put({
      ...stored,
      issuedAt: Date.now() - 30 * 86_400_000,
      expiresAt: Date.now() + 86_400_000,
    });
    await app.refresher.refreshDue();
    await app.reconciler.runOnce();

    const logout = await fetch(`${url}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    });
    expect(logout.status).toBe(204);
    const { sid } = JSON.parse(
      Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString(),
    ) as {
      sid: string;
    };

    // Notifications arrive in order: once the sentinel is in, so is everything before it.
    const done = new Promise<void>((resolve) => {
      sentinel = resolve;
    });
    await admin.publish('redis-keys:done', '1');
    await done;

    const pattern = (name: string) =>
      name
        .replaceAll(prefix, '<p>')
        .replaceAll(shop.igId, '<igId>')
        .replaceAll(ana.igsid, '<igsid>')
        .replaceAll(job?.id ?? '<none>', '<jobId>')
        .replaceAll(sid, '<sid>')
        .replace(/[0-9a-f]{64}$/, '<sha256>')
        .replace(/^<p>:once:state:[0-9a-f-]{36}$/, '<p>:once:state:<jti>');
    const patterns = (names: Iterable<string>) => [...new Set([...names].map(pattern))].sort();

    expect(patterns(touched)).toEqual([
      '<p>:account:<igId>',
      '<p>:accounts',
      '<p>:dedupe:<sha256>',
      '<p>:events:<igId>',
      '<p>:idempotency:["ig:<igId>","<igId>","send-1"]',
      '<p>:once:state:<jti>',
      '<p>:origin:<igId>:<igsid>',
      '<p>:publish-job:<jobId>',
      '<p>:publish-jobs:<igId>',
      '<p>:publish-jobs:due',
      '<p>:publish-lock:<jobId>',
      '<p>:ratelimit:<igId>:send',
      '<p>:reconcile-lock:<igId>',
      '<p>:refresh-lock:<igId>',
      '<p>:revoked:<sid>',
      '<p>:thread-owner:<igId>:<igsid>',
    ]);
    expect(patterns(published)).toEqual(['<p>:events:<igId>']);
    // What stays: the refresh and publish locks were released. Left out, as they may or may
    // not have lapsed yet: the send's window (about a second) and the reconcile lock (held 1 ms
    // when reconciliation runs on no interval).
    const lapsing = ['<p>:ratelimit:<igId>:send', '<p>:reconcile-lock:<igId>'];
    const kept = patterns(await admin.keys(`${prefix}:*`)).filter(
      (name) => !lapsing.includes(name),
    );
    expect(kept).toEqual([
      '<p>:account:<igId>',
      '<p>:accounts',
      '<p>:dedupe:<sha256>',
      '<p>:events:<igId>',
      '<p>:idempotency:["ig:<igId>","<igId>","send-1"]',
      '<p>:once:state:<jti>',
      '<p>:origin:<igId>:<igsid>',
      '<p>:publish-job:<jobId>',
      '<p>:publish-jobs:<igId>',
      '<p>:revoked:<sid>',
      '<p>:thread-owner:<igId>:<igsid>',
    ]);
  });
});
