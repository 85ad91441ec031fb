import { digits, newAttachmentId, newCdnSignature, newMediaId } from './ids.ts';
import { broadcasting } from './media.ts';
import type {
  SimAttachment,
  SimComment,
  SimMedia,
  SimMessage,
  SimShare,
  SimUser,
  Store,
} from './store.ts';
import type { WebhookSink } from './webhook-sink.ts';

/** An attachment a user sends, as it appears in the `messages` webhook (instagram-api.md §4). */
export type UserAttachment =
  | { readonly type: 'image' | 'video' | 'audio' | 'file'; readonly url?: string }
  /** The heart sticker: no payload at all (courier like_heart.json). */
  | { readonly type: 'like_heart' }
  | {
      readonly type: 'ig_reel';
      readonly url?: string;
      readonly reelVideoId?: string;
      readonly title?: string;
    }
  /**
   * A shared post: `ig_post` {ig_post_media_id, title, url}. Since 2026-04-27 Instagram no longer
   * sends the legacy `share` attachment for posts (instagram-api.md §10), so neither does this.
   */
  | {
      readonly type: 'ig_post';
      readonly url?: string;
      readonly mediaId?: string;
      /** The post's caption; default: the caption of the simulated media of that id, else ''. */
      readonly title?: string;
    }
  /** The user mentioned the account in a story; `id` is the story's. */
  | { readonly type: 'story_mention'; readonly url?: string; readonly id?: string }
  /** Something the API cannot show (restfb messaging-attachment-unsupported.json). */
  | { readonly type: 'unsupported_type'; readonly url?: string };

/** How a delivery is shaped where Instagram's real deliveries differ from its documentation. */
export interface DeliveryShape {
  /**
   * Leave out `sender` and `recipient`, leaving `timestamp` and the item, as real `read` and
   * `message_edit` deliveries may (captures webhook-messaging-seen-no-sender-real.json,
   * webhook-message-edit-no-sender-reported.json). Default false: the documented shape.
   */
  readonly withoutParties?: boolean;
}

export interface UserMessageContent {
  readonly text?: string;
  readonly attachments?: readonly UserAttachment[];
  /** The mid of the message this one replies to: `reply_to:{mid}`. */
  readonly replyTo?: string;
  /** A reply to one of the account's stories: `reply_to:{story:{url,id}}`. */
  readonly storyReply?: { readonly id: string; readonly url: string };
  /** Shorthand for a `story_mention` attachment. */
  readonly storyMention?: { readonly url?: string; readonly id?: string };
  /** The user tapped a quick reply: `quick_reply:{payload}`. */
  readonly quickReplyPayload?: string;
  /** The conversation started from an ad or a link: `message.referral`. */
  readonly referral?: {
    readonly ref?: string;
    readonly adId?: string;
    readonly source: string;
    readonly type: string;
    readonly adsContextData?: AdsContextData;
  };
  /** A message the API cannot show: `is_unsupported: true`. */
  readonly unsupported?: boolean;
}

/** An ad's `ads_context_data` (WHX; `post_id` is not always sent). */
export interface AdsContextData {
  readonly adTitle?: string;
  readonly photoUrl?: string;
  readonly videoUrl?: string;
  readonly postId?: string;
}

/** `ads_context_data` in WHX's key order, leaving out what is not given. */
const adsContextWire = (ads: AdsContextData): Record<string, string> => ({
  ...(ads.adTitle === undefined ? {} : { ad_title: ads.adTitle }),
  ...(ads.photoUrl === undefined ? {} : { photo_url: ads.photoUrl }),
  ...(ads.videoUrl === undefined ? {} : { video_url: ads.videoUrl }),
  ...(ads.postId === undefined ? {} : { post_id: ads.postId }),
});

/**
 * Messenger's reaction names and their emoji. Instagram's webhooks report `love` with `❤`
 * (Postman); UNCONFIRMED: the names Instagram uses for other emoji. We follow Messenger's list
 * and call any other emoji `other`.
 */
