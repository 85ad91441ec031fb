import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount, SimPage, SimToken } from '../../src/sandbox/store.ts';
import { servedSince } from '../facebook/served.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';

/** Issue 16: welcome message flows of Click-to-Instagram-Direct ads, and their limits. */

// The same for an account of either configuration (issue 19): on the Page for Facebook Login.
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let shop: SimAccount;
  let page: SimPage | undefined;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      ({ account: shop, page } = addAccountOf(sim, kind, { username: 'northwind.shop' }));
    });
    token = await gw.session([shop.igId]);
  });
  afterAll(() => gw.stop());

  const accountId = () => globalId.account(shop.igId);
  const PAYLOAD =
    'ok flowId userErrors { __typename code message ... on ValidationError { field } }';
  const LIST = `{ viewer { welcomeMessageFlows {
  flowId name usedInAd messages { text quickReplies { title payload } } } } }`;
  const ENDPOINT = '/{id}/welcome_message_flows';

  const create = (input: Record<string, unknown>) =>
    gw.query(
      token,
      `mutation($i: CreateWelcomeMessageFlowInput!) { createWelcomeMessageFlow(input: $i) { ${PAYLOAD} } }`,
      { i: { accountId: accountId(), ...input } },
    );
  const update = (input: Record<string, unknown>) =>
    gw.query(
      token,
      `mutation($i: UpdateWelcomeMessageFlowInput!) { updateWelcomeMessageFlow(input: $i) { ${PAYLOAD} } }`,
      { i: { accountId: accountId(), ...input } },
    );
  const remove = (flowId: string) =>
    gw.query(
      token,
      `mutation($i: DeleteWelcomeMessageFlowInput!) { deleteWelcomeMessageFlow(input: $i) { ${PAYLOAD} } }`,
      { i: { accountId: accountId(), flowId } },
    );

  it('creates, lists, updates and deletes a welcome message flow with Instagram’s bodies', async () => {
    const mark = gw.sim.requests.length;
    const created = await create({
      name: 'Spring sale',
      messages: [
        {
          text: 'Hi! What are you looking for?',
          quickReplies: [
            { title: 'Dresses', payload: 'DRESSES' },
            { title: 'Shoes', payload: 'SHOES' },
          ],
        },
      ],
    });
    const flowId = (created.body as { data: { createWelcomeMessageFlow: { flowId: string } } }).data
      .createWelcomeMessageFlow.flowId;
    expect(created.body).toEqual({
      data: { createWelcomeMessageFlow: { ok: true, flowId: expect.any(String), userErrors: [] } },
    });
    expect(flowId).toMatch(/^\d{15}$/);
    // The documented body (instagram-api.md §12).
    expect(
      gw.sim.requests
        .filter((r) => r.method === 'POST' && r.endpoint === ENDPOINT)
        .map((r) => r.body),
    ).toEqual([
      {
        name: 'Spring sale',
        welcome_message_flow: [
          {
            message: {
              text: 'Hi! What are you looking for?',
              quick_replies: [
                { content_type: 'text', title: 'Dresses', payload: 'DRESSES' },
                { content_type: 'text', title: 'Shoes', payload: 'SHOES' },
              ],
            },
          },
        ],
        eligible_platforms: ['instagram'],
      },
    ]);

    const flow = (text: string, name: string, quickReplies: unknown[]) => ({
      data: {
        viewer: {
          welcomeMessageFlows: [
            { flowId, name, usedInAd: false, messages: [{ text, quickReplies }] },
          ],
        },
      },
    });
    expect((await gw.query(token, LIST)).body).toEqual(
      flow('Hi! What are you looking for?', 'Spring sale', [
        { title: 'Dresses', payload: 'DRESSES' },
        { title: 'Shoes', payload: 'SHOES' },
      ]),
    );

    expect((await update({ flowId, name: 'Spring sale 2' })).body).toEqual({
      data: { updateWelcomeMessageFlow: { ok: true, flowId, userErrors: [] } },
    });
    expect(
      (await update({ flowId, messages: [{ text: 'Hello 👋' }], idempotencyKey: 'u-1' })).body,
    ).toEqual({ data: { updateWelcomeMessageFlow: { ok: true, flowId, userErrors: [] } } });
    expect(
      gw.sim.requests
        .filter((r) => r.method === 'POST' && r.endpoint === ENDPOINT)
        .map((r) => r.body),
    ).toEqual([
      expect.anything(),
      { flow_id: flowId, name: 'Spring sale 2' },
      { flow_id: flowId, welcome_message_flow: [{ message: { text: 'Hello 👋' } }] },
    ]);
    expect((await gw.query(token, LIST)).body).toEqual(flow('Hello 👋', 'Spring sale 2', []));

    expect((await remove(flowId)).body).toEqual({
      data: { deleteWelcomeMessageFlow: { ok: true, flowId, userErrors: [] } },
    });
    const last = gw.sim.requests.at(-1);
    expect([last?.method, last?.endpoint, last?.query.flow_id]).toEqual([
      'DELETE',
      ENDPOINT,
      flowId,
    ]);
    expect((await gw.query(token, LIST)).body).toEqual({
      data: { viewer: { welcomeMessageFlows: [] } },
    });
    // The host and node of every call: the Page's edge on graph.facebook.com for Facebook Login,
    // which reads the flow before it changes it (only the account's flows may change).
    const facebook = kind === 'FACEBOOK';
    const [host, node] = facebook ? ['facebook', '<PAGE_ID>'] : ['instagram', '<IG_ID>'];
    const flows = (method: string) => `${host} ${method} /${node}/welcome_message_flows`;
    const check = facebook ? [flows('GET')] : [];
    expect(servedSince(gw.sim, mark, { igId: shop.igId, pageId: page?.id })).toEqual([
      flows('POST'),
      flows('GET'),
      ...check,
      flows('POST'),
      ...check,
      flows('POST'),
      flows('GET'),
      ...check,
      flows('DELETE'),
      flows('GET'),
    ]);
  });

  it('refuses every limit before any call', async () => {
    const before = gw.sim.count(`POST ${ENDPOINT}`) + gw.sim.count(`DELETE ${ENDPOINT}`);
    const field = (path: string[], message: string) => ({
      __typename: 'ValidationError',
      code: 'VALIDATION',
      message,
      field: ['input', ...path],
    });
    const refused = await create({
      name: 'x'.repeat(101),
      messages: [
        {
          text: 'é'.repeat(501),
          quickReplies: [
            ...Array.from({ length: 14 }, (_, i) => ({ title: `Option ${i}`, payload: `P${i}` })),
          ],
        },
      ],
    });
    expect(refused.body).toEqual({
      data: {
        createWelcomeMessageFlow: {
          ok: false,
          flowId: null,
          userErrors: [
            field(['name'], 'input.name must be at most 100 characters'),
            field(
              ['messages', '0', 'text'],
              'input.messages.0.text must be at most 1000 bytes (UTF-8)',
            ),
            field(
              ['messages', '0', 'quickReplies'],
              'input.messages.0.quickReplies must have at most 13 quick replies',
            ),
          ],
        },
      },
    });
    expect(
      (await create({ name: 'Two', messages: [{ text: 'one' }, { text: 'two' }] })).body,
    ).toEqual({
      data: {
        createWelcomeMessageFlow: {
          ok: false,
          flowId: null,
          userErrors: [field(['messages'], 'input.messages must have at most 1 message')],
        },
      },
    });
    expect((await create({ name: ' ', messages: [] })).body).toEqual({
      data: {
        createWelcomeMessageFlow: {
          ok: false,
          flowId: null,
          userErrors: [
            field(['name'], 'input.name must not be blank'),
            field(['messages'], 'input.messages must have a message'),
          ],
        },
      },
    });
    expect((await update({ flowId: 'abc' })).body).toEqual({
      data: {
        updateWelcomeMessageFlow: {
          ok: false,
          flowId: null,
          userErrors: [
            field(['flowId'], 'input.flowId must be a flow id (digits)'),
            {
              __typename: 'ValidationError',
              code: 'VALIDATION',
              message: 'input needs name or messages to change',
              field: ['input'],
            },
          ],
        },
      },
    });
    expect((await remove('')).body).toEqual({
      data: {
        deleteWelcomeMessageFlow: {
          ok: false,
          flowId: null,
          userErrors: [field(['flowId'], 'input.flowId must be a flow id (digits)')],
        },
      },
    });
    expect(gw.sim.count(`POST ${ENDPOINT}`) + gw.sim.count(`DELETE ${ENDPOINT}`)).toBe(before);
  });

  it('the simulator refuses a flow an ad uses, and one that does not exist, as Instagram would', async () => {
    const created = await create({ name: 'In an ad', messages: [{ text: 'Welcome!' }] });
    const flowId = (created.body as { data: { createWelcomeMessageFlow: { flowId: string } } }).data
      .createWelcomeMessageFlow.flowId;
    gw.sim.welcomeFlows.useInAd(shop.igId, flowId);
    const changed = await update({ flowId, name: 'Changed' });
    const removed = await remove(flowId);
    const missing = await remove('999999999999999');
    // Instagram's refusal (code 100, UNCONFIRMED text) names no input: the whole input is at fault.
    const refusal = (mutation: string, message: RegExp) => ({
      data: {
        [mutation]: {
          ok: false,
          flowId: null,
          userErrors: [
            {
              __typename: 'ValidationError',
              code: 'VALIDATION',
              message: expect.stringMatching(message),
              field: ['input'],
            },
          ],
        },
      },
    });
    const invalid =
      /^Instagram refused the welcome message flow as invalid \(Graph error 100, trace \S+\)$/;
    expect(changed.body).toEqual(refusal('updateWelcomeMessageFlow', invalid));
    expect(removed.body).toEqual(refusal('deleteWelcomeMessageFlow', invalid));
    // Facebook Login: igql finds no such flow of the account on the Page before any write.
    expect(missing.body).toEqual({
      data: {
        deleteWelcomeMessageFlow: {
          ok: false,
          flowId: null,
          userErrors: [
            {
              __typename: 'NotFoundError',
              code: 'NOT_FOUND',
              message:
                kind === 'FACEBOOK'
                  ? NOT_THE_ACCOUNTS
                  : expect.stringMatching(
                      /^Instagram found no such object \(Graph error 100\/33, trace \S+\)$/,
                    ),
            },
          ],
        },
      },
    });
    expect((await gw.query(token, LIST)).body).toEqual({
      data: {
        viewer: {
          welcomeMessageFlows: [
            {
              flowId,
              name: 'In an ad',
              usedInAd: true,
              messages: [{ text: 'Welcome!', quickReplies: [] }],
            },
          ],
        },
      },
    });
    await remove(flowId);
  });
});

