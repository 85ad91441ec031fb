import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../src/app.ts';
import { signSession } from '../src/auth/jwt.ts';
import { loadConfig } from '../src/config.ts';
import { globalId } from '../src/global-id.ts';
import { newCommentId } from '../src/sandbox/ids.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { Simulator } from '../src/sandbox/simulator.ts';
import {
  createClock,
  DAY,
  type SimAccount,
  type SimMedia,
  type SimMessage,
  type SimUser,
} from '../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS, type Configuration } from './helpers/configurations.ts';
import { type Gateway, type GraphQLErrorBody, startGateway, T0 } from './helpers/gateway.ts';
import { type RedisServer, startRedis } from './helpers/redis.ts';

const MINUTE = 60_000;
const SENT_AT = '2026-11-20T12:00:00.000Z';

// ---- GraphQL documents -------------------------------------------------------------------------

const INPUTS: Readonly<Record<string, string>> = {
  sendTextMessage: 'SendTextMessageInput',
  sendImageMessage: 'SendImageMessageInput',
  sendAudioMessage: 'SendMediaMessageInput',
  sendVideoMessage: 'SendMediaMessageInput',
  sendFileMessage: 'SendMediaMessageInput',
  sendLikeHeart: 'SendLikeHeartInput',
  sendMediaShare: 'SendMediaShareInput',
  sendQuickReplies: 'SendQuickRepliesInput',
  sendGenericTemplate: 'SendGenericTemplateInput',
  sendButtonTemplate: 'SendButtonTemplateInput',
  sendPrivateReply: 'SendPrivateReplyInput',
  reactToMessage: 'ReactToMessageInput',
  unreactToMessage: 'UnreactToMessageInput',
  sendTypingIndicator: 'SendTypingIndicatorInput',
  markConversationSeen: 'MarkConversationSeenInput',
};

const MESSAGE =
  'message { id mid text createdTime isFromViewer attachments { kind url } from { username } to { username } }';
const REACTED = 'message { id mid reactions { reaction emoji by { username } } }';
const SELECTIONS: Readonly<Record<string, string>> = {
  reactToMessage: REACTED,
  unreactToMessage: REACTED,
  sendTypingIndicator: 'ok',
  markConversationSeen: 'ok',
};
const USER_ERRORS = `userErrors { __typename code message field
  ... on RateLimitedError { retryAfter }
  ... on OutsideMessagingWindowError { closesAt }
  ... on UpstreamUnavailableError { outcomeUnknown } }`;

const documentFor = (mutation: string, selection = SELECTIONS[mutation] ?? MESSAGE) =>
  `mutation($input: ${INPUTS[mutation]}!) { result: ${mutation}(input: $input) { ${selection} ${USER_ERRORS} } }`;

interface SentMessage {
  readonly id: string;
  readonly mid: string;
  readonly text: string | null;
  readonly createdTime: string;
  readonly isFromViewer: boolean | null;
  readonly attachments: readonly { kind: string; url: string | null }[];
  readonly from: { username: string | null } | null;
  readonly to: readonly { username: string | null }[];
}

interface UserErrorBody {
  readonly __typename: string;
  readonly code: string;
  readonly message: string;
  readonly field: readonly string[] | null;
  readonly retryAfter?: number;
  readonly closesAt?: string | null;
  readonly outcomeUnknown?: boolean;
}

interface Payload {
  readonly message?: SentMessage | null;
  readonly ok?: boolean;
  readonly userErrors: readonly UserErrorBody[];
}

type Query = Gateway['query'];

/** Runs one mutation; a GraphQL-level error fails the test (failures must be `userErrors`). */
async function mutate(
  query: Query,
  token: string,
  mutation: string,
  input: Record<string, unknown>,
  selection?: string,
): Promise<Payload> {
  const res = await query<{ result: Payload }>(token, documentFor(mutation, selection), { input });
  expect(res.body.errors).toBeUndefined();
  const result = res.body.data?.result;
  if (!result) throw new Error(`no payload: ${JSON.stringify(res.body)}`);
  return result;
}

/** `gw.query` for an app built here rather than by `startGateway`. */
function queryAt(url: string): Query {
  return async <T>(
    token: string | null,
    query: string,
    variables: Record<string, unknown> = {},
  ) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { data?: T; errors?: GraphQLErrorBody[] },
    };
  };
}

/** The `POST /{id}/messages` requests the simulator logged since `mark`, with exact bodies. */
const sendsSince = (sim: Simulator, mark: number) =>
  sim.requests
    .slice(mark)
    .filter((r) => r.method === 'POST' && r.endpoint === '/{id}/messages')
    .map((r) => ({ path: r.path, status: r.status, body: r.body }));

const validation = (message: string, field: readonly string[]): UserErrorBody => ({
  __typename: 'ValidationError',
  code: 'VALIDATION',
  message,
  field,
});

// ---- Seed --------------------------------------------------------------------------------------

interface Seeded {
  shop: SimAccount;
  /** The node northwind.shop's sends go to: its Page (Facebook Login) or its IG_ID. */
  shopNode: string;
  outlet: SimAccount;
  studio: SimAccount;
  post: SimMedia;
  /** Wrote 10 minutes ago: inside the 24-hour window. */
  ana: SimUser;
  question: SimMessage;
  /** Wrote 3 days ago: HUMAN_AGENT only. */
  ben: SimUser;
  /** Wrote 8 days ago: closed. */
  cleo: SimUser;
  /** Seeded `unavailable` (551). */
  gone: SimUser;
  /** Commented on the post, never wrote. */
  dev: SimUser;
  commentId: string;
  /** A customer of northwind.outlet (the account whose token expires). */
  olga: SimUser;
  /** A customer of lumen.studio (another tenant). */
  mara: SimUser;
}

