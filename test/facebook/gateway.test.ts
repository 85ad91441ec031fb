import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount, SimComment, SimPage, SimUser } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';

/**
 * Issue 19, "one gateway, two hosts", through igql: an account of Facebook Login is reached on
 * graph.facebook.com with its Page's token, its messaging through the Page, its IG User by its
 * IG_ID; what differs from Instagram Login (folders, the Page subscription, `loginKind`) is
 * handled where it occurs. The suites run for both configurations elsewhere (read path, sends,
 * live events, comments, routing); this one checks the differences.
 */

let gw: Gateway;
let shop: SimAccount;
let page: SimPage;
let studio: SimAccount;
let ana: SimUser;
let bea: SimUser;
let comment: SimComment;
let token: string;
let studioToken: string;
/** An account of Facebook Login whose token Meta will refuse. */
let outlet: SimAccount;

beforeAll(async () => {
  gw = await startGateway((sim) => {
    ({ account: shop, page } = sim.addFacebookAccount({ username: 'northwind.shop' }));
    studio = sim.addAccount({ username: 'lumen.studio' }).account;
    outlet = sim.addFacebookAccount({ username: 'northwind.outlet' }).account;
    ana = sim.store.addUser(shop.igId, { username: 'ana.costa', name: 'Ana Costa' });
    sim.store.addMessage(shop.igId, ana.igsid, {
      fromId: ana.igsid,
      text: 'Is the green one in stock?',
      createdTime: T0 - 60_000,
    });
    // A message request in the Page's spam folder.
    bea = sim.store.addUser(shop.igId, { username: 'bea.spam' });
    sim.store.addMessage(shop.igId, bea.igsid, {
      fromId: bea.igsid,
      text: 'Cheap followers!',
      createdTime: T0 - 120_000,
    });
    const spam = sim.store.conversationWith(shop.igId, bea.igsid);
    if (spam) spam.folder = 'spam';
    const post = sim.store.addMedia(shop.igId, { caption: 'Autumn collection' });
    comment = sim.store.addComment(post.id, {
      fromIgsid: ana.igsid,
      fromUsername: 'ana.costa',
      text: 'How much?',
      createdTime: T0 - 3_600_000,
    });
    const mara = sim.store.addUser(studio.igId, { username: 'mara.voss' });
    sim.store.addMessage(studio.igId, mara.igsid, { fromId: mara.igsid, text: 'Hi' });
  });
  token = await gw.session([shop.igId]);
  studioToken = await gw.session([studio.igId]);
});
afterAll(() => gw.stop());

/**
 * The requests the simulator served since `mark`: host, method and path, the Page and the
 * account named, other ids by the endpoint's template.
 */
const servedSince = (mark: number) =>
  gw.sim.requests.slice(mark).map((r) => {
    const [, node, edge] = /^\/(?:facebook\/)?v27\.0\/([^/]+)(?:\/(.+))?$/.exec(r.path) ?? [];
    const named = node === page.id ? '<PAGE_ID>' : node === shop.igId ? '<IG_ID>' : '{id}';
    return `${r.host} ${r.method} /${named}${edge ? `/${edge}` : ''}`;
  });

const accountId = () => globalId.account(shop.igId);
const recipient = () => ({
  accountId: accountId(),
  recipientId: globalId.participant(shop.igId, ana.igsid),
});

