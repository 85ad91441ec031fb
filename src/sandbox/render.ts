import { errors } from './errors.ts';
import type { FieldRequest } from './fields.ts';
import type {
  SimAccount,
  SimConversation,
  SimFolder,
  SimMessage,
  SimPage,
  SimUser,
  Store,
} from './store.ts';

/** Messages past the 20 most recent list with `id` and `created_time` only (CONV). */
export const DETAIL_WINDOW = 20;
/** One response carrying more messages than this gets code 1 "reduce the amount of data" (§9). */
export const MAX_MESSAGES_PER_RESPONSE = 1000;
/** Lists give 25 items a page by default, `limit` up to 100 (§9). */
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;

export interface RenderContext {
  readonly store: Store;
  readonly account: SimAccount;
  /** `http://127.0.0.1:PORT/v25.0`: where `paging.next` links point. */
  readonly versionUrl: string;
  readonly accessToken: string;
  /** Messages rendered so far in this response. */
  messages: number;
}

type Json = Record<string, unknown>;

/** Graph's time format: `2025-07-28T22:44:49+0000`. */
export const graphTime = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

/** Renders only the requested fields; `id` is always present; unknown fields are error 100. */
export function select(
  nodeType: string,
  requested: readonly FieldRequest[],
  resolvers: Readonly<Record<string, (field: FieldRequest) => unknown>>,
): Json {
  const out: Json = {};
  for (const field of requested) {
    const resolve = resolvers[field.name];
    if (!resolve) throw errors.nonexistingField(field.name, nodeType);
    const value = resolve(field);
    if (value !== undefined) out[field.name] = value;
  }
  const id = resolvers.id;
  if (id && !('id' in out))
    return { id: id({ name: 'id', modifiers: {}, children: undefined }), ...out };
  return out;
}

export const plain = (names: readonly string[]): FieldRequest[] =>
  names.map((name) => ({ name, modifiers: {}, children: undefined }));

export function limitOf(field: FieldRequest | undefined, query?: URLSearchParams): number {
  const raw = field?.modifiers.limit ?? query?.get('limit') ?? undefined;
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  // UNCONFIRMED: Graph may clamp an oversized limit silently; the simulator refuses it.
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw errors.invalidParameter(
      `The parameter limit must be an integer between 1 and ${MAX_LIMIT}`,
    );
  }
  return limit;
}

const CURSOR_PREFIX = 'QVFI';
const encodeCursor = (time: number, id: string) =>
  CURSOR_PREFIX + Buffer.from(`${time}:${id}`).toString('base64url');

function decodeCursor(cursor: string): [number, string] {
  const text = cursor.startsWith(CURSOR_PREFIX)
    ? Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString()
    : '';
  const match = /^(\d+):(.+)$/.exec(text);
  if (!match) throw errors.invalidParameter('Invalid cursor');
  return [Number(match[1]), match[2] ?? ''];
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly paging: Json | undefined;
}

/**
 * Cursor paging over items sorted newest first, as Graph pages: `paging.cursors.{before,after}`,
 * `next` when more follow, `previous` when some come before.
 */
export function paginate<T>(
  all: readonly T[],
  key: (item: T) => [number, string],
  limit: number,
  cursors: { after?: string | undefined; before?: string | undefined },
  link: (cursor: { after?: string; before?: string }) => string,
): Page<T> {
  // Newest first: a later key sorts earlier.
  const after = (item: T, [time, id]: [number, string]) => {
    const [t, i] = key(item);
    return t < time || (t === time && i < id);
  };
  let start = 0;
  let end = all.length;
  if (cursors.after) {
    const at = decodeCursor(cursors.after);
    start = all.findIndex((item) => after(item, at));
    if (start === -1) start = all.length;
    end = Math.min(all.length, start + limit);
  } else if (cursors.before) {
    const at = decodeCursor(cursors.before);
    end = all.findIndex((item) => after(item, at) || key(item).join() === at.join());
    if (end === -1) end = all.length;
    start = Math.max(0, end - limit);
  } else {
    end = Math.min(all.length, limit);
  }
  const items = all.slice(start, end);
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) return { items, paging: undefined };
  const before = encodeCursor(...key(first));
  const afterCursor = encodeCursor(...key(last));
  return {
    items,
    paging: {
      cursors: { before, after: afterCursor },
      ...(start > 0 ? { previous: link({ before }) } : {}),
      ...(end < all.length ? { next: link({ after: afterCursor }) } : {}),
    },
  };
}

export function pageLink(
  ctx: RenderContext,
  path: string,
  fields: readonly FieldRequest[] | undefined,
  limit: number,
  extra: Record<string, string>,
) {
  return (cursor: { after?: string; before?: string }) => {
    const params = new URLSearchParams({ access_token: ctx.accessToken });
    if (fields) params.set('fields', printFields(fields));
    params.set('limit', String(limit));
    for (const [name, value] of Object.entries({ ...extra, ...cursor })) params.set(name, value);
    return `${ctx.versionUrl}/${path}?${params}`;
  };
}

