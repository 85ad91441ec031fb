import { z } from 'zod';
import { fromSend, type SendAnswer } from '../inbox/from-send.ts';
import type { Message } from '../inbox/message.ts';
import type { SendBucket } from '../instagram/rate-limit.ts';
import type { ButtonBody, MessageBody, SendBody } from '../instagram/send-api.ts';

/**
 * Every mutation that goes out through the Send API, as one spec: the input it takes (checked
 * before any upstream call, against Instagram's documented limits), the exact body it becomes
 * (instagram-api.md §1), the per-account limit it counts against, and what its payload shows
 * once Instagram took it.
 */

/** Instagram's documented limits on what one send carries. */
export const LIMITS = {
  textBytes: 1000,
  images: 10,
  quickReplies: 13,
  quickReplyTitle: 20,
  elements: 10,
  elementTitle: 80,
  buttons: 3,
  buttonText: 640,
} as const;

/** Documented formats per kind (MSG table; GIF is sent as an image). A URL may have no extension. */
const EXTENSIONS = {
  image: ['png', 'jpg', 'jpeg', 'gif'],
  audio: ['aac', 'm4a', 'wav', 'mp4'],
  video: ['mp4', 'ogg', 'avi', 'mov', 'webm'],
  file: ['pdf'],
} as const;

/** A kind of media sent by URL. */
export type MediaKind = keyof typeof EXTENSIONS;

const https = z
  .string()
  .refine((url) => URL.canParse(url) && new URL(url).protocol === 'https:', 'must be an https URL');

const mediaUrl = (kind: MediaKind) =>
  https.refine(
    (url) => {
      // Not a URL at all: the https check above already says so (refinements all run).
      const parsed = URL.parse(url);
      if (!parsed) return true;
      const last = parsed.pathname.split('/').pop() ?? '';
      const dot = last.lastIndexOf('.');
      return (
        dot === -1 ||
        (EXTENSIONS[kind] as readonly string[]).includes(last.slice(dot + 1).toLowerCase())
      );
    },
    `must be ${EXTENSIONS[kind].map((e) => `.${e}`).join(', ')} (or have no extension)`,
  );

const text = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    (t) => Buffer.byteLength(t) <= LIMITS.textBytes,
    `must be at most ${LIMITS.textBytes} UTF-8 bytes`,
  );

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const reaction = z
  .string()
  .refine(
    (r) =>
      r === 'love' ||
      ([...graphemes.segment(r)].length === 1 &&
        /^\p{RGI_Emoji}$|\p{Extended_Pictographic}/v.test(r)),
    'must be "love" or a single emoji',
  );

const button = z.discriminatedUnion('type', [
  z.object({ type: z.literal('WEB_URL'), title: z.string().min(1), url: https }),
  z.object({
    type: z.literal('POSTBACK'),
    title: z.string().min(1),
    payload: z.string().min(1).max(1000),
  }),
]);

const quickReply = z
  .object({
    contentType: z.enum(['TEXT', 'USER_PHONE_NUMBER', 'USER_EMAIL']),
    title: z
      .string()
      .max(
        LIMITS.quickReplyTitle,
        `must be at most ${LIMITS.quickReplyTitle} characters (Instagram cuts longer titles)`,
      )
      .nullish(),
    payload: z.string().max(1000).nullish(),
  })
  .refine((q) => q.contentType !== 'TEXT' || (q.title && q.payload), {
    message: 'a TEXT quick reply needs a title and a payload',
  });

const element = z
  .object({
    title: z.string().min(1).max(LIMITS.elementTitle),
    subtitle: z.string().max(LIMITS.elementTitle).nullish(),
    imageUrl: https.nullish(),
    defaultActionUrl: https.nullish(),
    buttons: z.array(button).min(1).max(LIMITS.buttons).nullish(),
  })
  .refine((e) => e.subtitle || e.imageUrl || e.defaultActionUrl || e.buttons?.length, {
    message: 'an element needs at least one property besides its title',
  });

/** What a payload shows of a send Instagram took. */
export interface Sent {
  /** The message as sent (message sends). */
  readonly message: Message | null;
  /** The mid of the message reacted to (reactions). */
  readonly reactedMid: string | null;
}

