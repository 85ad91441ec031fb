import type { Session } from '../auth/session.ts';
import { decodeId, decodeMessageRest } from '../global-id.ts';
import { messageFields } from '../instagram/fields.ts';
import { formatGraphTime, type GraphAttachment, type GraphMessage } from '../instagram/graph.ts';
import {
  check,
  type Invalid,
  privateReplySchema,
  reactionSchema,
  SENDS,
  type SendMutation,
} from '../sends/requests.ts';
import {
  notFound,
  type SendOutcome,
  type UserErrorData,
  validationErrors,
} from '../sends/service.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { requireSession } from './errors.ts';
import { Message, messageNeeds, toMessage } from './message.ts';
import { selectionOf } from './selection.ts';

// ---- Errors as data ------------------------------------------------------------------------

const UserErrorCode = builder.enumType('UserErrorCode', {
  description: 'Why a mutation did not do what was asked.',
  values: {
    VALIDATION: { description: 'The input is invalid; nothing was sent.' },
    RATE_LIMITED: {
      description: 'The account is at Instagram’s limit; retry after `retryAfter` seconds.',
    },
    OUTSIDE_MESSAGING_WINDOW: { description: 'The customer last wrote more than 24 hours ago.' },
    RECIPIENT_UNAVAILABLE: {
      description: 'The person cannot receive messages from the account now.',
    },
    REAUTH_REQUIRED: { description: 'The account must log in with Instagram again.' },
    NOT_FOUND: { description: 'No such account, participant or message for this session.' },
    IDEMPOTENCY_CONFLICT: { description: 'The idempotency key was used for other content.' },
    UPSTREAM_UNAVAILABLE: { description: 'Instagram did not answer, or failed.' },
  } as const,
});

const UserError = builder.interfaceRef<UserErrorData>('UserError').implement({
  description: 'An expected failure, returned as data in `userErrors`.',
  fields: (t) => ({
    code: t.field({
      type: UserErrorCode,
      description: 'Why it failed, to branch on; each code has its own concrete type.',
      resolve: (e) => e.code,
    }),
    message: t.string({
      description: 'For a person: what happened and what to do.',
      resolve: (e) => e.message,
    }),
    field: t.stringList({
      nullable: true,
      description: 'The input path that caused it, when one input did: `["input", "text"]`.',
      resolve: (e) => ('field' in e ? [...e.field] : null),
    }),
  }),
});

const implement = <T extends UserErrorData['type']>(name: T, description: string) =>
  builder.objectRef<Extract<UserErrorData, { type: T }>>(name).implement({
    description,
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === name,
  });

implement('ValidationError', 'The input is invalid; nothing was sent.');
implement('RecipientUnavailableError', 'The person cannot receive messages from the account now.');
implement(
  'ReauthRequiredError',
  'Instagram refused the account’s token: log in with Instagram again.',
);
implement('NotFoundError', 'No such account, participant or message for this session.');
implement(
  'IdempotencyConflictError',
  'The idempotency key was already used for different content.',
);

builder
  .objectRef<Extract<UserErrorData, { type: 'RateLimitedError' }>>('RateLimitedError')
  .implement({
    description: 'The account is at Instagram’s limit for this kind of send.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'RateLimitedError',
    fields: (t) => ({
      retryAfter: t.float({
        description: 'Seconds to wait before retrying.',
        resolve: (e) => e.retryAfter,
      }),
    }),
  });

builder
  .objectRef<Extract<UserErrorData, { type: 'OutsideMessagingWindowError' }>>(
    'OutsideMessagingWindowError',
  )
  .implement({
    description:
      'The customer last wrote more than 24 hours ago. Within 7 days a person may still answer with the `HUMAN_AGENT` tag.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'OutsideMessagingWindowError',
    fields: (t) => ({
      closesAt: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'Until when `HUMAN_AGENT` may answer; null when that is over too.',
        resolve: (e) => (e.closesAt ? new Date(e.closesAt) : null),
      }),
    }),
  });

builder
  .objectRef<Extract<UserErrorData, { type: 'UpstreamUnavailableError' }>>(
    'UpstreamUnavailableError',
  )
  .implement({
    description: 'Instagram did not answer or failed.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'UpstreamUnavailableError',
    fields: (t) => ({
      outcomeUnknown: t.boolean({
        description:
          'True when Instagram never answered: the message may have gone out. Look at the conversation before sending again.',
        resolve: (e) => e.outcomeUnknown,
      }),
    }),
  });