const REACTIONS: Readonly<Record<string, string>> = {
  love: '❤',
  smile: '😆',
  wow: '😮',
  sad: '😢',
  angry: '😡',
  like: '👍',
  dislike: '👎',
};

/** Whether a text @mentions the username (not as part of a longer name). */
const mentions = (text: string, username: string): boolean =>
  new RegExp(`(^|[^\\w.])@${username.replace(/[.]/g, '\\.')}(?![\\w]|\\.\\w)`, 'i').test(text);

/** A lookaside CDN URL like the ones real attachment payloads carry. */
const cdnUrl = () =>
  `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${digits(17)}&signature=${newCdnSignature()}`;

/**
 * What simulated Instagram users do: each action changes the store and raises the webhook event
 * Meta would send, built as in instagram-api.md §4 (event keys `sender`, `recipient`,
 * `timestamp`, then the payload; `timestamp` in ms from the store's clock).
 */
export class UserActions {
  private readonly store: Store;
  private readonly webhooks: WebhookSink;
  /** Edits per mid, for `num_edit`. */
  private readonly edits = new Map<string, number>();

  /** `webhooks`: where the events go, the `WebhookDispatcher` or a recorder in tests. */
  constructor(store: Store, webhooks: WebhookSink) {
    this.store = store;
    this.webhooks = webhooks;
  }

  /** The account's user with this username, created on first use. */
  userNamed(igId: string, username: string): SimUser {
    this.account(igId);
    return this.store.userByUsername(igId, username) ?? this.store.addUser(igId, { username });
  }

  /** The user writes to the account (field `messages`). */
  sendMessage(igId: string, igsid: string, content: UserMessageContent): SimMessage {
    const user = this.user(igId, igsid);
    const wire = [...(content.attachments ?? [])];
    if (content.storyMention) wire.push({ type: 'story_mention', ...content.storyMention });
    if (content.text === undefined && wire.length === 0 && !content.unsupported) {
      throw new Error('sendMessage needs text, an attachment, a story mention or unsupported');
    }
    const attachments: SimAttachment[] = [];
    const shares: SimShare[] = [];
    let story: SimMessage['story'];
    let unsupported = content.unsupported ?? false;
    const payloads: Record<string, unknown>[] = [];
    for (const item of wire) {
      switch (item.type) {
        case 'like_heart':
          // UNCONFIRMED: what the Graph message shows for the heart; we keep a sticker-like item.
          attachments.push({ type: 'like_heart', id: newAttachmentId(), url: cdnUrl() });
          payloads.push({ type: 'like_heart' });
          break;
        case 'ig_reel': {
          const url = item.url ?? cdnUrl();
          const id = item.reelVideoId ?? newMediaId();
          shares.push({ link: url, kind: 'reel', mediaId: id });
          payloads.push({
            type: 'ig_reel',
            payload: { reel_video_id: id, title: item.title ?? '', url },
          });
          break;
        }
        case 'ig_post': {
          const url = item.url ?? cdnUrl();
          const id = item.mediaId ?? newMediaId();
          shares.push({ link: url, kind: 'post', mediaId: id });
          // webhooks/new: the payload carries the media id, the caption as `title`, and the url.
          const title = item.title ?? this.store.media.get(id)?.caption ?? '';
          payloads.push({ type: 'ig_post', payload: { ig_post_media_id: id, title, url } });
          break;
        }
        case 'story_mention': {
          const url = item.url ?? cdnUrl();
          story = { kind: 'mention', id: item.id ?? newMediaId(), link: url };
          payloads.push({ type: 'story_mention', payload: { url } });
          break;
        }
        case 'unsupported_type': {
          unsupported = true;
          payloads.push({ type: 'unsupported_type', payload: { url: item.url ?? cdnUrl() } });
          break;
        }
        default: {
          const url = item.url ?? cdnUrl();
          attachments.push({ type: item.type, id: newAttachmentId(), url });
          payloads.push({ type: item.type, payload: { url } });
        }
      }
    }
    if (content.storyReply) {
      story = { kind: 'reply_to', id: content.storyReply.id, link: content.storyReply.url };
    }
    const repliedTo =
      content.replyTo === undefined ? undefined : this.message(content.replyTo, igId, igsid);
    const message = this.store.addMessage(igId, igsid, {
      fromId: igsid,
      text: content.text ?? '',
      attachments,
      shares,
      story,
      replyTo: repliedTo && { mid: repliedTo.mid, isSelfReply: repliedTo.fromId === igsid },
      isUnsupported: unsupported,
    });
    user.consented = true;

    // Keys in WHX's order: mid, text, attachments, is_unsupported, quick_reply, reply_to, referral.
    const wireMessage: Record<string, unknown> = { mid: message.mid };
    if (content.text !== undefined) wireMessage.text = content.text;
    if (payloads.length > 0) wireMessage.attachments = payloads;
    if (content.unsupported) wireMessage.is_unsupported = true;
    if (content.quickReplyPayload !== undefined) {
      wireMessage.quick_reply = { payload: content.quickReplyPayload };
    }
    if (repliedTo) wireMessage.reply_to = { mid: repliedTo.mid };
    else if (content.storyReply) {
      wireMessage.reply_to = { story: { url: content.storyReply.url, id: content.storyReply.id } };
    }
    if (content.referral) {
      const { ref, adId, source, type, adsContextData: ads } = content.referral;
      wireMessage.referral = {
        ...(ref === undefined ? {} : { ref }),
        ...(adId === undefined ? {} : { ad_id: adId }),
        source,
        type,
        ...(ads && { ads_context_data: adsContextWire(ads) }),
      };
    }
    this.raise(igId, igsid, 'messages', { message: wireMessage }, message.createdTime);
    return message;
  }

