import { mayUse } from '../auth/access.ts';
import { badUserInput, fromUpstream, notFound, unauthenticated } from '../errors.ts';
import { decodeId } from '../global-id.ts';
import {
  type InboxEventData,
  type InboxEventKind,
  midOf,
  quickReplySource,
} from '../inbox/events.ts';
import { referralOf, referralOfEvent } from '../inbox/referral.ts';
import { InstagramError } from '../instagram/errors.ts';
import { messageFields } from '../instagram/fields.ts';
import type { GraphConversation, GraphList } from '../instagram/graph.ts';
import { reportExecuted, sharedExecution } from '../pubsub/groups.ts';
import type { LogEntry } from '../pubsub/log.ts';
import { deadlines } from '../timers.ts';
import { Account } from './account.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { Conversation, toConversation } from './conversation.ts';
import { requireSession } from './errors.ts';
import { Message, toMessage } from './message.ts';
import { Participant, type ParticipantShape } from './participant.ts';
import { Referral } from './referral.ts';
import { ownerOf, ThreadOwner } from './thread-owner.ts';

export type EventOf<K extends InboxEventKind> = LogEntry & {
  readonly event: Extract<InboxEventData, { kind: K }>;
};

const KINDS = [
  'MESSAGE_RECEIVED',
  'MESSAGE_SENT',
  'MESSAGE_DELETED',
  'MESSAGE_EDITED',
  'REACTION_CHANGED',
  'MESSAGES_SEEN',
  'POSTBACK_RECEIVED',
  'REFERRAL_RECEIVED',
  'OPTIN_RECEIVED',
  'ACCOUNT_STATUS_CHANGED',
  'THREAD_CONTROL_CHANGED',
  'COMMENT_RECEIVED',
  'MENTION_RECEIVED',
  'PUBLISH_JOB_CHANGED',
  'UNKNOWN',
] as const satisfies readonly InboxEventKind[];

const KIND_DESCRIPTIONS: Readonly<Record<InboxEventKind, string>> = {
  MESSAGE_RECEIVED: 'A customer wrote to the account: `MessageReceivedEvent`.',
  MESSAGE_SENT: 'The account sent a message: `MessageSentEvent`.',
  MESSAGE_DELETED: 'The customer unsent a message: `MessageDeletedEvent`.',
  MESSAGE_EDITED: 'The customer edited a message: `MessageEditedEvent`.',
  REACTION_CHANGED: 'The customer reacted or took a reaction off: `ReactionChangedEvent`.',
  MESSAGES_SEEN: 'The customer saw the conversation: `MessagesSeenEvent`.',
  POSTBACK_RECEIVED: 'The customer tapped a button or menu item: `PostbackReceivedEvent`.',
  REFERRAL_RECEIVED: 'The customer came through an ig.me link or an ad: `ReferralReceivedEvent`.',
  OPTIN_RECEIVED: 'The customer opted in to messages: `OptinReceivedEvent`.',
  ACCOUNT_STATUS_CHANGED: 'The account’s status changed: `AccountStatusChangedEvent`.',
  THREAD_CONTROL_CHANGED:
    'Control of a conversation was passed, taken or asked for: `ThreadControlChangedEvent`.',
  COMMENT_RECEIVED: 'Someone commented on the account’s media: `CommentReceivedEvent`.',
  MENTION_RECEIVED: 'Someone @mentioned the account: `MentionReceivedEvent`.',
  PUBLISH_JOB_CHANGED: 'A `publishMedia` job changed status: `PublishJobChangedEvent`.',
  UNKNOWN: 'Anything igql does not model yet: `UnknownEvent`.',
};

const InboxEventType = builder.enumType('InboxEventType', {
  description: 'The kinds of inbox event, to filter `inboxEvents`.',
  values: Object.fromEntries(
    KINDS.map((kind) => [kind, { description: KIND_DESCRIPTIONS[kind] }]),
  ) as Record<(typeof KINDS)[number], { description: string }>,
});

/** The event's message; what its source lacks (a username) resolves on demand. */
const messageOf = (e: EventOf<'MESSAGE_RECEIVED' | 'MESSAGE_SENT'>) =>
  toMessage(e.event.igId, e.event.igsid ?? '', e.event.message);

