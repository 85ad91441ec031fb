import { errors, GraphError } from './errors.ts';
import type { FieldRequest } from './fields.ts';
import { accountInsights, mediaInsights } from './insights.ts';
import { requirePermission } from './permissions.ts';
import {
  containers,
  createContainer,
  publishContainer,
  publishingLimit,
  renderContainer,
} from './publishing.ts';
import {
  graphTime,
  limitOf,
  pageLink,
  paginate,
  plain,
  type RenderContext,
  select,
} from './render.ts';
import type { SimComment, SimMedia, SimToken, Store } from './store.ts';
import { DAY } from './store.ts';
import type { WebhookSink } from './webhook-sink.ts';

/**
 * Media and comments of Instagram API with Instagram Login (instagram-api.md §13; Meta's IG Media,
 * IG Comment and IG Comment Replies references, comment-moderation guide):
 * `GET /<IG_ID>/media`, `/<IG_ID>/stories`, `/<MEDIA_ID>`, `/<MEDIA_ID>/comments`,
 * `/<COMMENT_ID>`, `/<COMMENT_ID>/replies`; `POST /<MEDIA_ID>/comments?message=`,
 * `POST /<COMMENT_ID>/replies?message=`, `POST /<COMMENT_ID>?hide=`, `DELETE /<COMMENT_ID>`.
 */

type Json = Record<string, unknown>;

const BASIC = 'instagram_business_basic';
const MANAGE_COMMENTS = 'instagram_business_manage_comments';
const PUBLISH = 'instagram_business_content_publish';

/** Stories are listed for 24 hours after they were posted. */
export const STORY_LIFETIME_MS = DAY;
/** CDN URLs of media carry their expiry (`oe`, hex seconds); the simulator's last 3 days. */
export const MEDIA_URL_LIFETIME_MS = 3 * DAY;
/** IG Comment limits (Meta's POST /<IG_MEDIA_ID>/comments reference). */
export const COMMENT_LIMITS = { characters: 300, hashtags: 4, urls: 1 } as const;

export interface MediaContext extends RenderContext {
  readonly token: SimToken;
  readonly webhooks: WebhookSink;
}

export interface MediaRequest {
  readonly method: string;
  readonly first: string;
  readonly second: string | undefined;
  /** `/me`, the IG_ID or the app-scoped id of the token's account. */
  readonly isSelf: boolean;
  readonly query: URLSearchParams;
  readonly body: Readonly<Record<string, unknown>>;
  readonly requested: readonly FieldRequest[] | undefined;
}

/** Live videos whose broadcast ended, per store (a LIVE media is broadcasting until then). */
const ended = new WeakMap<Store, Set<string>>();

/** Whether a media is a live video still being broadcast. */
export function broadcasting(store: Store, media: SimMedia): boolean {
  return media.mediaProductType === 'LIVE' && !ended.get(store)?.has(media.id);
}

/** The account ends its live video: no more live comments, no more private replies to them. */
export function endBroadcast(store: Store, mediaId: string): void {
  const media = store.media.get(mediaId);
  if (media?.mediaProductType !== 'LIVE') throw new Error(`no live video ${mediaId}`);
  const set = ended.get(store) ?? new Set<string>();
  set.add(mediaId);
  ended.set(store, set);
}

