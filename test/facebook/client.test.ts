import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstagramClient } from '../../src/instagram/client.ts';
import { InstagramError } from '../../src/instagram/errors.ts';
import { type Auth, authOf, InstagramApi } from '../../src/instagram/graph.ts';
import {
  ACCOUNT_LIMITS,
  MemoryRateLimiter,
  sendBucketFor,
} from '../../src/instagram/rate-limit.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { MemoryEventBus } from '../../src/pubsub/bus.ts';
import { MemoryEventLog } from '../../src/pubsub/log.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock } from '../../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { MemoryDeduper } from '../../src/webhooks/dedupe.ts';
import { EventPipeline } from '../../src/webhooks/pipeline.ts';
import { webhookRoutes } from '../../src/webhooks/routes.ts';

/**
 * Issue 19 below the schema: the client's `appsecret_proof` on graph.facebook.com, the IG User
 * read of Facebook Login, its send limit, and webhooks signed by either configuration's app.
 */

const T0 = Date.parse('2026-11-20T12:00:00Z');
const FACEBOOK_SECRET = 'facebook-app-secret';

let sim: Simulator;
let page: Auth;
let instagram: Auth;

beforeEach(async () => {
  sim = new Simulator({
    appSecret: 'instagram-app-secret',
    facebookAppSecret: FACEBOOK_SECRET,
    rateLimits: false,
    clock: createClock(T0, true),
  });
  const fb = sim.addFacebookAccount({ username: 'northwind.shop', name: 'Northwind Shop' });
  page = authOf({
    igId: fb.account.igId,
    accessToken: fb.token.token,
    loginKind: 'FACEBOOK',
    pageId: fb.page.id,
  });
  const ig = sim.addAccount({ username: 'lumen.studio' });
  instagram = authOf({ igId: ig.account.igId, accessToken: ig.token.token });
  await sim.start();
});
afterEach(() => sim.stop());

const apiWith = (facebookAppSecret?: string) =>
  new InstagramApi(
    new InstagramClient({
      graphUrl: () => sim.url,
      facebookGraphUrl: () => `${sim.url}/facebook`,
      apiVersion: 'v27.0',
      metrics: createMetrics(),
      logger: createLogger('silent'),
      paceReads: false,
      ...(facebookAppSecret === undefined ? {} : { facebookAppSecret }),
    }),
  );

describe('appsecret_proof', () => {
  it('goes with every call to graph.facebook.com when the Facebook app secret is given, never to graph.instagram.com', async () => {
    const api = apiWith(FACEBOOK_SECRET);
    expect(await api.account(page, ['username'])).toEqual({
      id: page.igId,
      username: 'northwind.shop',
    });
    await api.account(instagram, ['username']);
    const proof = createHmac('sha256', FACEBOOK_SECRET).update(page.token).digest('hex');
    expect(sim.requests.map((r) => [r.host, r.status, r.query.appsecret_proof])).toEqual([
      ['facebook', 200, proof],
      ['instagram', 200, undefined],
    ]);
  });

  it('is not sent without the secret, and one made with another secret is refused', async () => {
    await apiWith().account(page, ['username']);
    expect(sim.requests.at(-1)?.query.appsecret_proof).toBeUndefined();
    const refused = await apiWith('not-the-app-secret')
      .account(page, ['username'])
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InstagramError);
    expect((refused as InstagramError).code).toBe(100);
  });
});

describe('the account of Facebook Login', () => {
  it('is read by its IG_ID without the fields graph.facebook.com lacks, and not at all for those alone', async () => {
    const api = apiWith();
    expect(await api.account(page, ['user_id', 'username', 'account_type'])).toEqual({
      id: page.igId,
      username: 'northwind.shop',
      user_id: page.igId,
    });
    expect(sim.requests.map((r) => [r.path, r.query.fields])).toEqual([
      [`/facebook/v27.0/${page.igId}`, 'username'],
    ]);
    expect(await api.account(page, ['account_type'])).toEqual({ id: page.igId });
    expect(sim.requests).toHaveLength(1);
  });
});

describe('the send limit', () => {
  it('is 300 text sends a second for Facebook Login, 100 for Instagram Login; media the same', async () => {
    expect(sendBucketFor('send', true)).toBe('sendFacebookLogin');
    expect(sendBucketFor('send', false)).toBe('send');
    expect(sendBucketFor('sendMedia', true)).toBe('sendMedia');
    expect(sendBucketFor('privateReplies', true)).toBe('privateReplies');
    expect(ACCOUNT_LIMITS.sendFacebookLogin).toEqual({ limit: 300, windowMs: 1000 });
    const limiter = new MemoryRateLimiter(undefined, () => T0);
    const taken = async (igId: string, facebook: boolean) => {
      let n = 0;
      while ((await limiter.take(igId, sendBucketFor('send', facebook))).taken) n++;
      return n;
    };
    expect(await taken(page.igId, true)).toBe(300);
    expect(await taken(instagram.igId, false)).toBe(100);
  });
});

describe('webhook signatures', () => {
  let server: Server;
  let url: string;

  beforeEach(async () => {
    const logger = createLogger('silent');
    const metrics = createMetrics();
    const pipeline = new EventPipeline({
      deduper: new MemoryDeduper(),
      log: new MemoryEventLog(),
      bus: new MemoryEventBus(logger),
      logger,
      counter: metrics.inboxEvents,
      now: () => T0,
    });
    const route = webhookRoutes({
      appSecret: 'instagram-app-secret',
      facebookAppSecret: FACEBOOK_SECRET,
      verifyToken: 'verify',
      pipeline,
      logger,
      deliveries: metrics.webhookDeliveries,
    })['POST /webhooks/instagram'];
    server = createServer((req, res) => void route?.(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/instagram`;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const deliver = async (secret: string, mid: string) => {
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: T0,
          id: page.igId,
          messaging: [
            {
              sender: { id: '5614879045272581' },
              recipient: { id: page.igId },
              timestamp: T0,
              message: { mid, text: 'hello' },
            },
          ],
        },
      ],
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, secret) },
      body: raw,
    });
    return [res.status, await res.text()];
  };

  it('takes a delivery signed with either app’s secret, and refuses a forged one', async () => {
    expect(await deliver('instagram-app-secret', 'mid.1')).toEqual([200, 'EVENT_RECEIVED']);
    expect(await deliver(FACEBOOK_SECRET, 'mid.2')).toEqual([200, 'EVENT_RECEIVED']);
    expect(await deliver('a-forger', 'mid.3')).toEqual([401, '{"error":"invalid signature"}']);
  });
});