/** Why an event has no customer: the values of the GraphQL `CustomerMissingReason`. */
type CustomerMissing = 'ACCOUNT_WIDE' | 'MESSAGE_UNAVAILABLE' | 'NOT_NAMED';

const CustomerMissingReason = builder.enumType('CustomerMissingReason', {
  description: 'Why an event names no `customer`.',
  values: {
    ACCOUNT_WIDE: {
      description:
        'The event concerns the account as a whole: a status change, or an event igql does not model such as a comment.',
    },
    MESSAGE_UNAVAILABLE: {
      description:
        'Instagram sent the event without its sender (it does for some reads and edits), and the message it names can no longer be read to find them: unsent, past the conversation’s 20 newest, or naming no one but the account.',
    },
    NOT_NAMED: {
      description:
        'Instagram sent the event without its sender and without a message to find them by.',
    },
  } as const satisfies Record<CustomerMissing, { description: string }>,
});

type CustomerLookup =
  | { readonly customer: ParticipantShape; readonly missing?: undefined }
  | { readonly customer?: undefined; readonly missing: CustomerMissing };

/** `f` of a value, or of a promised one, without a promise where there was none. */
const then = <T, U>(value: T | Promise<T>, f: (value: T) => U): U | Promise<U> =>
  value instanceof Promise ? value.then(f) : f(value);

/** Instagram answers that a message cannot be read (any more). */
const unavailable = (error: unknown) =>
  error instanceof InstagramError && ['not_found', 'message_too_old'].includes(error.kind);

/**
 * The event's customer: the one its webhook named, else the one its message names (one read per
 * mid and request, `RequestLoaders.messageCustomer`), else why there is none. Instagram failing
 * otherwise is a GraphQL error.
 */
function customerLookup(entry: LogEntry, ctx: Context): CustomerLookup | Promise<CustomerLookup> {
  const { igId, igsid, kind } = entry.event;
  // Not async where the webhook named the customer: most events, resolved at once.
  if (igsid) return { customer: { igId, igsid } };
  const mid = midOf(entry.event);
  if (mid === null) {
    const wide =
      kind === 'ACCOUNT_STATUS_CHANGED' ||
      kind === 'UNKNOWN' ||
      kind === 'MENTION_RECEIVED' ||
      kind === 'COMMENT_RECEIVED' ||
      kind === 'PUBLISH_JOB_CHANGED';
    return { missing: wide ? 'ACCOUNT_WIDE' : 'NOT_NAMED' };
  }
  return customerOfMessage(igId, mid, ctx);
}

async function customerOfMessage(igId: string, mid: string, ctx: Context): Promise<CustomerLookup> {
  try {
    const user = await ctx.loaders.messageCustomer(igId, mid);
    if (!user) return { missing: 'MESSAGE_UNAVAILABLE' };
    return { customer: { igId, igsid: user.id, username: user.username } };
  } catch (error) {
    if (unavailable(error)) return { missing: 'MESSAGE_UNAVAILABLE' };
    throw fromUpstream(error, 'Message');
  }
}

/**
 * Whether an event belongs to the conversation with `customer`: its customer is that one, named
 * by the event or, for a sender-less one, by its message. An event whose customer cannot be told
 * (see `CustomerMissingReason`; the read failed) belongs to no conversation: it still reaches
 * every subscription without a conversation filter, never another conversation's.
 */
async function concerns(entry: LogEntry, customer: string, ctx: Context): Promise<boolean> {
  if (entry.event.igsid) return entry.event.igsid === customer;
  const found = await Promise.resolve(customerLookup(entry, ctx)).catch(() => undefined);
  return found?.customer?.igsid === customer;
}

