import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { NO_PAGE } from '../../src/instagram/graph.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { newSimulator } from '../helpers/configurations.ts';
import { APP_SECRET, FACEBOOK_APP_SECRET, T0 } from '../helpers/gateway.ts';

/**
 * An account of Facebook Login stored without its Page (a record written by hand, or half
 * migrated) holds a Page token that graph.instagram.com would refuse, and no node for its
 * messaging: igql never sends that token anywhere, and answers REAUTH_REQUIRED until the user
 * logs in again with Facebook.
 */
let sim: Simulator;
let app: App;
let config: Config;
let url: string;
let cafe: SimAccount;
let ana: SimUser;

beforeAll(async () => {
  sim = newSimulator();
  cafe = sim.addFacebookAccount({ username: 'harbor.cafe' }).account;
  ana = sim.store.addUser(cafe.igId, { username: 'ana.costa' });
  sim.store.addMessage(cafe.igId, ana.igsid, {
    fromId: ana.igsid,
    text: 'hi',
    createdTime: T0 - 60_000,
  });
  await sim.start();
  config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: APP_SECRET,
    FACEBOOK_APP_SECRET,
    TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SESSION_SECRET: 'x'.repeat(40),
  });
  const sandbox = await startSandbox({ config, simulator: sim });
  app = createApp({
    config,
    // The account as stored, less its Page.
    sandbox: {
      ...sandbox,
      accounts: () => sandbox.accounts().map(({ pageId: _page, ...account }) => account),
    },
    now: () => sim.clock.now(),
    drainTimeoutMs: 1000,
    instagram: { paceReads: false },
    reconcileIntervalMs: 0,
  });
  url = await app.start();
});
afterAll(async () => {
  await app?.stop();
  await sim?.stop();
});

const query = async (text: string, variables: Record<string, unknown> = {}) => {
  const token = await signSession(config.sessionSecret, { sub: 'u', accounts: [cafe.igId] }, 3600);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: text, variables }),
  });
  return res.json();
};

it('reads, sends and reconciliation answer REAUTH_REQUIRED and call neither host', async () => {
  const mark = sim.requests.length;
  expect(
    await query('{ viewer { loginKind status conversations(first: 1) { nodes { id } } } }'),
  ).toEqual({
    data: null,
    errors: [
      {
        message: NO_PAGE,
        locations: [{ line: 1, column: 29 }],
        path: ['viewer', 'conversations'],
        extensions: { code: 'REAUTH_REQUIRED' },
      },
    ],
  });
  expect(await query('{ viewer { loginKind status } }')).toEqual({
    data: { viewer: { loginKind: 'FACEBOOK', status: 'REAUTH_REQUIRED' } },
  });
  expect(
    await query(
      'mutation($i: SendTextMessageInput!) { r: sendTextMessage(input: $i) { message { id } userErrors { __typename code message } } }',
      {
        i: {
          accountId: globalId.account(cafe.igId),
          recipientId: globalId.participant(cafe.igId, ana.igsid),
          text: 'Hello',
        },
      },
    ),
  ).toEqual({
    data: {
      r: {
        message: null,
        userErrors: [
          { __typename: 'ReauthRequiredError', code: 'REAUTH_REQUIRED', message: NO_PAGE },
        ],
      },
    },
  });
  await app.reconciler.runOnce();
  expect(sim.requests.slice(mark)).toEqual([]);
});
