import { fromUpstream } from '../errors.ts';
import type {
  Attachment as AttachmentData,
  AttachmentKind,
  TemplateAction as TemplateActionData,
  TemplateButton as TemplateButtonData,
  Template as TemplateData,
  TemplateElement as TemplateElementData,
} from '../inbox/attachments.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import {
  emojiOf,
  type Message as MessageData,
  type Participant as ParticipantData,
} from '../inbox/message.ts';
import { InstagramError } from '../instagram/errors.ts';
import { type MessageNeeds, messageFields } from '../instagram/fields.ts';
import { builder, type EpochMs, epochMs } from './builder.ts';
import { Participant, type ParticipantShape } from './participant.ts';
import { type SelectionMap, selectionOf } from './selection.ts';

/**
 * A message as the schema resolves it: the model, and the account and customer its id names.
 * The fields every page reads (`text`, `from`, `createdTime`…) are also its own properties,
 * exposed without a resolver: compiled queries (src/jit.ts) read them inline, where a resolver
 * call costs a resolve info, its path and three closures for each field of each message (the
 * inbox page's CPU fell 6 to 7 %, `bench/read-probe.ts --cpu-ab`).
 */
export interface MessageShape {
  readonly kind: 'Message';
  readonly igId: string;
  /** The conversation's other participant. */
  readonly igsid: string;
  readonly message: MessageData;
  readonly mid: string;
  readonly createdTime: EpochMs;
  readonly detailAvailable: boolean;
  readonly from: ParticipantShape | null;
  readonly text: string | null;
  readonly isUnsupported: boolean;
}

/** The Graph fields a message selection needs. */
export function messageNeeds(selection: SelectionMap): MessageNeeds {
  return {
    text: selection.has('text'),
    to: selection.has('to'),
    attachments: selection.has('attachments'),
    reactions: selection.has('reactions'),
    replyTo: selection.has('replyTo'),
    isUnsupported: selection.has('isUnsupported'),
  };
}

/** A message of the account's conversation with `igsid`. */
export const toMessage = (igId: string, igsid: string, message: MessageData): MessageShape => ({
  kind: 'Message',
  igId,
  igsid,
  message,
  mid: message.mid,
  createdTime: epochMs(message.createdTime),
  detailAvailable: message.detailAvailable,
  from: message.from ? participant(igId, message.from) : null,
  text: message.text,
  isUnsupported: message.isUnsupported,
});

const participant = (igId: string, p: ParticipantData): ParticipantShape => ({
  igId,
  igsid: p.igsid,
  username: p.username ?? undefined,
});

// ---- Attachments ---------------------------------------------------------------------------

const AttachmentKindEnum = builder.enumType('AttachmentKind', {
  description: 'What an attachment is.',
  values: {
    IMAGE: { description: 'An image, GIF or sticker (the heart sticker too).' },
    VIDEO: { description: 'A video.' },
    AUDIO: { description: 'A voice message or audio file.' },
    FILE: { description: 'A file such as a PDF.' },
    SHARE: { description: 'A shared link or post of another kind.' },
    POST: { description: 'A shared Instagram post.' },
    REEL: { description: 'A shared reel.' },
    STORY_REPLY: { description: 'The story this message replies to.' },
    STORY_MENTION: { description: 'A story that mentions the account.' },
    STORY: { description: 'A shared story (`ig_story`, `story`).' },
    TEMPLATE: {
      description:
        'A structured message: a generic template’s cards or a button template, as an app sent it.',
    },
    UNSUPPORTED: {
      description: 'Something Instagram cannot show through the API; the message is unsupported.',
    },
    FALLBACK: { description: 'A link Instagram could only show as a title and URL.' },
    UNKNOWN: {
      description: 'A type igql does not know yet, kept as Instagram sent it (`raw`).',
    },
  } as const satisfies Record<AttachmentKind, { description: string }>,
});