  /**
   * The user reacts to a message (field `message_reactions`). `reaction` is a Messenger reaction
   * name (`love`, `smile`, …) or an emoji; one reaction per user, a new one replaces the old.
   */
  react(igId: string, igsid: string, mid: string, reaction = 'love'): void {
    this.user(igId, igsid);
    const message = this.message(mid, igId, igsid);
    const named = REACTIONS[reaction];
    const name = named
      ? reaction
      : (Object.keys(REACTIONS).find((k) => REACTIONS[k] === reaction) ?? 'other');
    const emoji = named ?? reaction;
    message.reactions = [
      ...message.reactions.filter((r) => r.userId !== igsid),
      { userId: igsid, reaction: name, emoji },
    ];
    this.raise(igId, igsid, 'message_reactions', {
      reaction: { mid, action: 'react', reaction: name, emoji },
    });
  }

  /** The user removes their reaction: `reaction:{mid, action:'unreact'}` only. */
  unreact(igId: string, igsid: string, mid: string): void {
    this.user(igId, igsid);
    const message = this.message(mid, igId, igsid);
    message.reactions = message.reactions.filter((r) => r.userId !== igsid);
    this.raise(igId, igsid, 'message_reactions', { reaction: { mid, action: 'unreact' } });
  }

  /** The user has seen the conversation up to `mid` (field `messaging_seen`). */
  read(igId: string, igsid: string, mid: string, shape: DeliveryShape = {}): void {
    this.user(igId, igsid);
    this.message(mid, igId, igsid);
    this.raise(igId, igsid, 'messaging_seen', { read: { mid } }, undefined, shape);
  }

