import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimPage, SimToken, SimUser } from '../../src/sandbox/store.ts';
import { signatureHeaders } from '../../src/sandbox/webhooks.ts';
import { newSimulator, proofOf } from '../helpers/configurations.ts';
import { fixture } from '../helpers/fixtures.ts';
import { APP_SECRET, FACEBOOK_APP_SECRET, T0 } from '../helpers/gateway.ts';
import { shapeOf } from '../helpers/shape.ts';

/**
 * The simulator's graph.facebook.com (issue 19): what an account of Facebook Login is served,
 * called over HTTP as igql calls it. Instagram Login's side is the rest of test/sandbox.
 */

let sim: Simulator;
let shop: SimAccount;
let page: SimPage;
let pageToken: SimToken;
let studio: SimAccount;
let igToken: SimToken;
let ana: SimUser;

beforeEach(async () => {
  sim = newSimulator();
  ({
    account: shop,
    page,
    token: pageToken,
  } = sim.addFacebookAccount({
    username: 'northwind.shop',
    name: 'Northwind Shop',
    biography: 'Linen since 1999',
    followersCount: 120,
  }));
  ({ account: studio, token: igToken } = sim.addAccount({ username: 'lumen.studio' }));
  ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
  sim.store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    text: 'Hello',
    createdTime: T0 - 60_000,
  });
  await sim.start();
});

afterEach(() => sim.stop());

