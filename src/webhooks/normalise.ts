import { createHash } from 'node:crypto';
import type { InboxEventData, InboxEventKind } from '../inbox/events.ts';
import { fromWebhook, type WebhookMessage, type WebhookReplyTo } from '../inbox/from-webhook.ts';
import { referralOf } from '../inbox/referral.ts';
import { idOf, isObject, numberOf, stringOf } from '../instagram/payload.ts';

type Json = Record<string, unknown>;

/** What an event knows before its payload is read. */
interface Base {
  readonly igId: string;
  readonly igsid: string | null;
  readonly occurredAt: number;
  readonly standby: boolean;
  /** The time part of the identity: the event's time, or '' where the ids alone identify it. */
  readonly stamp: string;
}

/**
 * The earliest event time igql accepts, in ms: 2010-01-01T00:00:00Z (Instagram launched that
 * October; no real event is older).
 */
export const EARLIEST_EVENT_TIME = Date.UTC(2010, 0, 1);

/**
 * How far past now an event time may lie, in ms: 1 day. Meta's clocks are seconds apart from
 * ours; a later time is garbage, and one past 8.64e15 ms is no Date at all.
 */
export const FUTURE_EVENT_SLACK_MS = 24 * 60 * 60 * 1000;

/**
 * Whether `ms` is a time an event may have: a whole number of milliseconds within
 * [`EARLIEST_EVENT_TIME`, `now` + `FUTURE_EVENT_SLACK_MS`], both bounds included. The pipeline
 * refuses every other event (`outcome="bad_time"`): a webhook item whose `timestamp` (or, for
 * `changes`, `entry.time` in seconds) is missing, unreadable, fractional or out of range.
 */
export function isSaneEventTime(ms: number, now: number): boolean {
  return Number.isInteger(ms) && ms >= EARLIEST_EVENT_TIME && ms <= now + FUTURE_EVENT_SLACK_MS;
}

/**
 * Every event of a webhook body (instagram-api.md §4), oldest first: each entry, each
 * `messaging`, `standby` and `changes` item, sorted by `occurredAt` (stable, so events of equal
 * time keep the body's order; Meta does not guarantee order). Pure and total: built from the
 * body alone, never throws, and never drops anything silently. What it cannot read (a
 * malformed entry or item, a payload missing its ids, `changes`, unknown payloads) becomes an
 * `UNKNOWN` event that keeps the raw JSON. Times are read, not judged: an item's `timestamp`
 * (ms), else its `entry.time`; a `changes` entry's `time` (whole seconds); 0 where there is no
 * usable time. The pipeline refuses what `isSaneEventTime` does not accept.
 *
 * Identity: `<igId>|<kind>|<ids>|<action>|<timestamp>`, where ids is the mid (a postback
 * without mid: its title and payload; a referral: its ref; an optin or unknown item: a digest
 * of its JSON) and action is set for reactions only. Redeliveries repeat all of these, while
 * react → unreact → react on one message differ in action or timestamp (REFERENCE.md). The
 * timestamp part is empty where the ids alone identify the event: a message or its echo (a mid
 * arrives once; see `messageIdentity`), and `changes` and malformed entries, whose only time is
 * `entry.time`, the time of sending, and whose content (the comment id) identifies them.
 */
export function normalise(body: unknown, receivedAt = 0): InboxEventData[] {
  if (!isObject(body) || !Array.isArray(body.entry)) return [malformed(body)];
  const events = body.entry.flatMap((entry: unknown) => {
    try {
      return entryEvents(entry, receivedAt);
    } catch {
      // Unreachable for parsed JSON; a safety net so one entry can never lose the others.
      return [malformed(entry)];
    }
  });
  return events.sort((a, b) => a.occurredAt - b.occurredAt);
}

function entryEvents(entry: unknown, receivedAt: number): InboxEventData[] {
  if (!isObject(entry)) return [malformed(entry)];
  const entryId = idOf(entry.id);
  const events: InboxEventData[] = [];
  let readable = false;
  let odd = false;
  for (const key of ['messaging', 'standby', 'changes'] as const) {
    const items = entry[key];
    if (items === undefined) continue;
    if (!Array.isArray(items)) {
      odd = true;
      continue;
    }
    readable = true;
    for (const item of items) {
      events.push(
        key === 'changes'
          ? changeEvent(item, entryId, entry.time, receivedAt)
          : messagingEvent(item, entryId, entry.time, key === 'standby'),
      );
    }
  }
  if (!readable || odd) events.push(malformed(entry));
  return events;
}

