import type { PublishJob } from '../publishing/jobs.ts';
import type { Message } from './message.ts';

/**
 * Inbox events: what one webhook event means, as plain JSON-serialisable data. Built from the
 * webhook body alone (`webhooks/normalise.ts`), or from a Graph read for a message whose webhook
 * never came (`webhooks/reconcile.ts`); carried by the event log and the bus; the schema turns
 * them into GraphQL types. Nothing here knows GraphQL.
 */

/** The kinds of inbox event, as the GraphQL `InboxEventType` names them. */
export type InboxEventKind =
  | 'MESSAGE_RECEIVED'
  | 'MESSAGE_SENT'
  | 'MESSAGE_DELETED'
  | 'MESSAGE_EDITED'
  | 'REACTION_CHANGED'
  | 'MESSAGES_SEEN'
  | 'POSTBACK_RECEIVED'
  | 'REFERRAL_RECEIVED'
  | 'OPTIN_RECEIVED'
  | 'ACCOUNT_STATUS_CHANGED'
  | 'THREAD_CONTROL_CHANGED'
  | 'COMMENT_RECEIVED'
  | 'MENTION_RECEIVED'
  | 'PUBLISH_JOB_CHANGED'
  | 'UNKNOWN';

/** What every inbox event carries. */
export interface InboxEventBase {
  readonly kind: InboxEventKind;
  /**
   * The business account (IG_ID): `entry.id`, or, when that is a placeholder such as the
   * dashboard test's `"0"`, the `recipient.id` of an inbound event or the `sender.id` of an
   * echo. `''` when the body names no account at all (a malformed entry).
   */
  readonly igId: string;
  /**
   * The customer (IGSID): the sender of an inbound event, the recipient of an echo or of an
   * event the account itself raised, the author of a comment. `null` for mentions, the
   * account's own comments, other `changes` and malformed entries.
   */
  readonly igsid: string | null;
  /**
   * When it happened, in ms: the event's `timestamp`, else `entry.time` (seconds for
   * `changes`, ms for `messaging`), else 0 when the body gives no usable time.
   */
  readonly occurredAt: number;
  /**
   * The dedupe key: the same for a redelivery of this event, different for any other event
   * (`<igId>|<kind>|<ids>|<action>|<timestamp>`, see `normalise.ts`; messages and echoes carry
   * no timestamp: their mid is enough, and `messageIdentity` rebuilds it).
   */
  readonly identity: string;
  /** True for events of `entry[].standby[]` (another app holds the thread). */
  readonly standby: boolean;
}

/** What a message event carries: the message, and what only its webhook says of it. */
export interface MessageEventFields {
  readonly message: Message;
  /** `quick_reply.payload` when the customer tapped a quick reply (see `quickReplySource`). */
  readonly quickReplyPayload: string | null;
  /** `message.referral` as received (ads, ig.me links), or `null`. */
  readonly referral: unknown;
  /** A self-messaging test event (`is_self: true`). */
  readonly isSelf: boolean;
}

/** A customer's message (from a webhook, or found by reconciliation). */
export interface MessageReceivedEvent extends InboxEventBase, MessageEventFields {
  readonly kind: 'MESSAGE_RECEIVED';
}

/** The echo of a message the account sent (`is_echo`), from igql or any other app. */
export interface MessageSentEvent extends InboxEventBase, MessageEventFields {
  readonly kind: 'MESSAGE_SENT';
}

/** The customer unsent a message (`message.is_deleted`). */
export interface MessageDeletedEvent extends InboxEventBase {
  readonly kind: 'MESSAGE_DELETED';
  readonly mid: string;
}

/**
 * The customer edited a message (`message_edit` with a `num_edit` other than 0: a 0 comes for
 * brand-new messages and is an UNKNOWN event, see `normalise.ts`). Real deliveries may come
 * without `sender`/`recipient` (`igsid` null) and without text: both are read from the message
 * when asked.
 */
export interface MessageEditedEvent extends InboxEventBase {
  readonly kind: 'MESSAGE_EDITED';
  readonly mid: string;
  /** The new text when the webhook carried it (WHX documents it; real deliveries have none). */
  readonly text: string | null;
  /** `num_edit` (0 when absent). */
  readonly numEdit: number;
}

/** The customer reacted to a message or took the reaction off (`reaction`). */
export interface ReactionChangedEvent extends InboxEventBase {
  readonly kind: 'REACTION_CHANGED';
  readonly mid: string;
  readonly action: 'react' | 'unreact';
  /** `love`, … ; `null` on unreact. */
  readonly reaction: string | null;
  /** `❤`, … ; `null` on unreact. */
  readonly emoji: string | null;
}

/**
 * The customer has seen the conversation up to `mid` (`read`). Real deliveries may come without
 * `sender`/`recipient` (`igsid` null): the customer is then read from the message when asked.
 */
export interface MessagesSeenEvent extends InboxEventBase {
  readonly kind: 'MESSAGES_SEEN';
  readonly mid: string;
}

/** An icebreaker, template button or persistent-menu item was tapped. */
export interface PostbackReceivedEvent extends InboxEventBase {
  readonly kind: 'POSTBACK_RECEIVED';
  /** `null` for icebreakers. */
  readonly mid: string | null;
  readonly title: string | null;
  readonly payload: string | null;
}

/**
 * The customer opened an existing thread through an ig.me link or an ad (top-level `referral`;
 * typed by `referralOf`).
 */