export const InboxEvent = builder.interfaceRef<LogEntry>('InboxEvent').implement({
  description: 'Something that happened in an account’s inbox, live.',
  resolveType: (entry) => TYPE_NAMES[entry.event.kind],
  fields: (t) => ({
    cursor: t.string({
      description: 'Pass it as `after` when resubscribing to receive what happened since.',
      resolve: (e) => e.cursor,
    }),
    type: t.field({
      type: InboxEventType,
      description: 'What kind of event it is, as `types` filters it.',
      resolve: (e) => e.event.kind,
    }),
    account: t.field({
      type: Account,
      description: 'The account whose inbox it happened in.',
      resolve: (e) => ({ kind: 'Account' as const, igId: e.event.igId }),
    }),
    occurredAt: t.field({
      type: 'DateTime',
      description:
        'When it happened: the webhook’s time, to the millisecond (igql’s clock for its own events). Webhooks without a time in a sane range are refused at the door.',
      resolve: (e) => new Date(e.event.occurredAt),
    }),
    standby: t.boolean({
      description: 'Another app holds the conversation (Instagram sent it as standby).',
      resolve: (e) => e.event.standby,
    }),
    customer: t.field({
      type: Participant,
      nullable: true,
      description:
        'The customer the event concerns. When Instagram’s webhook leaves its sender out (some reads and edits), read from the message it names (one read per message); null when it cannot be told, and `customerMissingReason` says why.',
      resolve: (e, _args, ctx) => then(customerLookup(e, ctx), (found) => found.customer ?? null),
    }),
    customerMissingReason: t.field({
      type: CustomerMissingReason,
      nullable: true,
      description: 'Why `customer` is null; null when it is known.',
      resolve: (e, _args, ctx) => then(customerLookup(e, ctx), (found) => found.missing ?? null),
    }),
  }),
});

const TYPE_NAMES: Readonly<Record<InboxEventKind, string>> = {
  MESSAGE_RECEIVED: 'MessageReceivedEvent',
  MESSAGE_SENT: 'MessageSentEvent',
  MESSAGE_DELETED: 'MessageDeletedEvent',
  MESSAGE_EDITED: 'MessageEditedEvent',
  REACTION_CHANGED: 'ReactionChangedEvent',
  MESSAGES_SEEN: 'MessagesSeenEvent',
  POSTBACK_RECEIVED: 'PostbackReceivedEvent',
  REFERRAL_RECEIVED: 'ReferralReceivedEvent',
  OPTIN_RECEIVED: 'OptinReceivedEvent',
  ACCOUNT_STATUS_CHANGED: 'AccountStatusChangedEvent',
  THREAD_CONTROL_CHANGED: 'ThreadControlChangedEvent',
  COMMENT_RECEIVED: 'CommentReceivedEvent',
  MENTION_RECEIVED: 'MentionReceivedEvent',
  PUBLISH_JOB_CHANGED: 'PublishJobChangedEvent',
  UNKNOWN: 'UnknownEvent',
};

/** The conversation with the event's customer: `GET /me/conversations?user_id=…`, on demand. */
async function conversationOf(entry: LogEntry, ctx: Context) {
  const { igId, igsid } = entry.event;
  if (!igsid) return null;
  try {
    const page: GraphList<GraphConversation> = await ctx.loaders.conversations(igId, {
      limit: 1,
      userId: igsid,
      fields: 'id,participants,updated_time',
    });
    const data = page.data[0];
    return data ? toConversation(igId, data, { needs: { updatedTime: true } }) : null;
  } catch (error) {
    throw fromUpstream(error, 'Conversation');
  }
}

const QuickReplySourceEnum = builder.enumType('QuickReplySource', {
  description: 'Where a quick reply the customer tapped comes from.',
  values: {
    APP: { description: 'A quick reply an app sent (through igql or another app).' },
    INSTAGRAM_FAQ: {
      description:
        'A question of the FAQ set up in the Instagram app itself (its payload starts `3:IB_FIRST_PARTY:`).',
    },
  } as const,
});

interface QuickReplyShape {
  readonly payload: string;
}

const QuickReply = builder.objectRef<QuickReplyShape>('QuickReply').implement({
  description: 'The quick reply the customer tapped.',
  fields: (t) => ({
    payload: t.string({
      description: 'Its payload, as the app (or Instagram, for its FAQ) set it.',
      resolve: (q) => q.payload,
    }),
    source: t.field({
      type: QuickReplySourceEnum,
      description: 'Whether an app or Instagram’s own FAQ offered it.',
      resolve: (q) => quickReplySource(q.payload),
    }),
  }),
});