/** A call to the simulated graph.facebook.com (`/facebook/v27.0/…`) or graph.instagram.com. */
async function call(
  path: string,
  init: {
    method?: string;
    token?: string;
    body?: unknown;
    query?: Record<string, string>;
    host?: 'facebook' | 'instagram';
  } = {},
) {
  const params = new URLSearchParams(init.query);
  const prefix = (init.host ?? 'facebook') === 'facebook' ? '/facebook/v27.0' : '/v27.0';
  const res = await fetch(`${sim.url}${prefix}${path}${params.size > 0 ? `?${params}` : ''}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? pageToken.token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Graph's error envelope without its random `fbtrace_id`. */
const errorOf = (body: Record<string, unknown>) => {
  const { fbtrace_id, ...rest } = body.error as Record<string, unknown>;
  expect(fbtrace_id).toMatch(/^A[A-Za-z0-9_-]{22}$/);
  return rest;
};

const MALFORMED = {
  message: 'Invalid OAuth access token - Cannot parse access token',
  type: 'OAuthException',
  code: 190,
};

describe('tokens and hosts', () => {
  it('a Page token works on graph.facebook.com only, an Instagram token on graph.instagram.com only', async () => {
    expect(pageToken.token).toMatch(/^EAA/);
    const onInstagram = await call('/me', { host: 'instagram' });
    expect([onInstagram.status, errorOf(onInstagram.body)]).toEqual([400, MALFORMED]);
    const igOnFacebook = await call(`/${studio.igId}`, { token: igToken.token });
    expect([igOnFacebook.status, errorOf(igOnFacebook.body)]).toEqual([400, MALFORMED]);
    expect((await call(`/${shop.igId}`)).status).toBe(200);
    expect((await call('/me', { host: 'instagram', token: igToken.token })).status).toBe(200);
    expect(sim.requests.map((r) => [r.host, r.path, r.status])).toEqual([
      ['instagram', '/v27.0/me', 400],
      ['facebook', `/facebook/v27.0/${studio.igId}`, 400],
      ['facebook', `/facebook/v27.0/${shop.igId}`, 200],
      ['instagram', '/v27.0/me', 200],
    ]);
  });

  it('checks an appsecret_proof against the Facebook app secret, and takes a call without one', async () => {
    const proof = proofOf('FACEBOOK', pageToken.token).appsecret_proof ?? '';
    const good = await call(`/${shop.igId}`, { query: { appsecret_proof: proof } });
    expect(good).toEqual({ status: 200, body: { id: shop.igId } });
    const forged = createHmac('sha256', 'another secret').update(pageToken.token).digest('hex');
    const bad = await call(`/${shop.igId}`, { query: { appsecret_proof: forged } });
    expect([bad.status, errorOf(bad.body)]).toEqual([
      400,
      {
        message: 'Invalid appsecret_proof provided in the API argument',
        type: 'GraphMethodException',
        code: 100,
      },
    ]);
  });
});

describe('nodes', () => {
  it('reads the account as the IG User of graph.facebook.com: its IG_ID and fields', async () => {
    const read = await call(`/${shop.igId}`, {
      query: { fields: 'id,username,name,biography,website,followers_count,media_count,ig_id' },
    });
    expect(read).toEqual({
      status: 200,
      body: {
        id: shop.igId,
        username: 'northwind.shop',
        name: 'Northwind Shop',
        biography: 'Linen since 1999',
        website: '',
        followers_count: 120,
        media_count: 0,
        ig_id: Number(shop.igId.slice(-10)),
      },
    });
    for (const field of ['account_type', 'user_id']) {
      const refused = await call(`/${shop.igId}`, { query: { fields: `username,${field}` } });
      expect([refused.status, errorOf(refused.body)]).toEqual([
        400,
        {
          message: `(#100) Tried accessing nonexisting field (${field}) on node type (IGUser)`,
          type: 'OAuthException',
          code: 100,
        },
      ]);
    }
  });

  it('reads the Page as a Page token’s /me, with its linked Instagram account', async () => {
    const fields = 'id,name,instagram_business_account';
    expect(await call('/me', { query: { fields } })).toEqual({
      status: 200,
      body: {
        id: page.id,
        name: 'Northwind Shop Page',
        instagram_business_account: { id: shop.igId },
      },
    });
    expect(await call(`/${page.id}`)).toEqual({
      status: 200,
      body: { name: 'Northwind Shop Page', id: page.id },
    });
    const media = await call(`/${page.id}/media`);
    expect(errorOf(media.body)).toEqual({
      message: '(#100) Tried accessing nonexisting field (media) on node type (Page)',
      type: 'OAuthException',
      code: 100,
    });
  });

  it('answers error 3 to messaging on the IG_ID: it is the Page’s', async () => {
    const capability = {
      message: '(#3) Application does not have the capability to make this API call.',
      type: 'OAuthException',
      code: 3,
    };
    const send = await call(`/${shop.igId}/messages`, {
      method: 'POST',
      body: { recipient: { id: ana.igsid }, message: { text: 'Hi' } },
    });
    expect([send.status, errorOf(send.body)]).toEqual([400, capability]);
    for (const edge of ['conversations', 'messenger_profile', 'subscribed_apps', 'thread_owner']) {
      const read = await call(`/${shop.igId}/${edge}`, { query: { platform: 'instagram' } });
      expect([edge, read.status, errorOf(read.body)]).toEqual([edge, 400, capability]);
    }
    const onPage = await call(`/${page.id}/messages`, {
      method: 'POST',
      body: { recipient: { id: ana.igsid }, message: { text: 'Hi' } },
    });
    expect(onPage).toEqual({
      status: 200,
      body: { recipient_id: ana.igsid, message_id: expect.stringMatching(/^aWdfZAG1faXRlbTox/) },
    });
  });

  it('sends a private reply through the Page', async () => {
    const post = sim.store.addMedia(shop.igId);
    const dev = sim.store.addUser(shop.igId, { username: 'dev.patel' });
    const comment = sim.store.addComment(post.id, {
      fromIgsid: dev.igsid,
      fromUsername: dev.username,
      text: 'Price?',
    });
    const reply = await call(`/${page.id}/messages`, {
      method: 'POST',
      body: { recipient: { comment_id: comment.id }, message: { text: '39 euros' } },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.recipient_id).toBe(dev.igsid);
    expect(sim.store.comments.get(comment.id)?.privateReplyMid).toBe(reply.body.message_id);
  });

  it('words a send outside the window as the Messenger Platform does (10/2018278)', async () => {
    sim.clock.advance(8 * 24 * 3_600_000);
    const late = await call(`/${page.id}/messages`, {
      method: 'POST',
      body: { recipient: { id: ana.igsid }, message: { text: 'Still there?' } },
    });
    expect([late.status, errorOf(late.body)]).toEqual([
      403,
      {
        message:
          '(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview',
        type: 'OAuthException',
        code: 10,
        error_subcode: 2018278,
      },
    ]);
  });
});

