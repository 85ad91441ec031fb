import { fromUpstream } from '../errors.ts';
import {
  COMMENT_FIELDS,
  type CommentNeeds,
  commentFields,
  MEDIA_FIELDS,
  type MediaNeeds,
  mediaFields,
} from '../instagram/fields.ts';
import {
  type GraphComment,
  type GraphList,
  type GraphMedia,
  parseGraphTime,
} from '../instagram/graph.ts';
import { builder } from './builder.ts';
import { type ConnectionArgs, graphPage, toConnection } from './connection.ts';
import type { Context } from './context.ts';
import { Participant } from './participant.ts';
import { connectionNodes, type SelectionMap, selectionOf } from './selection.ts';

/** A media as the schema resolves it: what Graph answered, and the comments it was read with. */
export interface MediaShape {
  readonly kind: 'Media';
  readonly igId: string;
  readonly data: GraphMedia;
  /** The comments expansion `data.comments` was read with, if any. */
  readonly comments: MediaNeeds['comments'];
}

export interface CommentShape {
  readonly kind: 'Comment';
  readonly igId: string;
  readonly data: GraphComment;
  /** The replies expansion `data.replies` was read with, if any. */
  readonly replies: CommentNeeds['replies'];
  /**
   * A comment on a live video, when known from elsewhere (the webhook's `live_comments`);
   * undefined: its media's `media_product_type` tells (LIVE).
   */
  readonly live?: boolean;
}

/** Comments and replies a page gives by default. */
export const DEFAULT_COMMENTS = 10;
/** Media a page gives by default (Graph's own default page). */
export const DEFAULT_MEDIA = 25;
/** A private reply is possible within 7 days of the comment (instagram-api.md §1, §13). */
export const PRIVATE_REPLY_MS = 7 * 24 * 3_600_000;

export const toMedia = (igId: string, data: GraphMedia, needs?: MediaNeeds): MediaShape => ({
  kind: 'Media',
  igId,
  data,
  comments: needs?.comments,
});

export const toComment = (
  igId: string,
  data: GraphComment,
  needs?: CommentNeeds,
  live?: boolean,
): CommentShape => ({
  kind: 'Comment',
  igId,
  data,
  replies: needs?.replies,
  ...(live === undefined ? {} : { live }),
});

/** A nested page may be fetched with the parent only from the start, forward. */
function prefetchLimit(selected: SelectionMap, name: string, defaultSize: number) {
  const edge = selected.get(name);
  if (!edge) return undefined;
  const args = edge.args as ConnectionArgs;
  // Bad page arguments are refused once, before the parent is read.
  graphPage(args, defaultSize);
  if (args.after != null || args.before != null || args.last != null) return undefined;
  return typeof args.first === 'number' ? args.first : defaultSize;
}

/** The Graph read a comment selection needs, with its first replies by nested expansion. */
export function commentNeeds(selection: SelectionMap): CommentNeeds {
  const fields = Object.entries(COMMENT_FIELDS)
    .filter(([name]) => selection.has(name))
    .map(([, graph]) => graph);
  // Whether a private reply is possible depends on who wrote the comment.
  if (selection.has('privateReply') || selection.has('byAccount')) fields.push('from');
  // Only top-level comments have replies: `parent_id` tells (it is absent on those).
  if (selection.has('replies')) fields.push('parent_id');
  const limit = prefetchLimit(selection, 'replies', DEFAULT_COMMENTS);
  const replies = selection.get('replies');
  return {
    fields,
    ...(limit !== undefined && replies
      ? { replies: { limit, needs: commentNeeds(connectionNodes(replies.children)) } }
      : {}),
  };
}

/** The Graph read a media selection needs: its items and its first comments in the same call. */
export function mediaNeeds(selection: SelectionMap, nested = true): MediaNeeds {
  const fields = Object.entries(MEDIA_FIELDS)
    .filter(([name]) => selection.has(name))
    .map(([, graph]) => graph);
  if (selection.has('mediaUrlExpiresAt')) fields.push('media_url');
  // Which insights a media has depends on its product type: known before they are asked.
  if (selection.has('insights')) fields.push('media_product_type');
  const children = selection.get('children');
  const limit = nested ? prefetchLimit(selection, 'comments', DEFAULT_COMMENTS) : undefined;
  const comments = selection.get('comments');
  return {
    fields,
    ...(children && nested ? { children: mediaNeeds(children.children, false) } : {}),
    ...(limit !== undefined && comments
      ? { comments: { limit, needs: commentNeeds(connectionNodes(comments.children)) } }
      : {}),
  };
}