const MessageReceivedEvent = builder
  .objectRef<EventOf<'MESSAGE_RECEIVED'>>('MessageReceivedEvent')
  .implement({
    description: 'A customer wrote to the account.',
    interfaces: [InboxEvent],
    fields: (t) => ({
      message: t.field({
        type: Message,
        description:
          'The message, built from the webhook alone; the sender’s profile fields are read from Instagram when asked.',
        resolve: messageOf,
      }),
      conversation: t.field({
        type: Conversation,
        nullable: true,
        description: 'Read from Instagram when asked (webhooks do not name the conversation).',
        resolve: (e, _args, ctx) => conversationOf(e, ctx),
      }),
      quickReplyPayload: t.string({
        nullable: true,
        description:
          'The `payload` of the quick reply the customer tapped; null when the message answers none.',
        resolve: (e) => e.event.quickReplyPayload,
      }),
      quickReply: t.field({
        type: QuickReply,
        nullable: true,
        description:
          'The quick reply the customer tapped, with where it comes from (an app, or Instagram’s FAQ); null when the message answers none.',
        resolve: (e) =>
          e.event.quickReplyPayload === null ? null : { payload: e.event.quickReplyPayload },
      }),
      referral: t.field({
        type: 'JSON',
        nullable: true,
        description:
          'The ad or ig.me link the message came from (`ref`, `ad_id`, `source`, `type`…), as Instagram sent it; null when none. Typed: `adReferral`.',
        resolve: (e) => e.event.referral ?? null,
      }),
      adReferral: t.field({
        type: Referral,
        nullable: true,
        description:
          'The ad (Click to Instagram Direct) or ig.me link the message came from, typed; null when none. The first of a conversation stays as `Conversation.origin`.',
        resolve: (e) => referralOf(e.event.referral),
      }),
    }),
  });

builder.objectRef<EventOf<'MESSAGE_SENT'>>('MessageSentEvent').implement({
  description: 'The account sent a message (from igql or any other app): Instagram’s echo.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    message: t.field({
      type: Message,
      description: 'The message the account sent, built from the echo alone.',
      resolve: messageOf,
    }),
    conversation: t.field({
      type: Conversation,
      nullable: true,
      description: 'Read from Instagram when asked (webhooks do not name the conversation).',
      resolve: (e, _args, ctx) => conversationOf(e, ctx),
    }),
  }),
});

builder.objectRef<EventOf<'MESSAGE_DELETED'>>('MessageDeletedEvent').implement({
  description: 'The customer unsent a message.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mid: t.string({
      description: 'Instagram’s id of the message that was unsent.',
      resolve: (e) => e.event.mid,
    }),
  }),
});

/**
 * An edit's new text: the webhook's, else the message's as Instagram gives it now (real edits
 * carry no text), combined with the read of its customer; null when it cannot be read any more.
 */
async function editedText(e: EventOf<'MESSAGE_EDITED'>, ctx: Context): Promise<string | null> {
  if (e.event.text !== null) return e.event.text;
  try {
    const data = await ctx.loaders.message(
      e.event.igId,
      e.event.mid,
      messageFields({ text: true }),
    );
    return data.message ? data.message : null;
  } catch (error) {
    if (unavailable(error)) return null;
    throw fromUpstream(error, 'Message');
  }
}

builder.objectRef<EventOf<'MESSAGE_EDITED'>>('MessageEditedEvent').implement({
  description:
    'The customer edited a message. (Instagram also sends an “edit” numbered 0 for brand-new messages: that is no edit, and arrives as an `UnknownEvent` of field `message_edit`.)',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mid: t.string({
      description: 'Instagram’s id of the message that was edited.',
      resolve: (e) => e.event.mid,
    }),
    text: t.string({
      nullable: true,
      description:
        'The new text: the webhook’s, else read from Instagram when asked (real edit webhooks carry none); null when the message can no longer be read.',
      resolve: (e, _args, ctx) => editedText(e, ctx),
    }),
    numEdit: t.int({
      description: 'How many times it was edited (Instagram’s `num_edit`; 0 when not given).',
      resolve: (e) => e.event.numEdit,
    }),
  }),
});

const ReactionAction = builder.enumType('ReactionAction', {
  description: 'Whether a reaction was put on a message or taken off.',
  values: {
    REACT: { description: 'The customer reacted to the message.' },
    UNREACT: { description: 'The customer took their reaction off the message.' },
  } as const,
});

