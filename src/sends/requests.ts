import { z } from 'zod';
import { fromSend, type SendAnswer } from '../inbox/from-send.ts';
import type { Message } from '../inbox/message.ts';
import type { SendLimit } from '../instagram/rate-limit.ts';
import type {
  AttachmentBody,
  ButtonBody,
  MessageBody,
  SendBody,
  UploadBody,
  UploadType,
} from '../instagram/send-api.ts';

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

/**
 * The largest file per kind, in bytes (MSG table, the attachment-upload page: image 8 MB, audio,
 * video and file 25 MB), counted as 10^6 bytes a MB: the stricter reading, so that nothing igql
 * lets through is refused for its size.
 */
export const MAX_UPLOAD_BYTES: Readonly<Record<MediaKind, number>> = {
  image: 8_000_000,
  audio: 25_000_000,
  video: 25_000_000,
  file: 25_000_000,
};

/** An id from the attachment upload API (`uploadAttachment`): digits, as Instagram's are. */
const attachmentId = z
  .string()
  .regex(/^\d{1,32}$/, 'must be an attachmentId from uploadAttachment');

/** Why igql no longer sends email and phone-number quick replies. */
export const CONTACT_QUICK_REPLIES_GONE =
  'Instagram disabled email and phone-number quick replies on 2026-10-05: ask in a TEXT quick reply or in the text instead';

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
    contentType: z
      .enum(['TEXT', 'USER_PHONE_NUMBER', 'USER_EMAIL'])
      .refine((type) => type === 'TEXT', CONTACT_QUICK_REPLIES_GONE),
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
  /**
   * The per-account limit the send counts against: `text` for what Meta's Facebook Login limit
   * names ("text, links, reactions, and stickers"), which is 300 a second there and 100 with
   * Instagram Login (rate-limit.ts `sendBucketFor`).
   */
  readonly bucket: SendLimit;
  /** The exact Send API body for the checked input. */
  body(input: NoInfer<I>): SendBody;
  /** What the payload shows, from the checked input, the body and Instagram's answer. */
  sent(input: NoInfer<I>, body: SendBody, answer: SendAnswer): Sent;
}

/** A spec, its input type inferred from its schema alone. */
const spec = <I>(s: SendSpec<I>): SendSpec<I> => s;

/** A message send shows the message as sent, with the message it replies to. */
const theMessage = (_input: unknown, body: SendBody, answer: SendAnswer): Sent => {
  const message = fromSend(body, answer);
  return {
    message: message && body.reply_to ? { ...message, replyTo: body.reply_to.mid } : message,
    reactedMid: null,
  };
};

/** A reaction shows the message reacted to. */
const theReactedMessage = (input: { messageId: string }): Sent => ({
  message: null,
  reactedMid: input.messageId,
});

/** A sender action shows only that Instagram took it. */
const nothing = (): Sent => ({ message: null, reactedMid: null });

/**
 * What every message send takes besides its content: the recipient's IGSID, the tag, and the mid
 * of the message it replies to (the schema decoded it from a `Message.id` of the conversation;
 * absent, not null, when there is none, so that older idempotency fingerprints still match).
 */
const addressed = {
  recipientId: z.string(),
  tag: z.literal('HUMAN_AGENT').nullable(),
  replyTo: z.string().min(1).optional(),
};

