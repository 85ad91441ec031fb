import { errors, type GraphError } from './errors.ts';
import { newAttachmentId } from './ids.ts';
import { broadcasting } from './media.ts';
import { requirePermission } from './permissions.ts';
import {
  DAY,
  HOUR,
  type SimAccount,
  type SimAttachment,
  type SimMessage,
  type SimShare,
  type SimToken,
  type SimUser,
  type Store,
} from './store.ts';
import type { WebhookSink } from './webhook-sink.ts';

export interface SendContext {
  readonly store: Store;
  /** The account the token belongs to (the `<IG_ID>` of the path, or `me`). */
  readonly account: SimAccount;
  readonly token: SimToken;
  readonly webhooks: WebhookSink;
  /** Conversation routing: a send into a thread another app owns is refused (2534037). */
  readonly routing?: { requireOwner(igId: string, igsid: string, appId: string): void };
  /** The app the token belongs to. Default: the simulator's own. */
  readonly appId?: string;
}

type Json = Record<string, unknown>;

const MANAGE_MESSAGES = 'instagram_business_manage_messages';
const MANAGE_COMMENTS = 'instagram_business_manage_comments';

/** "24 hours to respond to any message sent from an Instagram user" (MSG). */
const RESPONSE_WINDOW = 24 * HOUR;
/** `tag: HUMAN_AGENT`: "within 7 days of a user's message" (instagram-api.md §1, §9). */
const HUMAN_AGENT_WINDOW = 7 * DAY;
/** Private replies: within 7 days of the comment (PR). */
const PRIVATE_REPLY_WINDOW = 7 * DAY;

/** Extensions per media type (MSG media table; gif per MSGR-IG and the attachment-upload page). */
const MEDIA_EXTENSIONS = {
  image: ['png', 'jpeg', 'jpg', 'gif'],
  audio: ['aac', 'm4a', 'wav', 'mp4'],
  video: ['mp4', 'ogg', 'avi', 'mov', 'webm'],
  file: ['pdf'],
} as const;
type MediaType = keyof typeof MEDIA_EXTENSIONS;
const MEDIA_TYPES: readonly MediaType[] = ['image', 'audio', 'video', 'file'];

const MESSAGING_TYPES = new Set<unknown>(['RESPONSE', 'UPDATE', 'MESSAGE_TAG']);

/** Sender actions and the keys their `payload` must have (SA, MSG); undefined = no payload. */
const SENDER_ACTIONS = new Map<unknown, readonly string[] | undefined>([
  ['typing_on', undefined],
  ['typing_off', undefined],
  ['mark_seen', undefined],
  ['react', ['message_id', 'reaction']],
  ['unreact', ['message_id']],
]);

/** What a valid `message` becomes: the fields of the stored `SimMessage`. */
interface Outgoing {
  readonly text: string;
  readonly attachments: SimAttachment[];
  readonly shares: SimShare[];
  /** Quick replies and templates keep the request's `message` here. */
  readonly payload?: Json;
}

/**
 * `POST /<IG_ID>/messages` and `POST /me/messages`: validates the body as Instagram does and
 * returns the response body, or throws a `GraphError`. `body` is the request's JSON object
 * (form-encoded bodies arrive already decoded, with JSON-valued fields parsed).
 *
 * Errors: anything wrong inside `message` is 100/2534015 "Invalid message data: <detail>";
 * anything wrong with the other parameters (`recipient`, `sender_action`, `payload`,
 * `messaging_type`, `tag`, unknown parameters) is 100 "(#100) …" without a subcode.
 */
export function handleSend(
  ctx: SendContext,
  body: Record<string, unknown>,
): Record<string, unknown> {
  requirePermission(ctx.token, MANAGE_MESSAGES);
  const recipient = recipientOf(body.recipient);
  if ((body.message === undefined) === (body.sender_action === undefined)) {
    throw errors.invalidParameter('Exactly one of message and sender_action must be set');
  }
  if ('commentId' in recipient) return privateReply(ctx, recipient.commentId, body);
  const user = ctx.store.users.get(recipient.id);
  if (user?.accountIgId !== ctx.account.igId) throw errors.noMatchingUser();
  if (ctx.routing && ctx.appId) ctx.routing.requireOwner(ctx.account.igId, user.igsid, ctx.appId);
  return body.sender_action === undefined
    ? sendMessage(ctx, user, body)
    : senderAction(ctx, user, body);
}