function printFields(fields: readonly FieldRequest[]): string {
  return fields
    .map((f) => {
      const modifiers = Object.entries(f.modifiers)
        .map(([name, value]) => `.${name}(${value})`)
        .join('');
      return `${f.name}${modifiers}${f.children ? `{${printFields(f.children)}}` : ''}`;
    })
    .join(',');
}

function personOf(ctx: RenderContext, id: string): { username: string; id: string } {
  if (id === ctx.account.igId) return { username: ctx.account.username, id };
  return { username: ctx.store.users.get(id)?.username ?? '', id };
}

function person(ctx: RenderContext, id: string, field: FieldRequest): Json {
  return select('User', field.children ?? plain(['username', 'id']), {
    id: () => id,
    username: () => personOf(ctx, id).username,
  });
}

// ---- Account and user profile ----------------------------------------------------------------

export function renderAccount(
  ctx: RenderContext,
  fields: readonly FieldRequest[] | undefined,
): Json {
  const account = ctx.account;
  return select('IGUser', fields ?? plain(['id']), {
    id: () => account.appScopedId,
    user_id: () => account.igId,
    username: () => account.username,
    name: () => account.name,
    account_type: () => account.accountType,
    profile_picture_url: () => account.profilePictureUrl,
    followers_count: () => account.followersCount,
    follows_count: () => account.followsCount,
    media_count: () => mediaCount(ctx),
  });
}

/** Posts and reels: not stories, not the items of a carousel. */
const mediaCount = (ctx: RenderContext): number =>
  [...ctx.store.media.values()].filter(
    (m) =>
      m.accountIgId === ctx.account.igId &&
      m.mediaProductType !== 'STORY' &&
      m.parentId === undefined,
  ).length;

/**
 * The account as graph.facebook.com's IG User (`GET /<IG_ID>`, Facebook Login): `id` is the IG_ID,
 * and the fields are that reference's; `user_id` and `account_type` (Instagram Login's `/me`) do
 * not exist there (error 100). `ig_id`, the legacy Instagram API's id, is a stand-in here.
 */
export function renderIgUser(
  ctx: RenderContext,
  fields: readonly FieldRequest[] | undefined,
): Json {
  const account = ctx.account;
  return select('IGUser', fields ?? plain(['id']), {
    id: () => account.igId,
    ig_id: () => Number(account.igId.slice(-10)),
    username: () => account.username,
    name: () => account.name,
    biography: () => account.biography,
    website: () => account.website,
    profile_picture_url: () => account.profilePictureUrl,
    followers_count: () => account.followersCount,
    follows_count: () => account.followsCount,
    media_count: () => mediaCount(ctx),
  });
}

/** A Facebook Page (`GET /<PAGE_ID>` or a Page token's `/me`): by default `name` and `id`. */
export function renderPage(page: SimPage, fields: readonly FieldRequest[] | undefined): Json {
  return select('Page', fields ?? plain(['name', 'id']), {
    id: () => page.id,
    name: () => page.name,
    category: () => page.category,
    instagram_business_account: (field) =>
      select('IGUser', field.children ?? plain(['id']), { id: () => page.igId }),
  });
}

/** User Profile API: needs the user's consent (they wrote, or tapped an icebreaker or menu). */
export function renderUserProfile(
  user: SimUser,
  fields: readonly FieldRequest[] | undefined,
): Json {
  if (!user.consented) throw errors.userConsentRequired();
  return select('IGUser', fields ?? plain(['id']), {
    id: () => user.igsid,
    name: () => user.name,
    username: () => user.username,
    profile_pic: () => user.profilePic,
    follower_count: () => user.followerCount,
    is_user_follow_business: () => user.isUserFollowBusiness,
    is_business_follow_user: () => user.isBusinessFollowUser,
    is_verified_user: () => user.isVerifiedUser,
  });
}

// ---- Conversations ---------------------------------------------------------------------------

const conversationKey = (c: SimConversation): [number, string] => [c.updatedTime, c.id];
const messageKey = (m: SimMessage): [number, string] => [m.createdTime, m.mid];

/**
 * `GET /me/conversations`: newest first; `user_id` narrows to the conversation with one user,
 * `folder` (a Page's, Facebook Login) to the threads of that folder.
 */
export function renderConversationList(
  ctx: RenderContext,
  query: URLSearchParams,
  fields: readonly FieldRequest[] | undefined,
  path: string,
  folder?: SimFolder,
): Json {
  const userId = query.get('user_id');
  const all = [...ctx.store.conversations.values()]
    .filter((c) => c.accountIgId === ctx.account.igId)
    .filter((c) => userId === null || c.userIgsid === userId)
    .filter((c) => folder === undefined || c.folder === folder)
    .filter((c) => c.messages.some((m) => !m.deleted))
    .sort((a, b) => b.updatedTime - a.updatedTime || (a.id < b.id ? 1 : -1));
  const limit = limitOf(undefined, query);
  const extra: Record<string, string> = {};
  for (const name of ['platform', 'folder', 'user_id']) {
    const value = query.get(name);
    if (value !== null) extra[name] = value;
  }
  const page = paginate(
    all,
    conversationKey,
    limit,
    { after: query.get('after') ?? undefined, before: query.get('before') ?? undefined },
    pageLink(ctx, path, fields, limit, extra),
  );
  return {
    data: page.items.map((c) => renderConversation(ctx, c, fields)),
    ...(page.paging ? { paging: page.paging } : {}),
  };
}

