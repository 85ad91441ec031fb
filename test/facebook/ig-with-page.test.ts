import { afterAll, beforeAll, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimToken, SimUser } from '../../src/sandbox/store.ts';
import { T0 } from '../helpers/gateway.ts';
import {
  FACEBOOK_APP_ID,
  INSTAGRAM_APP_ID,
  startTwoAppGateway,
  type TwoAppGateway,
} from './two-apps.ts';

/**
 * The app a token acts as is its own: an Instagram User token acts as the Instagram app, a Page
 * token as the Facebook app, whether or not the Instagram account is linked to a Page. An account
 * of Instagram Login linked to a Page is still the Instagram app's: its threads are igql's.
 */
let gw: TwoAppGateway;
let sim: Simulator;
/** Instagram Login, its Instagram account linked to a Page. */
let shop: SimAccount;
let ana: SimUser;
/** Served by both apps: a Page token and an Instagram User token of it. */
let both: SimAccount;
let bea: SimUser;
let bothPageToken: SimToken;
let bothInstagramToken: SimToken;

beforeAll(async () => {
  gw = await startTwoAppGateway((seeded) => {
    sim = seeded;
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
  });
});
afterAll(() => gw?.stop());

const query = (text: string, variables: Record<string, unknown> = {}) =>
  gw.query(shop.igId, text, variables);

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