builder.objectRef<EventOf<'REACTION_CHANGED'>>('ReactionChangedEvent').implement({
  description: 'The customer reacted to a message, or took the reaction off.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mid: t.string({
      description: 'Instagram’s id of the message reacted to.',
      resolve: (e) => e.event.mid,
    }),
    action: t.field({
      type: ReactionAction,
      description: 'Whether the reaction was put on or taken off.',
      resolve: (e) => (e.event.action === 'react' ? 'REACT' : 'UNREACT'),
    }),
    reaction: t.string({
      nullable: true,
      description: 'As Instagram names it, such as `love`; null for UNREACT.',
      resolve: (e) => e.event.reaction,
    }),
    emoji: t.string({
      nullable: true,
      description: 'The emoji shown, such as ❤️; null for UNREACT.',
      resolve: (e) => e.event.emoji,
    }),
  }),
});

builder.objectRef<EventOf<'MESSAGES_SEEN'>>('MessagesSeenEvent').implement({
  description: 'The customer saw the conversation up to a message.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mid: t.string({ description: 'The last message seen.', resolve: (e) => e.event.mid }),
  }),
});

builder.objectRef<EventOf<'POSTBACK_RECEIVED'>>('PostbackReceivedEvent').implement({
  description: 'The customer tapped an icebreaker, a template button or a menu item.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mid: t.string({
      nullable: true,
      description: 'Instagram’s `mid` of the postback; null for icebreakers.',
      resolve: (e) => e.event.mid,
    }),
    title: t.string({
      nullable: true,
      description: 'The title of what was tapped; null when Instagram gives none.',
      resolve: (e) => e.event.title,
    }),
    payload: t.string({
      nullable: true,
      description:
        'The payload the account set on what was tapped; null when Instagram gives none.',
      resolve: (e) => e.event.payload,
    }),
  }),
});

builder.objectRef<EventOf<'REFERRAL_RECEIVED'>>('ReferralReceivedEvent').implement({
  description: 'The customer came back through an ig.me link or an ad.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    ref: t.string({
      nullable: true,
      description: 'The `ref` parameter of the link or ad; null when it has none.',
      resolve: (e) => e.event.ref,
    }),
    source: t.string({
      nullable: true,
      description:
        'Where the customer came from, as Instagram names it (such as `ADS`); null when not given.',
      resolve: (e) => e.event.source,
    }),
    referralType: t.string({
      nullable: true,
      description: 'Instagram’s referral `type`, such as `OPEN_THREAD`; null when not given.',
      resolve: (e) => e.event.type,
    }),
    adId: t.string({
      nullable: true,
      description: 'The ad’s id when the customer came through an ad; null otherwise.',
      resolve: (e) => e.event.adId,
    }),
    adTitle: t.string({
      nullable: true,
      description: 'The ad’s title (`ads_context_data.ad_title`); null when not given.',
      resolve: (e) => e.event.adTitle ?? null,
    }),
    photoUrl: t.string({
      nullable: true,
      description: 'The ad’s image (a CDN URL that expires); null when not given.',
      resolve: (e) => e.event.photoUrl ?? null,
    }),
    videoUrl: t.string({
      nullable: true,
      description: 'The ad’s video (a CDN URL that expires); null when not given.',
      resolve: (e) => e.event.videoUrl ?? null,
    }),
    postId: t.string({
      nullable: true,
      description: 'The Instagram post the ad promotes; null when not given.',
      resolve: (e) => e.event.postId ?? null,
    }),
    referral: t.field({
      type: Referral,
      // Nullable as `MessageReceivedEvent.referral`, so that both may be selected side by side.
      nullable: true,
      description:
        'The same referral as one object, as `MessageReceivedEvent.referral` and `Conversation.origin` give it (never null here).',
      resolve: (e) => referralOfEvent(e.event),
    }),
  }),
});

builder.objectRef<EventOf<'OPTIN_RECEIVED'>>('OptinReceivedEvent').implement({
  description: 'The customer opted in to messages; kept as Instagram sent it.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    raw: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The webhook’s `optin` object as Instagram sent it (Instagram documents no shape for it).',
      resolve: (e) => e.event.raw ?? null,
    }),
  }),
});