/** A field the first read did not carry: `GET /<id>` (combined with the others of the tick). */
async function reread<T>(igId: string, id: string, fields: string, ctx: Context): Promise<T> {
  try {
    return await ctx.loaders.node<T>(igId, id, fields);
  } catch (error) {
    throw fromUpstream(error, 'Media');
  }
}

function mediaField<K extends keyof GraphMedia>(m: MediaShape, field: K, ctx: Context) {
  if (m.data[field] !== undefined) return m.data[field];
  return reread<GraphMedia>(m.igId, m.data.id, `id,${field}`, ctx).then((d) => d[field]);
}

function commentField<K extends keyof GraphComment>(c: CommentShape, field: K, ctx: Context) {
  if (c.data[field] !== undefined) return c.data[field];
  return reread<GraphComment>(c.igId, c.data.id, `id,${field}`, ctx).then((d) => d[field]);
}

/**
 * The account's live videos being broadcast now: `GET /<IG_ID>/live_media` lists only those
 * (IG User Live Media reference, Facebook Login; UNCONFIRMED for graph.instagram.com). One read
 * per request (the loader keeps it); an account broadcasts one live video at a time.
 */
async function liveVideos(igId: string, ctx: Context): Promise<Set<string>> {
  try {
    const page = await ctx.loaders.mediaList(igId, 'live_media', { limit: 25, fields: 'id' });
    return new Set(page.data.map((m) => m.id));
  } catch (error) {
    throw fromUpstream(error, 'Comment');
  }
}

/** `oe` of an Instagram CDN URL: its expiry, in hexadecimal seconds since the epoch. */
export function cdnExpiry(url: string | undefined): Date | null {
  const oe = url && URL.canParse(url) ? new URL(url).searchParams.get('oe') : null;
  return oe && /^[0-9A-Fa-f]{1,12}$/.test(oe) ? new Date(Number.parseInt(oe, 16) * 1000) : null;
}

// ---- Enums -----------------------------------------------------------------------------------

const MediaTypeEnum = builder.enumType('MediaType', {
  description: 'What a media is, as Instagram reports it (`media_type`).',
  values: {
    IMAGE: { description: 'A photo.' },
    VIDEO: { description: 'A video (reels are videos).' },
    CAROUSEL_ALBUM: { description: 'A carousel: its items are `children`.' },
    BROADCAST: { description: 'A live video.' },
  } as const,
});

const MediaProductTypeEnum = builder.enumType('MediaProductType', {
  description: 'Where a media appears on Instagram (`media_product_type`).',
  values: {
    FEED: { description: 'A post in the feed.' },
    REELS: { description: 'A reel.' },
    STORY: { description: 'A story: listed for 24 hours.' },
    AD: { description: 'An ad.' },
    LIVE: { description: 'A live video: its comments arrive as they are written.' },
  } as const,
});

type ProductType = 'FEED' | 'REELS' | 'STORY' | 'AD' | 'LIVE';
const PRODUCT_TYPES = new Set<string>(['FEED', 'REELS', 'STORY', 'AD', 'LIVE']);

const PrivateReplyUnavailableReason = builder.enumType('PrivateReplyUnavailableReason', {
  description: 'Why a comment can no longer be answered privately.',
  values: {
    EXPIRED: { description: 'The comment is 7 days old or more.' },
    OWN_COMMENT: { description: 'The account wrote the comment itself.' },
    LIVE_ENDED: {
      description:
        'The comment is on a live video whose broadcast ended: a private reply is possible only while it is live.',
    },
  } as const,
});

interface PrivateReplyShape {
  readonly available: boolean;
  readonly reason: 'EXPIRED' | 'OWN_COMMENT' | 'LIVE_ENDED' | null;
  readonly closesAt: Date | null;
}

