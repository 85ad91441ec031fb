import { mayUse } from '../auth/access.ts';
import type { Session } from '../auth/jwt.ts';
import { decodeId, decodeMessageRest } from '../global-id.ts';
import { instagramIdOf } from '../media/ids.ts';
import {
  CONTACT_QUICK_REPLIES_GONE,
  isFileLike,
  MAX_UPLOAD_BYTES,
  type SendMutation,
} from '../sends/requests.ts';
import { notFound, type SendOutcome, validationErrors } from '../sends/service.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { requireSession } from './errors.ts';
import { Message, toMessage } from './message.ts';
import { UserError } from './user-error.ts';

// ---- Payload -------------------------------------------------------------------------------

const SendMessagePayload = builder.objectRef<SendOutcome>('SendMessagePayload').implement({
  description: 'The sent message, or why it was not sent.',
  fields: (t) => ({
    message: t.field({
      type: Message,
      nullable: true,
      description: 'The message as sent; null when `userErrors` is not empty.',
      resolve: (o) => (o.message && o.igsid ? toMessage(o.igId, o.igsid, o.message) : null),
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why the message was not sent; empty when it was.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

// ---- Inputs --------------------------------------------------------------------------------

const MessageTag = builder.enumType('MessageTag', {
  description: 'Message tags (message sends only; sender actions take none).',
  values: {
    HUMAN_AGENT: {
      description:
        'A person answers: allowed up to 7 days after the customer’s last message (needs Meta’s Human Agent feature).',
    },
  } as const,
});

const QuickReplyContentType = builder.enumType('QuickReplyContentType', {
  description: 'What a quick-reply button offers.',
  values: {
    TEXT: { description: 'A button with a title and a payload.' },
    USER_PHONE_NUMBER: {
      description: 'Offered the customer’s phone number; refused since 2026-10-05.',
      deprecationReason: CONTACT_QUICK_REPLIES_GONE,
    },
    USER_EMAIL: {
      description: 'Offered the customer’s email address; refused since 2026-10-05.',
      deprecationReason: CONTACT_QUICK_REPLIES_GONE,
    },
  } as const,
});

const QuickReplyInput = builder.inputType('QuickReplyInput', {
  description: 'One quick-reply button.',
  fields: (t) => ({
    contentType: t.field({
      type: QuickReplyContentType,
      required: true,
      description: 'What the button offers; TEXT needs `title` and `payload`.',
    }),
    title: t.string({ description: 'At most 20 characters (TEXT only).' }),
    payload: t.string({ description: 'Returned in the customer’s reply (TEXT only).' }),
  }),
});

const TemplateButtonType = builder.enumType('TemplateButtonType', {
  description: 'What a template button does when tapped.',
  values: {
    WEB_URL: { description: 'Opens `url`.' },
    POSTBACK: { description: 'Sends `payload` back as a postback event.' },
  } as const,
});

const TemplateButtonInput = builder.inputType('TemplateButtonInput', {
  description: 'A template button: it opens a URL or sends a postback.',
  fields: (t) => ({
    type: t.field({
      type: TemplateButtonType,
      required: true,
      description: 'What it does: WEB_URL needs `url`, POSTBACK needs `payload`.',
    }),
    title: t.string({ required: true, description: 'The button’s label; not empty.' }),
    url: t.string({ description: 'https URL (WEB_URL).' }),
    payload: t.string({ description: 'POSTBACK payload.' }),
  }),
});

const TemplateElementInput = builder.inputType('TemplateElementInput', {
  description:
    'One card of a generic template: a title and at least one of `subtitle`, `imageUrl`, `defaultActionUrl` or `buttons`.',
  fields: (t) => ({
    title: t.string({ required: true, description: 'At most 80 characters.' }),
    subtitle: t.string({ description: 'At most 80 characters.' }),
    imageUrl: t.string({ description: 'https URL.' }),
    defaultActionUrl: t.string({ description: 'Opened when the element is tapped (https).' }),
    buttons: t.field({ type: [TemplateButtonInput], description: '1 to 3.' }),
  }),
});

/** Descriptions of the input fields every send shares. */
export const DESCRIBE = {
  accountId: 'The `Account.id` to send as.',
  recipientId: 'The `Participant.id` of the customer.',
  idempotencyKey:
    'Retrying with the same key within 24 hours returns the first result and sends nothing again.',
  replyToMessageId:
    'The `Message.id` of a message of this conversation to reply to: the customer sees it quoted.',
  attachmentId: 'An `attachmentId` from `uploadAttachment` of this account.',
} as const;

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type InputFields = PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>;

/** The fields every message send takes (DESIGN.md). */
const base = (t: InputFields) => ({
  accountId: t.id({ required: true, description: DESCRIBE.accountId }),
  recipientId: t.id({ required: true, description: DESCRIBE.recipientId }),
  tag: t.field({
    type: MessageTag,
    description: 'Only `HUMAN_AGENT`: a person answering within 7 days.',
  }),
  replyToMessageId: t.id({ description: DESCRIBE.replyToMessageId }),
  idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
});

const SendTextMessageInput = builder.inputType('SendTextMessageInput', {
  description: 'The text to send, and to whom.',
  fields: (t) => ({
    ...base(t),
    text: t.string({ required: true, description: 'At most 1000 UTF-8 bytes; links are fine.' }),
  }),
});
const SendImageMessageInput = builder.inputType('SendImageMessageInput', {
  description: 'The images to send, and to whom.',
  fields: (t) => ({
    ...base(t),
    urls: t.stringList({
      description:
        'https URLs of PNG, JPEG or GIF images, sent first; with `attachmentIds`, 1 to 10 images in all.',
    }),
    attachmentIds: t.stringList({
      description: 'Images uploaded with `uploadAttachment` (type IMAGE), sent after `urls`.',
    }),
  }),
});
const SendMediaMessageInput = builder.inputType('SendMediaMessageInput', {
  description:
    'The audio, video or file to send, and to whom (`sendAudioMessage`, `sendVideoMessage`, `sendFileMessage`).',
  fields: (t) => ({
    ...base(t),
    url: t.string({
      description:
        'An https URL in a format Instagram takes for this kind; or give `attachmentId` instead.',
    }),
    attachmentId: t.string({ description: `${DESCRIBE.attachmentId} Not with \`url\`.` }),
  }),
});
const SendLikeHeartInput = builder.inputType('SendLikeHeartInput', {
  description: 'Whom to send the heart sticker to.',
  fields: (t) => base(t),
});
const SendMediaShareInput = builder.inputType('SendMediaShareInput', {
  description: 'The post to share, and with whom.',
  fields: (t) => ({
    ...base(t),
    mediaId: t.string({
      required: true,
      description: 'The `Media.id`, or Instagram’s id, of a published post of the account.',
    }),
  }),
});
const SendQuickRepliesInput = builder.inputType('SendQuickRepliesInput', {
  description: 'The text and quick-reply buttons to send, and to whom.',
  fields: (t) => ({
    ...base(t),
    text: t.string({ required: true, description: 'At most 1000 UTF-8 bytes.' }),
    quickReplies: t.field({ type: [QuickReplyInput], required: true, description: '1 to 13.' }),
  }),
});
const SendGenericTemplateInput = builder.inputType('SendGenericTemplateInput', {
  description: 'The carousel to send, and to whom.',
  fields: (t) => ({
    ...base(t),
    elements: t.field({ type: [TemplateElementInput], required: true, description: '1 to 10.' }),
  }),
});
const SendButtonTemplateInput = builder.inputType('SendButtonTemplateInput', {
  description: 'The text and buttons to send, and to whom.',
  fields: (t) => ({
    ...base(t),
    text: t.string({ required: true, description: 'At most 640 characters.' }),
    buttons: t.field({ type: [TemplateButtonInput], required: true, description: '1 to 3.' }),
  }),
});

// ---- Resolvers -----------------------------------------------------------------------------

/**
 * The session and the account it sends as; an account the session may not use is answered as
 * NOT_FOUND, never revealing that it exists.
 */
export function sender(
  ctx: Context,
  accountId: string | number,
): { session: Session; igId: string } | SendOutcome {
  const session = requireSession(ctx);
  const decoded = decodeId(String(accountId));
  return decoded?.typename === 'Account' && mayUse(session, decoded.igId)
    ? { session, igId: decoded.igId }
    : notFound('', 'accountId', 'Account');
}

/** `sender` answered a failure rather than the account. */
export const failedOutcome = (value: object): value is SendOutcome => 'userErrors' in value;

/** The customer's IGSID from a `Participant.id` of the account; null for anything else. */
export function participantOf(
  igId: string,
  recipientId: string | number | undefined,
): string | null {
  const decoded = decodeId(String(recipientId ?? ''));
  return decoded?.typename === 'Participant' && decoded.igId === igId && decoded.rest !== igId
    ? decoded.rest
    : null;
}

/** What every message send's input has, besides its content. */
interface MessageSendInput {
  readonly accountId: string | number;
  readonly recipientId: string | number;
  readonly tag?: 'HUMAN_AGENT' | null;
  readonly replyToMessageId?: string | number | null;
  readonly idempotencyKey?: string | null;
  readonly [content: string]: unknown;
}

/**
 * The mid of `replyToMessageId`: a message of the account's conversation with `igsid`. A message
 * of an account the session may not use is NOT_FOUND (never revealing it); one of another of the
 * account's conversations cannot be quoted here: a ValidationError.
 */
function replyTarget(
  igId: string,
  igsid: string,
  messageId: string | number,
): { mid: string } | SendOutcome {
  const decoded = decodeId(String(messageId));
  const rest = decodeMessageRest(decoded?.rest ?? '');
  if (decoded?.typename !== 'Message' || decoded.igId !== igId || !rest.mid) {
    return notFound(igId, 'replyToMessageId', 'Message');
  }
  if (rest.igsid !== igsid) {
    return validationErrors(igId, [
      {
        message:
          'replyToMessageId must be a message of the conversation with the recipient (recipientId)',
        field: ['input', 'replyToMessageId'],
      },
    ]);
  }
  return { mid: rest.mid };
}

async function runSend(
  mutation: SendMutation,
  input: MessageSendInput,
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const igsid = participantOf(from.igId, input.recipientId);
  if (!igsid) return notFound(from.igId, 'recipientId', 'Participant');
  const {
    accountId: _a,
    recipientId: _r,
    tag,
    replyToMessageId,
    idempotencyKey,
    ...content
  } = input;
  // sendMediaShare: a `Media.id` of the account stands for Instagram's media id.
  const mediaId =
    typeof content.mediaId === 'string'
      ? instagramIdOf(from.igId, 'Media', content.mediaId)
      : undefined;
  if (mediaId === null) return notFound(from.igId, 'mediaId', 'Media');
  const target = replyToMessageId == null ? null : replyTarget(from.igId, igsid, replyToMessageId);
  if (target && failedOutcome(target)) return target;
  return ctx.sends.send(from.session, {
    mutation,
    // `replyTo` only when given: the input is the idempotency fingerprint, which it joins.
    input: {
      recipientId: igsid,
      tag: tag ?? null,
      ...(target ? { replyTo: target.mid } : {}),
      ...content,
      ...(mediaId === undefined ? {} : { mediaId }),
    },
    igId: from.igId,
    igsid,
    idempotencyKey,
  });
}

const SEND_MUTATIONS: readonly [
  SendMutation,
  PothosSchemaTypes.InputObjectRef<Types, object>,
  string,
][] = [
  ['sendTextMessage', SendTextMessageInput, 'Sends text (or a link).'],
  ['sendImageMessage', SendImageMessageInput, 'Sends 1 to 10 images or GIFs.'],
  ['sendAudioMessage', SendMediaMessageInput, 'Sends audio (aac, m4a, wav, mp4; 25 MB).'],
  ['sendVideoMessage', SendMediaMessageInput, 'Sends a video (mp4, ogg, avi, mov, webm; 25 MB).'],
  ['sendFileMessage', SendMediaMessageInput, 'Sends a PDF (25 MB).'],
  ['sendLikeHeart', SendLikeHeartInput, 'Sends the heart sticker.'],
  ['sendMediaShare', SendMediaShareInput, 'Shares a published post of the account.'],
  [
    'sendQuickReplies',
    SendQuickRepliesInput,
    'Sends text with 1 to 13 quick-reply buttons (not on desktop).',
  ],
  [
    'sendGenericTemplate',
    SendGenericTemplateInput,
    'Sends a carousel of 1 to 10 elements (not on desktop).',
  ],
  ['sendButtonTemplate', SendButtonTemplateInput, 'Sends text with 1 to 3 buttons.'],
];

for (const [name, input, description] of SEND_MUTATIONS) {
  builder.mutationField(name, (t) =>
    t.field({
      type: SendMessagePayload,
      description,
      args: {
        input: t.arg({ type: input, required: true, description: 'What to send, and to whom.' }),
      },
      resolve: (_root, args, ctx) => runSend(name, args.input as MessageSendInput, ctx),
    }),
  );
}

// ---- Private replies -----------------------------------------------------------------------

const SendPrivateReplyInput = builder.inputType('SendPrivateReplyInput', {
  description: 'The comment to answer privately, and the answer.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    commentId: t.string({
      required: true,
      description:
        'The `Comment.id`, or Instagram’s id, of a comment on the account’s post (see `Comment.privateReply`).',
    }),
    text: t.string({ required: true, description: 'At most 1000 UTF-8 bytes.' }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

builder.mutationField('sendPrivateReply', (t) =>
  t.field({
    type: SendMessagePayload,
    description:
      'Answers a comment privately: one message per comment, within 7 days of it (750 an hour per account).',
    args: {
      input: t.arg({
        type: SendPrivateReplyInput,
        required: true,
        description: 'The comment and the answer.',
      }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      // A `Comment.id` stands for Instagram's id; another account's is not found.
      const commentId = instagramIdOf(from.igId, 'Comment', input.commentId);
      if (commentId === null) return notFound(from.igId, 'commentId', 'Comment');
      return ctx.sends.send(from.session, {
        mutation: 'sendPrivateReply',
        input: { commentId, text: input.text },
        igId: from.igId,
        igsid: null,
        idempotencyKey: input.idempotencyKey,
      });
    },
  }),
);

// ---- Attachment upload ---------------------------------------------------------------------

builder.scalarType('File', {
  description:
    'A file sent with the GraphQL multipart request spec (a `multipart/form-data` POST with `operations`, `map` and the file parts; include the `x-graphql-yoga-csrf` header).',
  serialize: () => {
    throw new TypeError('File is an input only');
  },
  // Yoga's multipart parser gives its own File class (@whatwg-node's), not the global one.
  parseValue: (value) => {
    if (!isFileLike(value)) throw new TypeError('File must be a file part of a multipart request');
    return value;
  },
});

const AttachmentUploadType = builder.enumType('AttachmentUploadType', {
  description: 'What kind of media to upload, with Instagram’s formats and size limits.',
  values: {
    IMAGE: { description: `PNG, JPEG or GIF, up to ${MAX_UPLOAD_BYTES.image / 1e6} MB.` },
    AUDIO: { description: `AAC, M4A, WAV or MP4, up to ${MAX_UPLOAD_BYTES.audio / 1e6} MB.` },
    VIDEO: {
      description: `MP4, OGG, AVI, MOV or WEBM, up to ${MAX_UPLOAD_BYTES.video / 1e6} MB.`,
    },
    FILE: { description: `PDF, up to ${MAX_UPLOAD_BYTES.file / 1e6} MB.` },
  } as const,
});

const UploadAttachmentInput = builder.inputType('UploadAttachmentInput', {
  description: 'The media to upload (exactly one of `url` and `file`), and for which account.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: 'The `Account.id` that will send it.' }),
    type: t.field({
      type: AttachmentUploadType,
      required: true,
      description: 'What kind of media it is.',
    }),
    url: t.string({ description: 'An https URL Instagram fetches the media from.' }),
    file: t.field({
      type: 'File',
      description: 'The media itself, sent through igql (multipart); within the type’s size limit.',
    }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const UploadAttachmentPayload = builder
  .objectRef<SendOutcome>('UploadAttachmentPayload')
  .implement({
    description: 'The uploaded attachment’s id, or why it was not uploaded.',
    fields: (t) => ({
      attachmentId: t.string({
        nullable: true,
        description:
          'Reusable in `sendImageMessage` (`attachmentIds`) and the audio, video and file sends (`attachmentId`) of this account; null when `userErrors` is not empty.',
        resolve: (o) => (o.userErrors.length === 0 ? (o.attachmentId ?? null) : null),
      }),
      userErrors: t.field({
        type: [UserError],
        description: 'Why it was not uploaded; empty when it was.',
        resolve: (o) => [...o.userErrors],
      }),
    }),
  });

builder.mutationField('uploadAttachment', (t) =>
  t.field({
    type: UploadAttachmentPayload,
    description:
      'Uploads an image, audio, video or file to Instagram once, for the account to send by `attachmentId` as often as it likes while Instagram keeps it (Messenger documents 90 days).',
    args: {
      input: t.arg({
        type: UploadAttachmentInput,
        required: true,
        description: 'What to upload, and for which account.',
      }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      return ctx.sends.upload(from.session, {
        input: { type: input.type, url: input.url, file: input.file },
        igId: from.igId,
        idempotencyKey: input.idempotencyKey,
      });
    },
  }),
);