const Attachment = builder.interfaceRef<AttachmentData>('Attachment').implement({
  description:
    'Something a message carries. Its URL points at Instagram’s CDN and expires (hours to days): show or download it soon, never store it. Nothing Instagram sends is dropped: a type igql does not know is an `UnknownAttachment`.',
  fields: (t) => ({
    kind: t.field({
      type: AttachmentKindEnum,
      description: 'What it is; the concrete type says the same.',
      resolve: (a) => a.kind,
    }),
    url: t.string({
      nullable: true,
      description: 'Where Instagram serves it, for a limited time. Null when Instagram gives none.',
      resolve: (a) => a.url,
    }),
    type: t.string({
      nullable: true,
      description:
        'Instagram’s own name of the type (`image`, `like_heart`, `ig_post`, `template`…), as a webhook or send named it; null where Instagram names none (messages read from Instagram).',
      resolve: (a) => a.type ?? null,
    }),
  }),
});

type Extra = 'media' | 'file' | 'story' | 'shared' | 'title';

const attachmentType = (name: string, kind: AttachmentKind, description: string, extra?: Extra) =>
  builder.objectType(builder.objectRef<AttachmentData>(name), {
    description,
    interfaces: [Attachment],
    isTypeOf: (value) => (value as AttachmentData).kind === kind,
    fields: (t) => ({
      ...(extra === 'media'
        ? {
            previewUrl: t.string({
              nullable: true,
              description: 'A smaller preview; expires like `url`.',
              resolve: (a) => a.previewUrl,
            }),
          }
        : {}),
      ...(extra === 'file'
        ? {
            name: t.string({
              nullable: true,
              description: 'The file name; null when Instagram gives none.',
              resolve: (a) => a.name,
            }),
            mimeType: t.string({
              nullable: true,
              description: 'The MIME type, such as `audio/mpeg`; null when Instagram gives none.',
              resolve: (a) => a.mimeType,
            }),
          }
        : {}),
      ...(extra === 'story'
        ? {
            storyId: t.string({
              nullable: true,
              description: 'Instagram’s id of the story; null when Instagram gives none.',
              resolve: (a) => a.storyId,
            }),
          }
        : {}),
      ...(extra === 'shared'
        ? {
            mediaId: t.string({
              nullable: true,
              description:
                'Instagram’s media id of what was shared (`ig_post_media_id`, `reel_video_id`); null when Instagram gives none (messages read from Instagram give the link only).',
              resolve: (a) => a.mediaId ?? null,
            }),
          }
        : {}),
      ...(extra === 'shared' || extra === 'story' || extra === 'title'
        ? {
            title: t.string({
              nullable: true,
              description:
                'Its title as Instagram gives it (a post’s or reel’s caption); null when none.',
              resolve: (a) => a.title ?? null,
            }),
          }
        : {}),
    }),
  });

attachmentType('ImageAttachment', 'IMAGE', 'An image, GIF or sticker.', 'media');
attachmentType('VideoAttachment', 'VIDEO', 'A video.', 'media');
attachmentType('AudioAttachment', 'AUDIO', 'A voice message or audio file.', 'file');
attachmentType('FileAttachment', 'FILE', 'A file such as a PDF.', 'file');
attachmentType('ShareAttachment', 'SHARE', 'A shared link.');
attachmentType(
  'PostAttachment',
  'POST',
  'A shared Instagram post (`ig_post`, the legacy `share`, or a post sent by id).',
  'shared',
);
attachmentType('ReelAttachment', 'REEL', 'A shared reel (`ig_reel`, `reel`).', 'shared');
attachmentType(
  'StoryReplyAttachment',
  'STORY_REPLY',
  'The story this message replies to.',
  'story',
);
attachmentType(
  'StoryMentionAttachment',
  'STORY_MENTION',
  'A story that mentions the account.',
  'story',
);
attachmentType('StoryAttachment', 'STORY', 'A shared story (`ig_story`, `story`).', 'story');
attachmentType(
  'UnsupportedAttachment',
  'UNSUPPORTED',
  'Something Instagram cannot show through the API (`unsupported_type`): open the conversation in Instagram to see it. Its message has `isUnsupported` true.',
);
attachmentType(
  'FallbackAttachment',
  'FALLBACK',
  'A link Instagram could only show as a title and URL (`fallback`).',
  'title',
);

