import type { GraphAttachment } from '../instagram/graph.ts';
import { idOf, isObject, listOf, stringOf } from '../instagram/payload.ts';

/**
 * Attachments, and the one place that says what each is, whatever the source: Graph reads
 * (`fromGraph`), webhooks (`fromWebhook`, through `webhookAttachment`) and sends (`fromSend`) all
 * classify here, by the shapes of instagram-api.md (§1, §2, §4, §10). Nothing a webhook carries is
 * dropped: a type igql does not know becomes an UNKNOWN attachment that keeps it as received.
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
  | 'STORY_MENTION'
  | 'STORY'
  | 'TEMPLATE'
  | 'UNSUPPORTED'
  | 'FALLBACK'
  | 'UNKNOWN';

/**
 * Something a message carries; every field but `kind` is null where the source gives none.
 * Stored as JSON in the event log: fields added later are filled in when read (`legacy.ts`).
 */
export interface Attachment {
  readonly kind: AttachmentKind;
  /**
   * Meta's type name as the source gave it (`image`, `like_heart`, `ig_post`, `template`, …);
   * null where the source names none (Graph reads tell media by their data).
   */
  readonly type: string | null;
  /** Where Instagram serves it (CDN URLs expire: never store them), or the shared link. */
  readonly url: string | null;
  /** A smaller preview (Graph's `image_data`/`video_data.preview_url`). */
  readonly previewUrl: string | null;
  /** The file name (Graph's `name`, audio and files). */
  readonly name: string | null;
  /** The MIME type (Graph's `mime_type`, audio and files). */
  readonly mimeType: string | null;
  /** Instagram's id of the story (STORY_REPLY, STORY_MENTION, STORY). */
  readonly storyId: string | null;
  /** Instagram's media id of a shared post or reel (`ig_post_media_id`, `reel_video_id`). */
  readonly mediaId: string | null;
  /** A shared post's or reel's title (its caption), or a fallback's title. */
  readonly title: string | null;
  /** A template's content (TEMPLATE). */
  readonly template: Template | null;
  /**
   * The attachment exactly as received, so that nothing is lost: an UNKNOWN or TEMPLATE one, and
   * any other that carried something its kind does not read; null otherwise.
   */
  readonly raw: unknown;
}

/**
 * A structured message (generic or button template): as sent through the Send API (GT, BT), or
 * as echoed when another app sent it (real capture: `payload.generic.elements[]`).
 */
export interface Template {
  /** `generic`, `button`, … : a send's `template_type`, or the key an echo nests it under. */
  readonly templateType: string | null;
  /** A button template's text. */
  readonly text: string | null;
  /** A generic template's cards, in order. */
  readonly elements: readonly TemplateElement[];
  /** A button template's buttons. */
  readonly buttons: readonly TemplateButton[];
}

/** One card of a generic template. */
export interface TemplateElement {
  readonly title: string | null;
  readonly subtitle: string | null;
  readonly imageUrl: string | null;
  readonly defaultAction: TemplateAction | null;
  readonly buttons: readonly TemplateButton[];
}

/** What tapping a card does: `web_url` in sends, `open_url` in real echoes. */
export interface TemplateAction {
  readonly type: string | null;
  readonly url: string | null;
}

/** A template button: `web_url` / `open_url` carry a URL, `postback` a payload. */
export interface TemplateButton {
  readonly type: string | null;
  readonly title: string | null;
  readonly url: string | null;
  readonly payload: string | null;
}

/** The fields of an attachment besides `kind` and `url`. */
export type AttachmentDetail = Omit<Attachment, 'kind' | 'url'>;

/** An attachment of `kind` at `url`, with the other fields given in `more` (null otherwise). */
export const attachment = (
  kind: AttachmentKind,
  url: string | null,
  more: Partial<AttachmentDetail> = {},
): Attachment => ({
  kind,
  type: null,
  url,
  previewUrl: null,
  name: null,
  mimeType: null,
  storyId: null,
  mediaId: null,
  title: null,
  template: null,
  raw: null,
  ...more,
});