/** The answer for a media or comment path, or undefined when the path is not one. */
export function routeMedia(ctx: MediaContext, request: MediaRequest): unknown {
  // Query parameters as sent, over the body's: ids of 17 digits must not pass through JSON
  // numbers, and a message of digits stays text.
  const {
    access_token: _token,
    appsecret_proof: _proof,
    ...query
  } = Object.fromEntries(request.query);
  const r = { ...request, body: { ...request.body, ...query } };
  const { first, second, method } = r;
  if (r.isSelf && second === 'media' && method === 'POST') {
    require(ctx.token, BASIC);
    require(ctx.token, PUBLISH);
    return createContainer(ctx.store, ctx.account, r.body);
  }
  if (r.isSelf && second === 'media_publish' && method === 'POST') {
    require(ctx.token, BASIC);
    require(ctx.token, PUBLISH);
    return publishContainer(ctx.store, ctx.account, r.body);
  }
  if (r.isSelf && second === 'content_publishing_limit' && method === 'GET') {
    require(ctx.token, BASIC);
    require(ctx.token, PUBLISH);
    return publishingLimit(ctx.store, ctx.account, r.query, r.requested);
  }
  const container = containers(ctx.store).get(first);
  if (container && container.accountIgId === ctx.account.igId && second === undefined) {
    if (method !== 'GET') throw errors.unsupportedPost(first);
    return renderContainer(ctx.store, container, r.requested);
  }
  // `live_media` is documented for Instagram API with Facebook Login (IG User Live Media);
  // graph.instagram.com's is UNCONFIRMED: served the same way, strictly (only broadcasts live
  // at the time of the request).
  if (r.isSelf && (second === 'media' || second === 'stories' || second === 'live_media')) {
    if (method !== 'GET') throw errors.unsupportedPost(first);
    require(ctx.token, BASIC);
    return renderMediaList(ctx, second, r.query, r.requested, `${first}/${second}`);
  }
  if (r.isSelf && second === 'insights' && method === 'GET') {
    require(ctx.token, BASIC);
    requireInsights(ctx.token);
    return accountInsights(ctx.store, ctx.account, r.query, ctx.store.clock.now());
  }
  const media = ctx.store.media.get(first);
  if (media && media.accountIgId === ctx.account.igId) {
    require(ctx.token, BASIC);
    if (second === undefined && method === 'GET') return renderMedia(ctx, media, r.requested);
    if (second === 'comments' && method === 'GET') {
      require(ctx.token, MANAGE_COMMENTS);
      const edge: FieldRequest = { name: 'comments', modifiers: {}, children: r.requested };
      return renderCommentEdge(ctx, media, undefined, edge, r.query);
    }
    if (second === 'comments' && method === 'POST') {
      require(ctx.token, MANAGE_COMMENTS);
      return { id: createComment(ctx, media, undefined, r.body).id };
    }
    if (second === 'children' && method === 'GET') {
      return { data: childrenOf(ctx, media).map((c) => renderMedia(ctx, c, r.requested)) };
    }
    if (second === 'insights' && method === 'GET') {
      requireInsights(ctx.token);
      // UNCONFIRMED: insights of a live video are documented nowhere; strict, refused.
      if (media.mediaProductType === 'LIVE') {
        throw errors.invalidParameter('Insights are not available for live videos');
      }
      return mediaInsights(ctx.store, media, r.query);
    }
    if (second === undefined) throw errors.unsupportedPost(first);
    throw errors.unknownPath(`/${second}`);
  }
  const comment = ctx.store.comments.get(first);
  if (comment && comment.accountIgId === ctx.account.igId) {
    require(ctx.token, BASIC);
    require(ctx.token, MANAGE_COMMENTS);
    const on = ctx.store.media.get(comment.mediaId) as SimMedia;
    if (second === undefined && method === 'GET') return renderComment(ctx, comment, r.requested);
    if (second === undefined && method === 'POST') return hide(comment, r.body);
    if (second === undefined && method === 'DELETE') return remove(ctx, comment);
    if (second === 'replies' && method === 'GET') {
      if (comment.parentId !== undefined) throw errors.unsupportedGet(first);
      const edge: FieldRequest = { name: 'replies', modifiers: {}, children: r.requested };
      return renderCommentEdge(ctx, on, comment, edge, r.query);
    }
    if (second === 'replies' && method === 'POST') {
      return { id: createComment(ctx, on, comment, r.body).id };
    }
    throw errors.unknownPath(`/${second}`);
  }
  return undefined;
}

// ---- Reads -----------------------------------------------------------------------------------

const mediaKey = (m: SimMedia): [number, string] => [m.timestamp, m.id];
// UNCONFIRMED order: the comment-moderation guide's sample lists comments oldest first; the
// simulator does so for comments and replies (a key that sorts later times first).
const FAR = 10_000_000_000_000;
const commentKey = (c: SimComment): [number, string] => [FAR - c.createdTime, c.id];

/**
 * `GET /<IG_ID>/media` (posts and reels, newest first), `/stories` (the last 24 hours) or
 * `/live_media` (live videos being broadcast; UNCONFIRMED whether an ended one is then listed
 * in `media`: strict, it is not).
 */
function renderMediaList(
  ctx: MediaContext,
  edge: 'media' | 'stories' | 'live_media',
  query: URLSearchParams,
  fields: readonly FieldRequest[] | undefined,
  path: string,
): Json {
  const now = ctx.store.clock.now();
  const all = [...ctx.store.media.values()]
    .filter((m) => m.accountIgId === ctx.account.igId && m.parentId === undefined)
    .filter((m) =>
      edge === 'stories'
        ? m.mediaProductType === 'STORY' && now - m.timestamp < STORY_LIFETIME_MS
        : edge === 'live_media'
          ? broadcasting(ctx.store, m)
          : m.mediaProductType !== 'STORY' && m.mediaProductType !== 'LIVE',
    )
    .sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : -1));
  const limit = limitOf(undefined, query);
  const page = paginate(
    all,
    mediaKey,
    limit,
    { after: query.get('after') ?? undefined, before: query.get('before') ?? undefined },
    pageLink(ctx, path, fields, limit, {}),
  );
  return {
    data: page.items.map((m) => renderMedia(ctx, m, fields)),
    ...(page.paging ? { paging: page.paging } : {}),
  };
}