builder.objectType(builder.objectRef<AttachmentData>('UnknownAttachment'), {
  description:
    'An attachment of a type igql does not know (yet), kept whole so that nothing is lost.',
  interfaces: [Attachment],
  isTypeOf: (value) => (value as AttachmentData).kind === 'UNKNOWN',
  fields: (t) => ({
    raw: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The attachment exactly as Instagram sent it (`type`, `payload`…).',
      resolve: (a) => a.raw ?? null,
    }),
  }),
});

const TemplateButton = builder.objectRef<TemplateButtonData>('TemplateButton').implement({
  description: 'A button of a template.',
  fields: (t) => ({
    type: t.string({
      nullable: true,
      description:
        'As Instagram names it: `web_url` or `postback` (sends), `open_url` (echoes of other apps’ templates)…',
      resolve: (b) => b.type,
    }),
    title: t.string({ nullable: true, description: 'Its label.', resolve: (b) => b.title }),
    url: t.string({
      nullable: true,
      description: 'The URL it opens; null for a postback.',
      resolve: (b) => b.url,
    }),
    payload: t.string({
      nullable: true,
      description: 'What a postback sends back to the app; null for a URL button.',
      resolve: (b) => b.payload,
    }),
  }),
});

const TemplateAction = builder.objectRef<TemplateActionData>('TemplateDefaultAction').implement({
  description: 'What tapping a template card opens.',
  fields: (t) => ({
    type: t.string({
      nullable: true,
      description: 'As Instagram names it: `web_url` (sends) or `open_url` (echoes).',
      resolve: (a) => a.type,
    }),
    url: t.string({ nullable: true, description: 'The URL it opens.', resolve: (a) => a.url }),
  }),
});

const TemplateElement = builder.objectRef<TemplateElementData>('TemplateElement').implement({
  description: 'One card of a generic template.',
  fields: (t) => ({
    title: t.string({ nullable: true, description: 'The card’s title.', resolve: (e) => e.title }),
    subtitle: t.string({
      nullable: true,
      description: 'The line under the title.',
      resolve: (e) => e.subtitle,
    }),
    imageUrl: t.string({
      nullable: true,
      description: 'The card’s image.',
      resolve: (e) => e.imageUrl,
    }),
    defaultAction: t.field({
      type: TemplateAction,
      nullable: true,
      description: 'What tapping the card opens; null when nothing.',
      resolve: (e) => e.defaultAction,
    }),
    buttons: t.field({
      type: [TemplateButton],
      description: 'Its buttons, in order.',
      resolve: (e) => [...e.buttons],
    }),
  }),
});

const EMPTY_TEMPLATE: TemplateData = { templateType: null, text: null, elements: [], buttons: [] };

builder.objectType(builder.objectRef<AttachmentData>('TemplateAttachment'), {
  description:
    'A structured message the account sent (from igql or another app, such as a carousel): every card with its title, subtitle, image, default action and buttons.',
  interfaces: [Attachment],
  isTypeOf: (value) => (value as AttachmentData).kind === 'TEMPLATE',
  fields: (t) => ({
    templateType: t.string({
      nullable: true,
      description: '`generic` (cards) or `button`, as Instagram names it; null when not given.',
      resolve: (a) => (a.template ?? EMPTY_TEMPLATE).templateType,
    }),
    text: t.string({
      nullable: true,
      description: 'A button template’s text; null for cards.',
      resolve: (a) => (a.template ?? EMPTY_TEMPLATE).text,
    }),
    elements: t.field({
      type: [TemplateElement],
      description: 'A generic template’s cards, in order; empty for a button template.',
      resolve: (a) => [...(a.template ?? EMPTY_TEMPLATE).elements],
    }),
    buttons: t.field({
      type: [TemplateButton],
      description: 'A button template’s buttons; empty for cards (their buttons are on each card).',
      resolve: (a) => [...(a.template ?? EMPTY_TEMPLATE).buttons],
    }),
  }),
});

