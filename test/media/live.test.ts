import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimMedia, SimUser } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { watchSubscriber } from '../helpers/subscribers.ts';
import type { Loose } from './loose.ts';

let gw: Gateway;
let token: string;
let shop: SimAccount;
let dev: SimUser;
let post: SimMedia;

function seed(sim: Simulator): void {
  shop = sim.addAccount({ username: 'northwind.shop' }).account;
  // Commented, never wrote: no conversation yet.
  dev = sim.store.addUser(shop.igId, { username: 'dev.patel' });
  post = sim.store.addMedia(shop.igId, { id: '18000000000000001', caption: 'Autumn collection' });
}

beforeAll(async () => {
  gw = await startGateway(seed);
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
      ... on MentionReceivedEvent { mentionedMedia { mediaId } mentionedComment { commentId text } }
    }
  }
`;

interface Event {
  type: string;
  cursor: string;
  [field: string]: Loose;
}

async function subscribe(after?: string, query = EVENTS) {
  const client = createClient({
    url: gw.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const events: Event[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  const watch = watchSubscriber();
  client.subscribe<{ inboxEvents: Event }>(
    { query, variables: { a: globalId.account(shop.igId), after } },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        if (value.data) events.push(value.data.inboxEvents);
        for (const wake of waiters) wake();
      },
      error: (error) => {
        errors.push(error);
        watch.cancel();
        for (const wake of waiters) wake();
      },
      complete: () => watch.cancel(),
    },
  );
  await watch.established;
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return {
    events,
    errors,
    /** Resolves once `n` events arrived. */
    count: (n: number) =>
      new Promise<Event[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(JSON.stringify(events))), 5000);
        const check = () => {
          if (events.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(events.slice(0, n));
        };
        waiters.add(check);
        check();
      }),
    dispose: () => client.dispose() as Promise<void>,
  };
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
    const events = await sub.count(2);
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
    const [received, mention] = (await sub.count(2)) as [Event, Event];
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
    expect(mention).toEqual({
      type: 'MENTION_RECEIVED',
      cursor: expect.any(String),
      occurredAt: new Date(T0).toISOString(),
      customer: null,
      mentionedMedia: { mediaId: post.id },
      mentionedComment: {
        commentId: comment.id,
        text: 'How much is the green one, @northwind.shop?',
      },
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
      { input: { accountId: globalId.account(shop.igId), mediaId: post.id, text: 'Thanks all!' } },
    );
    const ownEvent = (await sub.count(3))[2] as Event;
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
    expect(sub.events).toHaveLength(3);
    expect(sub.errors).toEqual([]);
    await sub.dispose();

    // Resumable: from the own comment's cursor, a live comment made meanwhile, then nothing older.
    const live = gw.sim.users.comment(shop.igId, post.id, dev.igsid, 'Me again', comment.id, {
      live: true,
    });
    const resumed = await subscribe(ownEvent.cursor);
    const [next] = await resumed.count(1);
    expect(next).toMatchObject({
      type: 'COMMENT_RECEIVED',
      comment: { commentId: live.id, text: 'Me again' },
      parentCommentId: comment.id,
      live: true,
    });
    expect(resumed.events).toHaveLength(1);
    await resumed.dispose();
  });
});