// ---- Payloads ------------------------------------------------------------------------------

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

const ReactionPayload = builder.objectRef<SendOutcome>('ReactionPayload').implement({
  description: 'The message reacted to, or why the reaction failed.',
  fields: (t) => ({
    message: t.field({
      type: Message,
      nullable: true,
      description: 'The message reacted to (read from Instagram only for fields beyond its id).',
      resolve: async (o, _args, ctx, info) => {
        if (!o.reactedMid || !o.igsid || o.userErrors.length > 0) return null;
        const selection = selectionOf(info);
        const needsRead = [...selection.keys()].some(
          (f) => !['id', 'mid', '__typename'].includes(f),
        );
        const data: GraphMessage = needsRead
          ? await ctx.loaders.message(o.igId, o.reactedMid, messageFields(messageNeeds(selection)))
          : { id: o.reactedMid };
        return toMessage(o.igId, o.igsid, data);
      },
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why the reaction failed; empty when it succeeded.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

const SenderActionPayload = builder.objectRef<SendOutcome>('SenderActionPayload').implement({
  description: 'Whether Instagram took the sender action.',
  fields: (t) => ({
    ok: t.boolean({
      description: 'True when Instagram took the action.',
      resolve: (o) => o.ok,
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why Instagram did not take the action; empty when it did.',
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
    USER_PHONE_NUMBER: { description: 'Offers the customer’s phone number.' },
    USER_EMAIL: { description: 'Offers the customer’s email address.' },
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

interface InputCommon {
  readonly accountId: string | number;
  readonly recipientId?: string | number;
  readonly tag?: 'HUMAN_AGENT' | null;
  readonly idempotencyKey?: string | null;
}

const ACCOUNT = 'The `Account.id` to send as.';
const RECIPIENT = 'The `Participant.id` of the customer.';
const KEY =
  'Retrying with the same key within 24 hours returns the first result and sends nothing again.';

type MessageInputShape = Record<string, unknown>;

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type InputFields = PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>;

/** The fields every message send takes (DESIGN.md). */
const base = (t: InputFields) => ({
  accountId: t.id({ required: true, description: ACCOUNT }),
  recipientId: t.id({ required: true, description: RECIPIENT }),
  tag: t.field({
    type: MessageTag,
    description: 'Only `HUMAN_AGENT`: a person answering within 7 days.',
  }),
  idempotencyKey: t.string({ description: KEY }),
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
      required: true,
      description: '1 to 10 https URLs of PNG, JPEG or GIF images.',
    }),
  }),
});
const SendMediaMessageInput = builder.inputType('SendMediaMessageInput', {
  description:
    'The audio, video or file to send, and to whom (`sendAudioMessage`, `sendVideoMessage`, `sendFileMessage`).',
  fields: (t) => ({
    ...base(t),
    url: t.string({
      required: true,
      description: 'An https URL in a format Instagram takes for this kind.',
    }),
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
      description: 'The id of a published post of the account.',
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
function sender(
  ctx: Context,
  accountId: string | number,
): { session: Session; igId: string } | SendOutcome {
  const session = requireSession(ctx);
  const decoded = decodeId(String(accountId));
  return decoded?.typename === 'Account' && ctx.loaders.allows(decoded.igId)
    ? { session, igId: decoded.igId }
    : notFound('', 'accountId', 'Account');
}

const failedOutcome = (value: object): value is SendOutcome => 'userErrors' in value;

function participantOf(igId: string, recipientId: string | number | undefined): string | null {
  const decoded = decodeId(String(recipientId ?? ''));
  return decoded?.typename === 'Participant' && decoded.igId === igId && decoded.rest !== igId
    ? decoded.rest
    : null;
}

/** The sent message as Instagram will list it, from what was sent. */
function sentMessage(igId: string, body: Record<string, unknown>, text: string | null) {
  return ({
    recipientId,
    messageId,
    at,
  }: {
    recipientId: string | null;
    messageId: string | null;
    at: number;
  }): GraphMessage | null => {
    if (!messageId) return null;
    const message = body.message as { attachment?: AttachmentBody; attachments?: AttachmentBody[] };
    const attachments = [
      ...(message.attachments ?? []),
      ...(message.attachment ? [message.attachment] : []),
    ];
    return {
      id: messageId,
      created_time: formatGraphTime(at),
      from: { id: igId },
      to: { data: recipientId ? [{ id: recipientId }] : [] },
      ...(text ? { message: text } : {}),
      attachments: { data: attachments.flatMap(asGraphAttachment) },
      ...(attachments.some((a) => a.type === 'MEDIA_SHARE') ? { shares: { data: [{}] } } : {}),
    };
  };
}

interface AttachmentBody {
  readonly type: string;
  readonly payload?: { readonly url?: string };
}

function asGraphAttachment(a: AttachmentBody): GraphAttachment[] {
  const url = a.payload?.url;
  switch (a.type) {
    case 'image':
      return url ? [{ image_data: { url, preview_url: url } }] : [];
    case 'video':
      return url ? [{ video_data: { url } }] : [];
    case 'audio':
      return [{ mime_type: 'audio/mpeg', ...(url ? { file_url: url } : {}) }];
    case 'file':
      return [{ mime_type: 'application/pdf', ...(url ? { file_url: url } : {}) }];
    case 'like_heart':
      return [{ mime_type: 'image/png' }];
    default:
      return [];
  }
}

async function runSend(
  mutation: SendMutation,
  input: InputCommon & MessageInputShape,
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const { session, igId } = from;
  const igsid = participantOf(igId, input.recipientId);
  if (!igsid) return notFound(igId, 'recipientId', 'Participant');
  const spec = SENDS[mutation];
  const { accountId: _a, recipientId: _r, tag, idempotencyKey, ...content } = input;
  const parsed = check(spec.schema as never, content);
  if (!parsed.ok) return validationErrors(igId, parsed.errors);
  const message = (spec.message as (i: unknown) => Record<string, unknown>)(parsed.value);
  const body = {
    recipient: { id: igsid },
    message,
    ...(tag === 'HUMAN_AGENT' ? { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' } : {}),
  };
  const text = typeof message.text === 'string' ? message.text : null;
  return ctx.sends.send(session, {
    mutation,
    input: { recipientId: igsid, tag: tag ?? null, ...content },
    igId,
    igsid,
    bucket: spec.bucket,
    body,
    idempotencyKey,
    sent: sentMessage(igId, body, text ?? (typeof content.text === 'string' ? content.text : null)),
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
      resolve: (_root, args, ctx) =>
        runSend(name, args.input as unknown as InputCommon & MessageInputShape, ctx),
    }),
  );
}

// ---- Reactions -----------------------------------------------------------------------------

const ReactToMessageInput = builder.inputType('ReactToMessageInput', {
  description: 'The message to react to, and the reaction.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: ACCOUNT }),
    messageId: t.id({ required: true, description: 'The `Message.id` to react to.' }),
    reaction: t.string({ description: '`love` (the default) or one emoji.' }),
    idempotencyKey: t.string({ description: KEY }),
  }),
});

const UnreactToMessageInput = builder.inputType('UnreactToMessageInput', {
  description: 'The message to take the account’s reaction off.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: ACCOUNT }),
    messageId: t.id({ required: true, description: 'The `Message.id` to take the reaction off.' }),
    idempotencyKey: t.string({ description: KEY }),
  }),
});

async function runReaction(
  action: 'react' | 'unreact',
  input: {
    accountId: string | number;
    messageId: string | number;
    reaction?: string | null;
    idempotencyKey?: string | null;
  },
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const { session, igId } = from;
  const decoded = decodeId(String(input.messageId));
  const { igsid, mid } = decodeMessageRest(decoded?.rest ?? '');
  if (decoded?.typename !== 'Message' || decoded.igId !== igId || !mid) {
    return notFound(igId, 'messageId', 'Message');
  }
  const reaction = input.reaction ?? 'love';
  if (action === 'react') {
    const parsed = check(reactionSchema, { reaction });
    if (!parsed.ok) return validationErrors(igId, parsed.errors);
  }
  return ctx.sends.send(session, {
    mutation: action,
    input: { messageId: mid, ...(action === 'react' ? { reaction } : {}) },
    igId,
    igsid,
    bucket: 'send',
    body: {
      recipient: { id: igsid },
      sender_action: action,
      payload: action === 'react' ? { message_id: mid, reaction } : { message_id: mid },
    },
    idempotencyKey: input.idempotencyKey,
    sent: () => null,
    reactedMid: mid,
  });
}

builder.mutationFields((t) => ({
  reactToMessage: t.field({
    type: ReactionPayload,
    description: 'Reacts to a message (`love` by default, or one emoji).',
    args: {
      input: t.arg({
        type: ReactToMessageInput,
        required: true,
        description: 'The message and the reaction.',
      }),
    },
    resolve: (_root, args, ctx) => runReaction('react', args.input, ctx),
  }),
  unreactToMessage: t.field({
    type: ReactionPayload,
    description: 'Takes the account’s reaction off a message.',
    args: {
      input: t.arg({
        type: UnreactToMessageInput,
        required: true,
        description: 'The message to take the reaction off.',
      }),
    },
    resolve: (_root, args, ctx) => runReaction('unreact', args.input, ctx),
  }),
}));

// ---- Private replies and sender actions ----------------------------------------------------

const SendPrivateReplyInput = builder.inputType('SendPrivateReplyInput', {
  description: 'The comment to answer privately, and the answer.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: ACCOUNT }),
    commentId: t.string({
      required: true,
      description: 'Instagram’s id of a comment on the account’s post.',
    }),
    text: t.string({ required: true, description: 'At most 1000 UTF-8 bytes.' }),
    idempotencyKey: t.string({ description: KEY }),
  }),
});

const SendTypingIndicatorInput = builder.inputType('SendTypingIndicatorInput', {
  description: 'Whom to show the typing indicator to, or hide it from.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: ACCOUNT }),
    recipientId: t.id({ required: true, description: RECIPIENT }),
    on: t.boolean({
      required: true,
      description: 'On, or off (Instagram turns it off after 20 s or a send).',
    }),
  }),
});

const MarkConversationSeenInput = builder.inputType('MarkConversationSeenInput', {
  description: 'The customer whose messages to mark as seen.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: ACCOUNT }),
    recipientId: t.id({ required: true, description: RECIPIENT }),
  }),
});

async function runSenderAction(
  action: 'typing_on' | 'typing_off' | 'mark_seen',
  input: { accountId: string | number; recipientId: string | number },
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const { session, igId } = from;
  const igsid = participantOf(igId, input.recipientId);
  if (!igsid) return notFound(igId, 'recipientId', 'Participant');
  return ctx.sends.send(session, {
    mutation: action,
    input: { recipientId: igsid },
    igId,
    igsid,
    bucket: 'send',
    body: { recipient: { id: igsid }, sender_action: action },
    sent: () => null,
  });
}

builder.mutationFields((t) => ({
  sendPrivateReply: t.field({
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
    resolve: async (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const { session, igId } = from;
      const parsed = check(privateReplySchema, { commentId: input.commentId, text: input.text });
      if (!parsed.ok) return validationErrors(igId, parsed.errors as Invalid[]);
      const body = {
        recipient: { comment_id: parsed.value.commentId },
        message: { text: parsed.value.text },
      };
      return ctx.sends.send(session, {
        mutation: 'sendPrivateReply',
        input: parsed.value,
        igId,
        igsid: null,
        bucket: 'privateReplies',
        body,
        idempotencyKey: input.idempotencyKey,
        sent: sentMessage(igId, body, parsed.value.text),
      });
    },
  }),
  sendTypingIndicator: t.field({
    type: SenderActionPayload,
    description: 'Shows or hides the typing indicator to the customer.',
    args: {
      input: t.arg({
        type: SendTypingIndicatorInput,
        required: true,
        description: 'To whom, and on or off.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runSenderAction(input.on ? 'typing_on' : 'typing_off', input, ctx),
  }),
  markConversationSeen: t.field({
    type: SenderActionPayload,
    description: 'Marks the customer’s messages as seen.',
    args: {
      input: t.arg({
        type: MarkConversationSeenInput,
        required: true,
        description: 'Whose messages.',
      }),
    },
    resolve: (_root, { input }, ctx) => runSenderAction('mark_seen', input, ctx),
  }),
}));