function childrenOf(ctx: MediaContext, media: SimMedia): SimMedia[] {
  return media.children.map((id) => ctx.store.media.get(id)).filter((m) => m !== undefined);
}

/** A CDN URL carrying its expiry as Instagram's do: `oe` is hex seconds since the epoch. */
export function cdnUrl(media: SimMedia, kind: 'media' | 'thumbnail', now: number): string {
  const oe = Math.floor((now + MEDIA_URL_LIFETIME_MS) / 1000)
    .toString(16)
    .toUpperCase();
  const ext = kind === 'media' && media.mediaType === 'VIDEO' ? 'mp4' : 'jpg';
  return `https://scontent.cdninstagram.com/v/t51.29350-15/${media.id}_${kind}_n.${ext}?_nc_ht=scontent.cdninstagram.com&oe=${oe}`;
}

export function renderMedia(
  ctx: MediaContext,
  media: SimMedia,
  fields: readonly FieldRequest[] | undefined,
): Json {
  const now = ctx.store.clock.now();
  const comments = () =>
    [...ctx.store.comments.values()].filter((c) => c.mediaId === media.id).length;
  const isItem = media.parentId !== undefined;
  const isStory = media.mediaProductType === 'STORY';
  return select('Media', fields ?? plain(['id']), {
    id: () => media.id,
    // A carousel item has no caption, counts or comments of its own (IG Media reference).
    caption: () => (isItem || media.caption === '' ? undefined : media.caption),
    media_type: () => media.mediaType,
    media_product_type: () => media.mediaProductType,
    // A carousel album has no media_url of its own; its children have.
    media_url: () =>
      media.mediaType === 'CAROUSEL_ALBUM' ? undefined : cdnUrl(media, 'media', now),
    thumbnail_url: () =>
      media.mediaType === 'VIDEO' ? cdnUrl(media, 'thumbnail', now) : undefined,
    permalink: () => media.permalink,
    shortcode: () => media.permalink.split('/').filter(Boolean).pop(),
    timestamp: () => graphTime(media.timestamp),
    username: () => ctx.account.username,
    owner: () => ({ id: ctx.account.igId }),
    is_comment_enabled: () => (isItem || isStory ? undefined : media.commentsEnabled),
    like_count: () => (isItem || isStory ? undefined : media.likeCount),
    comments_count: () => (isItem || isStory ? undefined : comments()),
    children: (field) =>
      media.mediaType === 'CAROUSEL_ALBUM'
        ? { data: childrenOf(ctx, media).map((c) => renderMedia(ctx, c, field.children)) }
        : undefined,
    comments: (field) =>
      isItem || isStory ? undefined : renderCommentEdge(ctx, media, undefined, field, undefined),
  });
}

/** The `comments` edge of a media or the `replies` edge of a comment, nested or as a path. */
function renderCommentEdge(
  ctx: MediaContext,
  media: SimMedia,
  parent: SimComment | undefined,
  field: FieldRequest,
  query: URLSearchParams | undefined,
): Json {
  const all = [...ctx.store.comments.values()]
    .filter((c) => c.mediaId === media.id && c.parentId === parent?.id)
    .sort((a, b) => a.createdTime - b.createdTime || (a.id < b.id ? -1 : 1));
  const limit = limitOf(field, query);
  const path = parent ? `${parent.id}/replies` : `${media.id}/comments`;
  const page = paginate(
    all,
    commentKey,
    limit,
    {
      after: field.modifiers.after ?? query?.get('after') ?? undefined,
      before: field.modifiers.before ?? query?.get('before') ?? undefined,
    },
    pageLink(ctx, path, field.children, limit, {}),
  );
  return {
    data: page.items.map((c) => renderComment(ctx, c, field.children)),
    ...(page.paging ? { paging: page.paging } : {}),
  };
}

export function renderComment(
  ctx: MediaContext,
  comment: SimComment,
  fields: readonly FieldRequest[] | undefined,
): Json {
  const media = ctx.store.media.get(comment.mediaId) as SimMedia;
  // Without `fields`, the guide's sample gives `timestamp`, `text` and `id`.
  return select('IGComment', fields ?? plain(['timestamp', 'text', 'id']), {
    id: () => comment.id,
    text: () => comment.text,
    timestamp: () => graphTime(comment.createdTime),
    from: (field) =>
      select('IGCommentFromUser', field.children ?? plain(['id', 'username']), {
        id: () => comment.fromIgsid,
        username: () => comment.fromUsername,
      }),
    username: () => comment.fromUsername,
    like_count: () => comment.likeCount ?? 0,
    hidden: () => comment.hidden ?? false,
    parent_id: () => comment.parentId,
    media: (field) =>
      select('Media', field.children ?? plain(['id', 'media_product_type']), {
        id: () => media.id,
        media_product_type: () => media.mediaProductType,
      }),
    replies: (field) =>
      comment.parentId === undefined
        ? renderCommentEdge(ctx, media, comment, field, undefined)
        : undefined,
  });
}