function seed(sim: Simulator, kind: Configuration): Seeded {
  const { store } = sim;
  const seeded = addAccountOf(sim, kind, { username: 'northwind.shop' });
  const shop = seeded.account;
  const outlet = addAccountOf(sim, kind, { username: 'northwind.outlet' }).account;
  const studio = sim.addAccount({ username: 'lumen.studio' }).account;
  const post = store.addMedia(shop.igId, { caption: 'Autumn collection' });
  const customer = (
    account: SimAccount,
    username: string,
    wroteAgo: number,
    unavailable = false,
  ) => {
    const user = store.addUser(account.igId, { username, unavailable });
    const message = store.addMessage(account.igId, user.igsid, {
      fromId: user.igsid,
      text: `Hello from ${username}`,
      createdTime: T0 - wroteAgo,
    });
    return { user, message };
  };
  const { user: ana, message: question } = customer(shop, 'ana.costa', 10 * MINUTE);
  const ben = customer(shop, 'ben_hughes', 3 * DAY).user;
  const cleo = customer(shop, 'cleo.m', 8 * DAY).user;
  const gone = customer(shop, 'gone.away', 5 * MINUTE, true).user;
  const olga = customer(outlet, 'olga.p', 5 * MINUTE).user;
  const mara = customer(studio, 'mara.voss', 5 * MINUTE).user;
  const dev = store.addUser(shop.igId, { username: 'dev.patel' });
  const commentId = newCommentId();
  store.comments.set(commentId, {
    id: commentId,
    mediaId: post.id,
    accountIgId: shop.igId,
    fromIgsid: dev.igsid,
    fromUsername: dev.username,
    text: 'How much is the green one?',
    createdTime: T0 - 2 * 3_600_000,
    privateReplyMid: null,
  });
  const shopNode = seeded.page?.id ?? shop.igId;
  return {
    ...{ shop, shopNode, outlet, studio, post, ana, question, ben, cleo, gone, dev, commentId },
    ...{ olga, mara },
  };
}

// ---- The shared gateway (memory stores, frozen clock, simulator limits lifted) -----------------