/** How one mutation goes out through the Send API. */
export interface SendSpec<I> {
  /** Checks the input, its ids already decoded; each failure is a ValidationError under `input`. */
  readonly schema: z.ZodType<I>;
  /** The per-account limit the send counts against. */
  readonly bucket: SendBucket;
  /** The exact Send API body for the checked input. */
  body(input: NoInfer<I>): SendBody;
  /** What the payload shows, from the checked input, the body and Instagram's answer. */
  sent(input: NoInfer<I>, body: SendBody, answer: SendAnswer): Sent;
}

/** A spec, its input type inferred from its schema alone. */
const spec = <I>(s: SendSpec<I>): SendSpec<I> => s;

/** A message send shows the message as sent. */
const theMessage = (_input: unknown, body: SendBody, answer: SendAnswer): Sent => ({
  message: fromSend(body, answer),
  reactedMid: null,
});

/** A reaction shows the message reacted to. */
const theReactedMessage = (input: { messageId: string }): Sent => ({
  message: null,
  reactedMid: input.messageId,
});

/** A sender action shows only that Instagram took it. */
const nothing = (): Sent => ({ message: null, reactedMid: null });

/** What every message send takes besides its content: the recipient's IGSID and the tag. */
const addressed = { recipientId: z.string(), tag: z.literal('HUMAN_AGENT').nullable() };