export interface ReferralReceivedEvent extends InboxEventBase {
  readonly kind: 'REFERRAL_RECEIVED';
  readonly ref: string | null;
  readonly source: string | null;
  readonly type: string | null;
  readonly adId: string | null;
  /**
   * `ads_context_data` of an ad referral (instagram-api.md §4); absent from events stored before
   * igql read them (read as null).
   */
  readonly adTitle?: string | null;
  readonly photoUrl?: string | null;
  readonly videoUrl?: string | null;
  readonly postId?: string | null;
}

/** `optin`: its shape is UNCONFIRMED for Instagram Login, so it is kept as received. */
export interface OptinReceivedEvent extends InboxEventBase {
  readonly kind: 'OPTIN_RECEIVED';
  readonly raw: unknown;
}

/**
 * Raised by igql itself, never by a webhook: the account needs a new login, was unsubscribed,
 * or works again.
 */
export interface AccountStatusChangedEvent extends InboxEventBase {
  readonly kind: 'ACCOUNT_STATUS_CHANGED';
  /** For example `REAUTH_REQUIRED`, `UNSUBSCRIBED`, `ACTIVE`. */
  readonly status: string;
  readonly reason: string | null;
}

/**
 * Conversation routing (`messaging_handover`, instagram-api.md §11): control of the thread was
 * passed, taken, or asked for. Owners are Meta app ids.
 */
export interface ThreadControlChangedEvent extends InboxEventBase {
  readonly kind: 'THREAD_CONTROL_CHANGED';
  /** `pass_thread_control`, `take_thread_control` or `request_thread_control`. */
  readonly action: 'PASS' | 'TAKE' | 'REQUEST';
  readonly previousOwnerAppId: string | null;
  readonly newOwnerAppId: string | null;
  /** The app asking for control (`request_thread_control`). */
  readonly requestedOwnerAppId: string | null;
  readonly metadata: string | null;
}

/**
 * A comment on the account's media, or a reply (`comments`; `live_comments` during a live
 * video): built from the change alone (instagram-api.md §4, §13). `igsid` is the commenter, or
 * null when the account wrote it itself (`byAccount`).
 */
export interface CommentReceivedEvent extends InboxEventBase {
  readonly kind: 'COMMENT_RECEIVED';
  readonly commentId: string;
  readonly text: string | null;
  readonly mediaId: string;
  /** `FEED`, `REELS`, `AD`, … as the change says; null when it does not. */
  readonly mediaProductType: string | null;
  /** The top-level comment this one replies to. */
  readonly parentId: string | null;
  readonly fromId: string | null;
  readonly fromUsername: string | null;
  /** The account wrote it (`from.self_ig_scoped_id`, or `from.id` is the account). */
  readonly byAccount: boolean;
  /** It came as `live_comments`: a comment on a live video, answerable privately while live. */
  readonly live: boolean;
  /** Comments on ads carry the ad. */
  readonly adId: string | null;
}

/** The account was @mentioned in a caption or a comment (`mentions`). */
export interface MentionReceivedEvent extends InboxEventBase {
  readonly kind: 'MENTION_RECEIVED';
  readonly mediaId: string;
  /** The comment that mentions the account; null for a caption. */
  readonly commentId: string | null;
}

/**
 * Raised by igql itself: a `publishMedia` job changed status (src/publishing/). Carries the job
 * as it then was.
 */
export interface PublishJobChangedEvent extends InboxEventBase {
  readonly kind: 'PUBLISH_JOB_CHANGED';
  readonly job: PublishJob;
}

/** `changes` (comments, mentions) and anything not understood, kept whole. */
export interface UnknownEvent extends InboxEventBase {
  readonly kind: 'UNKNOWN';
  /** The change's `field`, the key of an unknown messaging payload, or `null`. */
  readonly field: string | null;
  /** That one messaging item, change, or malformed entry, as received. */
  readonly raw: unknown;
}

/** Where a quick reply the customer tapped comes from. */
export type QuickReplySource = 'APP' | 'INSTAGRAM_FAQ';

/**
 * Instagram's own FAQ (set up in the Instagram app, not through the API) answers with a quick
 * reply whose payload starts `3:IB_FIRST_PARTY:` (real capture
 * webhook-messages-quick-reply-first-party-faq-real.json); every other payload is one an app set.
 */
export const quickReplySource = (payload: string): QuickReplySource =>
  payload.startsWith('3:IB_FIRST_PARTY:') ? 'INSTAGRAM_FAQ' : 'APP';

/** The message an event is about, when it names one by mid; null otherwise. */
export function midOf(event: InboxEventData): string | null {
  switch (event.kind) {
    case 'MESSAGE_RECEIVED':
    case 'MESSAGE_SENT':
      return event.message.mid;
    case 'MESSAGE_DELETED':
    case 'MESSAGE_EDITED':
    case 'REACTION_CHANGED':
    case 'MESSAGES_SEEN':
    case 'POSTBACK_RECEIVED':
      return event.mid;
    default:
      return null;
  }
}

/** Any inbox event, by its `kind`. */
export type InboxEventData =
  | MessageReceivedEvent
  | MessageSentEvent
  | MessageDeletedEvent
  | MessageEditedEvent
  | ReactionChangedEvent
  | MessagesSeenEvent
  | PostbackReceivedEvent
  | ReferralReceivedEvent
  | OptinReceivedEvent
  | AccountStatusChangedEvent
  | ThreadControlChangedEvent
  | CommentReceivedEvent
  | MentionReceivedEvent
  | PublishJobChangedEvent
  | UnknownEvent;