const PrivateReplyStatus = builder.objectRef<PrivateReplyShape>('PrivateReplyStatus').implement({
  description:
    'Whether `sendPrivateReply` can answer a comment: once per comment, within 7 days of it (during a live video, only while it is live). Instagram refuses a second private reply to the same comment; igql cannot read whether one was sent, so `available` does not say.',
  fields: (t) => ({
    available: t.boolean({
      description:
        'True when the comment is less than 7 days old, not the account’s own, and, on a live video, while its broadcast goes on.',
      resolve: (p) => p.available,
    }),
    reason: t.field({
      type: PrivateReplyUnavailableReason,
      nullable: true,
      description: 'Why not; null when available.',
      resolve: (p) => p.reason,
    }),
    closesAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When a private reply stops being possible (7 days after the comment); null on a live video, where it ends with the broadcast.',
      resolve: (p) => p.closesAt,
    }),
  }),
});

// ---- Comment ---------------------------------------------------------------------------------

export const Comment = builder.objectRef<CommentShape>('Comment');
export const Media = builder.objectRef<MediaShape>('Media');

/** A page of comments or replies: prefetched with the parent when it can be, else its own read. */
function commentConnection(
  igId: string,
  parentId: string,
  edge: 'comments' | 'replies',
  prefetched: {
    page: GraphList<GraphComment> | undefined;
    plan: { readonly limit: number; readonly needs: CommentNeeds } | undefined;
  },
  args: ConnectionArgs,
  ctx: Context,
  selection: () => SelectionMap,
) {
  const request = graphPage(args, DEFAULT_COMMENTS);
  const { page, plan } = prefetched;
  if (!request.fromCursor && !request.backward && plan && plan.limit >= request.size) {
    // Asked with the parent: an edge Graph left out is an empty one (field expansion omits an
    // empty edge; UNCONFIRMED for graph.instagram.com, whose simulator answers `data: []`),
    // never a read of its own per parent.
    return toConnection(page ?? { data: [] }, request, (c) => toComment(igId, c, plan.needs));
  }
  return (async () => {
    const needs = commentNeeds(connectionNodes(selection()));
    try {
      const page = await ctx.loaders.comments(igId, parentId, edge, {
        limit: request.limit,
        after: request.after,
        before: request.before,
        fields: commentFields(needs),
      });
      return toConnection(page, request, (c) => toComment(igId, c, needs));
    } catch (error) {
      throw fromUpstream(error, edge === 'comments' ? 'Media' : 'Comment');
    }
  })();
}

const CommentConnection = builder.connectionObject(
  {
    type: Comment,
    name: 'CommentConnection',
    description: 'A page of comments, oldest first.',
    edgesField: { description: 'The comments of this page, with cursors.' },
  },
  {
    name: 'CommentEdge',
    description: 'One of the comments, with its cursor.',
    nodeField: { description: 'The comment.' },
  },
);

const CONNECTION_DESCRIPTION =
  'Oldest first, as Instagram lists them. `first`/`last` between 1 and 50 (default 10); `last` pages back from `before` and needs it.';