  /**
   * The user edits one of their messages (field `message_edit`). WHX documents `text`; real
   * deliveries carry none (`shape.withoutText`). Edits are counted from 1: the only 0 seen
   * came for a brand-new message (`newMessageEdit`), so whether a first edit is 0 or 1 is
   * UNCONFIRMED.
   */
  edit(
    igId: string,
    igsid: string,
    mid: string,
    text: string,
    shape: DeliveryShape & { readonly withoutText?: boolean } = {},
  ): void {
    this.user(igId, igsid);
    const message = this.own(mid, igId, igsid);
    message.text = text;
    const numEdit = (this.edits.get(mid) ?? 0) + 1;
    this.edits.set(mid, numEdit);
    const edit = shape.withoutText ? { mid, num_edit: numEdit } : { mid, text, num_edit: numEdit };
    this.raise(igId, igsid, 'message_edit', { message_edit: edit }, undefined, shape);
  }

  /**
   * The `message_edit{mid, num_edit: 0}` Instagram was reported to send for a brand-new message,
   * besides its `messages` event (webhook-message-edit-no-sender-reported.json, sent without
   * sender and recipient). Not sent on its own by `sendMessage`: how often it comes is
   * UNCONFIRMED, so tests ask for it.
   */
  newMessageEdit(igId: string, igsid: string, mid: string, shape: DeliveryShape = {}): void {
    this.user(igId, igsid);
    this.own(mid, igId, igsid);
    this.raise(
      igId,
      igsid,
      'message_edit',
      { message_edit: { mid, num_edit: 0 } },
      undefined,
      shape,
    );
  }

  /** The user unsends one of their messages: `message:{mid, is_deleted:true}` (field `messages`). */
  delete(igId: string, igsid: string, mid: string): void {
    this.user(igId, igsid);
    const message = this.own(mid, igId, igsid);
    message.deleted = true;
    this.raise(igId, igsid, 'messages', { message: { mid, is_deleted: true } });
  }

  /**
   * The user taps an icebreaker, a template button or a persistent-menu item (field
   * `messaging_postbacks`); icebreakers come without `mid` (courier icebreaker_get_started.json).
   */
  postback(
    igId: string,
    igsid: string,
    postback: { readonly title: string; readonly payload: string; readonly mid?: string },
  ): void {
    const user = this.user(igId, igsid);
    user.consented = true;
    const { mid, title, payload } = postback;
    this.raise(igId, igsid, 'messaging_postbacks', {
      postback: { ...(mid === undefined ? {} : { mid }), title, payload },
    });
  }

  /** The user opens an existing thread through an ig.me link (field `messaging_referral`). */
  referral(
    igId: string,
    igsid: string,
    referral: { readonly ref: string; readonly source: string; readonly type?: 'OPEN_THREAD' },
  ): void {
    this.user(igId, igsid);
    const { ref, source, type = 'OPEN_THREAD' } = referral;
    this.raise(igId, igsid, 'messaging_referral', { referral: { ref, source, type } });
  }

  /**
   * The user taps a Click-to-Instagram-Direct ad and opens an existing thread (field
   * `messaging_referral`), exactly WHX's shape: `{ref?, ad_id, source: "ADS", type:
   * "OPEN_THREAD", ads_context_data: {ad_title, photo_url?, video_url?, post_id?}}`. (A new
   * thread's first message carries the same object as `message.referral`: `sendMessage`.)
   */
  adReferral(
    igId: string,
    igsid: string,
    ad: { readonly adId: string; readonly ref?: string; readonly adsContextData: AdsContextData },
  ): void {
    this.user(igId, igsid);
    this.raise(igId, igsid, 'messaging_referral', {
      referral: {
        ...(ad.ref === undefined ? {} : { ref: ad.ref }),
        ad_id: ad.adId,
        source: 'ADS',
        type: 'OPEN_THREAD',
        ads_context_data: adsContextWire(ad.adsContextData),
      },
    });
  }

