import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount, SimMessage, SimUser } from '../../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { fixtureText } from '../helpers/fixtures.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';
import { subscribeInbox } from '../helpers/inbox-events.ts';

/**
 * What arrives, through the GraphQL API: real captures posted as signed webhooks (their ids
 * replaced by the test account's and customer's), and the simulator's own deliveries, read by a
 * graphql-ws subscriber with every field this issue added.
 */

const EVENTS = `
fragment A on Attachment {
  __typename kind type url
  ... on PostAttachment { mediaId title }
  ... on UnsupportedAttachment { kind }
  ... on TemplateAttachment {
    templateType text
    buttons { type title url payload }
    elements { title subtitle imageUrl defaultAction { type url } buttons { type title url payload } }
  }
}
subscription ($a: ID!, $c: ID) {
  inboxEvents(accountId: $a, conversationId: $c) {
    __typename
    customer { igsid username }
    customerMissingReason
    ... on MessageSentEvent { message { mid text attachments { ...A } } }
    ... on MessageReceivedEvent {
      message { mid text attachments { ...A } }
      quickReplyPayload
      quickReply { payload source }
    }
    ... on MessageEditedEvent { mid text numEdit }
    ... on MessagesSeenEvent { mid }
    ... on ReactionChangedEvent { mid action reaction emoji }
    ... on UnknownEvent { field raw }
  }
}`;

type Event = Record<string, unknown>;

let gw: Gateway;
let shop: SimAccount;
let ana: SimUser;
let bob: SimUser;
let token: string;
/** Ana's message, among the 20 newest of her conversation. */
let hello: SimMessage;
let bobs: SimMessage;
const clients: { dispose(): Promise<void> | void }[] = [];

beforeAll(async () => {
  gw = await startGateway((sim) => {
    shop = sim.addAccount({ username: 'northwind.shop' }).account;
    ana = sim.store.addUser(shop.igId, { username: 'ana.costa', consented: true });
    bob = sim.store.addUser(shop.igId, { username: 'bob.lee', consented: true });
    hello = sim.store.addMessage(shop.igId, ana.igsid, { fromId: ana.igsid, text: 'helo' });
    bobs = sim.store.addMessage(shop.igId, bob.igsid, { fromId: bob.igsid, text: 'hi' });
    hello.reactions = [{ userId: ana.igsid, reaction: 'like', emoji: '👍' }];
  });
  token = await gw.session([shop.igId]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  // The simulator's clock stands still: a second read of one message at the same time would be
  // a redelivery of the first (its identity has the time), deduplicated.
  gw.sim.clock.advance(1000);
});

afterAll(() => gw?.stop());

/** Subscribes to the account's inbox events; `next(n)` waits for the n-th event. */
async function subscribe(conversationId?: string) {
  const sub = await subscribeInbox<Event>(gw.url, token, globalId.account(shop.igId), {
    query: EVENTS,
    variables: { c: conversationId },
  });
  clients.push(sub);
  return sub;
}

/** Posts a body to igql's webhook door, signed as Meta signs it. */
async function post(body: string): Promise<number> {
  const raw = toMetaJson(JSON.parse(body));
  const res = await fetch(gw.url.replace(/\/graphql$/, '/webhooks/instagram'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(raw, 'test-app-secret') },
    body: raw,
  });
  await res.arrayBuffer();
  return res.status;
}

/** A real capture with its account and customer replaced by the test's (fixtures README). */
const capture = (name: string, ids: Record<string, string>) =>
  Object.entries(ids).reduce((text, [from, to]) => text.replaceAll(from, to), fixtureText(name));

const WISHLINK_SHARE = 'https://www.wishlink.com/share/99c6s.pdf?source=ctk&subId1=580657314703245';
const WISHLINK_REDIRECT =
  'https://www.wishlink.com/redirect/?utm_source=wishlink&utm_medium=ctk&utm_campaign=CTK_Var2&insta_user_id=580657314703245&insta_username=macwan_krishilll_10&type=ctk_nudge&creator=allenchoudhary&post_id=1642115&variant=variant_2';