export function renderConversation(
  ctx: RenderContext,
  conversation: SimConversation,
  fields: readonly FieldRequest[] | undefined,
): Json {
  return select('Conversation', fields ?? plain(['updated_time']), {
    id: () => conversation.id,
    updated_time: () => graphTime(conversation.updatedTime),
    participants: (field) => ({
      data: [conversation.userIgsid, ctx.account.igId].map((id) => person(ctx, id, field)),
    }),
    messages: (field) => renderMessageEdge(ctx, conversation, field, undefined),
  });
}

/** The `messages` edge of a conversation, nested (`messages.limit(N){…}`) or as its own path. */
export function renderMessageEdge(
  ctx: RenderContext,
  conversation: SimConversation,
  field: FieldRequest,
  query: URLSearchParams | undefined,
): Json {
  const all = conversation.messages.filter((m) => !m.deleted).reverse();
  const limit = limitOf(field, query);
  const page = paginate(
    all,
    messageKey,
    limit,
    {
      after: field.modifiers.after ?? query?.get('after') ?? undefined,
      before: field.modifiers.before ?? query?.get('before') ?? undefined,
    },
    pageLink(ctx, `${conversation.id}/messages`, field.children, limit, {}),
  );
  return {
    data: page.items.map((m) => renderMessage(ctx, m, field.children)),
    ...(page.paging ? { paging: page.paging } : {}),
  };
}

// ---- Messages --------------------------------------------------------------------------------

export function renderMessage(
  ctx: RenderContext,
  message: SimMessage,
  fields: readonly FieldRequest[] | undefined,
): Json {
  ctx.messages += 1;
  if (ctx.messages > MAX_MESSAGES_PER_RESPONSE) throw errors.reduceData();
  const requested = fields ?? plain(['created_time']);
  // Past the 20 most recent, only the id and time are known, whatever was asked (§9).
  const detailed = ctx.store.recency(message) < DETAIL_WINDOW;
  const visible = detailed ? requested : plain(['id', 'created_time']);
  return select('Message', visible, {
    id: () => message.mid,
    created_time: () => graphTime(message.createdTime),
    from: (field) => person(ctx, message.fromId, field),
    to: (field) => ({ data: [person(ctx, message.toId, field)] }),
    message: () => message.text,
    attachments: (field) =>
      message.attachments.length === 0
        ? undefined
        : { data: message.attachments.map((a) => renderAttachment(a, field)) },
    shares: (field) =>
      message.shares.length === 0
        ? undefined
        : {
            data: message.shares.map((share) =>
              select('Share', field.children ?? [], {
                link: () => share.link,
                name: () => (share.kind === 'reel' ? 'Reel' : 'Post'),
                // The simulator's shares are posts and reels: never a product template.
                template: () => undefined,
              }),
            ),
          },
    story: () =>
      message.story
        ? { [message.story.kind]: { link: message.story.link, id: message.story.id } }
        : undefined,
    reactions: () => {
      if (message.reactions.length === 0) return undefined;
      const byReaction = new Map<string, Json[]>();
      for (const r of message.reactions) {
        const users = byReaction.get(r.reaction) ?? [];
        users.push(personOf(ctx, r.userId));
        byReaction.set(r.reaction, users);
      }
      return { data: [...byReaction].map(([reaction, users]) => ({ reaction, users })) };
    },
    reply_to: () =>
      message.replyTo
        ? { mid: message.replyTo.mid, is_self_reply: message.replyTo.isSelfReply }
        : undefined,
    is_unsupported: () => message.isUnsupported,
  });
}

const MIME: Readonly<Record<string, string>> = {
  image: 'image/jpeg',
  sticker: 'image/png',
  like_heart: 'image/png',
  video: 'video/mp4',
  audio: 'audio/mpeg',
  file: 'application/pdf',
};

function renderAttachment(
  attachment: SimMessage['attachments'][number],
  field: FieldRequest,
): Json {
  // A heart sticker has no URL (its webhook carries no payload either).
  const isImage =
    ['image', 'sticker', 'like_heart'].includes(attachment.type) && attachment.url !== '';
  const all: Record<string, () => unknown> = {
    id: () => attachment.id,
    mime_type: () => MIME[attachment.type],
    name: () => attachment.name ?? `${attachment.type}-${attachment.id}`,
    image_data: () =>
      isImage
        ? { url: attachment.url, preview_url: attachment.url, width: 1080, height: 1080 }
        : undefined,
    video_data: () =>
      attachment.type === 'video'
        ? { url: attachment.url, preview_url: attachment.url, width: 720, height: 1280 }
        : undefined,
    file_url: () =>
      attachment.type === 'audio' || attachment.type === 'file' ? attachment.url : undefined,
  };
  return select('MessageAttachment', field.children ?? plain(Object.keys(all)), all);
}