/** One `messaging` (or `standby`) item: `{sender, recipient, timestamp, <payload>}`. */
function messagingEvent(
  item: unknown,
  entryId: string | null,
  entryTime: unknown,
  standby: boolean,
): InboxEventData {
  // entry.time is milliseconds for messaging (restfb messaging-seen.json: 1668022334834).
  const fallbackTime = numberOf(entryTime) ?? 0;
  if (!isObject(item)) {
    const base = { igId: entryId ?? '', igsid: null, occurredAt: fallbackTime, standby, stamp: '' };
    return unknown(base, null, item);
  }
  const sender = idOf(isObject(item.sender) ? item.sender.id : undefined);
  const recipient = idOf(isObject(item.recipient) ? item.recipient.id : undefined);
  const echo = isObject(item.message) && item.message.is_echo === true;
  // The dashboard's "Test" button sends entry.id "0" (instagram-api.md §4): the account is then
  // the recipient of an inbound event and the sender of an echo.
  const igId =
    entryId === null || entryId === '0' ? ((echo ? sender : recipient) ?? entryId ?? '') : entryId;
  // A `timestamp` that is there but unreadable ("NaN", 1e400 parsed as Infinity) is no time at
  // all: 0, which the pipeline refuses (`isSaneEventTime`), never `entry.time` in its place.
  const occurredAt = item.timestamp === undefined ? fallbackTime : (numberOf(item.timestamp) ?? 0);
  const base: Base = {
    igId,
    igsid: customerOf(igId, sender, recipient, echo),
    occurredAt,
    standby,
    stamp: String(occurredAt),
  };

  if (item.message !== undefined) return messageEvent(base, item);
  if (item.message_edit !== undefined) return editEvent(base, item);
  if (item.reaction !== undefined) return reactionEvent(base, item);
  if (item.read !== undefined) return seenEvent(base, item);
  if (item.postback !== undefined) return postbackEvent(base, item);
  if (item.referral !== undefined) return referralEvent(base, item);
  const handover = HANDOVERS.find(([key]) => item[key] !== undefined);
  if (handover) return handoverEvent(base, item, handover);
  if (item.optin !== undefined) {
    return { ...head('OPTIN_RECEIVED', base, digest(item.optin)), raw: item.optin };
  }
  const field = Object.keys(item).find((key) => !ENVELOPE.has(key)) ?? null;
  return unknown(base, field, item);
}

/**
 * The party that is not the account; when that cannot tell (both or neither are the account),
 * the recipient of an echo and the sender of anything else. Courier's echo.json keeps the
 * inbound sender and recipient; Postman's self postback has the account as sender.
 */
function customerOf(
  igId: string,
  sender: string | null,
  recipient: string | null,
  echo: boolean,
): string | null {
  if (recipient === igId && sender !== igId) return sender;
  if (sender === igId && recipient !== igId) return recipient;
  return echo ? recipient : sender;
}

/** Keys of a messaging item that are not its payload. */
const ENVELOPE = new Set(['sender', 'recipient', 'timestamp', 'is_self']);

function messageEvent(base: Base, item: Json): InboxEventData {
  const message = item.message;
  const mid = isObject(message) ? idOf(message.mid) : null;
  if (!isObject(message) || mid === null) return unknown(base, 'message', item);
  if (message.is_deleted === true) return { ...head('MESSAGE_DELETED', base, mid), mid };
  const sent = message.is_echo === true;
  const fields = {
    message: fromWebhook(webhookMessage(mid, message), {
      igId: base.igId,
      igsid: base.igsid,
      sent,
      at: base.occurredAt,
    }),
    quickReplyPayload: isObject(message.quick_reply) ? stringOf(message.quick_reply.payload) : null,
    referral: message.referral ?? null,
    isSelf: message.is_self === true || item.is_self === true,
  };
  const timeless = { ...base, stamp: '' };
  return sent
    ? { ...head('MESSAGE_SENT', timeless, mid), ...fields }
    : { ...head('MESSAGE_RECEIVED', timeless, mid), ...fields };
}

/**
 * The identity of a message (`MESSAGE_RECEIVED`) or an echo (`MESSAGE_SENT`): its mid without
 * a time, so the same message read later from the Conversations API (times in whole seconds)
 * dedupes against its webhook.
 */
export function messageIdentity(
  igId: string,
  kind: 'MESSAGE_RECEIVED' | 'MESSAGE_SENT',
  mid: string,
): string {
  return identityOf(igId, kind, mid, '', '');
}