// The same sends for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let s: Seeded;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      s = seed(sim, kind);
    });
    token = await gw.session([s.shop.igId, s.outlet.igId]);
  });
  afterAll(() => gw.stop());

  const send = (mutation: string, input: Record<string, unknown>, as = token) =>
    mutate(gw.query, as, mutation, input);
  const to = (user: SimUser, account: SimAccount = s.shop) => ({
    accountId: globalId.account(account.igId),
    recipientId: globalId.participant(account.igId, user.igsid),
  });
  /** Where northwind.shop's sends go: its Page on graph.facebook.com, or its IG_ID. */
  const path = () =>
    `${kind === 'FACEBOOK' ? '/facebook' : ''}/${gw.config.instagram.apiVersion}/${s.shopNode}/messages`;

  /** The message as the simulator stored it (what Instagram now holds). */
  function stored(mid: string) {
    const m = gw.sim.store.messages.get(mid);
    if (!m) return undefined;
    return {
      fromId: m.fromId,
      toId: m.toId,
      createdTime: m.createdTime,
      text: m.text,
      attachments: m.attachments.map((a) => ({ type: a.type, url: a.url })),
      shares: m.shares,
      payload: m.payload,
    };
  }

  /** The exact payload of a send from northwind.shop to `user`, given the mid Instagram returned. */
  const sentPayload = (
    user: SimUser,
    mid: string,
    fields: { text?: string | null; attachments?: SentMessage['attachments'] } = {},
  ): Payload => ({
    message: {
      id: globalId.message(s.shop.igId, user.igsid, mid),
      mid,
      text: fields.text ?? null,
      createdTime: SENT_AT,
      isFromViewer: true,
      attachments: fields.attachments ?? [],
      from: { username: 'northwind.shop' },
      to: [{ username: user.username }],
    },
    userErrors: [],
  });

  /** Sends once, checks the one upstream body and the stored message, returns the payload. */
  async function sendChecked(
    mutation: string,
    input: Record<string, unknown>,
    body: Record<string, unknown>,
  ): Promise<{ payload: Payload; mid: string }> {
    const mark = gw.sim.requests.length;
    const payload = await send(mutation, input);
    expect(sendsSince(gw.sim, mark)).toEqual([{ path: path(), status: 200, body }]);
    const mid = payload.message?.mid ?? '';
    expect(gw.sim.store.messages.has(mid)).toBe(true);
    return { payload, mid };
  }

  describe('every send type reaches the simulator with the exact body, and answers the message', () => {
    it('sendTextMessage: { text }, up to 1000 UTF-8 bytes', async () => {
      const text = `${'é'.repeat(497)}👍`; // 994 + 4 bytes
      expect(Buffer.byteLength(text)).toBe(998);
      const { payload, mid } = await sendChecked(
        'sendTextMessage',
        { ...to(s.ana), text },
        { recipient: { id: s.ana.igsid }, message: { text } },
      );
      expect(payload).toEqual(sentPayload(s.ana, mid, { text }));
      expect(stored(mid)).toEqual({
        fromId: s.shop.igId,
        toId: s.ana.igsid,
        createdTime: T0,
        text,
        attachments: [],
        shares: [],
        payload: undefined,
      });
    });

    it('sendImageMessage: one URL is `attachment`', async () => {
      const url = 'https://cdn.example.com/green-shirt.JPG';
      const { payload, mid } = await sendChecked(
        'sendImageMessage',
        { ...to(s.ana), urls: [url] },
        {
          recipient: { id: s.ana.igsid },
          message: { attachment: { type: 'image', payload: { url } } },
        },
      );
      expect(payload).toEqual(sentPayload(s.ana, mid, { attachments: [{ kind: 'IMAGE', url }] }));
      expect(stored(mid)?.attachments).toEqual([{ type: 'image', url }]);
    });

    it('sendImageMessage: several URLs are an `attachments` array, in order', async () => {
      const urls = [
        'https://cdn.example.com/a.png',
        'https://cdn.example.com/b.gif',
        'https://cdn.example.com/render?id=3',
      ];
      const { payload, mid } = await sendChecked(
        'sendImageMessage',
        { ...to(s.ana), urls },
        {
          recipient: { id: s.ana.igsid },
          message: { attachments: urls.map((url) => ({ type: 'image', payload: { url } })) },
        },
      );
      expect(payload).toEqual(
        sentPayload(s.ana, mid, { attachments: urls.map((url) => ({ kind: 'IMAGE', url })) }),
      );
      expect(stored(mid)?.attachments).toEqual(urls.map((url) => ({ type: 'image', url })));
    });

    it.each([
      ['sendAudioMessage', 'audio', 'AUDIO', 'https://cdn.example.com/voice.m4a'],
      ['sendVideoMessage', 'video', 'VIDEO', 'https://cdn.example.com/unboxing.mov'],
      ['sendFileMessage', 'file', 'FILE', 'https://cdn.example.com/invoice-4107.pdf'],
    ] as const)('%s: attachment of type %s', async (mutation, type, kind, url) => {
      const { payload, mid } = await sendChecked(
        mutation,
        { ...to(s.ana), url },
        { recipient: { id: s.ana.igsid }, message: { attachment: { type, payload: { url } } } },
      );
      expect(payload).toEqual(sentPayload(s.ana, mid, { attachments: [{ kind, url }] }));
      expect(stored(mid)?.attachments).toEqual([{ type, url }]);
    });

    it('sendLikeHeart: a like_heart attachment without payload', async () => {
      const { payload, mid } = await sendChecked('sendLikeHeart', to(s.ana), {
        recipient: { id: s.ana.igsid },
        message: { attachment: { type: 'like_heart' } },
      });
      expect(payload).toEqual(
        sentPayload(s.ana, mid, { attachments: [{ kind: 'IMAGE', url: null }] }),
      );
      expect(stored(mid)?.attachments).toEqual([{ type: 'like_heart', url: '' }]);
    });

    it('sendMediaShare: a MEDIA_SHARE of the account’s post', async () => {
      const { payload, mid } = await sendChecked(
        'sendMediaShare',
        { ...to(s.ana), mediaId: s.post.id },
        {
          recipient: { id: s.ana.igsid },
          message: { attachment: { type: 'MEDIA_SHARE', payload: { id: s.post.id } } },
        },
      );
      // MEDIA_SHARE sends a "Published post" (MSG): a POST, as when read back, whose URL igql
      // does not know from the media id alone.
      expect(payload).toEqual(
        sentPayload(s.ana, mid, { attachments: [{ kind: 'POST', url: null }] }),
      );
      expect(stored(mid)?.shares).toEqual([
        { link: s.post.permalink, kind: 'post', mediaId: s.post.id },
      ]);
      const read = await gw.query<{ node: { attachments: unknown[] } }>(
        token,
        'query($id: ID!) { node(id: $id) { ... on Message { attachments { kind url } } } }',
        { id: payload.message?.id },
      );
      expect(read.body.data?.node.attachments).toEqual([{ kind: 'POST', url: s.post.permalink }]);
    });

    it('sendQuickReplies: text with quick_replies', async () => {
      const text = 'Which size?';
      const { payload, mid } = await sendChecked(
        'sendQuickReplies',
        {
          ...to(s.ana),
          text,
          quickReplies: [
            { contentType: 'TEXT', title: 'Medium (M)', payload: 'SIZE_M' },
            { contentType: 'TEXT', title: 'Large (L)', payload: 'SIZE_L' },
          ],
        },
        {
          recipient: { id: s.ana.igsid },
          message: {
            text,
            quick_replies: [
              { content_type: 'text', title: 'Medium (M)', payload: 'SIZE_M' },
              { content_type: 'text', title: 'Large (L)', payload: 'SIZE_L' },
            ],
          },
        },
      );
      expect(payload).toEqual(sentPayload(s.ana, mid, { text }));
      expect(stored(mid)?.text).toBe(text);
    });

    it('sendGenericTemplate: elements with every property, buttons of both types', async () => {
      const { payload, mid } = await sendChecked(
        'sendGenericTemplate',
        {
          ...to(s.ana),
          elements: [
            {
              title: 'Linen shirt',
              subtitle: 'Five colours',
              imageUrl: 'https://cdn.example.com/linen.jpg',
              defaultActionUrl: 'https://shop.example.com/linen',
              buttons: [
                { type: 'WEB_URL', title: 'Buy', url: 'https://shop.example.com/linen/buy' },
                { type: 'POSTBACK', title: 'Ask a person', payload: 'HUMAN' },
              ],
            },
            { title: 'Gift card', subtitle: 'Any amount' },
          ],
        },
        {
          recipient: { id: s.ana.igsid },
          message: {
            attachment: {
              type: 'template',
              payload: {
                template_type: 'generic',
                elements: [
                  {
                    title: 'Linen shirt',
                    subtitle: 'Five colours',
                    image_url: 'https://cdn.example.com/linen.jpg',
                    default_action: { type: 'web_url', url: 'https://shop.example.com/linen' },
                    buttons: [
                      { type: 'web_url', url: 'https://shop.example.com/linen/buy', title: 'Buy' },
                      { type: 'postback', payload: 'HUMAN', title: 'Ask a person' },
                    ],
                  },
                  { title: 'Gift card', subtitle: 'Any amount' },
                ],
              },
            },
          },
        },
      );
      expect(payload).toEqual(sentPayload(s.ana, mid));
    });

    it('sendButtonTemplate: its text is the message text', async () => {
      const text = 'Track your order';
      const { payload, mid } = await sendChecked(
        'sendButtonTemplate',
        {
          ...to(s.ana),
          text,
          buttons: [{ type: 'WEB_URL', title: 'Track', url: 'https://shop.example.com/track' }],
        },
        {
          recipient: { id: s.ana.igsid },
          message: {
            attachment: {
              type: 'template',
              payload: {
                template_type: 'button',
                text,
                buttons: [
                  { type: 'web_url', url: 'https://shop.example.com/track', title: 'Track' },
                ],
              },
            },
          },
        },
      );
      expect(payload).toEqual(sentPayload(s.ana, mid, { text }));
      expect(stored(mid)?.text).toBe(text);
    });

    it('sendPrivateReply: to the comment, answered as a message to its author', async () => {
      const text = 'It is 49 €, I sent you the link!';
      const { payload, mid } = await sendChecked(
        'sendPrivateReply',
        { accountId: globalId.account(s.shop.igId), commentId: s.commentId, text },
        { recipient: { comment_id: s.commentId }, message: { text } },
      );
      // dev.patel never wrote: Instagram gives no profile (no consent), so no username yet.
      expect(payload).toEqual({
        ...sentPayload(s.dev, mid, { text }),
        message: { ...sentPayload(s.dev, mid, { text }).message, to: [{ username: null }] },
      });
      expect(gw.sim.store.comments.get(s.commentId)?.privateReplyMid).toBe(mid);
      expect(stored(mid)).toMatchObject({ fromId: s.shop.igId, toId: s.dev.igsid, text });
    });

    it('reactToMessage: love by default, then an emoji replaces it; unreactToMessage takes it off', async () => {
      const messageId = globalId.message(s.shop.igId, s.ana.igsid, s.question.mid);
      const accountId = globalId.account(s.shop.igId);
      const reacted = (reactions: unknown[]): Payload => ({
        message: { id: messageId, mid: s.question.mid, reactions } as unknown as SentMessage,
        userErrors: [],
      });
      const byShop = (reaction: string, emoji: string) => ({
        reaction,
        emoji,
        by: { username: 'northwind.shop' },
      });

      let mark = gw.sim.requests.length;
      expect(await send('reactToMessage', { accountId, messageId })).toEqual(
        reacted([byShop('love', '❤')]),
      );
      expect(sendsSince(gw.sim, mark)).toEqual([
        {
          path: path(),
          status: 200,
          body: {
            recipient: { id: s.ana.igsid },
            sender_action: 'react',
            payload: { message_id: s.question.mid, reaction: 'love' },
          },
        },
      ]);
      expect(s.question.reactions).toEqual([
        { userId: s.shop.igId, reaction: 'love', emoji: '\u2764' },
      ]);

      mark = gw.sim.requests.length;
      expect(await send('reactToMessage', { accountId, messageId, reaction: '🔥' })).toEqual(
        reacted([byShop('🔥', '🔥')]),
      );
      expect(sendsSince(gw.sim, mark).map((r) => r.body)).toEqual([
        {
          recipient: { id: s.ana.igsid },
          sender_action: 'react',
          payload: { message_id: s.question.mid, reaction: '🔥' },
        },
      ]);
      expect(s.question.reactions).toEqual([{ userId: s.shop.igId, reaction: '🔥', emoji: '🔥' }]);

      mark = gw.sim.requests.length;
      expect(await send('unreactToMessage', { accountId, messageId })).toEqual(reacted([]));
      expect(sendsSince(gw.sim, mark).map((r) => r.body)).toEqual([
        {
          recipient: { id: s.ana.igsid },
          sender_action: 'unreact',
          payload: { message_id: s.question.mid },
        },
      ]);
      expect(s.question.reactions).toEqual([]);
    });

    it('reactToMessage asking only for the id costs the one send, no read', async () => {
      const messageId = globalId.message(s.shop.igId, s.ana.igsid, s.question.mid);
      let payload: Payload | undefined;
      const calls = await gw.upstreamCalls(async () => {
        payload = await mutate(
          gw.query,
          token,
          'reactToMessage',
          { accountId: globalId.account(s.shop.igId), messageId, reaction: 'love' },
          'message { id mid }',
        );
      });
      expect(calls).toBe(1);
      expect(payload).toEqual({ message: { id: messageId, mid: s.question.mid }, userErrors: [] });
    });

    it.each([
      ['sendTypingIndicator', { on: true }, 'typing_on'],
      ['sendTypingIndicator', { on: false }, 'typing_off'],
      ['markConversationSeen', {}, 'mark_seen'],
    ] as const)('%s %j: sender_action %s', async (mutation, extra, action) => {
      const mark = gw.sim.requests.length;
      const calls = await gw.upstreamCalls(async () => {
        expect(await send(mutation, { ...to(s.ana), ...extra })).toEqual({
          ok: true,
          userErrors: [],
        });
      });
      expect(calls).toBe(1);
      expect(sendsSince(gw.sim, mark)).toEqual([
        {
          path: path(),
          status: 200,
          body: { recipient: { id: s.ana.igsid }, sender_action: action },
        },
      ]);
    });
  });

  describe('tag: HUMAN_AGENT', () => {
    it('outside 24 hours: refused with closesAt = last inbound + 7 days, then sent with the tag', async () => {
      const text = 'Your refund was approved.';
      let mark = gw.sim.requests.length;
      expect(await send('sendTextMessage', { ...to(s.ben), text })).toEqual({
        message: null,
        userErrors: [
          {
            __typename: 'OutsideMessagingWindowError',
            code: 'OUTSIDE_MESSAGING_WINDOW',
            message:
              'The customer last wrote more than 24 hours ago. A person may still answer with the HUMAN_AGENT tag until 2026-11-24T12:00:00.000Z',
            field: null,
            closesAt: '2026-11-24T12:00:00.000Z',
          },
        ],
      });
      expect(sendsSince(gw.sim, mark)).toEqual([
        { path: path(), status: 403, body: { recipient: { id: s.ben.igsid }, message: { text } } },
      ]);

      mark = gw.sim.requests.length;
      const payload = await send('sendTextMessage', { ...to(s.ben), text, tag: 'HUMAN_AGENT' });
      expect(sendsSince(gw.sim, mark)).toEqual([
        {
          path: path(),
          status: 200,
          body: {
            recipient: { id: s.ben.igsid },
            message: { text },
            messaging_type: 'MESSAGE_TAG',
            tag: 'HUMAN_AGENT',
          },
        },
      ]);
      const mid = payload.message?.mid ?? '';
      expect(payload).toEqual(sentPayload(s.ben, mid, { text }));
      expect(stored(mid)?.text).toBe(text);
    });

    it('past 7 days: refused with or without the tag, closesAt null', async () => {
      const refused: Payload = {
        message: null,
        userErrors: [
          {
            __typename: 'OutsideMessagingWindowError',
            code: 'OUTSIDE_MESSAGING_WINDOW',
            message: 'The customer has not written in the last 7 days: they must write first',
            field: null,
            closesAt: null,
          },
        ],
      };
      expect(await send('sendTextMessage', { ...to(s.cleo), text: 'Hi' })).toEqual(refused);
      expect(
        await send('sendTextMessage', { ...to(s.cleo), text: 'Hi', tag: 'HUMAN_AGENT' }),
      ).toEqual(refused);
    });
  });

  describe('invalid input is a ValidationError and costs zero upstream requests', () => {
    const image = (i: number) => `https://cdn.example.com/${i}.png`;
    const reply = (i: number) => ({ contentType: 'TEXT', title: `Option ${i}`, payload: `P${i}` });
    const button = (i: number) => ({ type: 'POSTBACK', title: `B${i}`, payload: `B${i}` });
    const cases: readonly [string, string, () => Record<string, unknown>, UserErrorBody[]][] = [
      [
        'text of 1001 bytes (501 characters)',
        'sendTextMessage',
        () => ({ ...to(s.ana), text: `${'é'.repeat(500)}a` }),
        [validation('text must be at most 1000 UTF-8 bytes', ['input', 'text'])],
      ],
      [
        'empty text',
        'sendTextMessage',
        () => ({ ...to(s.ana), text: '' }),
        [validation('text must not be empty', ['input', 'text'])],
      ],
      [
        'an http image URL',
        'sendImageMessage',
        () => ({ ...to(s.ana), urls: [image(1), 'http://cdn.example.com/2.png'] }),
        [validation('urls.1 must be an https URL', ['input', 'urls', '1'])],
      ],
      [
        'a media URL that is no URL at all',
        'sendAudioMessage',
        () => ({ ...to(s.ana), url: 'voice note' }),
        [validation('url must be an https URL', ['input', 'url'])],
      ],
      [
        'an audio file with a video extension',
        'sendAudioMessage',
        () => ({ ...to(s.ana), url: 'https://cdn.example.com/voice.webm' }),
        [validation('url must be .aac, .m4a, .wav, .mp4 (or have no extension)', ['input', 'url'])],
      ],
      [
        'a video with an audio extension',
        'sendVideoMessage',
        () => ({ ...to(s.ana), url: 'https://cdn.example.com/clip.m4a' }),
        [
          validation('url must be .mp4, .ogg, .avi, .mov, .webm (or have no extension)', [
            'input',
            'url',
          ]),
        ],
      ],
      [
        'a file that is not a PDF',
        'sendFileMessage',
        () => ({ ...to(s.ana), url: 'https://cdn.example.com/invoice.docx' }),
        [validation('url must be .pdf (or have no extension)', ['input', 'url'])],
      ],
      [
        '11 images',
        'sendImageMessage',
        () => ({ ...to(s.ana), urls: Array.from({ length: 11 }, (_, i) => image(i)) }),
        [validation('urls give 1 to 10 images in all (urls and attachmentIds)', ['input', 'urls'])],
      ],
      [
        'no image',
        'sendImageMessage',
        () => ({ ...to(s.ana), urls: [] }),
        [validation('urls give 1 to 10 images in all (urls and attachmentIds)', ['input', 'urls'])],
      ],
      [
        '14 quick replies',
        'sendQuickReplies',
        () => ({
          ...to(s.ana),
          text: 'Pick',
          quickReplies: Array.from({ length: 14 }, (_, i) => reply(i)),
        }),
        [validation('quickReplies at most 13 quick replies', ['input', 'quickReplies'])],
      ],
      [
        'a quick-reply title of 21 characters',
        'sendQuickReplies',
        () => ({
          ...to(s.ana),
          text: 'Pick',
          quickReplies: [reply(1), { contentType: 'TEXT', title: 'x'.repeat(21), payload: 'X' }],
        }),
        [
          validation(
            'quickReplies.1.title must be at most 20 characters (Instagram cuts longer titles)',
            ['input', 'quickReplies', '1', 'title'],
          ),
        ],
      ],
      [
        '11 template elements',
        'sendGenericTemplate',
        () => ({
          ...to(s.ana),
          elements: Array.from({ length: 11 }, (_, i) => ({ title: `E${i}`, subtitle: 'S' })),
        }),
        [validation('elements at most 10 elements', ['input', 'elements'])],
      ],
      [
        'a template element with only a title',
        'sendGenericTemplate',
        () => ({ ...to(s.ana), elements: [{ title: 'Alone' }] }),
        [
          validation('elements.0 an element needs at least one property besides its title', [
            'input',
            'elements',
            '0',
          ]),
        ],
      ],
      [
        '4 buttons',
        'sendButtonTemplate',
        () => ({ ...to(s.ana), text: 'Choose', buttons: [1, 2, 3, 4].map(button) }),
        [validation('buttons give 1 to 3 buttons', ['input', 'buttons'])],
      ],
      [
        '0 buttons',
        'sendButtonTemplate',
        () => ({ ...to(s.ana), text: 'Choose', buttons: [] }),
        [validation('buttons give 1 to 3 buttons', ['input', 'buttons'])],
      ],
      [
        'a reaction that is a word',
        'reactToMessage',
        () => ({
          accountId: globalId.account(s.shop.igId),
          messageId: globalId.message(s.shop.igId, s.ana.igsid, s.question.mid),
          reaction: 'thumbs',
        }),
        [validation('reaction must be "love" or a single emoji', ['input', 'reaction'])],
      ],
      [
        'a reaction of two emoji',
        'reactToMessage',
        () => ({
          accountId: globalId.account(s.shop.igId),
          messageId: globalId.message(s.shop.igId, s.ana.igsid, s.question.mid),
          reaction: '🔥🔥',
        }),
        [validation('reaction must be "love" or a single emoji', ['input', 'reaction'])],
      ],
      [
        'a non-numeric comment id',
        'sendPrivateReply',
        () => ({ accountId: globalId.account(s.shop.igId), commentId: 'c-17', text: 'Hi' }),
        [validation('commentId must be an Instagram comment id', ['input', 'commentId'])],
      ],
    ];

    it.each(cases)('%s', async (_name, mutation, input, userErrors) => {
      let payload: Payload | undefined;
      const calls = await gw.upstreamCalls(async () => {
        payload = await send(mutation, input());
      });
      expect(payload).toEqual({ message: null, userErrors });
      expect(calls).toBe(0);
    });
  });

  describe('NotFoundError: zero upstream requests, never revealing that an account exists', () => {
    const notFound = (what: string, field: string): Payload => ({
      message: null,
      userErrors: [
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: `${what} not found`,
          field: ['input', field],
        },
      ],
    });

    it('another tenant’s account answers exactly as one that does not exist', async () => {
      let answers: Payload[] = [];
      const calls = await gw.upstreamCalls(async () => {
        answers = await Promise.all(
          [s.studio.igId, '17841400000000000'].map((igId) =>
            send('sendTextMessage', {
              accountId: globalId.account(igId),
              recipientId: globalId.participant(igId, s.mara.igsid),
              text: 'Hi',
            }),
          ),
        );
      });
      expect(calls).toBe(0);
      expect(answers).toEqual([notFound('Account', 'accountId'), notFound('Account', 'accountId')]);
      const react = await send('reactToMessage', {
        accountId: globalId.account(s.studio.igId),
        messageId: globalId.message(s.studio.igId, s.mara.igsid, s.question.mid),
      });
      expect(react).toEqual(notFound('Account', 'accountId'));
    });

    it('a recipient of another account, or the account itself', async () => {
      const calls = await gw.upstreamCalls(async () => {
        expect(
          await send('sendTextMessage', {
            accountId: globalId.account(s.shop.igId),
            recipientId: globalId.participant(s.studio.igId, s.mara.igsid),
            text: 'Hi',
          }),
        ).toEqual(notFound('Participant', 'recipientId'));
        expect(
          await send('markConversationSeen', {
            accountId: globalId.account(s.shop.igId),
            recipientId: globalId.participant(s.shop.igId, s.shop.igId),
          }),
        ).toEqual({ ok: false, userErrors: notFound('Participant', 'recipientId').userErrors });
      });
      expect(calls).toBe(0);
    });

    it('a garbage or foreign messageId', async () => {
      const calls = await gw.upstreamCalls(async () => {
        for (const messageId of [
          'garbage',
          globalId.participant(s.shop.igId, s.ana.igsid),
          globalId.message(s.studio.igId, s.mara.igsid, s.question.mid),
        ]) {
          expect(
            await send('unreactToMessage', { accountId: globalId.account(s.shop.igId), messageId }),
          ).toEqual(notFound('Message', 'messageId'));
        }
      });
      expect(calls).toBe(0);
    });
  });

  describe('failures Instagram answers', () => {
    it('RecipientUnavailableError for a user who cannot receive messages (551)', async () => {
      const mark = gw.sim.requests.length;
      expect(await send('sendTextMessage', { ...to(s.gone), text: 'Hi' })).toEqual({
        message: null,
        userErrors: [
          {
            __typename: 'RecipientUnavailableError',
            code: 'RECIPIENT_UNAVAILABLE',
            message: 'This person isn’t receiving messages from the account right now',
            field: null,
          },
        ],
      });
      expect(sendsSince(gw.sim, mark).map((r) => r.status)).toEqual([400]);
    });

    it('UpstreamUnavailableError with outcomeUnknown false for a transient error', async () => {
      gw.sim.inject({ endpoint: 'POST /{id}/messages', kind: 'transient' });
      let payload: Payload | undefined;
      const calls = await gw.upstreamCalls(async () => {
        payload = await send('sendTextMessage', { ...to(s.ana), text: 'Hi' });
      });
      expect(calls).toBe(1);
      expect(payload).toEqual({
        message: null,
        userErrors: [
          {
            __typename: 'UpstreamUnavailableError',
            code: 'UPSTREAM_UNAVAILABLE',
            message: 'Instagram is unavailable; nothing was sent. Retry later',
            field: null,
            outcomeUnknown: false,
          },
        ],
      });
    });

    it('ReauthRequiredError on an expired token; the account is then REAUTH_REQUIRED and sends cost nothing', async () => {
      const reauth: Payload = {
        message: null,
        userErrors: [
          {
            __typename: 'ReauthRequiredError',
            code: 'REAUTH_REQUIRED',
            message:
              'Instagram refused this account’s token: log in again (with Instagram, or with Facebook for an account of Facebook Login) to reconnect it',
            field: null,
          },
        ],
      };
      gw.sim.inject({ endpoint: 'POST /{id}/messages', kind: 'expired-token' });
      const input = { ...to(s.olga, s.outlet), text: 'Hi Olga' };
      let calls = await gw.upstreamCalls(async () => {
        expect(await send('sendTextMessage', input)).toEqual(reauth);
      });
      expect(calls).toBe(1);
      const accounts = await gw.query(token, '{ accounts { igId status } }');
      expect(accounts.body).toEqual({
        data: {
          accounts: [
            { igId: s.shop.igId, status: 'ACTIVE' },
            { igId: s.outlet.igId, status: 'REAUTH_REQUIRED' },
          ],
        },
      });
      calls = await gw.upstreamCalls(async () => {
        expect(await send('sendTextMessage', input)).toEqual(reauth);
        expect(await send('sendTypingIndicator', { ...to(s.olga, s.outlet), on: true })).toEqual({
          ok: false,
          userErrors: reauth.userErrors,
        });
      });
      expect(calls).toBe(0);
    });

    it('IdempotencyConflictError: the same key with other content sends nothing', async () => {
      const key = 'conflict-1';
      const first = await send('sendTextMessage', { ...to(s.ana), text: 'A', idempotencyKey: key });
      expect(first.userErrors).toEqual([]);
      let second: Payload | undefined;
      const calls = await gw.upstreamCalls(async () => {
        second = await send('sendTextMessage', { ...to(s.ana), text: 'B', idempotencyKey: key });
      });
      expect(calls).toBe(0);
      expect(second).toEqual({
        message: null,
        userErrors: [
          {
            __typename: 'IdempotencyConflictError',
            code: 'IDEMPOTENCY_CONFLICT',
            message: 'This idempotency key was already used with different content: use a new key',
            field: null,
          },
        ],
      });
    });

    it('UNAUTHENTICATED (a top-level error) without a session, costing nothing', async () => {
      let res: Awaited<ReturnType<Query>> | undefined;
      const calls = await gw.upstreamCalls(async () => {
        res = await gw.query(null, documentFor('sendTextMessage'), {
          input: { ...to(s.ana), text: 'Hi' },
        });
      });
      expect(calls).toBe(0);
      expect(res?.status).toBe(401);
      expect(res?.body).toEqual({
        data: null,
        errors: [
          {
            message: 'Send a valid session: Authorization: Bearer <session JWT>',
            locations: [{ line: 1, column: 43 }],
            path: ['result'],
            extensions: { code: 'UNAUTHENTICATED' },
          },
        ],
      });
    });
  });

  describe('idempotency keys', () => {
    const countSends = () => gw.sim.count('POST /{id}/messages');

    it('the same key and content answers the same payload and sends once', async () => {
      const input = { ...to(s.ana), text: 'Only once', idempotencyKey: 'same-1' };
      const before = countSends();
      const first = await send('sendTextMessage', input);
      gw.sim.clock.advance(5 * MINUTE);
      const again = await send('sendTextMessage', input);
      gw.sim.clock.advance(-5 * MINUTE);
      expect(countSends() - before).toBe(1);
      expect(first.userErrors).toEqual([]);
      expect(again).toEqual(first);
      expect(first.message?.createdTime).toBe(SENT_AT);
    });

    it('a ValidationError is not stored: the same key then sends', async () => {
      const key = 'after-validation';
      const before = countSends();
      const invalid = await send('sendTextMessage', {
        ...to(s.ana),
        text: '',
        idempotencyKey: key,
      });
      expect(invalid.userErrors.map((e) => e.code)).toEqual(['VALIDATION']);
      const sent = await send('sendTextMessage', {
        ...to(s.ana),
        text: 'Fixed',
        idempotencyKey: key,
      });
      expect(sent.userErrors).toEqual([]);
      expect(sent.message?.text).toBe('Fixed');
      expect(countSends() - before).toBe(1);
    });

    it('an upstream failure is stored and replayed, without a second call', async () => {
      const input = { ...to(s.ana), text: 'Through the outage', idempotencyKey: 'transient-1' };
      gw.sim.inject({ endpoint: 'POST /{id}/messages', kind: 'transient' });
      let first: Payload | undefined;
      let calls = await gw.upstreamCalls(async () => {
        first = await send('sendTextMessage', input);
      });
      expect(calls).toBe(1);
      expect(first?.userErrors.map((e) => e.outcomeUnknown)).toEqual([false]);
      let again: Payload | undefined;
      calls = await gw.upstreamCalls(async () => {
        again = await send('sendTextMessage', input);
      });
      expect(calls).toBe(0);
      expect(again).toEqual(first);
    });

    it('keys are scoped per user: another sub with the same key sends again', async () => {
      const input = { ...to(s.ana), text: 'Per user', idempotencyKey: 'shared-key' };
      const other = await gw.session([s.shop.igId], 'user-2');
      const before = countSends();
      const mine = await send('sendTextMessage', input);
      const theirs = await send('sendTextMessage', input, other);
      expect(countSends() - before).toBe(2);
      expect(mine.userErrors).toEqual([]);
      expect(theirs.userErrors).toEqual([]);
      expect(theirs.message?.mid).not.toBe(mine.message?.mid);
      expect(await send('sendTextMessage', input, other)).toEqual(theirs);
    });

    it('keys are scoped per user and account even when a sub contains a colon', async () => {
      // Joined with colons, both would be "agent:<studio>:<shop>:k".
      const one = await gw.session([s.studio.igId], 'agent');
      const two = await gw.session([s.shop.igId], `agent:${s.studio.igId}`);
      const before = countSends();
      const first = await send(
        'sendTextMessage',
        { ...to(s.mara, s.studio), text: 'Hi', idempotencyKey: `${s.shop.igId}:k` },
        one,
      );
      const second = await send(
        'sendTextMessage',
        { ...to(s.ana), text: 'Hi', idempotencyKey: 'k' },
        two,
      );
      expect(first.userErrors).toEqual([]);
      expect(second.userErrors).toEqual([]);
      expect(second.message?.to).toEqual([{ username: 'ana.costa' }]);
      expect(countSends() - before).toBe(2);
    });

    it('50 concurrent calls with one key on one instance (memory store): one send, 50 equal payloads', async () => {
      const input = { ...to(s.ana), text: 'Fifty at once', idempotencyKey: 'burst-memory' };
      const before = countSends();
      const payloads = await Promise.all(
        Array.from({ length: 50 }, () => send('sendTextMessage', input)),
      );
      expect(countSends() - before).toBe(1);
      expect(payloads[0]?.userErrors).toEqual([]);
      expect(payloads[0]?.message?.text).toBe('Fifty at once');
      for (const payload of payloads) expect(payload).toEqual(payloads[0]);
    });
  });
});

