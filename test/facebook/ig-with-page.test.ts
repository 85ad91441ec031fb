import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimToken, SimUser } from '../../src/sandbox/store.ts';
import { newSimulator } from '../helpers/configurations.ts';
import { APP_SECRET, FACEBOOK_APP_SECRET, T0 } from '../helpers/gateway.ts';

/**
 * The app a token acts as is its own: an Instagram User token acts as the Instagram app, a Page
 * token as the Facebook app, whether or not the Instagram account is linked to a Page. An account
 * of Instagram Login linked to a Page is still the Instagram app's: its threads are igql's.
 */
const INSTAGRAM_APP_ID = '1110000000000001';
const FACEBOOK_APP_ID = '2220000000000002';

let sim: Simulator;
let app: App;
let config: Config;
let url: string;
/** Instagram Login, its Instagram account linked to a Page. */
let shop: SimAccount;
let ana: SimUser;
/** Served by both apps: a Page token and an Instagram User token of it. */
let both: SimAccount;
let bea: SimUser;
let bothPageToken: SimToken;
let bothInstagramToken: SimToken;

beforeAll(async () => {
  sim = newSimulator({ appId: INSTAGRAM_APP_ID, facebookAppId: FACEBOOK_APP_ID });
  shop = sim.addAccount({ username: 'ig.shop' }).account;
  sim.store.addPage(shop.igId);
  ana = sim.store.addUser(shop.igId, { username: 'ana' });
  sim.store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    text: 'hi',
    createdTime: T0 - 60_000,
  });
  ({ account: both, token: bothPageToken } = sim.addFacebookAccount({ username: 'both.shop' }));
  bothInstagramToken = sim.store.issueToken(both.igId);
  bea = sim.store.addUser(both.igId, { username: 'bea' });
  sim.store.addMessage(both.igId, bea.igsid, {
    fromId: bea.igsid,
    text: 'hello',
    createdTime: T0 - 60_000,
  });
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

const query = async (text: string, variables: Record<string, unknown> = {}) => {
  const token = await signSession(config.sessionSecret, { sub: 'u', accounts: [shop.igId] }, 3600);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: text, variables }),
  });
  return res.json();
};

/** A send straight to the simulator, as the app of `token`. */
async function send(token: SimToken, igsid: string) {
  const prefix = token.kind === 'page' ? `/facebook/v27.0/${token.pageId}` : '/v27.0/me';
  const res = await fetch(`${sim.url}${prefix}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token.token}` },
    body: JSON.stringify({ recipient: { id: igsid }, message: { text: 'Hi!' } }),
  });
  const body = (await res.json()) as { error?: Record<string, unknown> };
  return { status: res.status, code: body.error?.code, subcode: body.error?.error_subcode };
}

it('an account of Instagram Login linked to a Page: its threads are the Instagram app’s', async () => {
  expect(
    await query(
      '{ viewer { loginKind conversations(first: 1) { nodes { threadOwner { kind appId } } } } }',
    ),
  ).toEqual({
    data: {
      viewer: {
        loginKind: 'INSTAGRAM',
        conversations: {
          nodes: [{ threadOwner: { kind: 'THIS_APP', appId: INSTAGRAM_APP_ID } }],
        },
      },
    },
  });
  expect(sim.routing.ownerOf(shop.igId, ana.igsid)).toBe(INSTAGRAM_APP_ID);
  const sent = await query(
    'mutation($i: SendTextMessageInput!) { r: sendTextMessage(input: $i) { message { text } userErrors { code } } }',
    {
      i: {
        accountId: globalId.account(shop.igId),
        recipientId: globalId.participant(shop.igId, ana.igsid),
        text: 'Hi!',
      },
    },
  );
  expect(sent).toEqual({ data: { r: { message: { text: 'Hi!' }, userErrors: [] } } });
});

it('an account served by both apps: each token sends as its own app', async () => {
  // UNCONFIRMED default (routing.ts): the Facebook app owns its threads.
  expect(sim.routing.ownerOf(both.igId, bea.igsid)).toBe(FACEBOOK_APP_ID);
  expect(await send(bothInstagramToken, bea.igsid)).toEqual({
    status: 400,
    code: 100,
    subcode: 2534037,
  });
  expect(await send(bothPageToken, bea.igsid)).toEqual({
    status: 200,
    code: undefined,
    subcode: undefined,
  });
});