function sendMessage(ctx: SendContext, user: SimUser, body: Json): Json {
  onlyParams(body, ['recipient', 'message', 'reply_to', 'messaging_type', 'tag']);
  const window = windowOf(body.messaging_type, body.tag);
  const outgoing = parseMessage(body.message, ctx);
  const replyTo = body.reply_to === undefined ? undefined : repliedTo(ctx, user, body.reply_to);
  requireReachable(ctx, user, window);
  const message = deliver(ctx, user.igsid, { ...outgoing, replyTo });
  return { recipient_id: user.igsid, message_id: message.mid };
}

/**
 * `reply_to: {mid}` beside `message` (instagram-api.md §10; Instagram Login since 2026-09-21).
 * UNCONFIRMED, strict: the error for a mid that is not a message of this conversation (unknown,
 * deleted, another conversation's or another account's) is taken to be a parameter error, as for
 * a reaction's `payload.message_id`; Instagram may instead send the message without the quote.
 * A message past the 20 newest may be replied to (the Instagram app allows it).
 */
function repliedTo(
  ctx: SendContext,
  user: SimUser,
  value: unknown,
): { mid: string; isSelfReply: boolean } {
  if (!hasExactly(value, ['mid'])) throw param('reply_to', 'must be {"mid": "<MID>"}');
  const message = typeof value.mid === 'string' ? ctx.store.messages.get(value.mid) : undefined;
  const conversation = ctx.store.conversationWith(ctx.account.igId, user.igsid);
  if (!message || message.deleted || message.conversationId !== conversation?.id) {
    throw param('reply_to.mid', 'must be a message of the conversation with the recipient');
  }
  // CONV-M: `is_self_reply`, the sender quoting their own message.
  return { mid: message.mid, isSelfReply: message.fromId === ctx.account.igId };
}

/** Stores the account's message and raises its echo. */
function deliver(
  ctx: SendContext,
  igsid: string,
  outgoing: Outgoing & { replyTo?: SimMessage['replyTo'] },
): SimMessage {
  const { igId } = ctx.account;
  const message = ctx.store.addMessage(igId, igsid, { fromId: igId, ...outgoing });
  ctx.webhooks.messaging(igId, 'message_echoes', {
    sender: { id: igId },
    recipient: { id: igsid },
    timestamp: message.createdTime,
    message: echoOf(message),
  });
  return message;
}

/**
 * `messaging_type` is optional (§9). UNCONFIRMED, strict: a tag goes with no `messaging_type`
 * (PM) or with `MESSAGE_TAG` (courier, Chatwoot), and `MESSAGE_TAG` needs a tag, as on Messenger.
 */
function windowOf(messagingType: unknown, tag: unknown): number {
  if (messagingType !== undefined && !MESSAGING_TYPES.has(messagingType)) {
    throw param('messaging_type', 'must be one of RESPONSE, UPDATE, MESSAGE_TAG');
  }
  if (tag === undefined) {
    if (messagingType === 'MESSAGE_TAG') throw param('tag', 'is required with MESSAGE_TAG');
    return RESPONSE_WINDOW;
  }
  if (tag !== 'HUMAN_AGENT') throw param('tag', 'must be HUMAN_AGENT');
  if (messagingType !== undefined && messagingType !== 'MESSAGE_TAG') {
    throw param('messaging_type', 'must be MESSAGE_TAG with a tag');
  }
  return HUMAN_AGENT_WINDOW;
}

