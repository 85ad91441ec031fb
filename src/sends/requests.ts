import { z } from 'zod';

/**
 * What each mutation may send, validated before any upstream call, and the Send API body it
 * becomes (instagram-api.md §1). One table: the limits are Instagram's documented ones.
 */

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

/** Every send, by mutation: the fields checked and the `message` (or sender action) it becomes. */
export const SENDS = {
  sendTextMessage: {
    schema: z.object({ text }),
    bucket: 'send',
    message: (i: { text: string }) => ({ text: i.text }),
  },
  sendImageMessage: {
    schema: z.object({
      urls: z
        .array(mediaUrl('image'))
        .min(1, 'give at least one URL')
        .max(LIMITS.images, `at most ${LIMITS.images} images`),
    }),
    bucket: 'send',
    message: (i: { urls: string[] }) =>
      i.urls.length === 1
        ? { attachment: { type: 'image', payload: { url: i.urls[0] } } }
        : { attachments: i.urls.map((url) => ({ type: 'image', payload: { url } })) },
  },
  sendAudioMessage: {
    schema: z.object({ url: mediaUrl('audio') }),
    bucket: 'sendMedia',
    message: (i: { url: string }) => ({ attachment: { type: 'audio', payload: { url: i.url } } }),
  },
  sendVideoMessage: {
    schema: z.object({ url: mediaUrl('video') }),
    bucket: 'sendMedia',
    message: (i: { url: string }) => ({ attachment: { type: 'video', payload: { url: i.url } } }),
  },
  sendFileMessage: {
    schema: z.object({ url: mediaUrl('file') }),
    bucket: 'send',
    message: (i: { url: string }) => ({ attachment: { type: 'file', payload: { url: i.url } } }),
  },
  sendLikeHeart: {
    schema: z.object({}),
    bucket: 'send',
    message: () => ({ attachment: { type: 'like_heart' } }),
  },
  sendMediaShare: {
    schema: z.object({
      mediaId: z.string().regex(/^\d+$/, 'must be the id of a post of the account'),
    }),
    bucket: 'send',
    message: (i: { mediaId: string }) => ({
      attachment: { type: 'MEDIA_SHARE', payload: { id: i.mediaId } },
    }),
  },
  sendQuickReplies: {
    schema: z.object({
      text,
      quickReplies: z
        .array(quickReply)
        .min(1)
        .max(LIMITS.quickReplies, `at most ${LIMITS.quickReplies} quick replies`),
    }),
    bucket: 'send',
    message: (i: { text: string; quickReplies: z.infer<typeof quickReply>[] }) => ({
      text: i.text,
      quick_replies: i.quickReplies.map((q) =>
        q.contentType === 'TEXT'
          ? { content_type: 'text', title: q.title, payload: q.payload }
          : { content_type: q.contentType.toLowerCase() },
      ),
    }),
  },
  sendGenericTemplate: {
    schema: z.object({
      elements: z.array(element).min(1).max(LIMITS.elements, `at most ${LIMITS.elements} elements`),
    }),
    bucket: 'send',
    message: (i: { elements: z.infer<typeof element>[] }) => ({
      attachment: {
        type: 'template',
        payload: {
          template_type: 'generic',
          elements: i.elements.map((e) => ({
            title: e.title,
            ...(e.subtitle ? { subtitle: e.subtitle } : {}),
            ...(e.imageUrl ? { image_url: e.imageUrl } : {}),
            ...(e.defaultActionUrl
              ? { default_action: { type: 'web_url', url: e.defaultActionUrl } }
              : {}),
            ...(e.buttons?.length ? { buttons: e.buttons.map(graphButton) } : {}),
          })),
        },
      },
    }),
  },
  sendButtonTemplate: {
    schema: z.object({
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
    message: (i: { text: string; buttons: z.infer<typeof button>[] }) => ({
      attachment: {
        type: 'template',
        payload: { template_type: 'button', text: i.text, buttons: i.buttons.map(graphButton) },
      },
    }),
  },
} as const;

export type SendMutation = keyof typeof SENDS;

function graphButton(b: z.infer<typeof button>) {
  return b.type === 'WEB_URL'
    ? { type: 'web_url', url: b.url, title: b.title }
    : { type: 'postback', payload: b.payload, title: b.title };
}

export const privateReplySchema = z.object({
  commentId: z.string().regex(/^\d+$/, 'must be an Instagram comment id'),
  text,
});

export const reactionSchema = z.object({ reaction: reaction.nullish() });

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
