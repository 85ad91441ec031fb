/**
 * `fields=` for Graph reads, built from what the caller needs and nothing more: the one place
 * that knows Graph's field names and expansion syntax (instagram-api.md §2–3).
 */

/** What a message read must carry, beside `id`, `created_time` and `from` (always asked). */
export interface MessageNeeds {
  readonly text?: boolean;
  readonly to?: boolean;
  /** Attachments, shares (posts, reels) and stories: every kind of `Attachment`. */
  readonly attachments?: boolean;
  readonly reactions?: boolean;
  readonly replyTo?: boolean;
  readonly isUnsupported?: boolean;
}

export interface ConversationNeeds {
  readonly updatedTime?: boolean;
  /** The newest messages, by nested expansion: `messages.limit(N){…}`. */
  readonly messages?: { readonly limit: number; readonly fields: MessageNeeds };
}

export const ACCOUNT_FIELDS = {
  username: 'username',
  name: 'name',
  accountType: 'account_type',
  profilePictureUrl: 'profile_picture_url',
  followersCount: 'followers_count',
  followsCount: 'follows_count',
  mediaCount: 'media_count',
} as const;

export const PROFILE_FIELDS = {
  name: 'name',
  username: 'username',
  profilePicture: 'profile_pic',
  followerCount: 'follower_count',
  followsAccount: 'is_user_follow_business',
  followedByAccount: 'is_business_follow_user',
  isVerified: 'is_verified_user',
} as const;

/** `from` is always asked: it tells a detailed message (the 20 newest) from an id-only one. */
export function messageFields(needs: MessageNeeds): string {
  const fields = ['id', 'created_time', 'from'];
  if (needs.to) fields.push('to');
  if (needs.text) fields.push('message');
  // A share's `template` "needs sub-fields requested explicitly" (instagram-api.md §2).
  if (needs.attachments) fields.push('attachments', 'shares{link,name,template}', 'story');
  if (needs.reactions) fields.push('reactions');
  if (needs.replyTo) fields.push('reply_to');
  if (needs.isUnsupported) fields.push('is_unsupported');
  return fields.join(',');
}

/** Participants are always asked: a message id names the conversation's other participant. */
export function conversationFields(needs: ConversationNeeds): string {
  const fields = ['id', 'participants'];
  if (needs.updatedTime) fields.push('updated_time');
  if (needs.messages) {
    fields.push(`messages.limit(${needs.messages.limit}){${messageFields(needs.messages.fields)}}`);
  }
  return fields.join(',');
}

/** Splits a `fields=` list at its top-level commas (not those inside braces or parentheses). */
export function splitFields(fields: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < fields.length; i++) {
    const c = fields[i];
    if (c === '{' || c === '(') depth++;
    else if (c === '}' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(fields.slice(start, i));
      start = i + 1;
    }
  }
  out.push(fields.slice(start));
  return out.filter((f) => f !== '');
}

// ---- Media and comments (instagram-api.md §13) -----------------------------------------------

/** Graph fields of an IG Media, by the name the schema gives them. */
export const MEDIA_FIELDS = {
  caption: 'caption',
  mediaType: 'media_type',
  mediaProductType: 'media_product_type',
  mediaUrl: 'media_url',
  thumbnailUrl: 'thumbnail_url',
  permalink: 'permalink',
  timestamp: 'timestamp',
  likeCount: 'like_count',
  commentsCount: 'comments_count',
  commentsEnabled: 'is_comment_enabled',
} as const;

/** Graph fields of an IG Comment, by the name the schema gives them. */
export const COMMENT_FIELDS = {
  text: 'text',
  timestamp: 'timestamp',
  author: 'from',
  likeCount: 'like_count',
  hidden: 'hidden',
  parent: 'parent_id',
  media: 'media',
} as const;

export interface CommentNeeds {
  readonly fields: readonly (typeof COMMENT_FIELDS)[keyof typeof COMMENT_FIELDS][];
  /** The first replies, by nested expansion: `replies.limit(N){…}`. */
  readonly replies?: { readonly limit: number; readonly needs: CommentNeeds };
}

export interface MediaNeeds {
  readonly fields: readonly (typeof MEDIA_FIELDS)[keyof typeof MEDIA_FIELDS][];
  /** A carousel's items, by nested expansion: `children{…}`. */
  readonly children?: MediaNeeds;
  /** The first comments, by nested expansion: `comments.limit(N){…}`. */
  readonly comments?: { readonly limit: number; readonly needs: CommentNeeds };
}

/**
 * `timestamp` and `media` are always asked of a comment: the time tells whether a private reply
 * is still possible, and the media names the comment's media without another read.
 */
export function commentFields(needs: CommentNeeds): string {
  const fields = new Set<string>(['id', 'timestamp', 'media', ...needs.fields]);
  if (needs.replies) {
    fields.add(`replies.limit(${needs.replies.limit}){${commentFields(needs.replies.needs)}}`);
  }
  return [...fields].join(',');
}

/** `media_type` is always asked: it decides which fields a media has. */
export function mediaFields(needs: MediaNeeds): string {
  const fields = new Set<string>(['id', 'media_type', ...needs.fields]);
  if (needs.children) fields.add(`children{${mediaFields(needs.children)}}`);
  if (needs.comments) {
    fields.add(`comments.limit(${needs.comments.limit}){${commentFields(needs.comments.needs)}}`);
  }
  return [...fields].join(',');
}
