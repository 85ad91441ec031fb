import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS, newSimulator } from '../helpers/configurations.ts';
import { APP_SECRET, FACEBOOK_APP_SECRET, T0 } from '../helpers/gateway.ts';

/**
 * Production-like: two Meta apps with ids of their own. Instagram Login's threads are the
 * Instagram app's, Facebook Login's the Facebook app's (its Page token's): igql's app is the one
 * of the account's configuration.
 */
const INSTAGRAM_APP_ID = '1110000000000001';
const FACEBOOK_APP_ID = '2220000000000002';
const BOT = '4440000000000004';

let sim: Simulator;
let app: App;
let config: Config;
let url: string;
const accounts = {} as Record<(typeof CONFIGURATIONS)[number], { shop: SimAccount; ana: SimUser }>;

beforeAll(async () => {
  sim = newSimulator({ appId: INSTAGRAM_APP_ID, facebookAppId: FACEBOOK_APP_ID });
  for (const kind of CONFIGURATIONS) {
    const shop = addAccountOf(sim, kind, { username: `${kind.toLowerCase()}.shop` }).account;
    const ana = sim.store.addUser(shop.igId, { username: `ana.${kind.toLowerCase()}` });
    sim.store.addMessage(shop.igId, ana.igsid, {
      fromId: ana.igsid,
      text: 'hi',
      createdTime: T0 - 60_000,
    });
    sim.routing.connect(shop.igId, { id: BOT, name: 'Shop bot' });
    accounts[kind] = { shop, ana };
  }
  await sim.start();
  config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_ID,
    INSTAGRAM_APP_SECRET: APP_SECRET,
    FACEBOOK_APP_ID,
    FACEBOOK_APP_SECRET,
    INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'verify',
    TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SESSION_SECRET: 'x'.repeat(40),
  });
  app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    now: () => sim.clock.now(),
    drainTimeoutMs: 1000,
    instagram: { paceReads: false },
  });
  url = await app.start();
});
afterAll(async () => {
  await app?.stop();
  await sim?.stop();
});

const query = async (igId: string, text: string, variables: Record<string, unknown> = {}) => {
  const token = await signSession(config.sessionSecret, { sub: 'u', accounts: [igId] }, 3600);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: text, variables }),
  });
  return res.json();
};

describe.each(CONFIGURATIONS)(
  '%s Login: igql’s app is the app of the account’s configuration',
  (kind) => {
    const own = kind === 'FACEBOOK' ? FACEBOOK_APP_ID : INSTAGRAM_APP_ID;
    const OWNER = '{ viewer { conversations(first: 1) { nodes { threadOwner { kind appId } } } } }';

    it('a thread igql’s app owns is THIS_APP; taken back from a bot, it is THIS_APP again', async () => {
      const { shop, ana } = accounts[kind];
      expect(await query(shop.igId, OWNER)).toEqual({
        data: {
          viewer: { conversations: { nodes: [{ threadOwner: { kind: 'THIS_APP', appId: own } }] } },
        },
      });
      sim.routing.setOwner(shop.igId, ana.igsid, BOT);
      const taken = await query(
        shop.igId,
        'mutation($i: ThreadControlInput!) { takeThreadControl(input: $i) { ok threadOwner { kind appId } userErrors { code } } }',
        {
          i: {
            accountId: globalId.account(shop.igId),
            recipientId: globalId.participant(shop.igId, ana.igsid),
          },
        },
      );
      expect(taken).toEqual({
        data: {
          takeThreadControl: {
            ok: true,
            threadOwner: { kind: 'THIS_APP', appId: own },
            userErrors: [],
          },
        },
      });
      // The simulator's own app of that configuration took it, as Meta would say.
      expect(sim.routing.ownerOf(shop.igId, ana.igsid)).toBe(own);
      expect(await query(shop.igId, OWNER)).toEqual({
        data: {
          viewer: { conversations: { nodes: [{ threadOwner: { kind: 'THIS_APP', appId: own } }] } },
        },
      });
    });
  },
);
