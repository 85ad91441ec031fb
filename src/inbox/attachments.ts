import type { GraphAttachment } from '../instagram/graph.ts';

/**
 * Attachments, and the one place that says what kind each is, whatever the source: Graph reads
 * (`fromGraph`), webhooks (`fromWebhook`) and sends (`fromSend`) all classify here, by the shapes
 * of instagram-api.md.
 */

/** What an attachment is: the values of the GraphQL `AttachmentKind`. */
export type AttachmentKind =
  | 'IMAGE'
  | 'VIDEO'
  | 'AUDIO'
  | 'FILE'
  | 'SHARE'
  | 'POST'
  | 'REEL'
  | 'STORY_REPLY'
  | 'STORY_MENTION';

/** Something a message carries; every field but `kind` is null where the source gives none. */
export interface Attachment {
  readonly kind: AttachmentKind;
  /** Where Instagram serves it (CDN URLs expire: never store them), or the shared link. */
  readonly url: string | null;
  /** A smaller preview (Graph's `image_data`/`video_data.preview_url`). */
  readonly previewUrl: string | null;
  /** The file name (Graph's `name`, audio and files). */
  readonly name: string | null;
  /** The MIME type (Graph's `mime_type`, audio and files). */
  readonly mimeType: string | null;
  /** Instagram's id of the story (STORY_REPLY, STORY_MENTION). */
  readonly storyId: string | null;
}

/** An attachment of `kind` at `url`, with the other fields given in `more` (null otherwise). */
export const attachment = (
  kind: AttachmentKind,
  url: string | null,
  more: Partial<Pick<Attachment, 'previewUrl' | 'name' | 'mimeType' | 'storyId'>> = {},
): Attachment => ({
  kind,
  url,
  previewUrl: null,
  name: null,
  mimeType: null,
  storyId: null,
  ...more,
});

/**
 * Meta's attachment type names: a webhook attachment's `type` (WHX, webhooks/new) and a Send API
 * attachment's `type` (MSG), which share `image`, `video`, `audio`, `file` and `like_heart`.
 */
const BY_TYPE: ReadonlyMap<string, AttachmentKind> = new Map([
  // WHX: `image` is "image, gif, or sticker"; the heart sticker (MSG `like_heart`, which
  // arrives without payload: courier like_heart.json) is a sticker.
  ['image', 'IMAGE'],
  ['like_heart', 'IMAGE'],
  ['video', 'VIDEO'],
  ['audio', 'AUDIO'],
  ['file', 'FILE'],
  // Decided by the documented shapes (before, a webhook `share` was SHARE and a sent
  // MEDIA_SHARE was SHARE, while Graph listed the same posts as POST):
  // - `share` is the "legacy IG post share" (WHX), "supported for Instagram posts until
  //   February 1, 2026" and replaced by `ig_post` (webhooks/new): a post.
  // - `MEDIA_SHARE` sends a "Published post" of the account by its id (MSG): a post.
  ['ig_post', 'POST'],
  ['share', 'POST'],
  ['MEDIA_SHARE', 'POST'],
  ['ig_reel', 'REEL'],
  ['reel', 'REEL'],
  ['story_mention', 'STORY_MENTION'],
]);

/**
 * The kind of an attachment by Meta's type name; null for the types igql does not show:
 * `unsupported_type` (the message is then unsupported), `template` (echoes of templates),
 * `fallback`, `ig_story`/`story` and `media` (no documented meaning), and unknown names.
 */
export const kindOfType = (type: string): AttachmentKind | null => BY_TYPE.get(type) ?? null;

/**
 * The kind of a Graph message attachment (`attachments{…}`, MSGREF): `image_data` or
 * `video_data` when present, else by `mime_type` (a sticker has an image type and no
 * `image_data`), else a file.
 */
export function kindOfGraphAttachment(a: GraphAttachment): 'IMAGE' | 'VIDEO' | 'AUDIO' | 'FILE' {
  if (a.image_data) return 'IMAGE';
  if (a.video_data) return 'VIDEO';
  if (a.mime_type?.startsWith('image/')) return 'IMAGE';
  return a.mime_type?.startsWith('audio/') ? 'AUDIO' : 'FILE';
}

/**
 * The kind of a Graph share (`shares{link}`) by its link: a reel's or a post's permalink path
 * (`/reel/…`, `/p/…`), else SHARE. Decided by the documented shape (before, reconciliation made
 * every link that was not a reel a POST, while a query made it SHARE): Graph gives a share's
 * link only, and "Shares give only the image or video URL" (CONV), so a link that is not a
 * permalink says nothing of what was shared.
 */
export function kindOfShareLink(link: string | null): 'SHARE' | 'POST' | 'REEL' {
  const path = URL.parse(link ?? '')?.pathname ?? '';
  if (path.includes('/reel/')) return 'REEL';
  return path.includes('/p/') ? 'POST' : 'SHARE';
}