/** 551 for an unavailable user, then the window: it runs from the user's last message. */
function requireReachable(ctx: SendContext, user: SimUser, window: number): void {
  if (user.unavailable) throw errors.userUnavailable();
  const conversation = ctx.store.conversationWith(ctx.account.igId, user.igsid);
  const last = conversation && ctx.store.lastInboundTime(conversation);
  // Strict at the edge: a send exactly `window` after the user's message is outside it.
  if (last === undefined || ctx.store.clock.now() - last >= window) throw errors.outsideWindow();
}

function senderAction(ctx: SendContext, user: SimUser, body: Json): Json {
  const action = body.sender_action;
  if (!SENDER_ACTIONS.has(action)) {
    throw param('sender_action', 'must be one of typing_on, typing_off, mark_seen, react, unreact');
  }
  // UNCONFIRMED: the response body, taken from the Messenger sender-actions doc. No webhook is
  // raised: Instagram sends no echo for the business's own actions and reactions.
  const response = { recipient_id: user.igsid };
  // UNCONFIRMED: whether sender actions need the 24 h window; strict, they do, with no tag.
  const payloadKeys = SENDER_ACTIONS.get(action);
  if (!payloadKeys) {
    // SA: "Only sender_action and recipient may be sent".
    onlyParams(body, ['recipient', 'sender_action']);
    requireReachable(ctx, user, RESPONSE_WINDOW);
    return response;
  }
  onlyParams(body, ['recipient', 'sender_action', 'payload']);
  const payload = body.payload;
  if (!hasExactly(payload, payloadKeys)) {
    throw param('payload', `must be {${payloadKeys.join(', ')}}`);
  }
  const reaction = action === 'react' ? reactionOf(payload.reaction) : undefined;
  requireReachable(ctx, user, RESPONSE_WINDOW);
  const message = messageOf(ctx, user, payload.message_id);
  message.reactions = message.reactions.filter((r) => r.userId !== ctx.account.igId);
  if (reaction) message.reactions.push({ userId: ctx.account.igId, ...reaction });
  return response;
}