builder.objectRef<EventOf<'ACCOUNT_STATUS_CHANGED'>>('AccountStatusChangedEvent').implement({
  description: 'igql’s own event: the account needs a new login, or works again.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    status: t.string({
      description: 'The account’s new status, such as `REAUTH_REQUIRED` (see `Account.status`).',
      resolve: (e) => e.event.status,
    }),
    reason: t.string({
      nullable: true,
      description:
        'Why, for a person, in igql’s words (never Instagram’s text, never a token); null when unknown.',
      resolve: (e) => e.event.reason,
    }),
  }),
});

const ThreadControlAction = builder.enumType('ThreadControlAction', {
  description: 'What changed the control of a conversation (Instagram’s `messaging_handover`).',
  values: {
    PASS: { description: 'The owner passed control to another app (or released it).' },
    TAKE: { description: 'An app with primary behaviour took control.' },
    REQUEST: { description: 'Another app asked the owner for control; nothing changed yet.' },
  } as const,
});

builder.objectRef<EventOf<'THREAD_CONTROL_CHANGED'>>('ThreadControlChangedEvent').implement({
  description:
    'Control of the conversation with `customer` changed hands, or was asked for (conversation routing).',
  interfaces: [InboxEvent],
  fields: (t) => ({
    action: t.field({
      type: ThreadControlAction,
      description: 'Passed, taken, or asked for.',
      resolve: (e) => e.event.action,
    }),
    previousOwner: t.field({
      type: ThreadOwner,
      nullable: true,
      description: 'Who owned it before; null when Instagram does not say (an idle thread).',
      resolve: (e) => ownerOf(e.event.igId, e.event.previousOwnerAppId),
    }),
    newOwner: t.field({
      type: ThreadOwner,
      nullable: true,
      description: 'Who owns it now; null for a request, which changes nothing.',
      resolve: (e) => ownerOf(e.event.igId, e.event.newOwnerAppId),
    }),
    requestedOwner: t.field({
      type: ThreadOwner,
      nullable: true,
      description: 'The app asking for control (REQUEST only).',
      resolve: (e) => ownerOf(e.event.igId, e.event.requestedOwnerAppId),
    }),
    metadata: t.string({
      nullable: true,
      description: 'The free-form text the acting app sent along.',
      resolve: (e) => e.event.metadata,
    }),
  }),
});

builder.objectRef<EventOf<'UNKNOWN'>>('UnknownEvent').implement({
  description: 'An event igql does not model (yet): comments, mentions, new kinds. Never dropped.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    field: t.string({
      nullable: true,
      description: 'The webhook field, when known.',
      resolve: (e) => e.event.field,
    }),
    raw: t.field({
      type: 'JSON',
      nullable: true,
      description: 'As Instagram sent it.',
      resolve: (e) => e.event.raw ?? null,
    }),
  }),
});

// ---- Subscriptions -------------------------------------------------------------------------

/** The account, if the session may use it; checked when the subscription starts. */
function accountFor(ctx: Context, accountId: string | number): string {
  requireSession(ctx);
  const decoded = decodeId(String(accountId));
  if (decoded?.typename !== 'Account' || !mayUse(ctx.session, decoded.igId))
    throw notFound('Account');
  return decoded.igId;
}

/** The customer of a conversation filter (one read when the subscription starts). */
async function customerOf(
  ctx: Context,
  igId: string,
  conversationId: string | number,
): Promise<string> {
  const decoded = decodeId(String(conversationId));
  if (decoded?.typename !== 'Conversation' || decoded.igId !== igId) throw notFound('Conversation');
  try {
    const data = await ctx.loaders.node<GraphConversation>(
      igId,
      decoded.rest,
      'id,participants',
      true,
    );
    const customer = data.participants?.data.find((p) => p.id !== igId)?.id;
    if (!customer) throw notFound('Conversation');
    return customer;
  } catch (error) {
    throw fromUpstream(error, 'Conversation');
  }
}

/** The error a subscription ends with when its session expires or is revoked. */
export const subscriptionEnded = () =>
  unauthenticated('The session expired or was revoked: subscribe again with a new one');

/**
 * The account's events for one subscription: only those `keep` wants, ending with
 * UNAUTHENTICATED when the session expires (even with no event coming: SSE has no other way to
 * learn it) or is revoked. Unsubscribing ends it at once. A subscription group's (see
 * `sharedExecution`) checks no session: the group checks each of its members'.
 */