describe('a time-out (short Instagram time-out)', () => {
  let slow: Gateway;
  let user: SimUser;
  let slowToken: string;

  beforeAll(async () => {
    slow = await startGateway(
      (sim) => {
        const account = sim.addAccount({ username: 'northwind.shop' }).account;
        user = sim.store.addUser(account.igId, { username: 'ana.costa' });
        sim.store.addMessage(account.igId, user.igsid, {
          fromId: user.igsid,
          text: 'Hi',
          createdTime: T0 - MINUTE,
        });
      },
      { instagram: { timeoutMs: 300 } },
    );
    slowToken = await slow.session([user.accountIgId]);
  });
  afterAll(() => slow.stop());

  it('is UpstreamUnavailableError with outcomeUnknown true, stored and replayed under its key', async () => {
    const input = {
      accountId: globalId.account(user.accountIgId),
      recipientId: globalId.participant(user.accountIgId, user.igsid),
      text: 'Did it go out?',
      idempotencyKey: 'timeout-1',
    };
    slow.sim.inject({ endpoint: 'POST /{id}/messages', kind: 'timeout' });
    let first: Payload | undefined;
    let calls = await slow.upstreamCalls(async () => {
      first = await mutate(slow.query, slowToken, 'sendTextMessage', input);
    });
    expect(calls).toBe(1);
    expect(first).toEqual({
      message: null,
      userErrors: [
        {
          __typename: 'UpstreamUnavailableError',
          code: 'UPSTREAM_UNAVAILABLE',
          message:
            'Instagram did not answer: the message may or may not have been sent. Check the conversation before sending again',
          field: null,
          outcomeUnknown: true,
        },
      ],
    });
    let again: Payload | undefined;
    calls = await slow.upstreamCalls(async () => {
      again = await mutate(slow.query, slowToken, 'sendTextMessage', input);
    });
    expect(calls).toBe(0);
    expect(again).toEqual(first);
  });
});

