import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { T0 } from '../helpers/gateway.ts';
import {
  FACEBOOK_APP_ID,
  INSTAGRAM_APP_ID,
  startTwoAppGateway,
  type TwoAppGateway,
} from './two-apps.ts';

/**
 * Production-like: two Meta apps with ids of their own. Instagram Login's threads are the
 * Instagram app's, Facebook Login's the Facebook app's (its Page token's): igql's app is the one
 * of the account's configuration.
 */
const BOT = '4440000000000004';

let gw: TwoAppGateway;
let sim: Simulator;
const accounts = {} as Record<(typeof CONFIGURATIONS)[number], { shop: SimAccount; ana: SimUser }>;

beforeAll(async () => {
  gw = await startTwoAppGateway((seeded) => {
    sim = seeded;
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
  });
});
afterAll(() => gw?.stop());

const query = (igId: string, text: string, variables: Record<string, unknown> = {}) =>
  gw.query(igId, text, variables);

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
