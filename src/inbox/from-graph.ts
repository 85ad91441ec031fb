import {
  type GraphAttachment,
  type GraphMessage,
  type GraphUser,
  graphTimeMs,
} from '../instagram/graph.ts';
import { isObject } from '../instagram/payload.ts';
import {
  type Attachment,
  attachment,
  kindOfGraphAttachment,
  kindOfShareLink,
  templateOf,
} from './attachments.ts';
import {
  emojiOf,
  type Message,
  type Participant,
  participant,
  type Reaction,
  withoutDetail,
} from './message.ts';

/**
 * A message as a Graph read gives it (instagram-api.md §2), with the fields that read asked for;
 * what it did not ask stays empty. Graph times have whole seconds.
 */
export function fromGraph(data: GraphMessage): Message {
  const createdTime = data.created_time ? graphTimeMs(data.created_time) : 0;
  // `from` is always asked (instagram/fields.ts): Graph leaves it out only past the 20 newest.
  if (data.from === undefined) return withoutDetail(data.id, createdTime);
  return {
    mid: data.id,
    createdTime,
    detailAvailable: true,
    from: user(data.from),
    to: data.to?.data ? data.to.data.map(user) : NOBODY,
    text: data.message ? data.message : null,
    attachments: attachmentsOf(data),
    reactions: !data.reactions?.data
      ? NO_REACTIONS
      : data.reactions.data.flatMap((r) =>
          (r.users ?? []).map((by) => ({
            reaction: r.reaction,
            emoji: r.emoji ?? emojiOf(r.reaction),
            by: user(by),
          })),
        ),
    replyTo: data.reply_to?.mid ?? null,
    isUnsupported: data.is_unsupported === true,
  };
}

/** Media, then shares, then stories: most messages have none, and get no array built for them. */
function attachmentsOf(data: GraphMessage): readonly Attachment[] {
  const media = data.attachments?.data;
  const shares = data.shares?.data;
  if (!media && !shares && !data.story) return NONE;
  return [
    ...(media ?? []).map(graphAttachment),
    ...(shares ?? []).map((share) => {
      const link = share.link ?? null;
      if (isObject(share.template)) return graphTemplate(share.template, link);
      return attachment(kindOfShareLink(link), link);
    }),
    ...storyAttachment('STORY_REPLY', data.story?.reply_to),
    ...storyAttachment('STORY_MENTION', data.story?.mention),
  ];
}

// Shared by every message that has none: most have no attachments, recipients or reactions
// asked, and a page of 500 would build 1,500 empty arrays.
const NONE: readonly Attachment[] = Object.freeze([]);
const NOBODY: readonly Participant[] = Object.freeze([]);
const NO_REACTIONS: readonly Reaction[] = Object.freeze([]);

const user = (u: GraphUser) => participant(u.id, u.username ?? null);

/** `story{reply_to}` or `story{mention}` (restfb issue #1163), as an attachment. */
const storyAttachment = (
  kind: 'STORY_REPLY' | 'STORY_MENTION',
  story: { readonly link?: string; readonly id?: string } | undefined,
): Attachment[] =>
  story ? [attachment(kind, story.link ?? null, { storyId: story.id ?? null })] : [];

/**
 * A template read from Graph (an attachment's `generic_template`, a share's `template`): what
 * `templateOf` reads of it, and all of it in `raw`, as its shapes are not documented (a product
 * template's elements carry `name` and `price`).
 */
function graphTemplate(template: Record<string, unknown>, url: string | null): Attachment {
  const payload = isObject(template.payload) ? template.payload : template;
  return attachment('TEMPLATE', url, { template: templateOf(payload), raw: template });
}

function graphAttachment(a: GraphAttachment): Attachment {
  if (isObject(a.generic_template)) return graphTemplate(a.generic_template, null);
  const kind = kindOfGraphAttachment(a);
  const media = a.image_data ?? a.video_data;
  if (media) return attachment(kind, media.url, { previewUrl: media.preview_url ?? null });
  // A sticker: an image type without `image_data`, so without URL.
  if (kind === 'IMAGE') return attachment(kind, null);
  return attachment(kind, a.file_url ?? null, {
    name: a.name ?? null,
    mimeType: a.mime_type ?? null,
  });
}