function messageOf(ctx: SendContext, user: SimUser, mid: unknown): SimMessage {
  const message = typeof mid === 'string' ? ctx.store.messages.get(mid) : undefined;
  const conversation = ctx.store.conversationWith(ctx.account.igId, user.igsid);
  if (!message || message.deleted || message.conversationId !== conversation?.id) {
    throw param('payload.message_id', 'must be a message of the conversation with the recipient');
  }
  return message;
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * `love` (PM) or one emoji (MSG: "any emoji reaction … or a valid UTF-8 representation of an
 * emoji"): one grapheme that is an RGI emoji (flags, keycaps, ZWJ sequences) or pictographic.
 */
function reactionOf(value: unknown): { reaction: string; emoji: string } {
  // Webhooks report a heart as `reaction: "love", emoji: "❤"` (U+2764, the Postman capture).
  if (value === 'love') return { reaction: 'love', emoji: '\u2764' };
  const isEmoji =
    typeof value === 'string' &&
    [...graphemes.segment(value)].length === 1 &&
    /^\p{RGI_Emoji}$|\p{Extended_Pictographic}/v.test(value);
  if (!isEmoji) throw param('payload.reaction', 'must be love or a single emoji');
  // UNCONFIRMED: how Instagram names a reaction other than love; the emoji is kept as both.
  return { reaction: value, emoji: value };
}

/** PR: one private reply per comment, to its author, within 7 days, no 24 h window. */
function privateReply(ctx: SendContext, commentId: string, body: Json): Json {
  requirePermission(ctx.token, MANAGE_COMMENTS);
  // UNCONFIRMED, strict: PR documents only `recipient` and `message: {text}`; `messaging_type`,
  // `tag` and other message kinds are refused.
  onlyParams(body, ['recipient', 'message']);
  const text = messageText(fields(body.message, 'message', ['text']).text);
  const comment = ctx.store.comments.get(commentId);
  if (comment?.accountIgId !== ctx.account.igId) throw errors.invalidComment();
  if (comment.privateReplyMid !== null) throw errors.privateReplyAlreadySent();
  if (ctx.store.clock.now() - comment.createdTime >= PRIVATE_REPLY_WINDOW) {
    throw errors.invalidComment();
  }
  // PR: on a live video, "only during the live broadcast". The refusal once it ended is
  // UNCONFIRMED: strict, the same as for a comment past its 7 days.
  const on = ctx.store.media.get(comment.mediaId);
  if (on?.mediaProductType === 'LIVE' && !broadcasting(ctx.store, on)) {
    throw errors.invalidComment();
  }
  if (ctx.store.users.get(comment.fromIgsid)?.unavailable) throw errors.userUnavailable();
  const reply = deliver(ctx, comment.fromIgsid, { text, attachments: [], shares: [] });
  comment.privateReplyMid = reply.mid;
  return { recipient_id: comment.fromIgsid, message_id: reply.mid };
}

function recipientOf(value: unknown): { id: string } | { commentId: string } {
  if (value === undefined) throw errors.invalidParameter('The parameter recipient is required');
  if (hasExactly(value, ['id']) && isId(value.id)) return { id: value.id };
  if (hasExactly(value, ['comment_id']) && isId(value.comment_id)) {
    return { commentId: value.comment_id };
  }
  throw param('recipient', 'must be {"id": "<IGSID>"} or {"comment_id": "<COMMENT_ID>"}');
}

// ---- attachment upload ---------------------------------------------------------------------

/**
 * The largest upload per type, in bytes (MSG table and the attachment-upload page: image 8 MB,
 * audio, video and file 25 MB). UNCONFIRMED whether MB means 10^6 or 2^20: strict, 10^6.
 */
export const UPLOAD_MAX_BYTES: Readonly<Record<MediaType, number>> = {
  image: 8_000_000,
  audio: 25_000_000,
  video: 25_000_000,
  file: 25_000_000,
};

/**
 * `POST /<IG_ID>/message_attachments` (instagram-api.md §10; PM; the attachment-upload pages):
 * `{"message":{"attachment":{"type","payload":{"url","is_reusable":true}}}}`, or, with `file`
 * (a multipart `filedata` part, Meta's upload "from a server"), the same `message` with a payload
 * of `is_reusable` alone. Answers `{"attachment_id"}` (the Page-token doc's shape; UNCONFIRMED
 * for Instagram Login) and keeps the attachment for the account's sends.
 *
 * Strict where the docs are unsure: `is_reusable` must be `true` (an upload exists to be reused);
 * `platform` may only be `instagram` (the Page-token variant sends it); a file must have an
 * ASCII name ("non-ASCII file names are not supported", the Page-token doc) with no extension
 * or one documented for its type; audio and video count against the media send limit.
 */
export function handleUpload(
  ctx: Omit<SendContext, 'webhooks'>,
  body: Record<string, unknown>,
  file?: File,
): Record<string, unknown> {
  requirePermission(ctx.token, MANAGE_MESSAGES);
  onlyParams(body, ['message', 'platform']);
  if (body.platform !== undefined && body.platform !== 'instagram') {
    throw param('platform', 'must be instagram');
  }
  if (body.message === undefined)
    throw errors.invalidParameter('The parameter message is required');
  const message = fields(body.message, 'message', ['attachment']);
  const attachment = fields(message.attachment, 'attachment', ['type', 'payload']);
  const type = attachment.type;
  if (!MEDIA_TYPES.includes(type as MediaType)) {
    throw bad('attachment.type', 'must be image, audio, video or file');
  }
  const mediaType = type as MediaType;
  const payload = fields(
    attachment.payload,
    'attachment.payload',
    file ? ['is_reusable'] : ['url', 'is_reusable'],
  );
  if (payload.is_reusable !== true) throw bad('attachment.payload.is_reusable', 'must be true');
  if (file) {
    uploadedFile(mediaType, file);
    const upload = ctx.store.addUpload(ctx.account.igId, {
      type: mediaType,
      name: file.name,
      size: file.size,
    });
    return { attachment_id: upload.id };
  }
  if (payload.url === undefined) throw bad('attachment.payload.url', 'is required');
  const sourceUrl = mediaUrl(mediaType, payload.url, 'attachment.payload.url');
  return {
    attachment_id: ctx.store.addUpload(ctx.account.igId, { type: mediaType, sourceUrl }).id,
  };
}

/** A `filedata` part: an ASCII name with a documented extension (or none), within the size limit. */
function uploadedFile(type: MediaType, file: File): void {
  if (file.name === '' || !/^[\x20-\x7e]+$/.test(file.name)) {
    throw bad('filedata', 'must have a file name of ASCII characters');
  }
  const extension = /\.([^.]+)$/.exec(file.name)?.[1]?.toLowerCase();
  const allowed: readonly string[] = MEDIA_EXTENSIONS[type];
  if (extension !== undefined && !allowed.includes(extension)) {
    throw bad('filedata', `must have no extension or one of ${allowed.join(', ')} for ${type}`);
  }
  if (file.size === 0) throw bad('filedata', 'must not be empty');
  if (file.size > UPLOAD_MAX_BYTES[type]) throw errors.attachmentTooLarge();
  // Messenger's "Saving assets": an audio part's Content-Type "must use type audio"; held to
  // every media type here (strict: UNCONFIRMED for Instagram), a file excepted.
  if (type !== 'file' && !file.type.startsWith(`${type}/`)) {
    throw bad('filedata', `must be sent with a Content-Type of ${type}/*`);
  }
}

// ---- message -------------------------------------------------------------------------------

/** The shapes a `message` may take, by its sorted keys (MSG, QR). */
const MESSAGE_SHAPES = new Map<string, (message: Json, ctx: SendContext) => Outgoing>([
  ['text', (m) => ({ text: messageText(m.text), attachments: [], shares: [] })],
  ['quick_replies,text', (m) => quickReplies(m)],
  ['attachment', (m, ctx) => ({ text: '', attachments: [], shares: [], ...attachment(m, ctx) })],
  ['attachments', (m, ctx) => ({ text: '', attachments: images(m.attachments, ctx), shares: [] })],
]);

function parseMessage(value: unknown, ctx: SendContext): Outgoing {
  const message = fields(value, 'message', ['text', 'quick_replies', 'attachment', 'attachments']);
  const parse = MESSAGE_SHAPES.get(Object.keys(message).sort().join(','));
  if (!parse) {
    throw bad('message', 'must be text (with optional quick_replies), attachment or attachments');
  }
  return parse(message, ctx);
}

/** MSG: "Message text must be UTF-8 and be a 1000 bytes or less." */
function messageText(value: unknown): string {
  const text = nonEmpty(value, 'text');
  if (!text.isWellFormed()) throw bad('text', 'must be valid UTF-8');
  if (Buffer.byteLength(text) > 1000) throw bad('text', 'must be at most 1000 bytes of UTF-8');
  return text;
}

/** QR: at most 13; titles over 20 characters are truncated, not refused (§9). */
function quickReplies(message: Json): Outgoing {
  const text = messageText(message.text);
  const items = list(message.quick_replies, 'quick_replies', 1, 13).map((item, i) => {
    const field = `quick_replies[${i}]`;
    const type = isObject(item) ? item.content_type : undefined;
    // Disabled for Instagram messaging on 2026-10-05 (instagram-api.md §10, Instagram Platform
    // changelog). UNCONFIRMED, strict: the exact refusal; taken to be invalid message data.
    if (type === 'user_phone_number' || type === 'user_email') {
      throw bad(`${field}.content_type`, `${type} is no longer supported on Instagram`);
    }
    if (type !== 'text') throw bad(`${field}.content_type`, 'must be text');
    const reply = fields(item, field, ['content_type', 'title', 'payload']);
    const title = Array.from(nonEmpty(reply.title, `${field}.title`))
      .slice(0, 20)
      .join('');
    return { ...reply, title, payload: nonEmpty(reply.payload, `${field}.payload`) };
  });
  return { text, attachments: [], shares: [], payload: { ...message, quick_replies: items } };
}

type AttachmentKind = (attachment: Json, field: string, ctx: SendContext) => Partial<Outgoing>;

/** `message.attachment` by `type` (MSG, GT, BT). Types are case-sensitive, as documented. */
const ATTACHMENT_KINDS = new Map<unknown, AttachmentKind>([
  ...MEDIA_TYPES.map((type): [MediaType, AttachmentKind] => [
    type,
    (a, field, ctx) => ({ attachments: [media(type, a.payload, `${field}.payload`, ctx)] }),
  ]),
  [
    'like_heart',
    (a, field) => {
      if (a.payload !== undefined) throw bad(`${field}.payload`, 'is not allowed for like_heart');
      // A heart sticker has no URL (no payload in webhooks, courier).
      return { attachments: [{ type: 'like_heart', id: newAttachmentId(), url: '' }] };
    },
  ],
  [
    'MEDIA_SHARE',
    (a, field, ctx) => ({ shares: [mediaShare(a.payload, `${field}.payload`, ctx)] }),
  ],
  [
    'template',
    (a, field) => ({ ...template(a.payload, `${field}.payload`), payload: { attachment: a } }),
  ],
]);

function attachment(message: Json, ctx: SendContext): Partial<Outgoing> {
  const value = fields(message.attachment, 'attachment', ['type', 'payload']);
  const kind = ATTACHMENT_KINDS.get(value.type);
  if (!kind) {
    throw bad(
      'attachment.type',
      'must be image, audio, video, file, like_heart, MEDIA_SHARE or template',
    );
  }
  return kind(value, 'attachment', ctx);
}

/**
 * MSG: several images "up to ten" (out of beta since 2026-05-06), by `url` or `attachment_id`,
 * mixed; its single-image sample writes `attachments` as an object.
 */
function images(value: unknown, ctx: SendContext): SimAttachment[] {
  const items = isObject(value) ? [value] : list(value, 'attachments', 1, 10);
  return items.map((item, i) => {
    const field = isObject(value) ? 'attachments' : `attachments[${i}]`;
    const image = fields(item, field, ['type', 'payload']);
    // UNCONFIRMED, strict: MSG documents images only for `attachments`.
    if (image.type !== 'image') throw bad(`${field}.type`, 'must be image');
    return media('image', image.payload, `${field}.payload`, ctx);
  });
}

/**
 * `payload: {url}` or `payload: {attachment_id}` (MSG). `is_reusable` is accepted because
 * courier sends it; UNCONFIRMED whether the response then carries an `attachment_id`: it does not.
 */
function media(type: MediaType, value: unknown, field: string, ctx: SendContext): SimAttachment {
  const payload = fields(value, field, ['url', 'attachment_id', 'is_reusable']);
  if (payload.is_reusable !== undefined && typeof payload.is_reusable !== 'boolean') {
    throw bad(`${field}.is_reusable`, 'must be a boolean');
  }
  if ((payload.url === undefined) === (payload.attachment_id === undefined)) {
    throw bad(field, 'must have exactly one of url and attachment_id');
  }
  const id = newAttachmentId();
  if (payload.url !== undefined) {
    return { type, id, url: mediaUrl(type, payload.url, `${field}.url`) };
  }
  const asset = nonEmpty(payload.attachment_id, `${field}.attachment_id`);
  const upload = ctx.store.uploads.get(asset);
  // UNCONFIRMED, strict: an id the account did not upload (another account's, or none), or one
  // uploaded as another type, is refused as invalid message data.
  if (upload?.accountIgId !== ctx.account.igId) {
    throw bad(`${field}.attachment_id`, 'must be an attachment uploaded by this account');
  }
  if (upload.type !== type) {
    throw bad(`${field}.attachment_id`, `was uploaded as ${upload.type}, not ${type}`);
  }
  // Instagram serves an uploaded attachment from its CDN, whatever it was uploaded from.
  return { type, id, url: uploadUrl(asset) };
}

/** Where Instagram serves an uploaded attachment. */
const uploadUrl = (attachmentId: string): string =>
  `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${attachmentId}`;

/**
 * §9: the simulator never fetches. It takes https URLs whose path ends with an extension
 * documented for the type, or has none; a host ending in `.invalid` cannot be fetched
 * (2018008). Other schemes and extensions are refused as invalid message data (our choice of
 * error: Instagram would fail to fetch or to read them).
 */
function mediaUrl(type: MediaType, value: unknown, field: string): string {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (typeof value !== 'string' || url?.protocol !== 'https:') {
    throw bad(field, 'must be an https URL');
  }
  const extension = /\.([^./]+)$/.exec(url.pathname)?.[1]?.toLowerCase();
  const allowed: readonly string[] = MEDIA_EXTENSIONS[type];
  if (extension !== undefined && !allowed.includes(extension)) {
    throw bad(field, `must have no extension or one of ${allowed.join(', ')} for ${type}`);
  }
  if (url.hostname.endsWith('.invalid')) throw errors.failedFetch();
  return value;
}

/** MSG: "The app user must own any media or posts it sends." */
function mediaShare(value: unknown, field: string, ctx: SendContext): SimShare {
  const payload = fields(value, field, ['id']);
  const post = typeof payload.id === 'string' ? ctx.store.media.get(payload.id) : undefined;
  // UNCONFIRMED: the error for someone else's or an unknown post; strict, invalid message data.
  if (post?.accountIgId !== ctx.account.igId) {
    throw bad(`${field}.id`, 'must be a post of this account');
  }
  return {
    link: post.permalink,
    kind: post.mediaProductType === 'REELS' ? 'reel' : 'post',
    mediaId: post.id,
  };
}

/** GT and BT. Returns the template's text (the button template's), stored as the message text. */
function template(value: unknown, field: string): { text: string } {
  const type = isObject(value) ? value.template_type : undefined;
  if (type === 'generic') {
    const payload = fields(value, field, ['template_type', 'elements']);
    list(payload.elements, `${field}.elements`, 1, 10).forEach((element, i) => {
      genericElement(element, `${field}.elements[${i}]`);
    });
    return { text: '' };
  }
  if (type === 'button') {
    const payload = fields(value, field, ['template_type', 'text', 'buttons']);
    const text = nonEmpty(payload.text, `${field}.text`);
    if (chars(text) > 640) throw bad(`${field}.text`, 'must be at most 640 characters');
    buttons(payload.buttons, `${field}.buttons`);
    return { text };
  }
  throw bad(`${field}.template_type`, 'must be generic or button');
}

/** GT: title and subtitle up to 80 characters, at least one property besides title. */
function genericElement(value: unknown, field: string): void {
  const element = fields(value, field, [
    'title',
    'subtitle',
    'image_url',
    'default_action',
    'buttons',
  ]);
  const { title, subtitle, image_url, default_action } = element;
  if (chars(nonEmpty(title, `${field}.title`)) > 80) {
    throw bad(`${field}.title`, 'must be at most 80 characters');
  }
  if (subtitle !== undefined && chars(nonEmpty(subtitle, `${field}.subtitle`)) > 80) {
    throw bad(`${field}.subtitle`, 'must be at most 80 characters');
  }
  if (image_url !== undefined) mediaUrl('image', image_url, `${field}.image_url`);
  if (default_action !== undefined) {
    const action = fields(default_action, `${field}.default_action`, ['type', 'url']);
    if (action.type !== 'web_url') throw bad(`${field}.default_action.type`, 'must be web_url');
    link(action.url, `${field}.default_action.url`);
  }
  if (element.buttons !== undefined) buttons(element.buttons, `${field}.buttons`);
  if (Object.keys(element).length < 2) throw bad(field, 'needs a property besides title');
}

/** Buttons carry `url` (web_url) or `payload` (postback), and a title (GT, BT). */
const BUTTON_TYPES = new Map<unknown, 'url' | 'payload'>([
  ['web_url', 'url'],
  ['postback', 'payload'],
]);

/** 1 to 3 buttons (BT; GT says at most 3, and an empty list would say nothing). */
function buttons(value: unknown, field: string): void {
  list(value, field, 1, 3).forEach((item, i) => {
    const key = BUTTON_TYPES.get(isObject(item) ? item.type : undefined);
    if (!key) throw bad(`${field}[${i}].type`, 'must be web_url or postback');
    const button = fields(item, `${field}[${i}]`, ['type', key, 'title']);
    // The docs give no length limit for button titles: none is invented, only non-empty.
    nonEmpty(button.title, `${field}[${i}].title`);
    if (key === 'url') link(button.url, `${field}[${i}].url`);
    else nonEmpty(button.payload, `${field}[${i}].payload`);
  });
}

/** "Links must be valid formatted URLs" (MSG): http or https. */
function link(value: unknown, field: string): void {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') {
    throw bad(field, 'must be an http or https URL');
  }
}

// ---- echo ----------------------------------------------------------------------------------

/** The `message` of a `message_echoes` event: `{mid, text?, attachments?, is_echo}` (WHX). */
function echoOf(message: SimMessage): Json {
  const attachments: Json[] = [
    ...message.attachments.map((a) =>
      // like_heart has no payload (courier).
      a.type === 'like_heart' ? { type: a.type } : { type: a.type, payload: { url: a.url } },
    ),
    // UNCONFIRMED: an echoed share, drawn from received `ig_post` / `ig_reel` payloads.
    ...message.shares.map((s) =>
      s.kind === 'reel'
        ? { type: 'ig_reel', payload: { reel_video_id: s.mediaId, url: s.link } }
        : { type: 'ig_post', payload: { ig_post_media_id: s.mediaId, url: s.link } },
    ),
  ];
  // UNCONFIRMED: whether echoes of quick replies and templates carry more than their text.
  // An echo of a reply carries `reply_to: {mid}`, as a received reply does (WHX).
  return {
    mid: message.mid,
    ...(message.text === '' ? {} : { text: message.text }),
    ...(attachments.length === 0 ? {} : { attachments }),
    ...(message.replyTo ? { reply_to: { mid: message.replyTo.mid } } : {}),
    is_echo: true,
  };
}

// ---- checks --------------------------------------------------------------------------------

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isId = (value: unknown): value is string => typeof value === 'string' && value !== '';

const hasExactly = (value: unknown, keys: readonly string[]): value is Json =>
  isObject(value) &&
  Object.keys(value).length === keys.length &&
  keys.every((key) => Object.hasOwn(value, key));

/** Characters as code points. */
const chars = (text: string): number => Array.from(text).length;

const param = (name: string, rule: string): GraphError =>
  errors.invalidParameter(`Param ${name} ${rule}`);

const bad = (field: string, rule: string): GraphError =>
  errors.invalidMessageData(`${field} ${rule}`);

/**
 * Refuses top-level parameters outside `allowed` (strict: UNCONFIRMED whether Instagram ignores
 * them). `access_token` is always allowed: Graph takes it as a form field of the body.
 */
function onlyParams(body: Json, allowed: readonly string[]): void {
  const extra = Object.keys(body).find((key) => key !== 'access_token' && !allowed.includes(key));
  if (extra !== undefined) throw errors.invalidParameter(`Unexpected parameter ${extra}`);
}

/** An object inside `message` with no keys but `allowed`. */
function fields(value: unknown, field: string, allowed: readonly string[]): Json {
  if (!isObject(value)) throw bad(field, 'must be an object');
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw bad(`${field}.${extra}`, 'is not allowed');
  return value;
}

function list(value: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value) || value.length < min || value.length > max) {
    throw bad(field, `must be a list of ${min} to ${max} items`);
  }
  return value;
}

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw bad(field, 'must be a non-empty string');
  return value;
}
