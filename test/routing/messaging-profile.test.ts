import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount, SimPage, SimUser } from '../../src/sandbox/store.ts';
import { servedSince } from '../facebook/served.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { fixture } from '../helpers/fixtures.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';
import { subscribeInbox } from '../helpers/inbox-events.ts';

/** Issue 16: ice breakers and the persistent menu set, read, tapped and deleted; limits refused first. */

// The same for an account of either configuration (issue 19): on the Page for Facebook Login.
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let shop: SimAccount;
  let page: SimPage | undefined;
  let ana: SimUser;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      ({ account: shop, page } = addAccountOf(sim, kind, { username: 'northwind.shop' }));
      ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
    });
    token = await gw.session([shop.igId]);
  });
  afterAll(() => gw.stop());

  const accountId = () => globalId.account(shop.igId);
  const PAYLOAD = 'ok userErrors { __typename code message field }';
  const READ = `query($l: String) { viewer { messagingProfile {
  iceBreakers(locale: $l) { question payload }
  persistentMenu { locale items { type title payload url } } } } }`;

  it('sets, reads, taps and deletes ice breakers and the persistent menu', async () => {
    const mark = gw.sim.requests.length;
    const set = await gw.query(
      token,
      `mutation($i: SetIceBreakersInput!) { setIceBreakers(input: $i) { ${PAYLOAD} } }`,
      {
        i: {
          accountId: accountId(),
          locales: [{ iceBreakers: [{ question: 'Where is my order?', payload: 'ORDER' }] }],
        },
      },
    );
    expect(set.body).toEqual({ data: { setIceBreakers: { ok: true, userErrors: [] } } });
    const menu = await gw.query(
      token,
      `mutation($i: SetPersistentMenuInput!) { setPersistentMenu(input: $i) { ${PAYLOAD} } }`,
      {
        i: {
          accountId: accountId(),
          menus: [
            {
              locale: 'default',
              items: [
                { type: 'POSTBACK', title: 'Talk to an agent', payload: 'CARE_HELP' },
                {
                  type: 'WEB_URL',
                  title: 'Shop now',
                  url: 'https://www.originalcoastclothing.com/',
                },
              ],
            },
          ],
        },
      },
    );
    expect(menu.body).toEqual({ data: { setPersistentMenu: { ok: true, userErrors: [] } } });
    // Exactly Instagram's bodies: the Postman shapes.
    const posts = gw.sim.requests.filter((r) => r.endpoint === '/{id}/messenger_profile');
    expect(posts.map((r) => r.body)).toEqual([
      {
        platform: 'instagram',
        ice_breakers: [
          {
            call_to_actions: [{ question: 'Where is my order?', payload: 'ORDER' }],
            locale: 'default',
          },
        ],
      },
      {
        platform: 'instagram',
        persistent_menu: (
          fixture('api-persistent-menu-get-postman.json') as {
            data: [{ persistent_menu: [{ call_to_actions: unknown[] }] }];
          }
        ).data[0].persistent_menu.map((m) => ({
          ...m,
          call_to_actions: [m.call_to_actions[0], m.call_to_actions[2]],
        })),
      },
    ]);

    const read = await gw.query(token, READ);
    expect(read.body).toEqual({
      data: {
        viewer: {
          messagingProfile: {
            iceBreakers: [{ question: 'Where is my order?', payload: 'ORDER' }],
            persistentMenu: [
              {
                locale: 'default',
                items: [
                  { type: 'POSTBACK', title: 'Talk to an agent', payload: 'CARE_HELP', url: null },
                  {
                    type: 'WEB_URL',
                    title: 'Shop now',
                    payload: null,
                    url: 'https://www.originalcoastclothing.com/',
                  },
                ],
              },
            ],
          },
        },
      },
    });

    // A tap arrives as a postback with the payload the profile set.
    const inbox = await subscribeInbox(gw.url, token, accountId());
    gw.sim.users.postback(shop.igId, ana.igsid, { title: 'Where is my order?', payload: 'ORDER' });
    await inbox.until((e) => e.type === 'POSTBACK_RECEIVED');
    await inbox.dispose();

    for (const name of ['deleteIceBreakers', 'deletePersistentMenu']) {
      const deleted = await gw.query(
        token,
        `mutation($i: DeleteMessagingProfileInput!) { ${name}(input: $i) { ${PAYLOAD} } }`,
        { i: { accountId: accountId() } },
      );
      expect(deleted.body).toEqual({ data: { [name]: { ok: true, userErrors: [] } } });
    }
    expect((await gw.query(token, READ)).body).toEqual({
      data: { viewer: { messagingProfile: { iceBreakers: [], persistentMenu: [] } } },
    });
    // The host and node of every call: the Page on graph.facebook.com for Facebook Login.
    const [host, node] = kind === 'FACEBOOK' ? ['facebook', '<PAGE_ID>'] : ['instagram', '<IG_ID>'];
    const profile = (method: string) => `${host} ${method} /${node}/messenger_profile`;
    expect(servedSince(gw.sim, mark, { igId: shop.igId, pageId: page?.id })).toEqual([
      profile('POST'),
      profile('POST'),
      profile('GET'),
      profile('GET'),
      profile('DELETE'),
      profile('DELETE'),
      profile('GET'),
      profile('GET'),
    ]);
  });

  it('refuses every documented limit before any call', async () => {
    const five = Array.from({ length: 5 }, (_, n) => ({ question: `Q${n}`, payload: `P${n}` }));
    const calls = await gw.upstreamCalls(async () => {
      const ice = await gw.query(
        token,
        `mutation($i: SetIceBreakersInput!) { setIceBreakers(input: $i) { ${PAYLOAD} } }`,
        { i: { accountId: accountId(), locales: [{ iceBreakers: five }] } },
      );
      expect(ice.body).toEqual({
        data: {
          setIceBreakers: {
            ok: false,
            userErrors: [
              {
                __typename: 'ValidationError',
                code: 'VALIDATION',
                message: 'input.locales.0.iceBreakers must have at most 4 ice breakers',
                field: ['input', 'locales', '0', 'iceBreakers'],
              },
            ],
          },
        },
      });
      const menu = await gw.query(
        token,
        `mutation($i: SetPersistentMenuInput!) { setPersistentMenu(input: $i) { ${PAYLOAD} } }`,
        {
          i: {
            accountId: accountId(),
            menus: [
              {
                locale: 'en_US',
                items: [
                  {
                    type: 'WEB_URL',
                    title: 'A title longer than thirty chars',
                    url: 'http://x.com',
                  },
                ],
              },
            ],
          },
        },
      );
      expect(menu.body).toEqual({
        data: {
          setPersistentMenu: {
            ok: false,
            userErrors: [
              {
                __typename: 'ValidationError',
                code: 'VALIDATION',
                message: 'input.menus.0.items.0.title must be at most 30 characters',
                field: ['input', 'menus', '0', 'items', '0', 'title'],
              },
              {
                __typename: 'ValidationError',
                code: 'VALIDATION',
                message: 'input.menus.0.items.0.url must be an https URL',
                field: ['input', 'menus', '0', 'items', '0', 'url'],
              },
              {
                __typename: 'ValidationError',
                code: 'VALIDATION',
                message: 'input.menus must include the default locale',
                field: ['input', 'menus'],
              },
            ],
          },
        },
      });
    });
    expect(calls).toBe(0);
  });
});