/** `message` to the recipient, as a reply when asked, tagged when asked. */
const messageTo = (
  i: { recipientId: string; tag: 'HUMAN_AGENT' | null; replyTo?: string | undefined },
  message: MessageBody,
): SendBody => ({
  recipient: { id: i.recipientId },
  ...(i.replyTo ? { reply_to: { mid: i.replyTo } } : {}),
  message,
  ...(i.tag === 'HUMAN_AGENT'
    ? ({ messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' } as const)
    : {}),
});

/** Audio, video or a file, by URL or by an uploaded attachment's id. */
const media = (
  type: 'audio' | 'video' | 'file',
  i: { url?: string | null | undefined; attachmentId?: string | null | undefined },
): MessageBody => ({ attachment: byUrlOrId(type, i.url, i.attachmentId) });

const byUrlOrId = (
  type: UploadType,
  url: string | null | undefined,
  id: string | null | undefined,
): AttachmentBody => ({ type, payload: url ? { url } : { attachment_id: id ?? '' } });

/** Exactly one of `url` and `attachmentId` (an upload's id, 2026-03-13). */
const mediaInput = (kind: 'audio' | 'video' | 'file') =>
  z
    .object({ ...addressed, url: mediaUrl(kind).nullish(), attachmentId: attachmentId.nullish() })
    .refine((i) => (i.url == null) !== (i.attachmentId == null), {
      message: 'give exactly one of url and attachmentId',
      path: ['url'],
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
    bucket: 'text',
    body: (i) => messageTo(i, { text: i.text }),
    sent: theMessage,
  }),
  sendImageMessage: spec({
    // Several images out of beta since 2026-05-06; URLs and uploaded ids may be mixed (MSG).
    schema: z
      .object({
        ...addressed,
        urls: z.array(mediaUrl('image')).nullish(),
        attachmentIds: z.array(attachmentId).nullish(),
      })
      .refine(
        (i) => {
          const count = (i.urls?.length ?? 0) + (i.attachmentIds?.length ?? 0);
          return count >= 1 && count <= LIMITS.images;
        },
        {
          message: `give 1 to ${LIMITS.images} images in all (urls and attachmentIds)`,
          path: ['urls'],
        },
      ),
    bucket: 'send',
    body: (i) => {
      // URLs first, then uploaded ids, each in the order given.
      const images = [
        ...(i.urls ?? []).map((url) => byUrlOrId('image', url, null)),
        ...(i.attachmentIds ?? []).map((id) => byUrlOrId('image', null, id)),
      ];
      return messageTo(
        i,
        images.length === 1 && images[0] ? { attachment: images[0] } : { attachments: images },
      );
    },
    sent: theMessage,
  }),
  sendAudioMessage: spec({
    schema: mediaInput('audio'),
    bucket: 'sendMedia',
    body: (i) => messageTo(i, media('audio', i)),
    sent: theMessage,
  }),
  sendVideoMessage: spec({
    schema: mediaInput('video'),
    bucket: 'sendMedia',
    body: (i) => messageTo(i, media('video', i)),
    sent: theMessage,
  }),
  sendFileMessage: spec({
    schema: mediaInput('file'),
    bucket: 'send',
    body: (i) => messageTo(i, media('file', i)),
    sent: theMessage,
  }),
  sendLikeHeart: spec({
    schema: z.object(addressed),
    bucket: 'text',
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
    // Text with quick replies: whether Meta counts it as text (300 a second with Facebook Login) is
    // UNCONFIRMED; counted with the other sends (the simulator does the same).
    bucket: 'send',
    body: (i) =>
      messageTo(i, {
        text: i.text,
        // Only TEXT passes the schema (email and phone were disabled on 2026-10-05).
        quick_replies: i.quickReplies.map((q) => ({
          content_type: 'text',
          title: q.title,
          payload: q.payload,
        })),
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
    bucket: 'text',
    body: (i) => ({
      recipient: { id: i.recipientId },
      sender_action: 'react',
      payload: { message_id: i.messageId, reaction: i.reaction },
    }),
    sent: theReactedMessage,
  }),
  unreact: spec({
    schema: z.object({ recipientId: z.string(), messageId: z.string() }),
    bucket: 'text',
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

const UPLOAD_TYPES = ['IMAGE', 'AUDIO', 'VIDEO', 'FILE'] as const;

/**
 * Whether `value` is a file as Yoga's multipart parser gives it: a `File` of @whatwg-node's, which
 * the global `File` class does not recognise, so it is told by its shape.
 */
export const isFileLike = (value: unknown): value is File =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as File).name === 'string' &&
  typeof (value as File).size === 'number' &&
  typeof (value as File).arrayBuffer === 'function';

/** A file given to `uploadAttachment`, as the schema received it (the GraphQL `File`). */
const uploadedFile = z.custom<File>(isFileLike, 'must be a file');

/**
 * `uploadAttachment`: media by URL, or a file igql received (multipart), stored by Instagram for
 * reuse (`is_reusable: true`), its size checked against Instagram's limit before any upload.
 */
export const UPLOAD = {
  schema: z
    .object({
      type: z.enum(UPLOAD_TYPES),
      // Checked below, for its type's formats (an https URL first).
      url: z.string().nullish(),
      file: uploadedFile.nullish(),
    })
    .refine((i) => (i.url == null) !== (i.file == null), {
      message: 'give exactly one of url and file',
      path: ['url'],
    })
    .superRefine((i, ctx) => {
      const kind = i.type.toLowerCase() as MediaKind;
      if (i.url != null) {
        const checked = mediaUrl(kind).safeParse(i.url);
        for (const issue of checked.error?.issues ?? []) {
          ctx.addIssue({ code: 'custom', path: ['url'], message: issue.message });
        }
      }
      if (i.file != null) {
        for (const message of fileProblems(kind, i.file)) {
          ctx.addIssue({ code: 'custom', path: ['file'], message });
        }
      }
    }),
  /**
   * Audio and video count as media sends, the rest as other sends (`send`, 100 a second in
   * either configuration): RL gives uploads no limit of their own, and an upload is none of the
   * messages Facebook Login's 300 a second names.
   */
  bucket: (type: (typeof UPLOAD_TYPES)[number]): SendLimit =>
    type === 'AUDIO' || type === 'VIDEO' ? 'sendMedia' : 'send',
  body: (i: { type: (typeof UPLOAD_TYPES)[number]; url?: string | null }): UploadBody => ({
    message: {
      attachment: {
        type: i.type.toLowerCase() as UploadType,
        payload: i.url ? { url: i.url, is_reusable: true } : { is_reusable: true },
      },
    },
  }),
} as const;

/** What is wrong with a file for `kind`: its size, name and extension (instagram-api.md §1). */
function fileProblems(kind: MediaKind, file: File): string[] {
  const problems: string[] = [];
  const max = MAX_UPLOAD_BYTES[kind];
  if (file.size === 0) problems.push('must not be empty');
  if (file.size > max) {
    problems.push(
      `is ${file.size} bytes; Instagram takes ${kind} files up to ${max / 1_000_000} MB (${max} bytes)`,
    );
  }
  // "non-ASCII file names are not supported" (the attachment-upload doc).
  if (!/^[\x20-\x7e]+$/.test(file.name)) problems.push('must have a name of ASCII characters');
  const dot = file.name.lastIndexOf('.');
  const extension = dot === -1 ? undefined : file.name.slice(dot + 1).toLowerCase();
  const allowed: readonly string[] = EXTENSIONS[kind];
  if (extension !== undefined && !allowed.includes(extension)) {
    problems.push(`must be ${allowed.map((e) => `.${e}`).join(', ')} (or have no extension)`);
  }
  return problems;
}

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