builder.node(Comment, {
  description: 'A comment on one of the account’s media, or a reply to one.',
  id: {
    description: 'Opaque global id; pass it as `commentId` to the comment mutations.',
    resolve: (c) => `${c.igId}:${c.data.id}`,
  },
  isTypeOf: (value) => (value as CommentShape).kind === 'Comment',
  fields: (t) => ({
    commentId: t.string({
      description: 'Instagram’s id of the comment, as webhooks name it.',
      resolve: (c) => c.data.id,
    }),
    text: t.string({
      description: 'What the comment says.',
      resolve: async (c, _args, ctx) => (await commentField(c, 'text', ctx)) ?? '',
    }),
    timestamp: t.field({
      type: 'DateTime',
      description: 'When it was written.',
      resolve: async (c, _args, ctx) =>
        parseGraphTime((await commentField(c, 'timestamp', ctx)) ?? '1970-01-01T00:00:00+0000'),
    }),
    author: t.field({
      type: Participant,
      nullable: true,
      description:
        'Who wrote it: a customer (their Instagram-scoped id, the one a private reply opens a conversation with) or the account itself; null when Instagram does not say.',
      resolve: async (c, _args, ctx) => {
        const from = await commentField(c, 'from', ctx);
        return from ? { igId: c.igId, igsid: from.id, username: from.username } : null;
      },
    }),
    byAccount: t.boolean({
      description: 'The account wrote this comment itself.',
      resolve: async (c, _args, ctx) => (await commentField(c, 'from', ctx))?.id === c.igId,
    }),
    likeCount: t.int({
      description: 'How many liked it.',
      resolve: async (c, _args, ctx) => (await commentField(c, 'like_count', ctx)) ?? 0,
    }),
    hidden: t.boolean({
      description: 'Hidden by the account (`hideComment`): only its author and the account see it.',
      resolve: async (c, _args, ctx) => (await commentField(c, 'hidden', ctx)) ?? false,
    }),
    parent: t.field({
      type: Comment,
      nullable: true,
      description: 'The comment this one replies to; null for a top-level comment.',
      resolve: async (c, _args, ctx, info) => {
        const parentId = await commentField(c, 'parent_id', ctx);
        if (!parentId) return null;
        const needs = commentNeeds(selectionOf(info));
        const data = await reread<GraphComment>(c.igId, parentId, commentFields(needs), ctx);
        return toComment(c.igId, data, needs);
      },
    }),
    media: t.field({
      type: Media,
      description: 'The media the comment is on.',
      resolve: async (c, _args, ctx, info) => {
        const media = (await commentField(c, 'media', ctx)) ?? { id: '' };
        const needs = mediaNeeds(selectionOf(info));
        if (needs.fields.length === 0 && !needs.comments && !needs.children) {
          return toMedia(c.igId, { id: media.id });
        }
        return toMedia(c.igId, await reread(c.igId, media.id, mediaFields(needs), ctx), needs);
      },
    }),
    privateReply: t.field({
      type: PrivateReplyStatus,
      description: 'Whether the comment can still be answered privately (`sendPrivateReply`).',
      resolve: async (c, _args, ctx): Promise<PrivateReplyShape> => {
        const [time, from, media] = await Promise.all([
          commentField(c, 'timestamp', ctx),
          commentField(c, 'from', ctx),
          commentField(c, 'media', ctx),
        ]);
        // A comment read from Graph names its media's product type (`media{id,
        // media_product_type}`): LIVE for a live video (IG User Live Media reference).
        const live = c.live ?? media?.media_product_type === 'LIVE';
        const closesAt = live
          ? null
          : new Date(
              parseGraphTime(time ?? '1970-01-01T00:00:00+0000').getTime() + PRIVATE_REPLY_MS,
            );
        if (from?.id === c.igId) return { available: false, reason: 'OWN_COMMENT', closesAt };
        if (live) {
          const broadcasting = (await liveVideos(c.igId, ctx)).has(media?.id ?? '');
          return { available: broadcasting, reason: broadcasting ? null : 'LIVE_ENDED', closesAt };
        }
        const expired = (closesAt as Date).getTime() <= ctx.now();
        return { available: !expired, reason: expired ? 'EXPIRED' : null, closesAt };
      },
    }),
    replies: t.connection(
      {
        type: Comment,
        description: `Replies to this comment (only top-level comments have them). ${CONNECTION_DESCRIPTION}`,
        resolve: (c, args, ctx, info) =>
          c.data.parent_id
            ? toConnection({ data: [] }, graphPage(args, DEFAULT_COMMENTS), (r: GraphComment) =>
                toComment(c.igId, r),
              )
            : commentConnection(
                c.igId,
                c.data.id,
                'replies',
                { page: c.data.replies, plan: c.replies },
                args,
                ctx,
                () => selectionOf(info),
              ),
      },
      CommentConnection,
    ),
  }),
});

// ---- Media -----------------------------------------------------------------------------------

