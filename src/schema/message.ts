import { fromUpstream } from '../errors.ts';
import type { Attachment as AttachmentData, AttachmentKind } from '../inbox/attachments.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import type { Message as MessageData, Participant as ParticipantData } from '../inbox/message.ts';
import { InstagramError } from '../instagram/errors.ts';
import { type MessageNeeds, messageFields } from '../instagram/fields.ts';
import { builder } from './builder.ts';
import { Participant, type ParticipantShape } from './participant.ts';
import { type SelectionMap, selectionOf } from './selection.ts';

/** A message as the schema resolves it: the model, and the account and customer its id names. */
export interface MessageShape {
  readonly kind: 'Message';
  readonly igId: string;
  /** The conversation's other participant. */
  readonly igsid: string;
  readonly message: MessageData;
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
    IMAGE: { description: 'An image, GIF or sticker.' },
    VIDEO: { description: 'A video.' },
    AUDIO: { description: 'A voice message or audio file.' },
    FILE: { description: 'A file such as a PDF.' },
    SHARE: { description: 'A shared link or post of another kind.' },
    POST: { description: 'A shared Instagram post.' },
    REEL: { description: 'A shared reel.' },
    STORY_REPLY: { description: 'The story this message replies to.' },
    STORY_MENTION: { description: 'A story that mentions the account.' },
  } as const satisfies Record<AttachmentKind, { description: string }>,
});

const Attachment = builder.interfaceRef<AttachmentData>('Attachment').implement({
  description:
    'Something a message carries. Its URL points at Instagram’s CDN and expires (hours to days): show or download it soon, never store it.',
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
  }),
});

const attachmentType = (
  name: string,
  kind: AttachmentKind,
  description: string,
  extra?: 'media' | 'file' | 'story',
) =>
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
    }),
  });

attachmentType('ImageAttachment', 'IMAGE', 'An image, GIF or sticker.', 'media');
attachmentType('VideoAttachment', 'VIDEO', 'A video.', 'media');
attachmentType('AudioAttachment', 'AUDIO', 'A voice message or audio file.', 'file');
attachmentType('FileAttachment', 'FILE', 'A file such as a PDF.', 'file');
attachmentType('ShareAttachment', 'SHARE', 'A shared link.');
attachmentType('PostAttachment', 'POST', 'A shared Instagram post.');
attachmentType('ReelAttachment', 'REEL', 'A shared reel.');
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

// ---- Reactions -----------------------------------------------------------------------------

interface ReactionShape {
  readonly reaction: string;
  readonly by: ParticipantShape;
}

const Reaction = builder.objectRef<ReactionShape>('Reaction').implement({
  description: 'A reaction someone put on a message.',
  fields: (t) => ({
    reaction: t.string({
      description: 'As Instagram names it: `love`, or the emoji itself.',
      resolve: (r) => r.reaction,
    }),
    emoji: t.string({
      description: 'The emoji shown: ❤ for `love`.',
      resolve: (r) => (r.reaction === 'love' ? '❤' : r.reaction),
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
    mid: t.string({ description: 'Instagram’s message id.', resolve: (m) => m.message.mid }),
    createdTime: t.field({
      type: 'DateTime',
      description: 'When it was sent.',
      resolve: (m) => new Date(m.message.createdTime),
    }),
    detailAvailable: t.boolean({
      description:
        'False past the 20 newest messages of the conversation: Instagram then gives only the id and time, so `text` is null and the lists are empty.',
      resolve: (m) => m.message.detailAvailable,
    }),
    from: t.field({
      type: Participant,
      nullable: true,
      description: 'Who sent it; null when the detail is not available.',
      resolve: (m) => (m.message.from ? participant(m.igId, m.message.from) : null),
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
    text: t.string({
      nullable: true,
      description: 'The text; null for a message without text or without detail.',
      resolve: (m) => m.message.text,
    }),
    attachments: t.field({
      type: [Attachment],
      description:
        'Media, shares and stories it carries; empty when none or when the detail is not available.',
      resolve: (m) => [...m.message.attachments],
    }),
    reactions: t.field({
      type: [Reaction],
      description:
        'One entry per person and reaction; empty when none or when the detail is not available.',
      resolve: (m) =>
        m.message.reactions.map((r) => ({ reaction: r.reaction, by: participant(m.igId, r.by) })),
    }),
    isUnsupported: t.boolean({
      description: 'Instagram could not render this message through the API.',
      resolve: (m) => m.message.isUnsupported,
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