const NOT_THE_ACCOUNTS =
  'The account has no welcome message flow with this flowId (its Facebook Page’s flows for Messenger only are not the account’s)';

/**
 * Facebook Login: the Page's edge holds its flows for Messenger beside the account's (Meta's
 * "Welcome message flows" for the Messenger Platform: `eligible_platforms` of `["instagram",
 * "messenger"]`). Only those eligible on Instagram are the account's.
 */
describe('FACEBOOK Login: the Page’s flows for Messenger', () => {
  let gw: Gateway;
  let shop: SimAccount;
  let page: SimPage;
  let pageToken: SimToken;
  let token: string;
  const ids: Record<string, string> = {};

  /** A flow made on the Page by another tool, with the Page's token, as Meta's page shows. */
  const seed = async (name: string, platforms: string[]) => {
    const res = await fetch(`${gw.sim.url}/facebook/v27.0/${page.id}/welcome_message_flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pageToken.token}` },
      body: JSON.stringify({
        name,
        welcome_message_flow: [{ message: { text: `${name}!` } }],
        eligible_platforms: platforms,
      }),
    });
    expect(res.status).toBe(200);
    ids[name] = ((await res.json()) as { flow_id: string }).flow_id;
  };

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      ({ account: shop, page, token: pageToken } = sim.addFacebookAccount({ username: 'cafe' }));
    });
    token = await gw.session([shop.igId]);
    await seed('Messenger only', ['messenger']);
    await seed('Both', ['messenger', 'instagram']);
    await seed('Instagram', ['instagram']);
  });
  afterAll(() => gw.stop());

  it('lists only the flows eligible on Instagram, and changes no other', async () => {
    const list = await gw.query(token, '{ viewer { welcomeMessageFlows { flowId name } } }');
    expect(list.body).toEqual({
      data: {
        viewer: {
          welcomeMessageFlows: [
            { flowId: ids.Both, name: 'Both' },
            { flowId: ids.Instagram, name: 'Instagram' },
          ],
        },
      },
    });
    const mark = gw.sim.requests.length;
    const accountId = globalId.account(shop.igId);
    const changed = await gw.query(
      token,
      'mutation($i: UpdateWelcomeMessageFlowInput!) { r: updateWelcomeMessageFlow(input: $i) { ok userErrors { __typename code message ... on NotFoundError { field } } } }',
      { i: { accountId, flowId: ids['Messenger only'], name: 'Mine now', idempotencyKey: 'k' } },
    );
    const removed = await gw.query(
      token,
      'mutation($i: DeleteWelcomeMessageFlowInput!) { r: deleteWelcomeMessageFlow(input: $i) { ok userErrors { __typename code message ... on NotFoundError { field } } } }',
      { i: { accountId, flowId: ids['Messenger only'] } },
    );
    const refused = {
      data: {
        r: {
          ok: false,
          userErrors: [
            {
              __typename: 'NotFoundError',
              code: 'NOT_FOUND',
              message: NOT_THE_ACCOUNTS,
              field: ['input', 'flowId'],
            },
          ],
        },
      },
    };
    expect(changed.body).toEqual(refused);
    expect(removed.body).toEqual(refused);
    // One read of that flow each, and no write.
    expect(servedSince(gw.sim, mark, { igId: shop.igId, pageId: page.id })).toEqual([
      'facebook GET /<PAGE_ID>/welcome_message_flows',
      'facebook GET /<PAGE_ID>/welcome_message_flows',
    ]);
    expect(gw.sim.requests.slice(mark).map((r) => r.query.flow_id)).toEqual([
      ids['Messenger only'],
      ids['Messenger only'],
    ]);
  });

  // The read of the flow comes before any write: when it fails, nothing reached Instagram's
  // flows, so the error is not "may or may not" and the same key may be tried again.
  it('a failed read of the flow writes nothing and leaves the idempotency key free', async () => {
    const accountId = globalId.account(shop.igId);
    const DELETE =
      'mutation($i: DeleteWelcomeMessageFlowInput!) { r: deleteWelcomeMessageFlow(input: $i) { ok flowId userErrors { __typename code message ... on UpstreamUnavailableError { outcomeUnknown } ... on RateLimitedError { retryAfter } } } }';
    const UPDATE =
      'mutation($i: UpdateWelcomeMessageFlowInput!) { r: updateWelcomeMessageFlow(input: $i) { ok flowId userErrors { __typename code message ... on UpstreamUnavailableError { outcomeUnknown } ... on RateLimitedError { retryAfter } } } }';
    const flowId = ids.Instagram as string;
    const read = { igId: shop.igId, pageId: page.id };

    // No answer at all to the read (the client's two retries included).
    gw.sim.inject({ endpoint: 'GET /{id}/welcome_message_flows', kind: 'drop', times: 3 });
    let mark = gw.sim.requests.length;
    const dropped = await gw.query(token, DELETE, {
      i: { accountId, flowId, idempotencyKey: 'del-1' },
    });
    expect(dropped.body).toEqual({
      data: {
        r: {
          ok: false,
          flowId: null,
          userErrors: [
            {
              __typename: 'UpstreamUnavailableError',
              code: 'UPSTREAM_UNAVAILABLE',
              message:
                'Instagram is unavailable; the welcome message flow was not changed. Retry later',
              outcomeUnknown: false,
            },
          ],
        },
      },
    });
    expect(servedSince(gw.sim, mark, read)).toEqual([
      'facebook GET /<PAGE_ID>/welcome_message_flows',
      'facebook GET /<PAGE_ID>/welcome_message_flows',
      'facebook GET /<PAGE_ID>/welcome_message_flows',
    ]);

    // The same key calls again, and this time deletes.
    mark = gw.sim.requests.length;
    const deleted = await gw.query(token, DELETE, {
      i: { accountId, flowId, idempotencyKey: 'del-1' },
    });
    expect(deleted.body).toEqual({ data: { r: { ok: true, flowId, userErrors: [] } } });
    expect(servedSince(gw.sim, mark, read)).toEqual([
      'facebook GET /<PAGE_ID>/welcome_message_flows',
      'facebook DELETE /<PAGE_ID>/welcome_message_flows',
    ]);

    // Instagram's rate limit on the read: RATE_LIMITED, nothing written either. (Last: the
    // client then holds the account back for a while.)
    gw.sim.inject({ endpoint: 'GET /{id}/welcome_message_flows', kind: 'rate-limit' });
    mark = gw.sim.requests.length;
    const limited = await gw.query(token, UPDATE, {
      i: { accountId, flowId: ids.Both, name: 'Renamed', idempotencyKey: 'upd-1' },
    });
    expect(limited.body).toEqual({
      data: {
        r: {
          ok: false,
          flowId: null,
          userErrors: [
            {
              __typename: 'RateLimitedError',
              code: 'RATE_LIMITED',
              message:
                'The account is at Instagram’s sending limit; retry after `retryAfter` seconds',
              retryAfter: 1,
            },
          ],
        },
      },
    });
    expect(servedSince(gw.sim, mark, read)).toEqual([
      'facebook GET /<PAGE_ID>/welcome_message_flows',
    ]);
  });
});