  /**
   * The user comments on a media, or replies to `parentId` (a reply to a reply goes to its
   * top-level comment). On the account's media: field `comments`, or `live_comments` on a live
   * video still broadcast (an ended one takes no comments). On another user's media (`post`):
   * no comment webhook, and `mentions` `{comment_id, media_id}` when the text @mentions the
   * account. Instagram mentions are of the account by "another Instagram user" on media that is
   * not the account's (Mentions reference); whether an @mention in a comment on the account's
   * own media raises `mentions` too is UNCONFIRMED: strict, only `comments` comes.
   */
  comment(
    igId: string,
    mediaId: string,
    igsid: string,
    text: string,
    parentId?: string,
  ): SimComment {
    const user = this.user(igId, igsid);
    const account = this.account(igId);
    const media = this.store.media.get(mediaId);
    const owner = media && this.store.users.get(media.accountIgId);
    const own = media?.accountIgId === igId;
    if (!media || (!own && owner?.accountIgId !== igId)) {
      throw new Error(`no media ${mediaId} on account ${igId} or its users`);
    }
    if (media.mediaProductType === 'LIVE' && !broadcasting(this.store, media)) {
      throw new Error(`the live video ${mediaId} ended`);
    }
    const parent = parentId === undefined ? undefined : this.store.comments.get(parentId);
    if (parentId !== undefined && parent?.mediaId !== mediaId) {
      throw new Error(`no comment ${parentId} on media ${mediaId}`);
    }
    const topId = parent?.parentId ?? parent?.id;
    const comment = this.store.addComment(mediaId, {
      fromIgsid: igsid,
      fromUsername: user.username,
      text,
      ...(topId === undefined ? {} : { parentId: topId }),
    });
    if (own) {
      const live = media.mediaProductType === 'LIVE';
      this.webhooks.change(igId, live ? 'live_comments' : 'comments', {
        from: { id: igsid, username: user.username },
        media: { id: media.id, media_product_type: media.mediaProductType },
        id: comment.id,
        ...(topId === undefined ? {} : { parent_id: topId }),
        text,
      });
    } else if (mentions(text, account.username)) {
      this.webhooks.change(igId, 'mentions', { comment_id: comment.id, media_id: media.id });
    }
    return comment;
  }

  /**
   * The user publishes a post of their own (a media owned by them, not the account); a caption
   * that @mentions the account raises `mentions` `{media_id}`. Others then comment on it with
   * `comment`.
   */
  post(igId: string, igsid: string, caption: string): SimMedia {
    this.user(igId, igsid);
    const account = this.account(igId);
    const media = this.store.addMedia(igsid, { caption });
    if (mentions(caption, account.username)) {
      this.webhooks.change(igId, 'mentions', { media_id: media.id });
    }
    return media;
  }

  private raise(
    igId: string,
    igsid: string,
    field: string,
    payload: Record<string, unknown>,
    timestamp = this.store.clock.now(),
    shape: DeliveryShape = {},
  ): void {
    const parties = shape.withoutParties ? {} : { sender: { id: igsid }, recipient: { id: igId } };
    this.webhooks.messaging(igId, field, { ...parties, timestamp, ...payload });
  }

  private account(igId: string) {
    const account = this.store.accounts.get(igId);
    if (!account) throw new Error(`no account ${igId}`);
    return account;
  }

  private user(igId: string, igsid: string): SimUser {
    this.account(igId);
    const user = this.store.users.get(igsid);
    if (user?.accountIgId !== igId) throw new Error(`no user ${igsid} on account ${igId}`);
    return user;
  }

  /** A message; with `igId` and `igsid`, one of their conversation. */
  private message(mid: string, igId?: string, igsid?: string): SimMessage {
    const message = this.store.messages.get(mid);
    const conversation = message && this.store.conversations.get(message.conversationId);
    const inThread =
      igId === undefined ||
      (conversation?.accountIgId === igId && conversation.userIgsid === igsid);
    if (!message || !inThread) throw new Error(`no message ${mid} in this conversation`);
    return message;
  }

  /** One of the user's own messages. */
  private own(mid: string, igId: string, igsid: string): SimMessage {
    const message = this.message(mid, igId, igsid);
    if (message.fromId !== igsid) throw new Error(`message ${mid} is not from ${igsid}`);
    return message;
  }
}