describe('RateLimitedError: igql refuses before Instagram would (limits on, running clock)', () => {
  let limited: Gateway;
  let account: SimAccount;
  let user: SimUser;
  let limitedToken: string;
  const audio = (i: number, idempotencyKey?: string) => ({
    accountId: globalId.account(account.igId),
    recipientId: globalId.participant(account.igId, user.igsid),
    url: `https://cdn.example.com/voice-${i}.m4a`,
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  const sendAudio = (i: number, key?: string) =>
    mutate(limited.query, limitedToken, 'sendAudioMessage', audio(i, key));
  const refusal = (retryAfter: number): UserErrorBody => ({
    __typename: 'RateLimitedError',
    code: 'RATE_LIMITED',
    message: 'The account is at Instagram’s sending limit; retry after `retryAfter` seconds',
    field: null,
    retryAfter,
  });

  beforeAll(async () => {
    limited = await startGateway(
      (sim) => {
        account = sim.addAccount({ username: 'northwind.shop' }).account;
        user = sim.store.addUser(account.igId, { username: 'ana.costa' });
        sim.store.addMessage(account.igId, user.igsid, {
          fromId: user.igsid,
          text: 'Send me the voice note',
          createdTime: T0 - MINUTE,
        });
      },
      { rateLimits: true, runningClock: true },
    );
    limitedToken = await limited.session([account.igId]);
  });
  afterAll(() => limited.stop());

  it('15 concurrent audio sends: 10 reach Instagram, 5 are refused with retryAfter, no 613', async () => {
    const mark = limited.sim.requests.length;
    const payloads = await Promise.all(Array.from({ length: 15 }, (_, i) => sendAudio(i)));
    const sent = payloads.filter((p) => p.userErrors.length === 0 && p.message);
    const refused = payloads.filter((p) => p.userErrors[0]?.code === 'RATE_LIMITED');
    expect([sent.length, refused.length]).toEqual([10, 5]);
    // All five were refused at once: the window (1 s plus igql's 100 ms margin for arrival
    // jitter) reopens later than the 250 ms igql would queue.
    for (const payload of refused) {
      const retryAfter = payload.userErrors[0]?.retryAfter ?? 0;
      expect(payload).toEqual({ message: null, userErrors: [refusal(retryAfter)] });
      expect(retryAfter).toBeGreaterThan(0.25);
      expect(retryAfter).toBeLessThanOrEqual(1.1);
    }
    expect(sendsSince(limited.sim, mark).map((r) => r.status)).toEqual(Array(10).fill(200));

    // Text is another bucket (100/s): it still goes out while audio waits.
    const text = await mutate(limited.query, limitedToken, 'sendTextMessage', {
      ...audio(0),
      url: undefined,
      text: 'Meanwhile, in text',
    });
    expect(text.userErrors).toEqual([]);

    // A refusal is not stored under its key: once the window reopens, the same key sends.
    const again = await sendAudio(99, 'after-limit');
    const retryAfter = again.userErrors[0]?.retryAfter ?? 0;
    expect(again).toEqual({ message: null, userErrors: [refusal(retryAfter)] });
    await sleep(retryAfter * 1000 + 50);
    const before = limited.sim.count('POST /{id}/messages');
    const retried = await sendAudio(99, 'after-limit');
    expect(retried.userErrors).toEqual([]);
    expect(retried.message?.attachments).toEqual([
      { kind: 'AUDIO', url: 'https://cdn.example.com/voice-99.m4a' },
    ]);
    expect(limited.sim.count('POST /{id}/messages') - before).toBe(1);
    expect(limited.sim.requests.slice(mark).filter((r) => r.status === 400)).toEqual([]);
  });

  it('a send that would wait less than 250 ms is queued until the window reopens, not refused', async () => {
    await sleep(1100);
    const mark = limited.sim.requests.length;
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => sendAudio(i)));
    expect(first.map((p) => p.userErrors)).toEqual(Array(10).fill([]));
    const done = Date.now();
    await sleep(900);
    const queued = await sendAudio(10);
    const waited = Date.now() - done;
    expect(queued.userErrors).toEqual([]);
    const upstream = limited.sim.requests
      .slice(mark)
      .filter((r) => r.endpoint === '/{id}/messages');
    expect(upstream.map((r) => r.status)).toEqual(Array(11).fill(200));
    expect(waited).toBeGreaterThanOrEqual(900);
    expect((upstream[10]?.at ?? 0) - (upstream[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
  });
});

describe('one idempotency key across two igql instances sharing a real Redis', () => {
  const SESSION_SECRET = 'a-test-session-secret-of-at-least-32-bytes';
  let redis: RedisServer;
  let sim: Simulator;
  let account: SimAccount;
  let user: SimUser;
  let sharedToken: string;
  const apps: App[] = [];
  const queries: Query[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sim = new Simulator({
      appSecret: 'test-app-secret',
      rateLimits: false,
      clock: createClock(T0, true),
      retryScheduleMs: [10],
    });
    account = sim.addAccount({ username: 'northwind.shop' }).account;
    user = sim.store.addUser(account.igId, { username: 'ana.costa' });
    sim.store.addMessage(account.igId, user.igsid, {
      fromId: user.igsid,
      text: 'Hello?',
      createdTime: T0 - MINUTE,
    });
    await sim.start();
    for (let i = 0; i < 2; i++) {
      const config = loadConfig({
        PORT: '0',
        LOG_LEVEL: 'silent',
        INSTAGRAM_APP_SECRET: 'test-app-secret',
        SESSION_SECRET,
        REDIS_URL: redis.url,
      });
      const app = createApp({
        config,
        sandbox: await startSandbox({ config, simulator: sim }),
        now: () => sim.clock.now(),
        drainTimeoutMs: 1000,
        instagram: { paceReads: false },
      });
      apps.push(app);
      const url = await app.start();
      queries.push(queryAt(url));
      // Redis connects in the background: wait until the instance says it is ready.
      for (let tries = 0; ; tries++) {
        const ready = await fetch(url.replace(/\/graphql$/, '/readyz'));
        await ready.body?.cancel();
        if (ready.status === 200) break;
        if (tries > 100) throw new Error('igql never became ready');
        await sleep(50);
      }
    }
    sharedToken = await signSession(
      new TextEncoder().encode(SESSION_SECRET),
      { sub: 'user-1', accounts: [account.igId] },
      3600,
    );
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await sim?.stop();
    await redis?.stop();
  });

  const input = (fields: Record<string, unknown>) => ({
    accountId: globalId.account(account.igId),
    recipientId: globalId.participant(account.igId, user.igsid),
    ...fields,
  });
  const LIGHT = 'message { id mid text createdTime isFromViewer }';

  it('50 concurrent sendTextMessage, 25 on each instance: one upstream send, 50 equal payloads', async () => {
    const text = 'One send for fifty requests';
    const mark = sim.requests.length;
    const payloads = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        mutate(
          queries[i % 2] as Query,
          sharedToken,
          'sendTextMessage',
          input({ text, idempotencyKey: 'burst-redis' }),
          LIGHT,
        ),
      ),
    );
    expect(sim.requests.slice(mark).map((r) => `${r.method} ${r.endpoint} ${r.status}`)).toEqual([
      'POST /{id}/messages 200',
    ]);
    const mid = payloads[0]?.message?.mid ?? '';
    expect(sim.store.messages.get(mid)?.text).toBe(text);
    expect(payloads[0]).toEqual({
      message: {
        id: globalId.message(account.igId, user.igsid, mid),
        mid,
        text,
        createdTime: SENT_AT,
        isFromViewer: true,
      },
      userErrors: [],
    });
    expect(payloads.filter((p) => JSON.stringify(p) === JSON.stringify(payloads[0]))).toHaveLength(
      50,
    );
    for (const payload of payloads) expect(payload).toEqual(payloads[0]);

    // The other instance knows the key too: other content under it is a conflict.
    const conflict = await mutate(
      queries[1] as Query,
      sharedToken,
      'sendTextMessage',
      input({ text: 'Something else', idempotencyKey: 'burst-redis' }),
      LIGHT,
    );
    expect(conflict.userErrors.map((e) => e.__typename)).toEqual(['IdempotencyConflictError']);
    expect(sim.requests.length - mark).toBe(1);
  });

  it('the per-account media limit is shared: 12 audio sends split across instances, 10 go out', async () => {
    const mark = sim.requests.length;
    const payloads = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        mutate(
          queries[i % 2] as Query,
          sharedToken,
          'sendAudioMessage',
          input({ url: `https://cdn.example.com/shared-${i}.aac` }),
          LIGHT,
        ),
      ),
    );
    expect(payloads.filter((p) => p.userErrors.length === 0)).toHaveLength(10);
    expect(payloads.filter((p) => p.userErrors[0]?.code === 'RATE_LIMITED')).toHaveLength(2);
    expect(sendsSince(sim, mark).map((r) => r.status)).toEqual(Array(10).fill(200));
  });
});