describe('as real captures of graph.facebook.com are (test/fixtures/instagram)', () => {
  /** The Page's one conversation, with ana.costa. */
  const conversation = () => sim.store.conversationWith(shop.igId, ana.igsid);

  it('lists the Page’s Instagram conversations: ids and update times', async () => {
    const list = await call(`/${page.id}/conversations`, { query: { platform: 'instagram' } });
    const real = fixture('api-page-conversations-platform-instagram-real.json') as {
      data: unknown;
    };
    // The items. The capture, a list of one page, has no `paging`; the simulator names its
    // cursors even then (UNCONFIRMED which Graph does for every list: not asserted).
    expect(shapeOf(list.body.data)).toEqual(shapeOf(real.data));
    const [item] = list.body.data as { id: string; updated_time: string }[];
    expect(item?.id).toBe(conversation()?.id);
    expect(item?.updated_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  });

  it('reads a conversation’s messages and a message, as a Page token does', async () => {
    const id = conversation()?.id ?? '';
    const messages = await call(`/${id}`, { query: { fields: 'messages' } });
    const real = fixture('api-page-conversation-messages-real.json') as {
      id: string;
      messages: { data: unknown };
    };
    const read = messages.body as typeof real;
    // As above, without the `paging` of a list of one page.
    expect(shapeOf({ id: read.id, data: read.messages.data })).toEqual(
      shapeOf({ id: real.id, data: real.messages.data }),
    );
    const [first] = read.messages.data as { id: string }[];
    const detail = await call(`/${first?.id}`, {
      query: { fields: 'id,created_time,from,to,message' },
    });
    expect(shapeOf(detail.body)).toEqual(shapeOf(fixture('api-page-message-detail-real.json')));
  });

  it('reads the Page’s Instagram account', async () => {
    const read = await call(`/${page.id}`, { query: { fields: 'instagram_business_account' } });
    expect(shapeOf(read.body)).toEqual(
      shapeOf(fixture('api-page-instagram-business-account-real.json')),
    );
    expect(read.body).toEqual({ instagram_business_account: { id: shop.igId }, id: page.id });
  });

  it('refuses messaging on the IG_ID with the error reported from graph.facebook.com', async () => {
    const send = await call(`/${shop.igId}/messages`, {
      method: 'POST',
      body: { recipient: { id: ana.igsid }, message: { text: 'Hi' } },
    });
    const real = fixture('error-capability-3-ig-messages-reported.json') as { error: unknown };
    expect([send.status, errorOf(send.body)]).toEqual([400, real.error]);
  });
});

describe('permissions', () => {
  it('are Facebook Login’s names, insights needing instagram_manage_insights', async () => {
    const without = (permission: string) => {
      const token = { ...pageToken, token: `${pageToken.token}x${permission.length}` };
      sim.store.tokens.set(token.token, {
        ...token,
        permissions: pageToken.permissions.filter((p) => p !== permission),
      });
      return token.token;
    };
    const insights = await call(`/${shop.igId}/insights`, {
      token: without('instagram_manage_insights'),
      query: { metric: 'reach', period: 'day' },
    });
    expect(errorOf(insights.body)).toEqual({
      message: '(#200) Requires instagram_manage_insights permission to manage the object',
      type: 'OAuthException',
      code: 200,
    });
    const conversations = await call(`/${page.id}/conversations`, {
      token: without('pages_manage_metadata'),
      query: { platform: 'instagram' },
    });
    expect(errorOf(conversations.body)).toMatchObject({
      message: '(#200) Requires pages_manage_metadata permission to manage the object',
      code: 200,
    });
    const send = await call(`/${page.id}/messages`, {
      method: 'POST',
      token: without('instagram_manage_messages'),
      body: { recipient: { id: ana.igsid }, message: { text: 'Hi' } },
    });
    expect(errorOf(send.body)).toMatchObject({
      message: '(#200) Requires instagram_manage_messages permission to manage the object',
    });
  });
});

describe('the Page’s conversations', () => {
  it('are Instagram’s with platform=instagram, Messenger’s (none here) without', async () => {
    const instagram = await call(`/${page.id}/conversations`, {
      query: { platform: 'instagram', fields: 'id' },
    });
    const [conversation] = sim.store.conversations.values();
    expect([instagram.status, instagram.body.data]).toEqual([200, [{ id: conversation?.id }]]);
    expect(await call(`/${page.id}/conversations`, { query: { fields: 'id' } })).toEqual({
      status: 200,
      body: { data: [] },
    });
    const upper = await call(`/${page.id}/conversations`, { query: { platform: 'INSTAGRAM' } });
    expect((upper.body.data as unknown[]).length).toBe(1);
    const bad = await call(`/${page.id}/conversations`, { query: { platform: 'whatsapp' } });
    expect(errorOf(bad.body)).toEqual({
      message: '(#100) Param platform must be one of {INSTAGRAM, MESSENGER} - got "whatsapp"',
      type: 'OAuthException',
      code: 100,
    });
  });

  it('have ids of graph.facebook.com’s form: base64 of the IG_ID and the thread key', async () => {
    const [conversation] = sim.store.conversations.values();
    const id = conversation?.id ?? '';
    expect(id.startsWith('aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6')).toBe(true);
    const key = Buffer.from(id.slice('aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6'.length), 'base64');
    expect(key.toString()).toMatch(new RegExp(`^${shop.igId}:34028236684171030\\d{22}$`));
  });

  it('list one folder at a time, the inbox by default', async () => {
    const ben = sim.store.addUser(shop.igId, { username: 'ben_hughes' });
    sim.store.addMessage(shop.igId, ben.igsid, { fromId: ben.igsid, text: 'Spam?' });
    const spam = sim.store.conversationWith(shop.igId, ben.igsid);
    if (spam) spam.folder = 'spam';
    const list = async (folder?: string) =>
      (
        await call(`/${page.id}/conversations`, {
          query: { platform: 'instagram', fields: 'id', ...(folder ? { folder } : {}) },
        })
      ).body;
    const inbox = sim.store.conversationWith(shop.igId, ana.igsid);
    expect((await list()).data).toEqual([{ id: inbox?.id }]);
    expect((await list('spam')).data).toEqual([{ id: spam?.id }]);
    expect(await list('pending')).toEqual({ data: [] });
    expect(errorOf(await list('archive'))).toEqual({
      message:
        '(#100) Param folder must be one of {inbox, other, page_done, pending, spam} - got "archive"',
      type: 'OAuthException',
      code: 100,
    });
  });
});

describe('the Page subscription', () => {
  /** A Page token of the account's Page without `pages_messaging`. */
  const withoutPagesMessaging = (): string => {
    const issued = sim.store.issuePageToken(page.id);
    const narrow = {
      ...issued,
      permissions: issued.permissions.filter((p) => p !== 'pages_messaging'),
    };
    sim.store.tokens.set(narrow.token, narrow);
    return narrow.token;
  };

  it('and the Page’s welcome message flows need pages_messaging too', async () => {
    const flows = await call(`/${page.id}/welcome_message_flows`, {
      token: withoutPagesMessaging(),
    });
    expect(errorOf(flows.body)).toEqual({
      message: '(#200) Requires pages_messaging permission to manage the object',
      type: 'OAuthException',
      code: 200,
    });
    expect((await call(`/${page.id}/welcome_message_flows`)).status).toBe(200);
  });

  it('takes Page fields with the Page token, not Instagram’s, and messaging ones only with pages_messaging', async () => {
    expect(await call(`/${page.id}/subscribed_apps`)).toEqual({
      status: 200,
      body: { data: [{ id: sim.appId, name: 'igql', subscribed_fields: ['feed'] }] },
    });
    const instagramField = await call(`/${page.id}/subscribed_apps`, {
      method: 'POST',
      query: { subscribed_fields: 'comments' },
    });
    expect(errorOf(instagramField.body)).toMatchObject({
      code: 100,
      message: expect.stringMatching(
        /^\(#100\) Param subscribed_fields\[0\] must be one of \{feed, /,
      ),
    });
    const messaging = await call(`/${page.id}/subscribed_apps`, {
      method: 'POST',
      query: { subscribed_fields: 'feed,messages' },
      token: withoutPagesMessaging(),
    });
    expect(errorOf(messaging.body)).toEqual({
      message: '(#200) Requires pages_messaging permission to manage the object',
      type: 'OAuthException',
      code: 200,
    });
    expect(await call(`/${page.id}/subscribed_apps`, { method: 'DELETE' })).toEqual({
      status: 200,
      body: { success: true },
    });
    expect(await call(`/${page.id}/subscribed_apps`)).toEqual({ status: 200, body: { data: [] } });
  });
});

describe('attachments on the Page', () => {
  it('are uploaded with platform=instagram, as Meta’s guide sends them', async () => {
    const message = {
      attachment: {
        type: 'image',
        payload: { url: 'https://cdn.example.com/a.png', is_reusable: true },
      },
    };
    const missing = await call(`/${page.id}/message_attachments`, {
      method: 'POST',
      body: { message },
    });
    expect(errorOf(missing.body)).toEqual({
      message: '(#100) The parameter platform is required',
      type: 'OAuthException',
      code: 100,
    });
    const uploaded = await call(`/${page.id}/message_attachments`, {
      method: 'POST',
      body: { platform: 'instagram', message },
    });
    expect(uploaded).toEqual({
      status: 200,
      body: { attachment_id: expect.stringMatching(/^\d{16}$/) },
    });
  });
});

describe('send limits', () => {
  it('takes 300 text sends a second through the Page, 100 of its other sends, 100 for Instagram Login', async () => {
    sim.setRateLimits({});
    const bob = sim.store.addUser(studio.igId, { username: 'bob' });
    sim.store.addMessage(studio.igId, bob.igsid, { fromId: bob.igsid, text: 'Hi' });
    /** How many of 301 sends in one instant are taken before the first refusal. */
    const burst = async (
      path: string,
      token: string,
      host: 'facebook' | 'instagram',
      body: Record<string, unknown>,
    ) => {
      const statuses: number[] = [];
      for (let i = 0; i < 301; i++) {
        statuses.push((await call(path, { method: 'POST', token, host, body })).status);
      }
      return statuses.findIndex((status) => status !== 200);
    };
    const text = (to: string) => ({ recipient: { id: to }, message: { text: 'Hi' } });
    const seen = (to: string) => ({ recipient: { id: to }, sender_action: 'mark_seen' });
    const onPage = `/${page.id}/messages`;
    expect(await burst(onPage, pageToken.token, 'facebook', text(ana.igsid))).toBe(300);
    expect(await burst(onPage, pageToken.token, 'facebook', seen(ana.igsid))).toBe(100);
    expect(await burst('/me/messages', igToken.token, 'instagram', text(bob.igsid))).toBe(100);
  });
});

describe('webhooks', () => {
  let receiver: Server;
  const received: { body: string; signature: string | undefined }[] = [];

  beforeEach(async () => {
    received.length = 0;
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const signature = req.headers['x-hub-signature-256'];
        received.push({
          body: Buffer.concat(chunks).toString(),
          signature: typeof signature === 'string' ? signature : undefined,
        });
        res.end('EVENT_RECEIVED');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  /** Puts a new simulator, not started, in the file's one's place: it delivers to `receiver`. */
  const deliveringSimulator = async () => {
    await sim.stop();
    const port = (receiver.address() as AddressInfo).port;
    sim = newSimulator({ callbackUrl: () => `http://127.0.0.1:${port}/webhooks/instagram` });
  };

  it('signs each configuration’s deliveries with its own app’s secret, apart', async () => {
    await deliveringSimulator();
    const facebook = sim.addFacebookAccount({ username: 'northwind.shop' }).account;
    const instagram = sim.addAccount({ username: 'lumen.studio' }).account;
    await sim.start();
    const cara = sim.users.userNamed(facebook.igId, 'cara');
    const dan = sim.users.userNamed(instagram.igId, 'dan');
    sim.webhooks.hold();
    sim.users.sendMessage(facebook.igId, cara.igsid, { text: 'to the Page' });
    sim.users.sendMessage(instagram.igId, dan.igsid, { text: 'to Instagram Login' });
    sim.webhooks.release();
    await sim.webhooks.idle();
    expect(received).toHaveLength(2);
    const byAccount = Object.fromEntries(
      received.map((r) => [JSON.parse(r.body).entry[0].id as string, r]),
    );
    const signed = (id: string, secret: string) => {
      const delivery = byAccount[id];
      return (
        delivery?.signature ===
        signatureHeaders(delivery?.body ?? '', secret)['X-Hub-Signature-256']
      );
    };
    expect(signed(facebook.igId, FACEBOOK_APP_SECRET)).toBe(true);
    expect(signed(instagram.igId, APP_SECRET)).toBe(true);
    expect(signed(facebook.igId, APP_SECRET)).toBe(false);
  });

  it('sends mentions as a field of their own, and nothing while the Page has the app unsubscribed', async () => {
    await deliveringSimulator();
    const { account, page: linked } = sim.addFacebookAccount({ username: 'northwind.shop' });
    await sim.start();
    const cara = sim.users.userNamed(account.igId, 'cara');
    const media = sim.users.post(account.igId, cara.igsid, '@northwind.shop love it');
    await sim.webhooks.idle();
    // The app's `mentions` field (Webhooks for Instagram), without a `comments` subscription.
    account.subscribedFields.delete('comments');
    expect(received.map((r) => JSON.parse(r.body))).toEqual([
      {
        entry: [
          {
            id: account.igId,
            time: Math.floor(T0 / 1000),
            changes: [{ value: { media_id: media.id }, field: 'mentions' }],
          },
        ],
        object: 'instagram',
      },
    ]);
    received.length = 0;
    sim.users.post(account.igId, cara.igsid, '@northwind.shop again');
    await sim.webhooks.idle();
    expect(received).toHaveLength(1);
    received.length = 0;
    linked.subscribedFields.clear();
    sim.users.post(account.igId, cara.igsid, '@northwind.shop once more');
    await sim.webhooks.idle();
    expect(received).toEqual([]);
  });
});
