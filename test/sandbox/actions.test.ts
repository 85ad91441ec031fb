import { beforeEach, describe, expect, it } from 'vitest';
import { UserActions } from '../../src/sandbox/actions.ts';
import { type Clock, type SimUser, Store } from '../../src/sandbox/store.ts';
import type { WebhookSink } from '../../src/sandbox/webhook-sink.ts';

const IG = '17841400000000001';
const T = 1_700_000_000_123;

const fixedClock = (start: number): Clock => {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
};

interface Raised {
  readonly kind: 'messaging' | 'change';
  readonly igId: string;
  readonly field: string;
  readonly payload: Record<string, unknown>;
}

/** A sink that records what would be delivered. */
class Recorder implements WebhookSink {
  readonly raised: Raised[] = [];
  messaging(igId: string, field: string, event: Record<string, unknown>): void {
    this.raised.push({ kind: 'messaging', igId, field, payload: event });
  }
  change(igId: string, field: string, value: Record<string, unknown>): void {
    this.raised.push({ kind: 'change', igId, field, payload: value });
  }
}

describe('UserActions', () => {
  let store: Store;
  let sink: Recorder;
  let users: UserActions;
  let user: SimUser;

  /** The last event, as JSON, so key order is compared too. */
  const last = () => {
    const event = sink.raised.at(-1);
    return event && { ...event, payload: JSON.stringify(event.payload) };
  };
  const messaging = (field: string, payload: Record<string, unknown>) => ({
    kind: 'messaging',
    igId: IG,
    field,
    payload: JSON.stringify({
      sender: { id: user.igsid },
      recipient: { id: IG },
      timestamp: store.clock.now(),
      ...payload,
    }),
  });

  beforeEach(() => {
    store = new Store(fixedClock(T));
    store.addAccount({ igId: IG, username: 'shop' });
    sink = new Recorder();
    users = new UserActions(store, sink);
    user = users.userNamed(IG, 'alice');
  });

  it('userNamed finds the user or creates one', () => {
    expect(users.userNamed(IG, 'alice')).toBe(user);
    const bob = users.userNamed(IG, 'bob');
    expect(bob).toMatchObject({ username: 'bob', accountIgId: IG, consented: false });
    expect(store.users.get(bob.igsid)).toBe(bob);
    expect(() => users.userNamed('17841499999999999', 'carol')).toThrow('no account');
  });

  it('sends a text message, stores it and marks the user consented', () => {
    const message = users.sendMessage(IG, user.igsid, { text: 'Hello World' });
    expect(last()).toEqual(
      messaging('messages', { message: { mid: message.mid, text: 'Hello World' } }),
    );
    expect(message).toMatchObject({
      fromId: user.igsid,
      toId: IG,
      text: 'Hello World',
      createdTime: T,
      isUnsupported: false,
    });
    expect(store.messages.get(message.mid)).toBe(message);
    expect(store.conversationWith(IG, user.igsid)?.messages).toEqual([message]);
    expect(user.consented).toBe(true);
  });

  it('sends media attachments with payload.url and stores them', () => {
    const url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x';
    const message = users.sendMessage(IG, user.igsid, {
      attachments: [{ type: 'image', url }, { type: 'video' }, { type: 'audio' }, { type: 'file' }],
    });
    const urls = message.attachments.map((a) => a.url);
    expect(urls[0]).toBe(url);
    for (const generated of urls.slice(1)) {
      expect(generated).toMatch(/^https:\/\/lookaside\.fbsbx\.com\/ig_messaging_cdn\/\?asset_id=/);
    }
    expect(message.attachments.map((a) => a.type)).toEqual(['image', 'video', 'audio', 'file']);
    expect(last()).toEqual(
      messaging('messages', {
        message: {
          mid: message.mid,
          attachments: ['image', 'video', 'audio', 'file'].map((type, i) => ({
            type,
            payload: { url: urls[i] },
          })),
        },
      }),
    );
  });

  it('sends a heart sticker without payload', () => {
    const message = users.sendMessage(IG, user.igsid, { attachments: [{ type: 'like_heart' }] });
    expect(last()).toEqual(
      messaging('messages', {
        message: { mid: message.mid, attachments: [{ type: 'like_heart' }] },
      }),
    );
    expect(message.attachments.map((a) => a.type)).toEqual(['like_heart']);
  });

  it('shares reels and posts: `ig_post` with media id, title and url, never the legacy `share`', () => {
    store.addMedia(IG, { id: '18000000000000004', caption: 'Our spring linen' });
    const message = users.sendMessage(IG, user.igsid, {
      attachments: [
        {
          type: 'ig_reel',
          url: 'https://cdn/reel.mp4',
          reelVideoId: '18000000000000001',
          title: 'Reel',
        },
        { type: 'ig_post', url: 'https://cdn/post.jpg', mediaId: '18000000000000002' },
        { type: 'ig_post', url: 'https://cdn/p2.jpg', mediaId: '18000000000000003', title: 'Post' },
        // The account's own post: its caption is the title.
        { type: 'ig_post', url: 'https://cdn/p3.jpg', mediaId: '18000000000000004' },
      ],
    });
    expect(last()).toEqual(
      messaging('messages', {
        message: {
          mid: message.mid,
          attachments: [
            {
              type: 'ig_reel',
              payload: {
                reel_video_id: '18000000000000001',
                title: 'Reel',
                url: 'https://cdn/reel.mp4',
              },
            },
            {
              type: 'ig_post',
              payload: {
                ig_post_media_id: '18000000000000002',
                title: '',
                url: 'https://cdn/post.jpg',
              },
            },
            {
              type: 'ig_post',
              payload: {
                ig_post_media_id: '18000000000000003',
                title: 'Post',
                url: 'https://cdn/p2.jpg',
              },
            },
            {
              type: 'ig_post',
              payload: {
                ig_post_media_id: '18000000000000004',
                title: 'Our spring linen',
                url: 'https://cdn/p3.jpg',
              },
            },
          ],
        },
      }),
    );
    expect(message.shares).toEqual([
      { link: 'https://cdn/reel.mp4', kind: 'reel', mediaId: '18000000000000001' },
      { link: 'https://cdn/post.jpg', kind: 'post', mediaId: '18000000000000002' },
      { link: 'https://cdn/p2.jpg', kind: 'post', mediaId: '18000000000000003' },
      { link: 'https://cdn/p3.jpg', kind: 'post', mediaId: '18000000000000004' },
    ]);
    expect(message.attachments).toEqual([]);
  });

  it('mentions the account in a story', () => {
    const message = users.sendMessage(IG, user.igsid, {
      storyMention: { url: 'https://cdn/story.mp4', id: '18000000000000009' },
    });
    expect(last()).toEqual(
      messaging('messages', {
        message: {
          mid: message.mid,
          attachments: [{ type: 'story_mention', payload: { url: 'https://cdn/story.mp4' } }],
        },
      }),
    );
    expect(message.story).toEqual({
      kind: 'mention',
      id: '18000000000000009',
      link: 'https://cdn/story.mp4',
    });
  });

  it('replies to a story', () => {
    const message = users.sendMessage(IG, user.igsid, {
      text: 'love it',
      storyReply: { id: '18000000000000007', url: 'https://cdn/story.jpg' },
    });
    expect(last()).toEqual(
      messaging('messages', {
        message: {
          mid: message.mid,
          text: 'love it',
          reply_to: { story: { url: 'https://cdn/story.jpg', id: '18000000000000007' } },
        },
      }),
    );
    expect(message.story).toEqual({
      kind: 'reply_to',
      id: '18000000000000007',
      link: 'https://cdn/story.jpg',
    });
  });

  it('replies to a message', () => {
    const first = users.sendMessage(IG, user.igsid, { text: 'one' });
    const business = store.addMessage(IG, user.igsid, { fromId: IG, text: 'hello' });
    const own = users.sendMessage(IG, user.igsid, { text: 'two', replyTo: first.mid });
    expect(last()).toEqual(
      messaging('messages', {
        message: { mid: own.mid, text: 'two', reply_to: { mid: first.mid } },
      }),
    );
    expect(own.replyTo).toEqual({ mid: first.mid, isSelfReply: true });
    const toBusiness = users.sendMessage(IG, user.igsid, { text: 'ok', replyTo: business.mid });
    expect(toBusiness.replyTo).toEqual({ mid: business.mid, isSelfReply: false });
  });

  it('taps a quick reply, comes from an ad, sends something unsupported', () => {
    const quick = users.sendMessage(IG, user.igsid, { text: 'Yes', quickReplyPayload: 'YES' });
    expect(last()).toEqual(
      messaging('messages', {
        message: { mid: quick.mid, text: 'Yes', quick_reply: { payload: 'YES' } },
      }),
    );
    const fromAd = users.sendMessage(IG, user.igsid, {
      text: 'Is it available?',
      referral: {
        ref: 'summer',
        adId: '6000000000001',
        source: 'ADS',
        type: 'OPEN_THREAD',
        adsContextData: { adTitle: 'Summer sale', photoUrl: 'https://cdn/ad.jpg' },
      },
    });
    expect(last()).toEqual(
      messaging('messages', {
        message: {
          mid: fromAd.mid,
          text: 'Is it available?',
          referral: {
            ref: 'summer',
            ad_id: '6000000000001',
            source: 'ADS',
            type: 'OPEN_THREAD',
            ads_context_data: { ad_title: 'Summer sale', photo_url: 'https://cdn/ad.jpg' },
          },
        },
      }),
    );
    const unsupported = users.sendMessage(IG, user.igsid, { unsupported: true });
    expect(last()).toEqual(
      messaging('messages', { message: { mid: unsupported.mid, is_unsupported: true } }),
    );
    expect(unsupported.isUnsupported).toBe(true);
    const attachment = users.sendMessage(IG, user.igsid, {
      attachments: [{ type: 'unsupported_type', url: 'https://cdn/x' }],
    });
    expect(last()).toEqual(
      messaging('messages', {
        message: {
          mid: attachment.mid,
          attachments: [{ type: 'unsupported_type', payload: { url: 'https://cdn/x' } }],
        },
      }),
    );
    expect(attachment.isUnsupported).toBe(true);
    expect(() => users.sendMessage(IG, user.igsid, {})).toThrow('sendMessage needs');
  });

  it('reacts and unreacts', () => {
    const business = store.addMessage(IG, user.igsid, { fromId: IG, text: 'hello' });
    store.clock.advance(1000);
    users.react(IG, user.igsid, business.mid);
    expect(last()).toEqual(
      messaging('message_reactions', {
        reaction: { mid: business.mid, action: 'react', reaction: 'love', emoji: '❤' },
      }),
    );
    expect(business.reactions).toEqual([{ userId: user.igsid, reaction: 'love', emoji: '❤' }]);
    users.react(IG, user.igsid, business.mid, '😮');
    expect(last()).toEqual(
      messaging('message_reactions', {
        reaction: { mid: business.mid, action: 'react', reaction: 'wow', emoji: '😮' },
      }),
    );
    expect(business.reactions).toEqual([{ userId: user.igsid, reaction: 'wow', emoji: '😮' }]);
    users.react(IG, user.igsid, business.mid, '🍕');
    expect(business.reactions).toEqual([{ userId: user.igsid, reaction: 'other', emoji: '🍕' }]);
    users.unreact(IG, user.igsid, business.mid);
    expect(last()).toEqual(
      messaging('message_reactions', { reaction: { mid: business.mid, action: 'unreact' } }),
    );
    expect(business.reactions).toEqual([]);
  });

  it('reads', () => {
    const business = store.addMessage(IG, user.igsid, { fromId: IG, text: 'hello' });
    users.read(IG, user.igsid, business.mid);
    expect(last()).toEqual(messaging('messaging_seen', { read: { mid: business.mid } }));
  });

  it('edits, counting the edits', () => {
    const message = users.sendMessage(IG, user.igsid, { text: 'helo' });
    users.edit(IG, user.igsid, message.mid, 'hello');
    expect(last()).toEqual(
      messaging('message_edit', { message_edit: { mid: message.mid, text: 'hello', num_edit: 1 } }),
    );
    users.edit(IG, user.igsid, message.mid, 'hello!');
    expect(last()).toEqual(
      messaging('message_edit', {
        message_edit: { mid: message.mid, text: 'hello!', num_edit: 2 },
      }),
    );
    expect(message.text).toBe('hello!');
  });

  it('reads and edits without sender and recipient, as real deliveries come', () => {
    const message = users.sendMessage(IG, user.igsid, { text: 'helo' });
    const senderless = (field: string, payload: Record<string, unknown>) => ({
      kind: 'messaging',
      igId: IG,
      field,
      payload: JSON.stringify({ timestamp: store.clock.now(), ...payload }),
    });
    users.newMessageEdit(IG, user.igsid, message.mid, { withoutParties: true });
    expect(last()).toEqual(
      senderless('message_edit', { message_edit: { mid: message.mid, num_edit: 0 } }),
    );
    users.read(IG, user.igsid, message.mid, { withoutParties: true });
    expect(last()).toEqual(senderless('messaging_seen', { read: { mid: message.mid } }));
    users.edit(IG, user.igsid, message.mid, 'hello', { withoutParties: true, withoutText: true });
    expect(last()).toEqual(
      senderless('message_edit', { message_edit: { mid: message.mid, num_edit: 1 } }),
    );
    // Without text on the wire, the message itself still changed.
    expect(message.text).toBe('hello');
    users.newMessageEdit(IG, user.igsid, message.mid);
    expect(last()).toEqual(
      messaging('message_edit', { message_edit: { mid: message.mid, num_edit: 0 } }),
    );
  });

  it('unsends', () => {
    const message = users.sendMessage(IG, user.igsid, { text: 'oops' });
    users.delete(IG, user.igsid, message.mid);
    expect(last()).toEqual(
      messaging('messages', { message: { mid: message.mid, is_deleted: true } }),
    );
    expect(message.deleted).toBe(true);
  });

  it('refuses to touch messages of other conversations or other senders', () => {
    const bob = users.userNamed(IG, 'bob');
    const bobs = users.sendMessage(IG, bob.igsid, { text: 'mine' });
    const business = store.addMessage(IG, user.igsid, { fromId: IG, text: 'hello' });
    expect(() => users.react(IG, user.igsid, bobs.mid)).toThrow('no message');
    expect(() => users.edit(IG, user.igsid, business.mid, 'x')).toThrow('is not from');
    expect(() => users.delete(IG, user.igsid, business.mid)).toThrow('is not from');
    expect(() => users.sendMessage(IG, 'nobody', { text: 'x' })).toThrow('no user');
    expect(() => users.sendMessage(IG, user.igsid, { text: 'x', replyTo: bobs.mid })).toThrow(
      'no message',
    );
  });

  it('taps postbacks and gives consent', () => {
    users.postback(IG, user.igsid, { title: 'icebreaker question', payload: 'get_started' });
    expect(last()).toEqual(
      messaging('messaging_postbacks', {
        postback: { title: 'icebreaker question', payload: 'get_started' },
      }),
    );
    expect(user.consented).toBe(true);
    users.postback(IG, user.igsid, { title: 'Start', payload: 'START', mid: 'm-1' });
    expect(last()).toEqual(
      messaging('messaging_postbacks', {
        postback: { mid: 'm-1', title: 'Start', payload: 'START' },
      }),
    );
  });

  it('opens a thread through an ig.me link', () => {
    users.referral(IG, user.igsid, { ref: 'promo', source: 'IGME' });
    expect(last()).toEqual(
      messaging('messaging_referral', {
        referral: { ref: 'promo', source: 'IGME', type: 'OPEN_THREAD' },
      }),
    );
  });

  it('comments and replies to comments', () => {
    const media = store.addMedia(IG, { mediaProductType: 'REELS' });
    const comment = users.comment(IG, media.id, user.igsid, 'Nice!');
    expect(last()).toEqual({
      kind: 'change',
      igId: IG,
      field: 'comments',
      payload: JSON.stringify({
        from: { id: user.igsid, username: 'alice' },
        media: { id: media.id, media_product_type: 'REELS' },
        id: comment.id,
        text: 'Nice!',
      }),
    });
    expect(store.comments.get(comment.id)).toEqual({
      id: comment.id,
      mediaId: media.id,
      accountIgId: IG,
      fromIgsid: user.igsid,
      fromUsername: 'alice',
      text: 'Nice!',
      createdTime: T,
      privateReplyMid: null,
      likeCount: 0,
      hidden: false,
    });
    const reply = users.comment(IG, media.id, user.igsid, 'Me again', comment.id);
    expect(last()?.payload).toBe(
      JSON.stringify({
        from: { id: user.igsid, username: 'alice' },
        media: { id: media.id, media_product_type: 'REELS' },
        id: reply.id,
        parent_id: comment.id,
        text: 'Me again',
      }),
    );
    expect(() => users.comment(IG, 'nope', user.igsid, 'x')).toThrow('no media');
  });
});
