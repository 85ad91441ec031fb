import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../src/app.ts';
import { signSession } from '../src/auth/jwt.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { Simulator } from '../src/sandbox/simulator.ts';
import { createClock, type SimAccount } from '../src/sandbox/store.ts';
import { type RedisServer, startRedis } from './helpers/redis.ts';

let redis: RedisServer;
let sim: Simulator;
let config: Config;
let account: SimAccount;
const apps: App[] = [];
const urls: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // Instagram's real limits, on a running clock: 2 conversation reads a second per account.
  sim = new Simulator({ appSecret: 'pacing-secret', clock: createClock() });
  account = sim.addAccount({ username: 'paced.shop' }).account;
  const user = sim.store.addUser(account.igId, { username: 'ana.costa' });
  sim.store.addMessage(account.igId, user.igsid, { fromId: user.igsid, text: 'hi' });
  await sim.start();
  config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: 'pacing-secret',
    REDIS_URL: redis.url,
  });
  for (let i = 0; i < 2; i++) {
    const app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim }),
      reconcileIntervalMs: 0,
      refreshIntervalMs: 0,
    });
    urls.push(await app.start());
    apps.push(app);
  }
});

afterAll(async () => {
  for (const app of apps) await app.stop();
  await sim?.stop();
  await redis?.stop();
});

describe('conversation reads across instances', () => {
  it('stay within Instagram’s 2 a second per account, shared through Redis', async () => {
    const token = await signSession(config.sessionSecret, {
      sub: 'agent',
      accounts: [account.igId],
    });
    const mark = sim.requests.length;
    // Two reads on each instance at once: four within two windows, never three in one second
    // (a fifth would wait past the 2 s a read may wait, and be refused: test/edges/upstream).
    // Four different pages: identical reads would share one call (the shared read cache).
    const answers = await Promise.all(
      [...urls, ...urls].map(async (url, i) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            query: `{ viewer { conversations(first: ${i + 1}) { nodes { id } } } }`,
          }),
        });
        return (await res.json()) as { errors?: unknown };
      }),
    );
    expect(answers.filter((a) => a.errors)).toEqual([]);
    const reads = sim.requests.slice(mark).filter((r) => r.endpoint === '/me/conversations');
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });
});