builder.node(Media, {
  description: 'A post, reel, story or carousel item of the account.',
  id: {
    description: 'Opaque global id.',
    resolve: (m) => `${m.igId}:${m.data.id}`,
  },
  isTypeOf: (value) => (value as MediaShape).kind === 'Media',
  fields: (t) => ({
    mediaId: t.string({
      description: 'Instagram’s id of the media: what `sendMediaShare` takes as `mediaId`.',
      resolve: (m) => m.data.id,
    }),
    caption: t.string({
      nullable: true,
      description: 'The caption; null when there is none (carousel items have none).',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'caption', ctx)) ?? null,
    }),
    mediaType: t.field({
      type: MediaTypeEnum,
      description: 'Photo, video, carousel or live video.',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'media_type', ctx)) ?? 'IMAGE',
    }),
    mediaProductType: t.field({
      type: MediaProductTypeEnum,
      nullable: true,
      description:
        'Feed post, reel, story, ad or live video; null for a kind igql does not know yet.',
      resolve: async (m, _args, ctx) => {
        const value = await mediaField(m, 'media_product_type', ctx);
        return value && PRODUCT_TYPES.has(value) ? (value as ProductType) : null;
      },
    }),
    mediaUrl: t.string({
      nullable: true,
      description:
        'The photo or video. It expires (see `mediaUrlExpiresAt`): show it, never store it. Null for a carousel (see `children`).',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'media_url', ctx)) ?? null,
    }),
    mediaUrlExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When `mediaUrl` stops working, as its URL says; null when it does not say.',
      resolve: async (m, _args, ctx) => cdnExpiry(await mediaField(m, 'media_url', ctx)),
    }),
    thumbnailUrl: t.string({
      nullable: true,
      description: 'A video’s cover image; null for photos. It expires like `mediaUrl`.',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'thumbnail_url', ctx)) ?? null,
    }),
    permalink: t.string({
      nullable: true,
      description: 'The media’s page on instagram.com.',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'permalink', ctx)) ?? null,
    }),
    timestamp: t.field({
      type: 'DateTime',
      description: 'When it was published.',
      resolve: async (m, _args, ctx) =>
        parseGraphTime((await mediaField(m, 'timestamp', ctx)) ?? '1970-01-01T00:00:00+0000'),
    }),
    likeCount: t.int({
      nullable: true,
      description: 'How many liked it; null for stories and carousel items.',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'like_count', ctx)) ?? null,
    }),
    commentsCount: t.int({
      nullable: true,
      description: 'How many comments and replies it has; null for stories and carousel items.',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'comments_count', ctx)) ?? null,
    }),
    commentsEnabled: t.boolean({
      nullable: true,
      description: 'Whether people may comment; null for stories and carousel items.',
      resolve: async (m, _args, ctx) => (await mediaField(m, 'is_comment_enabled', ctx)) ?? null,
    }),
    children: t.field({
      type: [Media],
      description: 'A carousel’s items, in order; empty for anything else.',
      resolve: async (m, _args, ctx, info) => {
        if ((await mediaField(m, 'media_type', ctx)) !== 'CAROUSEL_ALBUM') return [];
        let list = m.data.children;
        if (!list) {
          const needs = { fields: [], children: mediaNeeds(selectionOf(info), false) };
          list = (await reread<GraphMedia>(m.igId, m.data.id, mediaFields(needs), ctx)).children;
        }
        return (list?.data ?? []).map((c) => toMedia(m.igId, c));
      },
    }),
    comments: t.connection(
      {
        type: Comment,
        description: `Top-level comments (each with its \`replies\`). ${CONNECTION_DESCRIPTION} A page of media with their first comments costs one call to Instagram.`,
        resolve: (m, args, ctx, info) =>
          commentConnection(
            m.igId,
            m.data.id,
            'comments',
            { page: m.data.comments, plan: m.comments },
            args,
            ctx,
            () => selectionOf(info),
          ),
      },
      CommentConnection,
    ),
  }),
});

/** A page of the account's media (`media`) or stories, with what the selection needs. */
export async function mediaConnection(
  igId: string,
  edge: 'media' | 'stories',
  args: ConnectionArgs,
  ctx: Context,
  selection: SelectionMap,
) {
  const request = graphPage(args, DEFAULT_MEDIA);
  const needs = mediaNeeds(connectionNodes(selection));
  try {
    const page = await ctx.loaders.mediaList(igId, edge, {
      limit: request.limit,
      after: request.after,
      before: request.before,
      fields: mediaFields(needs),
    });
    return toConnection(page, request, (m) => toMedia(igId, m, needs));
  } catch (error) {
    throw fromUpstream(error, 'Account');
  }
}

/** `node(id:)` for a Media or Comment id: read with what the selection needs. */
export async function loadMediaNode(
  typename: string,
  igId: string,
  id: string,
  ctx: Context,
  selection: SelectionMap,
): Promise<MediaShape | CommentShape | null> {
  // Ids are Instagram's numbers: anything else (`me`) would read another node as this one.
  if (!/^\d+$/.test(id)) return null;
  if (typename === 'Media') {
    const needs = mediaNeeds(selection);
    return toMedia(igId, await ctx.loaders.node<GraphMedia>(igId, id, mediaFields(needs)), needs);
  }
  if (typename === 'Comment') {
    const needs = commentNeeds(selection);
    const data = await ctx.loaders.node<GraphComment>(igId, id, commentFields(needs));
    return toComment(igId, data, needs);
  }
  return null;
}