describe('every call of an account of Facebook Login', () => {
  it('goes to graph.facebook.com: messaging to the Page, the IG User by its IG_ID', async () => {
    const mark = gw.sim.requests.length;
    const run = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await gw.query(token, query, variables);
      expect(res.body.errors).toBeUndefined();
      return res.body.data as Record<string, unknown>;
    };
    expect(
      await run(
        '{ viewer { username loginKind conversations(first: 5) { nodes { threadOwner { kind } messages(first: 1) { nodes { text } } } } } }',
      ),
    ).toEqual({
      viewer: {
        username: 'northwind.shop',
        loginKind: 'FACEBOOK',
        conversations: {
          nodes: [
            {
              threadOwner: { kind: 'THIS_APP' },
              messages: { nodes: [{ text: 'Is the green one in stock?' }] },
            },
          ],
        },
      },
    });
    await run(
      '{ viewer { messagingProfile { iceBreakers { question } } welcomeMessageFlows { flowId } } }',
    );
    await run(
      '{ viewer { publishingLimit { used } media(first: 1) { nodes { comments(first: 1) { nodes { text } } } } } }',
    );
    const send = (mutation: string, type: string, input: Record<string, unknown>, select: string) =>
      run(
        `mutation($i: ${type}!) { r: ${mutation}(input: $i) { ${select} userErrors { code message } } }`,
        {
          i: input,
        },
      );
    expect(
      await send(
        'sendTextMessage',
        'SendTextMessageInput',
        { ...recipient(), text: 'Yes!' },
        'message { text }',
      ),
    ).toEqual({ r: { message: { text: 'Yes!' }, userErrors: [] } });
    expect(
      await send(
        'sendPrivateReply',
        'SendPrivateReplyInput',
        { accountId: accountId(), commentId: comment.id, text: '39 euros' },
        'message { text }',
      ),
    ).toEqual({ r: { message: { text: '39 euros' }, userErrors: [] } });
    expect(
      await send(
        'uploadAttachment',
        'UploadAttachmentInput',
        { accountId: accountId(), type: 'IMAGE', url: 'https://cdn.example.com/green.png' },
        'attachmentId',
      ),
    ).toEqual({ r: { attachmentId: expect.stringMatching(/^\d{16}$/), userErrors: [] } });
    expect(await send('takeThreadControl', 'ThreadControlInput', recipient(), 'ok')).toEqual({
      r: { ok: true, userErrors: [] },
    });
    expect(
      await send(
        'replyToComment',
        'ReplyToCommentInput',
        {
          accountId: accountId(),
          commentId: globalId.comment(shop.igId, comment.id),
          text: 'See DM',
        },
        'comment { text }',
      ),
    ).toEqual({ r: { comment: { text: 'See DM' }, userErrors: [] } });

    // The first two at once (both through the shared read cache), in either order.
    const names = servedSince(mark);
    expect(names.slice(0, 2).sort()).toEqual([
      'facebook GET /<IG_ID>',
      'facebook GET /<PAGE_ID>/conversations',
    ]);
    expect(names.slice(2)).toEqual([
      'facebook GET /<PAGE_ID>/thread_owner',
      'facebook GET /<PAGE_ID>/messenger_profile',
      'facebook GET /<PAGE_ID>/welcome_message_flows',
      'facebook GET /<IG_ID>/content_publishing_limit',
      'facebook GET /<IG_ID>/media',
      'facebook POST /<PAGE_ID>/messages',
      'facebook POST /<PAGE_ID>/messages',
      'facebook POST /<PAGE_ID>/message_attachments',
      'facebook POST /<PAGE_ID>/take_thread_control',
      'facebook POST /{id}/replies',
    ]);
    const served = gw.sim.requests.slice(mark);
    // Every one answered: the Page token is the one graph.facebook.com takes.
    expect(served.every((r) => r.status === 200)).toBe(true);
    // The Page's Instagram threads (the Page answers its Messenger ones without `platform`).
    const threads = served[names.indexOf('facebook GET /<PAGE_ID>/conversations')];
    expect(threads?.query).toMatchObject({ platform: 'instagram', limit: '5' });
    expect(threads?.query.folder).toBeUndefined();
    expect(served[3]?.query).toMatchObject({ platform: 'instagram', fields: 'ice_breakers' });
    // The upload as Meta's guide for Instagram Messaging on a Page sends it.
    expect(served[9]?.body).toEqual({
      platform: 'instagram',
      message: {
        attachment: {
          type: 'image',
          payload: { url: 'https://cdn.example.com/green.png', is_reusable: true },
        },
      },
    });
    expect(served[8]?.body).toEqual({
      recipient: { comment_id: comment.id },
      message: { text: '39 euros' },
    });
  });
});

