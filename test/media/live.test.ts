import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { endBroadcast } from '../../src/sandbox/media.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimMedia, SimPage, SimUser } from '../../src/sandbox/store.ts';
import { servedSince } from '../facebook/served.ts';
import { addAccountOf, CONFIGURATIONS, type Configuration } from '../helpers/configurations.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { subscribeInbox } from '../helpers/inbox-events.ts';
import type { Loose } from './loose.ts';

// The same comment and mention events for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let token: string;
  let shop: SimAccount;
  let page: SimPage | undefined;
  let dev: SimUser;
  let post: SimMedia;
  let live: SimMedia;

  function seed(sim: Simulator, kind: Configuration): void {
    ({ account: shop, page } = addAccountOf(sim, kind, { username: 'northwind.shop' }));
    // Commented, never wrote: no conversation yet.
    dev = sim.store.addUser(shop.igId, { username: 'dev.patel' });
    post = sim.store.addMedia(shop.igId, { id: '18000000000000001', caption: 'Autumn collection' });
    // A live video being broadcast (IG User Live Media reference: BROADCAST, LIVE).
    live = sim.store.addMedia(shop.igId, { id: '18000000000000002', mediaProductType: 'LIVE' });
  }

  beforeAll(async () => {
    gw = await startGateway((sim) => seed(sim, kind));
    token = await gw.session([shop.igId]);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const EVENTS = /* GraphQL */ `
  subscription ($a: ID!, $after: String) {
    inboxEvents(accountId: $a, after: $after, types: [COMMENT_RECEIVED, MENTION_RECEIVED]) {
      type
      cursor
      occurredAt
      customer { igsid }
      ... on CommentReceivedEvent {
        comment { id commentId text author { igsid username } privateReply { available } }
        media { mediaId caption }
        parentCommentId
        byAccount
        live
      }
      ... on MentionReceivedEvent {
        mentionedMediaId mentionedCommentId mentionedMedia { mediaId } mentionedComment { commentId }
      }
    }
  }
`;

  interface Event {
    type: string;
    cursor: string;
    [field: string]: Loose;
  }

  async function subscribe(after?: string, query = EVENTS) {
    const sub = await subscribeInbox<Event>(gw.url, token, globalId.account(shop.igId), {
      query,
      variables: { after },
    });
    if (sub.errors.length > 0) throw new Error(JSON.stringify(sub.errors));
    return sub;
  }

  describe('comments and mentions, live', () => {
    it('a comment event knows its parent from the webhook: parent and replies read nothing', async () => {
      const sub = await subscribe(
        undefined,
        `subscription ($a: ID!, $after: String) {
        inboxEvents(accountId: $a, after: $after, types: [COMMENT_RECEIVED]) {
          ... on CommentReceivedEvent { comment { commentId parent { commentId } replies { nodes { id } } } }
        }
      }`,
      );
      const before = gw.sim.count();
      const top = gw.sim.users.comment(shop.igId, post.id, dev.igsid, 'Lovely!');
      gw.sim.users.comment(shop.igId, post.id, dev.igsid, 'In blue?', top.id);
      const events = await sub.next(2);
      await sub.dispose();
      const comment = (e: Event) => e.comment;
      // The top-level one's replies are read (it may have some); the reply's parent is read.
      expect(comment(events[0] as Event)).toMatchObject({ commentId: top.id, parent: null });
      expect(comment(events[1] as Event)).toMatchObject({
        parent: { commentId: top.id },
        replies: { nodes: [] },
      });
      // One read of the top-level one's replies, one of the reply's parent: nothing else.
      expect(gw.sim.count() - before).toBe(2);
    });

    it('a comment arrives live, and a private reply to it opens a conversation the inbox shows', async () => {
      const sub = await subscribe();
      // Every webhook is delivered twice, as Meta may: each event still arrives once.
      gw.sim.webhooks.duplicate();
      const comment = gw.sim.users.comment(
        shop.igId,
        post.id,
        dev.igsid,
        'How much is the green one, @northwind.shop?',
      );
      // An @mention in a comment on the account's own media comes as the comment only.
      const [received] = (await sub.next(1)) as [Event];
      expect(received).toEqual({
        type: 'COMMENT_RECEIVED',
        cursor: expect.any(String),
        // entry.time is in seconds for changes.
        occurredAt: new Date(T0).toISOString(),
        customer: { igsid: dev.igsid },
        comment: {
          id: globalId.comment(shop.igId, comment.id),
          commentId: comment.id,
          text: 'How much is the green one, @northwind.shop?',
          author: { igsid: dev.igsid, username: 'dev.patel' },
          privateReply: { available: true },
        },
        media: { mediaId: post.id, caption: 'Autumn collection' },
        parentCommentId: null,
        byAccount: false,
        live: false,
      });

      const reply = await gw.query<Loose>(
        token,
        `mutation ($input: SendPrivateReplyInput!) { sendPrivateReply(input: $input) {
        message { text } userErrors { code message } } }`,
        {
          input: {
            accountId: globalId.account(shop.igId),
            commentId: received.comment.id,
            text: 'Hi Dev, it is 39 euros.',
          },
        },
      );
      expect(reply.body.data.sendPrivateReply).toEqual({
        message: { text: 'Hi Dev, it is 39 euros.' },
        userErrors: [],
      });
      const inbox = await gw.query<Loose>(
        token,
        `{ viewer { conversations(first: 5) { nodes {
        participants { igsid username } messages(first: 5) { nodes { text from { igsid } } } } } } }`,
      );
      expect(inbox.body.data.viewer.conversations.nodes).toEqual([
        {
          participants: [
            { igsid: dev.igsid, username: 'dev.patel' },
            { igsid: shop.igId, username: 'northwind.shop' },
          ],
          messages: { nodes: [{ text: 'Hi Dev, it is 39 euros.', from: { igsid: shop.igId } }] },
        },
      ]);

      // The account's own comment, through igql: flagged, and no customer.
      const own = await gw.query<Loose>(
        token,
        `mutation ($input: CommentOnMediaInput!) { commentOnMedia(input: $input) {
        comment { commentId } } }`,
        {
          input: { accountId: globalId.account(shop.igId), mediaId: post.id, text: 'Thanks all!' },
        },
      );
      const ownEvent = (await sub.next(2))[1] as Event;
      expect(ownEvent).toMatchObject({
        type: 'COMMENT_RECEIVED',
        customer: null,
        byAccount: true,
        comment: {
          commentId: own.body.data.commentOnMedia.comment.commentId,
          author: { igsid: shop.igId, username: 'northwind.shop' },
          privateReply: { available: false },
        },
      });
      expect(sub.events).toHaveLength(2);
      expect(sub.errors).toEqual([]);
      await sub.dispose();

      // Resumable: from the own comment's cursor, a live comment made meanwhile, then nothing older.
      const again = gw.sim.users.comment(shop.igId, post.id, dev.igsid, 'Me again', comment.id);
      const resumed = await subscribe(ownEvent.cursor);
      const [next] = await resumed.next(1);
      expect(next).toMatchObject({
        type: 'COMMENT_RECEIVED',
        comment: { commentId: again.id, text: 'Me again' },
        parentCommentId: comment.id,
        live: false,
      });
      expect(resumed.events).toHaveLength(1);
      await resumed.dispose();
    });

    it('a live comment can be answered privately only while the broadcast is live', async () => {
      const sub = await subscribe();
      // A comment on the post first: its cursor replays the live one below.
      gw.sim.users.comment(shop.igId, post.id, dev.igsid, 'Watching now');
      const comment = gw.sim.users.comment(shop.igId, live.id, dev.igsid, 'Is it on sale?');
      const [first, received] = (await sub.next(2)) as [Event, Event];
      await sub.dispose();
      expect(received).toMatchObject({
        type: 'COMMENT_RECEIVED',
        comment: { commentId: comment.id, privateReply: { available: true } },
        media: { mediaId: live.id, caption: null },
        live: true,
      });
      const status = (id: string) =>
        gw.query<Loose>(
          token,
          `query ($id: ID!) { node(id: $id) { ... on Comment {
          media { mediaType mediaProductType } privateReply { available reason closesAt } } } }`,
          { id },
        );
      // Read from Graph: its media says LIVE, and live_media lists it while it is broadcast (the
      // comment, then its media and the live videos, side by side).
      const before = gw.sim.requests.length;
      expect((await status(received.comment.id)).body.data.node).toEqual({
        media: { mediaType: 'BROADCAST', mediaProductType: 'LIVE' },
        privateReply: { available: true, reason: null, closesAt: null },
      });
      // The IG User's live videos by its IG_ID, on graph.facebook.com for Facebook Login.
      const host = kind === 'FACEBOOK' ? 'facebook' : 'instagram';
      const calls = servedSince(gw.sim, before, { igId: shop.igId, pageId: page?.id });
      expect(calls.sort()).toEqual([
        `${host} GET /<IG_ID>/live_media`,
        `${host} GET /{id}`,
        `${host} GET /{id}`,
      ]);

      endBroadcast(gw.sim.store, live.id);
      expect((await status(received.comment.id)).body.data.node.privateReply).toEqual({
        available: false,
        reason: 'LIVE_ENDED',
        closesAt: null,
      });
      // The event replayed knows it from the webhook (`live_comments`).
      const replay = await subscribe(first.cursor);
      const [again] = (await replay.next(1)) as [Event];
      await replay.dispose();
      expect(again.comment).toMatchObject({
        commentId: comment.id,
        privateReply: { available: false },
      });
      const reply = await gw.query<Loose>(
        token,
        `mutation ($input: SendPrivateReplyInput!) { sendPrivateReply(input: $input) {
        message { text } userErrors { __typename code message field } } }`,
        {
          input: {
            accountId: globalId.account(shop.igId),
            commentId: received.comment.id,
            text: 'Yes, 20% off.',
          },
        },
      );
      expect(reply.body.data.sendPrivateReply).toEqual({
        message: null,
        userErrors: [
          {
            __typename: 'ValidationError',
            code: 'VALIDATION',
            // As for a comment past its 7 days (the simulator's refusal is UNCONFIRMED).
            message: expect.stringMatching(
              /^Instagram refused the message as invalid \(Graph error 100\/2534025, trace /,
            ),
            field: ['input'],
          },
        ],
      });
      // An ended live video takes no more comments.
      expect(() => gw.sim.users.comment(shop.igId, live.id, dev.igsid, 'Hello?')).toThrow(
        `the live video ${live.id} ended`,
      );
    });

    it('a mention is of the account on another user’s media: its ids, never a read', async () => {
      const sub = await subscribe();
      const ana = gw.sim.store.addUser(shop.igId, { username: 'ana.costa' });
      const before = gw.sim.requests.length;
      // Ana posts a photo mentioning the shop in its caption, Dev mentions it in a comment there.
      const theirs = gw.sim.users.post(shop.igId, ana.igsid, 'Wearing @northwind.shop today');
      gw.sim.users.comment(shop.igId, theirs.id, dev.igsid, 'Where is it from?');
      const mentioning = gw.sim.users.comment(
        shop.igId,
        theirs.id,
        dev.igsid,
        'Love it @northwind.shop',
      );
      const events = await sub.next(2);
      await sub.dispose();
      const mention = {
        type: 'MENTION_RECEIVED',
        occurredAt: new Date(T0).toISOString(),
        customer: null,
      };
      expect(events).toEqual([
        {
          ...mention,
          cursor: expect.any(String),
          mentionedMediaId: theirs.id,
          mentionedCommentId: null,
          mentionedMedia: null,
          mentionedComment: null,
        },
        {
          ...mention,
          cursor: expect.any(String),
          mentionedMediaId: theirs.id,
          mentionedCommentId: mentioning.id,
          mentionedMedia: null,
          mentionedComment: null,
        },
      ]);
      // Instagram Login cannot read another user's media: igql asks nothing.
      expect(gw.sim.requests.length - before).toBe(0);
      expect(sub.errors).toEqual([]);
    });
  });
});
