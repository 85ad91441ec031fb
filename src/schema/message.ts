import { fromUpstream } from '../errors.ts';
import { InstagramError } from '../instagram/errors.ts';
import { type MessageNeeds, messageFields } from '../instagram/fields.ts';
import { type GraphMessage, parseGraphTime } from '../instagram/graph.ts';
import { builder } from './builder.ts';
import { Participant, type ParticipantShape } from './participant.ts';
import { type SelectionMap, selectionOf } from './selection.ts';

export interface MessageShape {
  readonly kind: 'Message';
  readonly igId: string;
  /** The conversation's other participant. */
  readonly igsid: string;
  readonly data: GraphMessage;
  /** Attachments already typed (a webhook names their kinds); else read from `data`. */
  readonly attachments?: readonly AttachmentShape[];
}

/** Graph gives `from` only for the 20 newest messages of a conversation (and always asks it). */
const detailed = (m: MessageShape) => m.data.from !== undefined;

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

export const toMessage = (igId: string, igsid: string, data: GraphMessage): MessageShape => ({
  kind: 'Message',
  igId,
  igsid,
  data,
});

const participant = (igId: string, user: { id: string; username?: string }): ParticipantShape => ({
  igId,
  igsid: user.id,
  username: user.username,
});

// ---- Attachments ---------------------------------------------------------------------------

const ATTACHMENT_KINDS = [
  'IMAGE',
  'VIDEO',
  'AUDIO',
  'FILE',
  'SHARE',
  'POST',
  'REEL',
  'STORY_REPLY',
  'STORY_MENTION',
] as const;
type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

export interface AttachmentShape {
  readonly kind: AttachmentKind;
  readonly url: string | null;
  readonly previewUrl?: string | null;
  readonly name?: string | null;
  readonly mimeType?: string | null;
  readonly storyId?: string | null;
}

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
  } as const,
});

const Attachment = builder.interfaceRef<AttachmentShape>('Attachment').implement({
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
  builder.objectType(builder.objectRef<AttachmentShape>(name), {
    description,
    interfaces: [Attachment],
    isTypeOf: (value) => (value as AttachmentShape).kind === kind,
    fields: (t) => ({
      ...(extra === 'media'
        ? {
            previewUrl: t.string({
              nullable: true,
              description: 'A smaller preview; expires like `url`.',
              resolve: (a) => a.previewUrl ?? null,
            }),
          }
        : {}),
      ...(extra === 'file'
        ? {
            name: t.string({
              nullable: true,
              description: 'The file name; null when Instagram gives none.',
              resolve: (a) => a.name ?? null,
            }),
            mimeType: t.string({
              nullable: true,
              description: 'The MIME type, such as `audio/mpeg`; null when Instagram gives none.',
              resolve: (a) => a.mimeType ?? null,
            }),
          }
        : {}),
      ...(extra === 'story'
        ? {
            storyId: t.string({
              nullable: true,
              description: 'Instagram’s id of the story; null when Instagram gives none.',
              resolve: (a) => a.storyId ?? null,
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

/** Every attachment kind of a Graph message: `attachments`, `shares` and `story` together. */
export function attachmentsOf(data: GraphMessage): AttachmentShape[] {
  const out: AttachmentShape[] = [];
  for (const a of data.attachments?.data ?? []) {
    if (a.image_data)
      out.push({
        kind: 'IMAGE',
        url: a.image_data.url,
        previewUrl: a.image_data.preview_url ?? null,
      });
    else if (a.video_data)
      out.push({
        kind: 'VIDEO',
        url: a.video_data.url,
        previewUrl: a.video_data.preview_url ?? null,
      });
    else if (a.mime_type?.startsWith('image/')) out.push({ kind: 'IMAGE', url: null });
    else {
      const kind = a.mime_type?.startsWith('audio/') ? 'AUDIO' : 'FILE';
      out.push({
        kind,
        url: a.file_url ?? null,
        name: a.name ?? null,
        mimeType: a.mime_type ?? null,
      });
    }
  }
  for (const share of data.shares?.data ?? []) {
    const link = share.link ?? null;
    const kind = link?.includes('/reel/') ? 'REEL' : link?.includes('/p/') ? 'POST' : 'SHARE';
    out.push({ kind, url: link });
  }
  if (data.story?.reply_to) {
    out.push({
      kind: 'STORY_REPLY',
      url: data.story.reply_to.link ?? null,
      storyId: data.story.reply_to.id ?? null,
    });
  }
  if (data.story?.mention) {
    out.push({
      kind: 'STORY_MENTION',
      url: data.story.mention.link ?? null,
      storyId: data.story.mention.id ?? null,
    });
  }
  return out;
}

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
    resolve: (m) => `${m.igId}:${m.igsid}:${m.data.id}`,
  },
  isTypeOf: (value) => (value as MessageShape).kind === 'Message',
  fields: (t) => ({
    mid: t.string({ description: 'Instagram’s message id.', resolve: (m) => m.data.id }),
    createdTime: t.field({
      type: 'DateTime',
      description: 'When it was sent.',
      resolve: (m) => parseGraphTime(m.data.created_time ?? '1970-01-01T00:00:00+0000'),
    }),
    detailAvailable: t.boolean({
      description:
        'False past the 20 newest messages of the conversation: Instagram then gives only the id and time, so `text` is null and the lists are empty.',
      resolve: detailed,
    }),
    from: t.field({
      type: Participant,
      nullable: true,
      description: 'Who sent it; null when the detail is not available.',
      resolve: (m) => (m.data.from ? participant(m.igId, m.data.from) : null),
    }),
    to: t.field({
      type: [Participant],
      description: 'Who it was sent to; empty when the detail is not available.',
      resolve: (m) => (m.data.to?.data ?? []).map((user) => participant(m.igId, user)),
    }),
    isFromViewer: t.boolean({
      nullable: true,
      description: 'Sent by the account itself; null when the detail is not available.',
      resolve: (m) => (m.data.from ? m.data.from.id === m.igId : null),
    }),
    text: t.string({
      nullable: true,
      description: 'The text; null for a message without text or without detail.',
      resolve: (m) => (m.data.message ? m.data.message : null),
    }),
    attachments: t.field({
      type: [Attachment],
      description:
        'Media, shares and stories it carries; empty when none or when the detail is not available.',
      resolve: (m) => (m.attachments ? [...m.attachments] : attachmentsOf(m.data)),
    }),
    reactions: t.field({
      type: [Reaction],
      description:
        'One entry per person and reaction; empty when none or when the detail is not available.',
      resolve: (m) =>
        (m.data.reactions?.data ?? []).flatMap((r) =>
          (r.users ?? []).map((user) => ({ reaction: r.reaction, by: participant(m.igId, user) })),
        ),
    }),
    isUnsupported: t.boolean({
      description: 'Instagram could not render this message through the API.',
      resolve: (m) => m.data.is_unsupported === true,
    }),
    replyTo: t.field({
      type: Message,
      nullable: true,
      description: 'The message this one replies to; null when none, or past the 20 newest.',
      complexity: 5,
      resolve: async (m, _args, ctx, info) => {
        const mid = m.data.reply_to?.mid;
        if (!mid) return null;
        try {
          const fields = messageFields(messageNeeds(selectionOf(info)));
          return toMessage(m.igId, m.igsid, await ctx.loaders.message(m.igId, mid, fields));
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
