import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { GraphError } from '../../src/sandbox/errors.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import {
  DAY,
  HOUR,
  type SimAccount,
  type SimMedia,
  type SimPage,
  type SimUser,
} from '../../src/sandbox/store.ts';
import { servedSince } from '../facebook/served.ts';
import { addAccountOf, CONFIGURATIONS, type Configuration } from '../helpers/configurations.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import type { Loose } from './loose.ts';

// The same comment operations for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let token: string;
  let shop: SimAccount;
  let page: SimPage | undefined;
  let studio: SimAccount;
  let dev: SimUser;
  let post: SimMedia;
  let theirs: SimMedia;

  function seed(sim: Simulator, kind: Configuration): void {
    const { store } = sim;
    ({ account: shop, page } = addAccountOf(sim, kind, { username: 'northwind.shop' }));
    studio = sim.addAccount({ username: 'lumen.studio' }).account;
    dev = store.addUser(shop.igId, { username: 'dev.patel' });
    post = store.addMedia(shop.igId, { id: '18000000000000001', caption: 'Autumn collection' });
    theirs = store.addMedia(studio.igId, { id: '18000000000000002' });
    store.addComment(theirs.id, {
      id: '17000000000000099',
      fromIgsid: studio.igId,
      fromUsername: 'lumen.studio',
      text: 'Not yours',
    });
  }

  beforeAll(async () => {
    gw = await startGateway((sim) => seed(sim, kind));
    token = await gw.session([shop.igId]);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  let customerComment: string;

  beforeEach(() => {
    customerComment = gw.sim.store.addComment(post.id, {
      fromIgsid: dev.igsid,
      fromUsername: 'dev.patel',
      text: 'How much is the green one?',
      createdTime: T0 - HOUR,
    }).id;
  });

  const COMMENT = 'comment { commentId text byAccount hidden parent { commentId } }';
  const ERRORS = 'userErrors { __typename code message field }';

  /** Graph's host for the account, and its messaging node (the Page for Facebook Login). */
  const host = () => (kind === 'FACEBOOK' ? 'facebook' : 'instagram');
  const served = (mark: number) => servedSince(gw.sim, mark, { igId: shop.igId, pageId: page?.id });

  const run = (mutation: string, input: Record<string, unknown>, select = `${COMMENT} ${ERRORS}`) =>
    gw.query<Loose>(
      token,
      `mutation ($input: ${mutation[0]?.toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) { ${select} } }`,
      { input: { accountId: globalId.account(shop.igId), ...input } },
    );

  describe('replyToComment and commentOnMedia', () => {
    it('replies to a comment by its Comment.id, once under an idempotency key', async () => {
      const input = {
        commentId: globalId.comment(shop.igId, customerComment),
        text: 'It is 39 euros.',
        idempotencyKey: 'reply-1',
      };
      let first: Loose;
      const mark = gw.sim.requests.length;
      const calls = await gw.upstreamCalls(async () => {
        first = await run('replyToComment', input);
      });
      // The reply, then one read of it (hidden, parent) and one of its parent: comments by their
      // ids, on graph.facebook.com for Facebook Login.
      expect(calls).toBe(3);
      expect(served(mark)).toEqual([
        `${host()} POST /{id}/replies`,
        `${host()} GET /{id}`,
        `${host()} GET /{id}`,
      ]);
      const reply = first.body.data.replyToComment;
      expect(reply.userErrors).toEqual([]);
      expect(reply.comment).toEqual({
        commentId: expect.stringMatching(/^17\d{15}$/),
        text: 'It is 39 euros.',
        byAccount: true,
        hidden: false,
        parent: { commentId: customerComment },
      });
      const stored = gw.sim.store.comments.get(reply.comment.commentId);
      expect(stored).toMatchObject({ parentId: customerComment, fromIgsid: shop.igId });
      const again = await gw.upstreamCalls(async () => {
        const replay = await run('replyToComment', input, 'comment { commentId }');
        expect(replay.body.data.replyToComment.comment.commentId).toBe(reply.comment.commentId);
      });
      expect(again).toBe(0);
      const conflict = await run('replyToComment', { ...input, text: 'Other words' }, ERRORS);
      expect(conflict.body.data.replyToComment.userErrors[0].code).toBe('IDEMPOTENCY_CONFLICT');
    });

    it('comments on a media by its Media.id or Instagram’s id', async () => {
      const { body } = await run('commentOnMedia', {
        mediaId: globalId.media(shop.igId, post.id),
        text: 'New colours on Friday!',
      });
      expect(body.data.commentOnMedia.userErrors).toEqual([]);
      expect(body.data.commentOnMedia.comment).toMatchObject({
        text: 'New colours on Friday!',
        byAccount: true,
        parent: null,
      });
      const raw = await run('commentOnMedia', { mediaId: post.id, text: 'And Saturday' });
      expect(raw.body.data.commentOnMedia.userErrors).toEqual([]);
    });

    it('refuses text Instagram would refuse, before any call', async () => {
      const calls = await gw.upstreamCalls(async () => {
        const { body } = await run(
          'commentOnMedia',
          { mediaId: post.id, text: 'SALE #A #B #C #D #E' },
          ERRORS,
        );
        expect(body.data.commentOnMedia.userErrors).toEqual([
          {
            __typename: 'ValidationError',
            code: 'VALIDATION',
            message: 'input.text must have at most 4 hashtags',
            field: ['input', 'text'],
          },
          {
            __typename: 'ValidationError',
            code: 'VALIDATION',
            message: 'input.text must not be all capital letters',
            field: ['input', 'text'],
          },
        ]);
        const long = await run(
          'replyToComment',
          { commentId: customerComment, text: 'x'.repeat(301) },
          ERRORS,
        );
        expect(long.body.data.replyToComment.userErrors[0].message).toBe(
          'input.text must be at most 300 characters',
        );
      });
      expect(calls).toBe(0);
    });

    it('answers NOT_FOUND for another account’s media or comment', async () => {
      const other = await run(
        'commentOnMedia',
        { mediaId: globalId.media(studio.igId, theirs.id), text: 'Hello' },
        ERRORS,
      );
      expect(other.body.data.commentOnMedia.userErrors).toEqual([
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: 'Media not found',
          field: ['input', 'mediaId'],
        },
      ]);
      // Instagram's own id of another account's comment: Instagram answers 100/33.
      const raw = await run(
        'replyToComment',
        { commentId: '17000000000000099', text: 'Hi' },
        ERRORS,
      );
      expect(raw.body.data.replyToComment.userErrors[0].code).toBe('NOT_FOUND');
    });

    it('maps Instagram’s refusal to reply to a hidden comment', async () => {
      const comment = gw.sim.store.comments.get(customerComment);
      if (comment) comment.hidden = true;
      const { body } = await run(
        'replyToComment',
        { commentId: customerComment, text: 'Hi' },
        ERRORS,
      );
      expect(body.data.replyToComment.userErrors).toEqual([
        {
          __typename: 'ValidationError',
          code: 'VALIDATION',
          message: expect.stringMatching(
            /^Instagram refused the comment as invalid \(Graph error 100, trace /,
          ),
          field: ['input'],
        },
      ]);
    });
  });

  describe('hideComment, unhideComment, deleteComment', () => {
    it('hides and unhides a customer’s comment', async () => {
      const id = globalId.comment(shop.igId, customerComment);
      const hidden = await run(
        'hideComment',
        { commentId: id },
        `comment { commentId hidden } ${ERRORS}`,
      );
      expect(hidden.body.data.hideComment).toEqual({
        comment: { commentId: customerComment, hidden: true },
        userErrors: [],
      });
      expect(gw.sim.store.comments.get(customerComment)?.hidden).toBe(true);
      const shown = await run('unhideComment', { commentId: id }, `comment { hidden } ${ERRORS}`);
      expect(shown.body.data.unhideComment).toEqual({ comment: { hidden: false }, userErrors: [] });
      expect(gw.sim.store.comments.get(customerComment)?.hidden).toBe(false);
    });

    it('a write Instagram refuses for permission is NOT_FOUND (not this account’s to moderate), never a re-login', async () => {
      gw.sim.inject({
        endpoint: 'POST /{id}',
        kind: 'error',
        error: new GraphError({
          status: 403,
          code: 200,
          type: 'IGApiException',
          message: '(#200) Permissions error',
        }),
      });
      const { body } = await run(
        'hideComment',
        { commentId: globalId.comment(shop.igId, customerComment) },
        `comment { hidden } ${ERRORS}`,
      );
      expect(body.data.hideComment.comment).toBeNull();
      expect(body.data.hideComment.userErrors).toEqual([
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: expect.stringMatching(
            /^Instagram does not let this account change that comment \(Graph error 200, trace /,
          ),
          field: ['input'],
        },
      ]);
      expect(gw.sim.store.comments.get(customerComment)?.hidden).toBe(false);
    });

    it('deletes a comment', async () => {
      const id = globalId.comment(shop.igId, customerComment);
      const { body } = await run('deleteComment', { commentId: id }, `deletedCommentId ${ERRORS}`);
      expect(body.data.deleteComment).toEqual({ deletedCommentId: id, userErrors: [] });
      expect(gw.sim.store.comments.has(customerComment)).toBe(false);
      const again = await run('deleteComment', { commentId: id }, `deletedCommentId ${ERRORS}`);
      expect(again.body.data.deleteComment.deletedCommentId).toBeNull();
      expect(again.body.data.deleteComment.userErrors[0].code).toBe('NOT_FOUND');
    });
  });

  describe('sendPrivateReply and sendMediaShare with global ids', () => {
    it('answers a comment privately by its Comment.id, once, and Comment.privateReply says when', async () => {
      const id = globalId.comment(shop.igId, customerComment);
      const status = await gw.query<Loose>(
        token,
        'query ($id: ID!) { node(id: $id) { ... on Comment { privateReply { available reason closesAt } } } }',
        { id },
      );
      expect(status.body.data.node.privateReply).toEqual({
        available: true,
        reason: null,
        closesAt: new Date(T0 - HOUR + 7 * DAY).toISOString(),
      });
      const mark = gw.sim.requests.length;
      const sent = await run(
        'sendPrivateReply',
        { commentId: id, text: 'Hi Dev, it is 39 euros.' },
        `message { text to { igsid } } ${ERRORS}`,
      );
      expect(sent.body.data.sendPrivateReply).toEqual({
        message: { text: 'Hi Dev, it is 39 euros.', to: [{ igsid: dev.igsid }] },
        userErrors: [],
      });
      // Through the Page for Facebook Login (its IG_ID answers error 3 there).
      expect(served(mark)).toEqual([
        kind === 'FACEBOOK'
          ? 'facebook POST /<PAGE_ID>/messages'
          : 'instagram POST /<IG_ID>/messages',
      ]);
      const twice = await run('sendPrivateReply', { commentId: id, text: 'Again' }, ERRORS);
      expect(twice.body.data.sendPrivateReply.userErrors).toEqual([
        {
          __typename: 'ValidationError',
          code: 'VALIDATION',
          message: expect.stringMatching(
            /^Instagram allows one private reply per comment: this one was already answered \(Graph error 10, trace /,
          ),
          field: ['input', 'commentId'],
        },
      ]);
      const foreign = await run(
        'sendPrivateReply',
        { commentId: globalId.comment(studio.igId, '17000000000000099'), text: 'Hi' },
        ERRORS,
      );
      expect(foreign.body.data.sendPrivateReply.userErrors).toEqual([
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: 'Comment not found',
          field: ['input', 'commentId'],
        },
      ]);
    });
  });
});