function events(
  ctx: Context,
  igId: string,
  after: string | null | undefined,
  keep: (entry: LogEntry) => boolean | Promise<boolean>,
): AsyncIterableIterator<LogEntry> {
  if (after != null && !ctx.live.isCursor(after)) {
    throw badUserInput('`after` must be a `cursor` of an earlier event', 'after');
  }
  const shared = sharedExecution(ctx);
  const stream = ctx.live.stream(igId, after ?? undefined, shared);
  let cancelExpiry = () => {};
  // One timer for every subscriber's expiry (`deadlines`), not one each.
  const expiry = shared
    ? null
    : new Promise<'expired'>((resolve) => {
        cancelExpiry = deadlines.at(ctx.session?.expiresAt.getTime() ?? 0, () =>
          resolve('expired'),
        );
      });
  const finish = async (): Promise<IteratorResult<LogEntry>> => {
    cancelExpiry();
    await stream.return?.();
    return { value: undefined, done: true };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      for (;;) {
        const next = expiry ? await Promise.race([stream.next(), expiry]) : await stream.next();
        if (next === 'expired') {
          await finish();
          throw subscriptionEnded();
        }
        if (next.done) return finish();
        // Checked for every event: the session may have been revoked while subscribed. A check
        // that cannot be made (Redis unreachable past the fail-open time) ends it as well.
        const valid =
          shared !== undefined ||
          (await ctx.stillValid().catch(async (error: unknown) => {
            await finish();
            throw error;
          }));
        if (next.value.event.igId !== igId || !valid) {
          await finish();
          throw subscriptionEnded();
        }
        // Cleared before `keep`, which may read the event's message: its resolvers reuse that.
        ctx.loaders.clear();
        const kept = keep(next.value);
        if (kept === true || (kept !== false && (await kept))) {
          shared?.executing(next.value.cursor);
          reportExecuted({ igId, cursor: next.value.cursor, shared: shared !== undefined });
          return next;
        }
      }
    },
    return: finish,
  };
}

const ACCOUNT_ARG = 'The `Account.id` to watch: one the session may use, else NOT_FOUND.';
const AFTER_ARG =
  'The `cursor` of the last event received: what happened since (of the newest 10,000 events kept per account) comes first, then live events.';

builder.subscriptionFields((t) => ({
  messageReceived: t.field({
    type: MessageReceivedEvent,
    description:
      'Messages customers send to the account. Resubscribe with `after: <last cursor>` to receive what was missed meanwhile first.',
    args: {
      accountId: t.arg.id({ required: true, description: ACCOUNT_ARG }),
      after: t.arg.string({ description: AFTER_ARG }),
    },
    subscribe: (_root, args, ctx) => {
      const igId = accountFor(ctx, args.accountId);
      return events(
        ctx,
        igId,
        args.after,
        (e) => e.event.kind === 'MESSAGE_RECEIVED',
      ) as AsyncIterableIterator<EventOf<'MESSAGE_RECEIVED'>>;
    },
    resolve: (entry) => entry,
  }),
  inboxEvents: t.field({
    type: InboxEvent,
    description:
      'Everything that happens in the account’s inbox, optionally for one conversation or some kinds. Resubscribe with `after` to resume.',
    args: {
      accountId: t.arg.id({ required: true, description: ACCOUNT_ARG }),
      conversationId: t.arg.id({
        description: 'Only the events of this conversation: a `Conversation.id` of the account.',
      }),
      types: t.arg({
        type: [InboxEventType],
        description: 'Only events of these kinds; every kind when omitted.',
      }),
      after: t.arg.string({ description: AFTER_ARG }),
    },
    subscribe: async (_root, args, ctx) => {
      const igId = accountFor(ctx, args.accountId);
      const customer = args.conversationId
        ? await customerOf(ctx, igId, args.conversationId)
        : undefined;
      const types = args.types ? new Set<string>(args.types) : undefined;
      return events(
        ctx,
        igId,
        args.after,
        (e) => (!types || types.has(e.event.kind)) && (!customer || concerns(e, customer, ctx)),
      );
    },
    resolve: (entry) => entry,
  }),
}));