/**
 * Meta's media and share type names: a webhook attachment's `type` (WHX, webhooks/new) and a
 * Send API attachment's `type` (MSG), which share `image`, `video`, `audio`, `file` and
 * `like_heart`.
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
  // - `share` is the "legacy IG post share" (WHX), replaced by `ig_post` (webhooks/new; gone
  //   from webhooks since 2026-04-27, instagram-api.md §10): a post.
  // - `MEDIA_SHARE` sends a "Published post" of the account by its id (MSG): a post.
  ['ig_post', 'POST'],
  ['share', 'POST'],
  ['MEDIA_SHARE', 'POST'],
  ['ig_reel', 'REEL'],
  ['reel', 'REEL'],
  ['story_mention', 'STORY_MENTION'],
]);

/**
 * The kind of a media or share type by Meta's name; null for every other type (templates,
 * stories, `unsupported_type`, `fallback`, unknown names), which `webhookAttachment` types one
 * by one and a send (`fromSend`) does not show as an attachment.
 */
export const kindOfType = (type: string): AttachmentKind | null => BY_TYPE.get(type) ?? null;

/**
 * One attachment of a webhook's `message.attachments`, as received (instagram-api.md §4, §10):
 * typed where Meta's type is known, else UNKNOWN with the attachment kept whole. A typed one
 * keeps it whole too (`raw`) when it carries anything its type does not read (a `media` or
 * `product` template, a sticker id): nothing received is dropped. Never throws.
 */
export function webhookAttachment(received: unknown): Attachment {
  const typed = typedWebhookAttachment(received);
  if (typed.kind === 'UNKNOWN' || !readsAll(received, typed.kind)) {
    return { ...typed, raw: received ?? null };
  }
  return typed;
}

/** The payload keys each kind reads: anything else received is kept in `raw`. */
const READ_KEYS: Partial<Record<AttachmentKind, ReadonlySet<string>>> = {
  POST: new Set(['url', 'ig_post_media_id', 'title']),
  REEL: new Set(['url', 'reel_video_id', 'title']),
  STORY_MENTION: new Set(['url', 'id']),
  STORY: new Set(['url', 'id', 'story_id', 'title']),
  FALLBACK: new Set(['url', 'title']),
};

/** True when the attachment holds nothing but `type` and the payload keys its kind reads. */
function readsAll(received: unknown, kind: AttachmentKind): boolean {
  if (!isObject(received)) return false;
  for (const key of Object.keys(received)) if (key !== 'type' && key !== 'payload') return false;
  const payload = received.payload;
  if (payload === undefined || payload === null) return true;
  if (!isObject(payload)) return false;
  if (kind === 'TEMPLATE') return readsTemplate(payload);
  const read = READ_KEYS[kind] ?? URL_ONLY;
  return Object.keys(payload).every((key) => read.has(key));
}

/** True when `templateOf` reads everything of a template's payload (generic or button). */
function readsTemplate(payload: Record<string, unknown>): boolean {
  const declared = payload.template_type;
  if (declared !== undefined && declared !== 'generic' && declared !== 'button') return false;
  const nested = Object.keys(payload).filter((key) => isObject(payload[key]));
  if (declared === undefined && (nested.length !== 1 || nested[0] !== 'generic')) return false;
  const body = declared === undefined ? (payload.generic as Record<string, unknown>) : payload;
  const bodyKeys = declared === undefined ? TEMPLATE_BODY : TEMPLATE_TOP;
  if (!only(body, bodyKeys) || (declared === undefined && !only(payload, GENERIC_ONLY)))
    return false;
  const buttons = (list: unknown) => listOf(list).every((b) => isObject(b) && only(b, BUTTON_KEYS));
  return (
    buttons(body.buttons) &&
    listOf(body.elements).every(
      (e) =>
        isObject(e) &&
        only(e, ELEMENT_KEYS) &&
        (e.default_action === undefined ||
          (isObject(e.default_action) && only(e.default_action, ACTION_KEYS))) &&
        buttons(e.buttons),
    )
  );
}

const only = (value: Record<string, unknown>, keys: ReadonlySet<string>): boolean =>
  Object.keys(value).every((key) => keys.has(key));