function webhookMessage(mid: string, message: Json): WebhookMessage {
  return {
    mid,
    text: stringOf(message.text),
    // Kept as received: `webhookAttachment` types each, and keeps what it does not know.
    // A list; one attachment alone also comes as the object itself (MSG's samples).
    attachments: Array.isArray(message.attachments)
      ? message.attachments
      : message.attachments && typeof message.attachments === 'object'
        ? [message.attachments]
        : [],
    replyTo: replyToOf(message.reply_to),
    isUnsupported: message.is_unsupported === true,
  };
}

function replyToOf(replyTo: unknown): WebhookReplyTo | null {
  if (!isObject(replyTo)) return null;
  const mid = idOf(replyTo.mid);
  if (mid !== null) return { mid };
  const story = replyTo.story;
  if (isObject(story)) return { story: { id: idOf(story.id), url: stringOf(story.url) } };
  return null;
}

function editEvent(base: Base, item: Json): InboxEventData {
  const edit = item.message_edit;
  const mid = isObject(edit) ? idOf(edit.mid) : null;
  if (!isObject(edit) || mid === null) return unknown(base, 'message_edit', item);
  // `num_edit: 0` arrives for a brand-new message, which was never edited (reported capture
  // webhook-message-edit-no-sender-reported.json, instagram-api.md §10): no edit happened, and
  // the message itself comes as its own `messages` event (or reconciliation finds it). It is
  // kept whole as an UNKNOWN event of field `message_edit`, never a MESSAGE_EDITED.
  const numEdit = numberOf(edit.num_edit);
  if (numEdit === 0) return unknown(base, 'message_edit', item);
  // Real edits carry no text (instagram-api.md §10): the schema reads it from the message.
  return {
    ...head('MESSAGE_EDITED', base, mid),
    mid,
    text: stringOf(edit.text),
    numEdit: numEdit ?? 0,
  };
}

function reactionEvent(base: Base, item: Json): InboxEventData {
  const reaction = item.reaction;
  const mid = isObject(reaction) ? idOf(reaction.mid) : null;
  const action = isObject(reaction) ? reaction.action : undefined;
  if (!isObject(reaction) || mid === null || (action !== 'react' && action !== 'unreact')) {
    return unknown(base, 'reaction', item);
  }
  // An unreact carries only mid and action (WHX).
  return {
    ...head('REACTION_CHANGED', base, mid, action),
    mid,
    action,
    reaction: stringOf(reaction.reaction),
    emoji: stringOf(reaction.emoji),
  };
}

function seenEvent(base: Base, item: Json): InboxEventData {
  const mid = isObject(item.read) ? idOf(item.read.mid) : null;
  if (mid === null) return unknown(base, 'read', item);
  return { ...head('MESSAGES_SEEN', base, mid), mid };
}

function postbackEvent(base: Base, item: Json): InboxEventData {
  const postback = item.postback;
  if (!isObject(postback)) return unknown(base, 'postback', item);
  // Icebreakers come without mid (courier icebreaker_get_started.json).
  const mid = idOf(postback.mid);
  const title = stringOf(postback.title);
  const payload = stringOf(postback.payload);
  // Without mid, who tapped is part of it: two customers tapping one ice breaker at the same
  // millisecond are two events.
  const ids = mid ?? JSON.stringify([base.igsid, title, payload]);
  return { ...head('POSTBACK_RECEIVED', base, ids), mid, title, payload };
}

function referralEvent(base: Base, item: Json): InboxEventData {
  const referral = referralOf(item.referral);
  if (!referral) return unknown(base, 'referral', item);
  const { ref, source, type, adId, adTitle, photoUrl, videoUrl, postId } = referral;
  return {
    ...head('REFERRAL_RECEIVED', base, ref ?? ''),
    ...{ ref, source, type, adId, adTitle, photoUrl, videoUrl, postId },
  };
}

/** `messaging_handover` items (instagram-api.md §11) and the action each is. */
const HANDOVERS = [
  ['pass_thread_control', 'PASS'],
  ['take_thread_control', 'TAKE'],
  ['request_thread_control', 'REQUEST'],
] as const;

function handoverEvent(
  base: Base,
  item: Json,
  [key, action]: (typeof HANDOVERS)[number],
): InboxEventData {
  const change = item[key];
  if (!isObject(change)) return unknown(base, key, item);
  const previousOwnerAppId = idOf(change.previous_owner_app_id);
  const newOwnerAppId = idOf(change.new_owner_app_id);
  const requestedOwnerAppId = idOf(change.requested_owner_app_id);
  // The thread (its customer) is part of it: a bot releasing every thread at once hands over
  // many in one millisecond.
  const ids = JSON.stringify([base.igsid, previousOwnerAppId, newOwnerAppId, requestedOwnerAppId]);
  return {
    ...head('THREAD_CONTROL_CHANGED', base, ids, action),
    action,
    previousOwnerAppId,
    newOwnerAppId,
    requestedOwnerAppId,
    metadata: stringOf(change.metadata),
  };
}