// ---- Writes ----------------------------------------------------------------------------------

const invalid = (message: string) => errors.invalidParameter(message);

/**
 * A comment by the account: on its media, or a reply (to a reply: added to the top-level
 * comment, as the IG Comment Replies reference says). Instagram then sends the `comments`
 * webhook for it too, with `from.self_ig_scoped_id` (PM).
 */
function createComment(
  ctx: MediaContext,
  media: SimMedia,
  replyTo: SimComment | undefined,
  body: Readonly<Record<string, unknown>>,
): SimComment {
  if (media.mediaProductType === 'STORY' || media.parentId !== undefined) {
    throw errors.unsupportedPost(media.id);
  }
  const message = body.message;
  if (typeof message !== 'string' || message.trim() === '') {
    throw invalid('The parameter message is required');
  }
  checkCommentText(message);
  // UNCONFIRMED wording for the three refusals below; the limitations are documented.
  if (!media.commentsEnabled) throw invalid('Comments are disabled on this media');
  const parent =
    replyTo?.parentId === undefined ? replyTo : ctx.store.comments.get(replyTo.parentId);
  if (parent?.hidden) throw invalid('You cannot reply to a hidden comment');
  const comment = ctx.store.addComment(media.id, {
    fromIgsid: ctx.account.igId,
    fromUsername: ctx.account.username,
    text: message,
    ...(parent ? { parentId: parent.id } : {}),
  });
  ctx.webhooks.change(ctx.account.igId, 'comments', {
    from: {
      id: ctx.account.igId,
      username: ctx.account.username,
      self_ig_scoped_id: ctx.account.appScopedId,
    },
    media: { id: media.id, media_product_type: media.mediaProductType },
    id: comment.id,
    ...(parent ? { parent_id: parent.id } : {}),
    text: message,
  });
  return comment;
}

/**
 * "The comment cannot exceed 300 characters, contain more than 4 hashtags or more than 1 URL,
 * or consist of all capital letters" (IG Media comments reference); error 100 (wording
 * UNCONFIRMED).
 */
export function checkCommentText(text: string): void {
  if ([...text].length > COMMENT_LIMITS.characters) {
    throw invalid(`The comment cannot exceed ${COMMENT_LIMITS.characters} characters`);
  }
  if ((text.match(/#[\p{L}\p{N}_]+/gu) ?? []).length > COMMENT_LIMITS.hashtags) {
    throw invalid(`The comment cannot contain more than ${COMMENT_LIMITS.hashtags} hashtags`);
  }
  if ((text.match(/https?:\/\/\S+|www\.\S+/gi) ?? []).length > COMMENT_LIMITS.urls) {
    throw invalid(`The comment cannot contain more than ${COMMENT_LIMITS.urls} URL`);
  }
  if (/\p{Lu}/u.test(text) && !/\p{Ll}/u.test(text)) {
    throw invalid('The comment cannot consist of all capital letters');
  }
}

/** `POST /<COMMENT_ID>?hide=true|false` → `{"success":true}`. */
function hide(comment: SimComment, body: Readonly<Record<string, unknown>>): Json {
  const value =
    body.hide === true || body.hide === 'true'
      ? true
      : body.hide === false || body.hide === 'false'
        ? false
        : undefined;
  if (value === undefined) throw invalid('Param hide must be a boolean');
  // UNCONFIRMED: the media owner's own comments cannot be hidden; strict, refused.
  if (comment.fromIgsid === comment.accountIgId) {
    throw new GraphError({
      status: 400,
      code: 100,
      message: '(#100) The media owner’s own comments cannot be hidden',
    });
  }
  comment.hidden = value;
  return { success: true };
}

/** `DELETE /<COMMENT_ID>` → `{"success":true}`; a top-level comment goes with its replies. */
function remove(ctx: MediaContext, comment: SimComment): Json {
  for (const reply of [...ctx.store.comments.values()]) {
    if (reply.parentId === comment.id) ctx.store.comments.delete(reply.id);
  }
  ctx.store.comments.delete(comment.id);
  return { success: true };
}

function require(token: SimToken, permission: string): void {
  requirePermission(token, permission);
}

/**
 * Insights need `instagram_business_manage_insights` with Instagram Login and
 * `instagram_manage_insights` with Facebook Login (Meta's Insights guide, Requirements).
 */
function requireInsights(token: SimToken): void {
  require(token, 'instagram_business_manage_insights');
}