const openUrl = (url: string, title: string) => ({ type: 'open_url', title, url, payload: null });

describe('inbound through the GraphQL API', () => {
  it('a subscriber receives the real template echo with every card, action and button', async () => {
    const sub = await subscribe();
    // The customer id stays in the buttons' URLs: only the envelope's ids are replaced.
    const body = capture('webhook-messages-echo-generic-template-real.json', {
      '"17841401270106762"': `"${shop.igId}"`,
      '"580657314703245"': `"${ana.igsid}"`,
    });
    expect(await post(body)).toBe(200);
    const [event] = await sub.next(1);
    expect(event).toEqual({
      __typename: 'MessageSentEvent',
      customer: { igsid: ana.igsid, username: 'ana.costa' },
      customerMissingReason: null,
      message: {
        mid: JSON.parse(body).entry[0].messaging[0].message.mid,
        text: null,
        attachments: [
          {
            __typename: 'TemplateAttachment',
            kind: 'TEMPLATE',
            type: 'template',
            url: null,
            templateType: 'generic',
            text: null,
            buttons: [],
            elements: [
              {
                title: 'Pilgrim Redensyl 3% + Anagain...',
                subtitle: 'Powered by WISHLINK',
                imageUrl: 'https://m.media-amazon.com/images/I/41AFOYC1ehL.jpg?time=1749608255',
                defaultAction: { type: 'open_url', url: WISHLINK_SHARE },
                buttons: [
                  openUrl(WISHLINK_SHARE, 'Shop On Amazon'),
                  openUrl(
                    'https://www.wishlink.com/allenchoudhary/post/1642115?utm_source=ctk&utm_medium=ctk&utm_campaign=ctk',
                    'Visit my Wishlink',
                  ),
                ],
              },
              {
                title: 'Wishlink',
                subtitle: 'Open in App',
                imageUrl: 'https://d3g01po1nkka75.cloudfront.net/ctk-experiment/last-card.png',
                defaultAction: { type: 'open_url', url: WISHLINK_REDIRECT },
                buttons: [openUrl(WISHLINK_REDIRECT, 'Shop My Looks')],
              },
            ],
          },
        ],
      },
    });
    expect(sub.errors).toEqual([]);
  });

  it('a read without sender names its customer from the message, read once before it is stored', async () => {
    const sub = await subscribe();
    const before = gw.sim.count();
    gw.sim.users.read(shop.igId, ana.igsid, hello.mid, { withoutParties: true });
    const [event] = await sub.next(1);
    expect(event).toEqual({
      __typename: 'MessagesSeenEvent',
      customer: { igsid: ana.igsid, username: 'ana.costa' },
      customerMissingReason: null,
      mid: hello.mid,
    });
    // The message's parties when the delivery came; the username is read at most once in 10 minutes (the shared read cache): not counted.
    expect(
      gw.sim.requests
        .slice(before)
        .filter((r) => r.query.fields !== 'username')
        .map((r) => [r.method, r.endpoint, r.query.fields]),
    ).toEqual([['GET', '/{id}', 'id,created_time,from,to']]);
  });

  it('the real capture of a read without sender, for a message that cannot be read, says why', async () => {
    const sub = await subscribe();
    const body = capture('webhook-messaging-seen-no-sender-real.json', {
      '"17841421930215757"': `"${shop.igId}"`,
    });
    expect(await post(body)).toBe(200);
    const [event] = await sub.next(1);
    expect(event).toEqual({
      __typename: 'MessagesSeenEvent',
      customer: null,
      customerMissingReason: 'MESSAGE_UNAVAILABLE',
      mid: JSON.parse(body).entry[0].messaging[0].read.mid,
    });
    expect(sub.errors).toEqual([]);
  });

  it('an edit without sender or text: its customer and new text read once, before it is stored', async () => {
    const sub = await subscribe();
    const before = gw.sim.count();
    gw.sim.users.edit(shop.igId, ana.igsid, hello.mid, 'hello', {
      withoutParties: true,
      withoutText: true,
    });
    const [event] = await sub.next(1);
    expect(event).toEqual({
      __typename: 'MessageEditedEvent',
      customer: { igsid: ana.igsid, username: 'ana.costa' },
      customerMissingReason: null,
      mid: hello.mid,
      text: 'hello',
      numEdit: 1,
    });
    // The username is read at most once in 10 minutes (the shared read cache): not counted.
    expect(
      gw.sim.requests
        .slice(before)
        .filter((r) => r.query.fields !== 'username')
        .map((r) => [r.method, r.endpoint, r.query.fields]),
    ).toEqual([['GET', '/{id}', 'id,created_time,from,to,message']]);
  });

  it('a replay shows each edit with its own text, read when it came, not the newest', async () => {
    const a = globalId.account(shop.igId);
    const watcher = await subscribeInbox<{ cursor: string }>(gw.url, token, a, {
      query: 'subscription ($a: ID!) { inboxEvents(accountId: $a) { cursor } }',
    });
    clients.push(watcher);
    // An event before the edits: the replay starts after it.
    gw.sim.users.sendMessage(shop.igId, ana.igsid, { text: 'marker' });
    await watcher.next(1);
    for (const [i, text] of ['first edit', 'second edit'].entries()) {
      gw.sim.clock.advance(1000);
      gw.sim.users.edit(shop.igId, ana.igsid, hello.mid, text, {
        withoutParties: true,
        withoutText: true,
      });
      await watcher.next(i + 2);
    }
    const before = gw.sim.count();
    const replay = await subscribeInbox<{ numEdit: number }>(gw.url, token, a, {
      query:
        'subscription ($a: ID!, $after: String) { inboxEvents(accountId: $a, after: $after, types: [MESSAGE_EDITED]) { ... on MessageEditedEvent { text numEdit } } }',
      variables: { after: watcher.events[0]?.cursor },
    });
    clients.push(replay);
    const replayed = await replay.next(2);
    expect(replay.errors).toEqual([]);
    // The message was edited by an earlier test too: these are its next two edits.
    const first = replayed[0]?.numEdit ?? 0;
    expect(replayed).toEqual([
      { text: 'first edit', numEdit: first },
      { text: 'second edit', numEdit: first + 1 },
    ]);
    // Read when each came: nothing read for the replay.
    expect(gw.sim.count()).toBe(before);
  });

  it('an edit numbered 0 (a brand-new message) is no edit: an UnknownEvent, kept whole', async () => {
    const sub = await subscribe();
    gw.sim.users.newMessageEdit(shop.igId, ana.igsid, hello.mid, { withoutParties: true });
    const [event] = await sub.next(1);
    expect(event).toEqual({
      __typename: 'UnknownEvent',
      customer: null,
      customerMissingReason: 'ACCOUNT_WIDE',
      field: 'message_edit',
      raw: { timestamp: gw.sim.clock.now(), message_edit: { mid: hello.mid, num_edit: 0 } },
    });
  });

  it('a conversation’s subscriber gets its sender-less reads, not another conversation’s', async () => {
    const conversation = gw.sim.store.conversations.get(hello.conversationId);
    const sub = await subscribe(globalId.conversation(shop.igId, conversation?.id ?? ''));
    gw.sim.users.read(shop.igId, bob.igsid, bobs.mid, { withoutParties: true });
    gw.sim.users.read(shop.igId, ana.igsid, hello.mid, { withoutParties: true });
    // Bob's, sender-less and no edit: an UnknownEvent of Bob's conversation, not Ana's.
    gw.sim.users.newMessageEdit(shop.igId, bob.igsid, bobs.mid, { withoutParties: true });
    // Of the whole account, no conversation's: not Ana's either.
    const now = gw.sim.clock.now();
    const accountWide = {
      object: 'instagram',
      entry: [
        { id: shop.igId, time: now, changes: [{ field: 'a_future_field', value: { n: 1 } }] },
      ],
    };
    expect(await post(JSON.stringify(accountWide))).toBe(200);
    gw.sim.users.sendMessage(shop.igId, ana.igsid, { text: 'still there?' });
    const events = await sub.next(2);
    expect(events.map((e) => e.__typename)).toEqual(['MessagesSeenEvent', 'MessageReceivedEvent']);
    expect(events[0]).toMatchObject({ mid: hello.mid });
    expect(sub.events).toHaveLength(2);
  });

  it('the real `like` reaction with its emoji, and Message.reactions with both', async () => {
    const sub = await subscribe();
    const body = capture('webhook-message-reactions-like-real.json', {
      '"17841404645593433"': `"${shop.igId}"`,
      '"6234380736598057"': `"${ana.igsid}"`,
    });
    expect(await post(body)).toBe(200);
    const [event] = await sub.next(1);
    expect(event).toEqual({
      __typename: 'ReactionChangedEvent',
      customer: { igsid: ana.igsid, username: 'ana.costa' },
      customerMissingReason: null,
      mid: JSON.parse(body).entry[0].messaging[0].reaction.mid,
      action: 'REACT',
      reaction: 'like',
      emoji: '👍',
    });
    const read = await gw.query(
      token,
      'query ($id: ID!) { node(id: $id) { ... on Message { reactions { reaction emoji by { igsid } } } } }',
      { id: globalId.message(shop.igId, ana.igsid, hello.mid) },
    );
    expect(read.body).toEqual({
      data: { node: { reactions: [{ reaction: 'like', emoji: '👍', by: { igsid: ana.igsid } }] } },
    });
  });

  it('quick replies: Instagram’s FAQ (real capture) and the app’s own', async () => {
    const sub = await subscribe();
    const body = capture('webhook-messages-quick-reply-first-party-faq-real.json', {
      '"17841401163137633"': `"${shop.igId}"`,
      '"355813534163958"': `"${ana.igsid}"`,
    });
    expect(await post(body)).toBe(200);
    gw.sim.users.sendMessage(shop.igId, ana.igsid, { text: 'Red', quickReplyPayload: 'RED' });
    const [faq, app] = await sub.next(2);
    const payload =
      '3:IB_FIRST_PARTY:ac65f8133abf5df0f25b12575a30e397d9b057c2:no_response:is_custom';
    expect(faq).toEqual({
      __typename: 'MessageReceivedEvent',
      customer: { igsid: ana.igsid, username: 'ana.costa' },
      customerMissingReason: null,
      message: {
        mid: JSON.parse(body).entry[0].messaging[0].message.mid,
        text: 'How can I purchase your products?',
        attachments: [],
      },
      quickReplyPayload: payload,
      quickReply: { payload, source: 'INSTAGRAM_FAQ' },
    });
    expect(app).toMatchObject({
      quickReplyPayload: 'RED',
      quickReply: { payload: 'RED', source: 'APP' },
    });
  });

  it('a shared post arrives as `ig_post` with its media id and title; unsupported is kept', async () => {
    const sub = await subscribe();
    gw.sim.users.sendMessage(shop.igId, ana.igsid, {
      attachments: [
        {
          type: 'ig_post',
          url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1',
          mediaId: '18000000000000002',
          title: 'Spring linen',
        },
        { type: 'unsupported_type', url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?x=2' },
      ],
    });
    const [event] = await sub.next(1);
    expect(event).toMatchObject({ __typename: 'MessageReceivedEvent' });
    expect((event?.message as { attachments?: unknown } | undefined)?.attachments).toEqual([
      {
        __typename: 'PostAttachment',
        kind: 'POST',
        type: 'ig_post',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1',
        mediaId: '18000000000000002',
        title: 'Spring linen',
      },
      {
        __typename: 'UnsupportedAttachment',
        kind: 'UNSUPPORTED',
        type: 'unsupported_type',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?x=2',
      },
    ]);
  });
});