describe('Account.loginKind', () => {
  it('tells the configurations apart from the token store, without a call', async () => {
    const calls = await gw.upstreamCalls(async () => {
      expect((await gw.query(token, '{ viewer { loginKind } }')).body).toEqual({
        data: { viewer: { loginKind: 'FACEBOOK' } },
      });
      expect((await gw.query(studioToken, '{ viewer { loginKind } }')).body).toEqual({
        data: { viewer: { loginKind: 'INSTAGRAM' } },
      });
    });
    expect(calls).toBe(0);
  });
});

describe('conversations(folder:)', () => {
  const LIST =
    'query($f: ConversationFolder) { viewer { conversations(first: 5, folder: $f) { nodes { participants { username } } } } }';

  it('lists a folder of the Page’s inbox, the inbox without one', async () => {
    const usernames = async (folder?: string) => {
      const res = await gw.query(token, LIST, folder ? { f: folder } : {});
      expect(res.body.errors).toBeUndefined();
      const nodes = (
        res.body.data as {
          viewer: { conversations: { nodes: { participants: { username: string }[] }[] } };
        }
      ).viewer.conversations.nodes;
      return nodes.map((n) => n.participants[0]?.username);
    };
    expect(await usernames()).toEqual(['ana.costa']);
    expect(await usernames('SPAM')).toEqual(['bea.spam']);
    expect(gw.sim.requests.at(-1)?.query).toMatchObject({ platform: 'instagram', folder: 'spam' });
    expect(await usernames('PENDING')).toEqual([]);
  });

  it('is refused for an account of Instagram Login, which has no folders, before any call', async () => {
    let res: Awaited<ReturnType<Gateway['query']>> | undefined;
    const calls = await gw.upstreamCalls(async () => {
      res = await gw.query(studioToken, LIST, { f: 'SPAM' });
    });
    expect(calls).toBe(0);
    expect(res?.body).toEqual({
      data: null,
      errors: [
        {
          message:
            '`folder` is for accounts of Facebook Login (loginKind FACEBOOK): Instagram Login has no conversation folders',
          locations: [{ line: 1, column: 42 }],
          path: ['viewer', 'conversations'],
          extensions: { code: 'BAD_USER_INPUT', argument: 'folder' },
        },
      ],
    });
  });
});

describe('the webhook subscription', () => {
  it('is the Page’s: the watchdog subscribes a Page Meta dropped to `feed` with the Page token', async () => {
    page.subscribedFields.clear();
    const mark = gw.sim.requests.length;
    await gw.app.reconciler.runOnce();
    const watch = gw.sim.requests
      .slice(mark)
      .filter((r) => r.endpoint === '/{id}/subscribed_apps')
      .filter((r) => r.path.includes(page.id));
    expect(
      watch.map((r) => [r.host, r.method, r.path, r.query.subscribed_fields, r.status]),
    ).toEqual([
      ['facebook', 'GET', `/facebook/v27.0/${page.id}/subscribed_apps`, undefined, 200],
      ['facebook', 'POST', `/facebook/v27.0/${page.id}/subscribed_apps`, 'feed', 200],
    ]);
    expect([...page.subscribedFields]).toEqual(['feed']);
    // Instagram Login's account keeps its own subscription, untouched.
    expect(gw.sim.store.accounts.get(studio.igId)?.subscribedFields.has('messages')).toBe(true);
  });
});

describe('a token Meta refuses', () => {
  it('marks the account of Facebook Login REAUTH_REQUIRED, as Instagram Login’s', async () => {
    const session = await gw.session([outlet.igId]);
    gw.sim.inject({ endpoint: 'GET /{id}', kind: 'expired-token' });
    const res = await gw.query(session, '{ viewer { username } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('REAUTH_REQUIRED');
    expect((await gw.query(session, '{ viewer { status } }')).body).toEqual({
      data: { viewer: { status: 'REAUTH_REQUIRED' } },
    });
  });
});