const TEMPLATE_TOP = new Set(['template_type', 'elements', 'text', 'buttons']);
const TEMPLATE_BODY = new Set(['elements', 'text', 'buttons']);
const GENERIC_ONLY = new Set(['generic']);
const ELEMENT_KEYS = new Set(['title', 'subtitle', 'image_url', 'default_action', 'buttons']);
const ACTION_KEYS = new Set(['type', 'url']);
const BUTTON_KEYS = new Set(['type', 'title', 'url', 'payload']);

const URL_ONLY: ReadonlySet<string> = new Set(['url']);

function typedWebhookAttachment(received: unknown): Attachment {
  const item = isObject(received) ? received : {};
  const type = stringOf(item.type);
  // like_heart comes without payload (courier like_heart.json).
  const payload = isObject(item.payload) ? item.payload : {};
  const url = stringOf(payload.url);
  const kind = type === null ? null : kindOfType(type);
  switch (kind) {
    case 'POST':
      // `ig_post` {ig_post_media_id, title, url}; the legacy `share` carried the same
      // (webhooks/new), older ones the url alone.
      return attachment(kind, url, {
        type,
        mediaId: idOf(payload.ig_post_media_id),
        title: stringOf(payload.title),
      });
    case 'REEL':
      // `ig_reel` {reel_video_id, title, url} (instagram-api.md §4).
      return attachment(kind, url, {
        type,
        mediaId: idOf(payload.reel_video_id),
        title: stringOf(payload.title),
      });
    case 'STORY_MENTION':
      return attachment(kind, url, { type, storyId: idOf(payload.id) });
    case null:
      break;
    default:
      return attachment(kind, url, { type });
  }
  switch (type) {
    // A shared story. UNCONFIRMED beyond its name (WHX, webhooks/new list `ig_story` and
    // `story`): its url, and an id or title when present.
    case 'ig_story':
    case 'story':
      return attachment('STORY', url, {
        type,
        storyId: idOf(payload.id) ?? idOf(payload.story_id),
        title: stringOf(payload.title),
      });
    case 'template':
      return attachment('TEMPLATE', null, { type, template: templateOf(payload) });
    // The message itself is then unsupported (restfb messaging-attachment-unsupported.json).
    case 'unsupported_type':
      return attachment('UNSUPPORTED', url, { type });
    // Messenger's link preview: a title and a url. UNCONFIRMED for Instagram.
    case 'fallback':
      return attachment('FALLBACK', url, { type, title: stringOf(payload.title) });
    default:
      return attachment('UNKNOWN', url, { type });
  }
}

/**
 * A template's payload: a send's `{template_type, elements | text+buttons}` (GT, BT), or an
 * echo's `{generic: {elements}}` (real capture of another app's carousel, without
 * `template_type`).
 */
export function templateOf(payload: Record<string, unknown>): Template {
  const declared = stringOf(payload.template_type);
  const nested = declared === null ? Object.keys(payload).find((k) => isObject(payload[k])) : null;
  const body = nested ? (payload[nested] as Record<string, unknown>) : payload;
  return {
    templateType: declared ?? nested ?? null,
    text: stringOf(body.text),
    elements: listOf(body.elements).map(elementOf),
    buttons: listOf(body.buttons).map(buttonOf),
  };
}

function elementOf(value: unknown): TemplateElement {
  const element = isObject(value) ? value : {};
  const action = element.default_action;
  return {
    title: stringOf(element.title),
    subtitle: stringOf(element.subtitle),
    imageUrl: stringOf(element.image_url),
    defaultAction: isObject(action)
      ? { type: stringOf(action.type), url: stringOf(action.url) }
      : null,
    buttons: listOf(element.buttons).map(buttonOf),
  };
}

function buttonOf(value: unknown): TemplateButton {
  const button = isObject(value) ? value : {};
  return {
    type: stringOf(button.type),
    title: stringOf(button.title),
    url: stringOf(button.url),
    payload: stringOf(button.payload),
  };
}

/**
 * An attachment stored by an earlier igql, with the fields added since as null (the event log
 * keeps events without expiry: `legacy.ts`).
 */
export const upgradeAttachment = (stored: Attachment): Attachment =>
  Object.hasOwn(stored, 'raw') ? stored : attachment(stored.kind, stored.url, stored);

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