/** `message` to the recipient, tagged when asked. */
const messageTo = (
  i: { recipientId: string; tag: 'HUMAN_AGENT' | null },
  message: MessageBody,
): SendBody => ({
  recipient: { id: i.recipientId },
  message,
  ...(i.tag === 'HUMAN_AGENT'
    ? ({ messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' } as const)
    : {}),
});

/** Audio, video or a file, by URL. */
const media = (type: 'audio' | 'video' | 'file', url: string): MessageBody => ({
  attachment: { type, payload: { url } },
});

/** A typing indicator or seen receipt: no message, nothing to show but that it went. */
const senderAction = (action: 'typing_on' | 'typing_off' | 'mark_seen') =>
  spec({
    schema: z.object({ recipientId: z.string() }),
    bucket: 'send',
    body: (i) => ({ recipient: { id: i.recipientId }, sender_action: action }),
    sent: nothing,
  });

/**
 * Every send, by the name its idempotency fingerprint has always used: the GraphQL mutation for
 * messages, the sender action for reactions, typing indicators and seen receipts.
 */
export const SENDS = {
  sendTextMessage: spec({
    schema: z.object({ ...addressed, text }),
    bucket: 'send',
    body: (i) => messageTo(i, { text: i.text }),
    sent: theMessage,
  }),
  sendImageMessage: spec({
    schema: z.object({
      ...addressed,
      urls: z
        .array(mediaUrl('image'))
        .min(1, 'give at least one URL')
        .max(LIMITS.images, `at most ${LIMITS.images} images`),
    }),
    bucket: 'send',
    body: (i) =>
      messageTo(
        i,
        i.urls.length === 1
          ? { attachment: { type: 'image', payload: { url: i.urls[0] } } }
          : { attachments: i.urls.map((url) => ({ type: 'image', payload: { url } })) },
      ),
    sent: theMessage,
  }),
  sendAudioMessage: spec({
    schema: z.object({ ...addressed, url: mediaUrl('audio') }),
    bucket: 'sendMedia',
    body: (i) => messageTo(i, media('audio', i.url)),
    sent: theMessage,
  }),
  sendVideoMessage: spec({
    schema: z.object({ ...addressed, url: mediaUrl('video') }),
    bucket: 'sendMedia',
    body: (i) => messageTo(i, media('video', i.url)),
    sent: theMessage,
  }),
  sendFileMessage: spec({
    schema: z.object({ ...addressed, url: mediaUrl('file') }),
    bucket: 'send',
    body: (i) => messageTo(i, media('file', i.url)),
    sent: theMessage,
  }),
  sendLikeHeart: spec({
    schema: z.object(addressed),
    bucket: 'send',
    body: (i) => messageTo(i, { attachment: { type: 'like_heart' } }),
    sent: theMessage,
  }),
  sendMediaShare: spec({
    schema: z.object({
      ...addressed,
      mediaId: z.string().regex(/^\d+$/, 'must be the id of a post of the account'),
    }),
    bucket: 'send',
    body: (i) => messageTo(i, { attachment: { type: 'MEDIA_SHARE', payload: { id: i.mediaId } } }),
    sent: theMessage,
  }),
  sendQuickReplies: spec({
    schema: z.object({
      ...addressed,
      text,
      quickReplies: z
        .array(quickReply)
        .min(1)
        .max(LIMITS.quickReplies, `at most ${LIMITS.quickReplies} quick replies`),
    }),
    bucket: 'send',
    body: (i) =>
      messageTo(i, {
        text: i.text,
        quick_replies: i.quickReplies.map((q) =>
          q.contentType === 'TEXT'
            ? { content_type: 'text', title: q.title, payload: q.payload }
            : { content_type: q.contentType.toLowerCase() },
        ),
      }),
    sent: theMessage,
  }),
  sendGenericTemplate: spec({
    schema: z.object({
      ...addressed,
      elements: z.array(element).min(1).max(LIMITS.elements, `at most ${LIMITS.elements} elements`),
    }),
    bucket: 'send',
    body: (i) =>
      messageTo(i, {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'generic',
            elements: i.elements.map((e) => ({
              title: e.title,
              ...(e.subtitle ? { subtitle: e.subtitle } : {}),
              ...(e.imageUrl ? { image_url: e.imageUrl } : {}),
              ...(e.defaultActionUrl
                ? { default_action: { type: 'web_url', url: e.defaultActionUrl } as const }
                : {}),
              ...(e.buttons?.length ? { buttons: e.buttons.map(graphButton) } : {}),
            })),
          },
        },
      }),
    sent: theMessage,
  }),
  sendButtonTemplate: spec({
    schema: z.object({
      ...addressed,
      text: z
        .string()
        .min(1)
        .max(LIMITS.buttonText, `must be at most ${LIMITS.buttonText} characters`),
      buttons: z
        .array(button)
        .min(1, 'give 1 to 3 buttons')
        .max(LIMITS.buttons, 'give 1 to 3 buttons'),
    }),
    bucket: 'send',
    body: (i) =>
      messageTo(i, {
        attachment: {
          type: 'template',
          payload: { template_type: 'button', text: i.text, buttons: i.buttons.map(graphButton) },
        },
      }),
    sent: theMessage,
  }),
  sendPrivateReply: spec({
    schema: z.object({
      commentId: z.string().regex(/^\d+$/, 'must be an Instagram comment id'),
      text,
    }),
    bucket: 'privateReplies',
    body: (i) => ({ recipient: { comment_id: i.commentId }, message: { text: i.text } }),
    sent: theMessage,
  }),
  react: spec({
    schema: z.object({ recipientId: z.string(), messageId: z.string(), reaction }),
    bucket: 'send',
    body: (i) => ({
      recipient: { id: i.recipientId },
      sender_action: 'react',
      payload: { message_id: i.messageId, reaction: i.reaction },
    }),
    sent: theReactedMessage,
  }),
  unreact: spec({
    schema: z.object({ recipientId: z.string(), messageId: z.string() }),
    bucket: 'send',
    body: (i) => ({
      recipient: { id: i.recipientId },
      sender_action: 'unreact',
      payload: { message_id: i.messageId },
    }),
    sent: theReactedMessage,
  }),
  typing_on: senderAction('typing_on'),
  typing_off: senderAction('typing_off'),
  mark_seen: senderAction('mark_seen'),
} as const;

/** A send's name: a key of `SENDS`. */
export type SendMutation = keyof typeof SENDS;

function graphButton(b: z.infer<typeof button>): ButtonBody {
  return b.type === 'WEB_URL'
    ? { type: 'web_url', url: b.url, title: b.title }
    : { type: 'postback', payload: b.payload, title: b.title };
}

/** A validation failure: the input path and what is wrong. */
export interface Invalid {
  readonly field: readonly string[];
  readonly message: string;
}

/** Parses `input` with `schema`; the failures carry their path under `input`. */
export function check<T>(
  schema: z.ZodType<T>,
  input: unknown,
): { ok: true; value: T } | { ok: false; errors: Invalid[] } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => ({
      field: ['input', ...issue.path.map(String)],
      message: `${issue.path.map(String).join('.') || 'input'} ${issue.message}`,
    })),
  };
}
