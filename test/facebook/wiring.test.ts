import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import type { SeededAccount } from '../helpers/configurations.ts';
import {
  APP_SECRET,
  FACEBOOK_APP_SECRET,
  type Gateway,
  startGateway,
  T0,
} from '../helpers/gateway.ts';

/**
 * The Facebook app's secret as igql wires it (src/routes.ts, src/services.ts), through the whole
 * app: its webhooks and its graph.facebook.com calls. The gateway's two apps have secrets of their
 * own, so a secret left unwired (or the Instagram one used in its place) fails here.
 */

let gw: Gateway;
let shop: SeededAccount;
let studio: SeededAccount;
let webhookUrl: string;

beforeAll(async () => {
  gw = await startGateway((sim) => {
    shop = sim.addFacebookAccount({ username: 'northwind.shop' });
    studio = sim.addAccount({ username: 'lumen.studio' });
  });
  webhookUrl = gw.url.replace(/\/graphql$/, '/webhooks/instagram');
});
afterAll(() => gw?.stop());

describe('webhooks of Facebook Login', () => {
  /** A customer's message to the account of Facebook Login, signed with `secret`. */
  const deliver = async (secret: string, mid: string) => {
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: T0,
          id: shop.account.igId,
          messaging: [
            {
              sender: { id: '5614879045272581' },
              recipient: { id: shop.account.igId },
              timestamp: T0,
              message: { mid, text: 'hello' },
            },
          ],
        },
      ],
    });
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, secret) },
      body: raw,
    });
    return [res.status, await res.text()];
  };

  it('are taken signed with the Facebook app’s secret, refused signed with neither app’s', async () => {
    expect(await deliver(FACEBOOK_APP_SECRET, 'mid.facebook')).toEqual([200, 'EVENT_RECEIVED']);
    // One callback serves both apps: the Instagram app's signature is taken too.
    expect(await deliver(APP_SECRET, 'mid.instagram')).toEqual([200, 'EVENT_RECEIVED']);
    expect(await deliver('a-forger', 'mid.forged')).toEqual([401, '{"error":"invalid signature"}']);
  });

  it('are taken as the simulator signs them: the Page’s with the Facebook app’s secret', async () => {
    const cara = gw.sim.users.userNamed(shop.account.igId, 'cara');
    const before = gw.sim.webhooks.deliveries.length;
    gw.sim.users.sendMessage(shop.account.igId, cara.igsid, { text: 'to the Page' });
    await gw.sim.webhooks.idle();
    const [delivery] = gw.sim.webhooks.deliveries.slice(before);
    expect([delivery?.status, delivery?.parsed.entry[0]?.id]).toEqual([200, shop.account.igId]);
    expect(gw.sim.webhooks.deliveries).toHaveLength(before + 1);
  });
});

describe('graph.facebook.com calls', () => {
  it('carry the appsecret_proof of the Facebook app’s secret; graph.instagram.com calls none', async () => {
    const session = await gw.session([shop.account.igId, studio.account.igId]);
    const mark = gw.sim.requests.length;
    expect(await gw.query(session, '{ accounts { username } }')).toEqual({
      status: 200,
      body: { data: { accounts: [{ username: 'northwind.shop' }, { username: 'lumen.studio' }] } },
    });
    const proof = (secret: string) =>
      createHmac('sha256', secret).update(shop.token.token).digest('hex');
    expect(
      gw.sim.requests.slice(mark).map((r) => [r.host, r.status, r.query.appsecret_proof]),
    ).toEqual([
      ['facebook', 200, proof(FACEBOOK_APP_SECRET)],
      ['instagram', 200, undefined],
    ]);
    expect(proof(FACEBOOK_APP_SECRET)).not.toBe(proof(APP_SECRET));
  });
});