/** One `changes` item: a comment or a mention, else kept whole as UNKNOWN. */
function changeEvent(
  change: unknown,
  entryId: string | null,
  entryTime: unknown,
  receivedAt: number,
): InboxEventData {
  // entry.time is SECONDS for changes (restfb wh-comments-2021.json: 1519399307); a whole
  // number past 1e11 (year 5138 in seconds) is taken as ms, and a missing one as the time the
  // delivery came (a comment's time is its entry's alone). Anything else (a fraction, a word)
  // is no time at all: 0, which the pipeline refuses.
  const time = numberOf(entryTime);
  const occurredAt =
    entryTime === undefined || entryTime === null
      ? receivedAt
      : time === null || !Number.isInteger(time)
        ? 0
        : time > 1e11
          ? time
          : time * 1000;
  const field = isObject(change) ? stringOf(change.field) : null;
  const base = { igId: entryId ?? '', igsid: null, occurredAt, standby: false, stamp: '' };
  const value = isObject(change) && isObject(change.value) ? change.value : null;
  if (value && (field === 'comments' || field === 'live_comments')) {
    const event = commentEvent(base, field, value);
    if (event) return event;
  }
  if (value && field === 'mentions') {
    const mediaId = idOf(value.media_id);
    const commentId = idOf(value.comment_id);
    if (mediaId !== null) {
      const ids = `${mediaId}:${commentId ?? ''}`;
      return { ...head('MENTION_RECEIVED', base, ids), mediaId, commentId };
    }
  }
  return unknown(base, field, change);
}

/**
 * `value{id, text, from{id, username, self_ig_scoped_id?}, media{id, media_product_type,
 * ad_id?}, parent_id?}` (instagram-api.md §4); null when it names no comment or media. The
 * comment id identifies it: a redelivery repeats it, `entry.time` (the time of sending) may not.
 */
function commentEvent(base: Base, field: string, value: Json): InboxEventData | null {
  const commentId = idOf(value.id);
  const media = isObject(value.media) ? value.media : null;
  const mediaId = media ? idOf(media.id) : null;
  if (commentId === null || media === null || mediaId === null) return null;
  const from = isObject(value.from) ? value.from : null;
  const fromId = from ? idOf(from.id) : null;
  const byAccount = (from !== null && from.self_ig_scoped_id !== undefined) || fromId === base.igId;
  return {
    ...head('COMMENT_RECEIVED', { ...base, igsid: byAccount ? null : fromId }, commentId),
    commentId,
    text: stringOf(value.text),
    mediaId,
    mediaProductType: stringOf(media.media_product_type),
    parentId: idOf(value.parent_id),
    fromId,
    fromUsername: from ? stringOf(from.username) : null,
    byAccount,
    live: field === 'live_comments',
    adId: idOf(media.ad_id),
  };
}

/** A body or entry that cannot be read: kept whole. */
function malformed(raw: unknown): InboxEventData {
  const igId = isObject(raw) ? (idOf(raw.id) ?? '') : '';
  const occurredAt = isObject(raw) ? (numberOf(raw.time) ?? 0) : 0;
  return unknown({ igId, igsid: null, occurredAt, standby: false, stamp: '' }, null, raw);
}

function unknown(base: Base, field: string | null, raw: unknown): InboxEventData {
  return { ...head('UNKNOWN', base, `${field ?? ''}:${digest(raw)}`), field, raw };
}

function head<K extends InboxEventKind>(kind: K, base: Base, ids: string, action = '') {
  const { igId, igsid, occurredAt, standby, stamp } = base;
  return {
    kind,
    igId,
    igsid,
    occurredAt,
    identity: identityOf(igId, kind, ids, action, stamp),
    standby,
  };
}

const identityOf = (igId: string, kind: string, ids: string, action: string, stamp: string) =>
  `${igId}|${kind}|${ids}|${action}|${stamp}`;

/** A short, stable digest of a JSON value (its serialisation, in the body's key order). */
function digest(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = String(value);
  }
  return createHash('sha256')
    .update(json ?? 'undefined')
    .digest('base64url')
    .slice(0, 22);
}