// ---- Reactions -----------------------------------------------------------------------------

interface ReactionShape {
  readonly reaction: string;
  readonly emoji: string | null;
  readonly by: ParticipantShape;
}

const Reaction = builder.objectRef<ReactionShape>('Reaction').implement({
  description: 'A reaction someone put on a message.',
  fields: (t) => ({
    reaction: t.string({
      description: 'As Instagram names it: `love`, `like`…, or the emoji itself.',
      resolve: (r) => r.reaction,
    }),
    emoji: t.string({
      description:
        'The emoji shown: ❤ for `love`, 👍 for `like`, the reaction itself when it is an emoji; the name itself when igql knows no emoji for it.',
      resolve: (r) => r.emoji ?? r.reaction,
    }),
    by: t.field({ type: Participant, description: 'Who reacted.', resolve: (r) => r.by }),
  }),
});

// ---- Message -------------------------------------------------------------------------------

export const Message = builder.objectRef<MessageShape>('Message');

builder.node(Message, {
  description:
    'A direct message. Instagram gives details only for the 20 newest messages of a conversation: older ones keep their id and time, with `detailAvailable` false.',
  id: {
    description:
      'Opaque global id; pass it as `messageId` to `reactToMessage` or `unreactToMessage`.',
    resolve: (m) => `${m.igId}:${m.igsid}:${m.message.mid}`,
  },
  isTypeOf: (value) => (value as MessageShape).kind === 'Message',
  fields: (t) => ({
    mid: t.exposeString('mid', { description: 'Instagram’s message id.' }),
    createdTime: t.expose('createdTime', { type: 'DateTime', description: 'When it was sent.' }),
    detailAvailable: t.exposeBoolean('detailAvailable', {
      description:
        'False past the 20 newest messages of the conversation: Instagram then gives only the id and time, so `text` is null and the lists are empty.',
    }),
    from: t.expose('from', {
      type: Participant,
      nullable: true,
      description: 'Who sent it; null when the detail is not available.',
    }),
    to: t.field({
      type: [Participant],
      description: 'Who it was sent to; empty when the detail is not available.',
      resolve: (m) => m.message.to.map((p) => participant(m.igId, p)),
    }),
    isFromViewer: t.boolean({
      nullable: true,
      description: 'Sent by the account itself; null when the detail is not available.',
      resolve: (m) => (m.message.from ? m.message.from.igsid === m.igId : null),
    }),
    text: t.exposeString('text', {
      nullable: true,
      description: 'The text; null for a message without text or without detail.',
    }),
    attachments: t.field({
      type: [Attachment],
      description:
        'Media, shares, stories and templates it carries, in Instagram’s order (a type igql does not know is an `UnknownAttachment`); empty when none or when the detail is not available.',
      resolve: (m) => [...m.message.attachments],
    }),
    reactions: t.field({
      type: [Reaction],
      description:
        'One entry per person and reaction; empty when none or when the detail is not available.',
      resolve: (m) =>
        m.message.reactions.map((r) => ({
          reaction: r.reaction,
          emoji: r.emoji ?? emojiOf(r.reaction),
          by: participant(m.igId, r.by),
        })),
    }),
    isUnsupported: t.exposeBoolean('isUnsupported', {
      description: 'Instagram could not render this message through the API.',
    }),
    replyTo: t.field({
      type: Message,
      nullable: true,
      description: 'The message this one replies to; null when none, or past the 20 newest.',
      complexity: 5,
      resolve: async (m, _args, ctx, info) => {
        const mid = m.message.replyTo;
        if (!mid) return null;
        try {
          const fields = messageFields(messageNeeds(selectionOf(info)));
          const data = await ctx.loaders.message(m.igId, mid, fields);
          return toMessage(m.igId, m.igsid, fromGraph(data));
        } catch (error) {
          if (
            error instanceof InstagramError &&
            ['not_found', 'message_too_old'].includes(error.kind)
          ) {
            return null;
          }
          throw fromUpstream(error, 'Message');
        }
      },
    }),
  }),
});
