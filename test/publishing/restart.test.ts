import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { FIRST_BACKOFF_MS } from '../../src/publishing/service.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { VIDEO_PROCESSING_MS } from '../../src/sandbox/publishing.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, type SimAccount } from '../../src/sandbox/store.ts';
import { T0 } from '../helpers/gateway.ts';
import { useRedisServer } from '../helpers/redis.ts';
import type { Loose } from '../media/loose.ts';

const redis = useRedisServer();

let sim: Simulator;
let shop: SimAccount;
const apps: App[] = [];

beforeEach(async () => {
  sim = new Simulator({
    appSecret: 'test-app-secret',
    rateLimits: false,
    clock: createClock(T0, true),
  });
  shop = sim.addAccount({ username: 'northwind.shop' }).account;
  await sim.start();
});

afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
  await sim.stop();
});

const config = () =>
  loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: 'test-app-secret',
    REDIS_URL: redis.server().url,
    SESSION_SECRET: 'a-session-secret-of-at-least-32-bytes!!',
  });

/** An igql instance over the test's simulator and Redis; its poller only runs when told. */
async function instance(): Promise<{ app: App; query: (q: string, v?: object) => Promise<Loose> }> {
  const cfg = config();
  const app = createApp({
    config: cfg,
    sandbox: await startSandbox({ config: cfg, simulator: sim }),
    now: () => sim.clock.now(),
    drainTimeoutMs: 1000,
    instagram: { paceReads: false },
    publishPollIntervalMs: 0,
  });
  apps.push(app);
  const url = await app.start();
  const token = await signSession(
    cfg.sessionSecret,
    { sub: 'user-1', accounts: [shop.igId] },
    3600,
  );
  return {
    app,
    query: async (query, variables = {}) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return res.json();
    },
  };
}

const PUBLISH = `mutation ($input: PublishMediaInput!) { publishMedia(input: $input) { job { id } userErrors { message } } }`;
const STATUS = `query ($id: ID!) { node(id: $id) { ... on PublishJob { status media { mediaProductType } } } }`;
const publishes = () => sim.count('POST /{id}/media_publish');

describe('publish jobs in Redis', () => {
  it('survive a restart: another instance publishes what the stopped one started', async () => {
    const first = await instance();
    const { data } = await first.query(PUBLISH, {
      input: {
        accountId: globalId.account(shop.igId),
        type: 'REEL',
        videoUrl: 'https://cdn.example.com/a.mp4',
      },
    });
    const id = data.publishMedia.job.id;
    await first.app.publishing.poll();
    expect((await first.query(STATUS, { id })).data.node).toEqual({
      status: 'PROCESSING',
      media: null,
    });
    await first.app.stop();

    sim.clock.advance(VIDEO_PROCESSING_MS + FIRST_BACKOFF_MS);
    const second = await instance();
    await second.app.publishing.poll();
    expect((await second.query(STATUS, { id })).data.node).toEqual({
      status: 'PUBLISHED',
      media: { mediaProductType: 'REELS' },
    });
    expect(publishes()).toBe(1);
  });

  it('is worked on by one instance at a time', async () => {
    const [a, b] = [await instance(), await instance()];
    const { data } = await a.query(PUBLISH, {
      input: {
        accountId: globalId.account(shop.igId),
        type: 'IMAGE',
        imageUrl: 'https://cdn.example.com/a.jpg',
      },
    });
    await Promise.all([a.app.publishing.poll(), b.app.publishing.poll()]);
    expect((await b.query(STATUS, { id: data.publishMedia.job.id })).data.node.status).toBe(
      'PUBLISHED',
    );
    expect(sim.count('POST /{id}/media')).toBe(1);
    expect(publishes()).toBe(1);
  });
});
