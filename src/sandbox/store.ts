import {
  newAccessToken,
  newAppScopedId,
  newAttachmentId,
  newCommentId,
  newConversationId,
  newFacebookAccessToken,
  newFacebookConversationId,
  newIgId,
  newIgsid,
  newMediaId,
  newMid,
  newPageId,
} from './ids.ts';

/** The simulator's clock: every time it stores or compares comes from here, so tests can advance it. */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

/** A clock that runs from `start`, or stands still there until advanced (`frozen`, for tests). */
export function createClock(start = Date.now(), frozen = false): Clock {
  let offset = start - Date.now();
  let stopped = start;
  return {
    now: () => (frozen ? stopped : Date.now() + offset),
    advance(ms) {
      offset += ms;
      stopped += ms;
    },
  };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface SimAccount {
  readonly igId: string;
  /** `id` of `/me`: app-scoped, not the IG_ID. */
  readonly appScopedId: string;
  username: string;
  name: string;
  /** UNCONFIRMED casing (instagram-api.md §3): `Business` or `Media_Creator`. */
  accountType: 'Business' | 'Media_Creator';
  profilePictureUrl: string;
  followersCount: number;
  followsCount: number;
  /** The profile's bio and website: fields of the IG User on graph.facebook.com only. */
  biography: string;
  website: string;
  /**
   * Instagram Login: the fields the app subscribed to with `POST /<IG_ID>/subscribed_apps`.
   * Facebook Login: the Instagram fields of the app (its App Dashboard), which reach the account
   * while its Page has the app subscribed (`SimPage.subscribedFields`). Empty = no webhooks.
   */
  subscribedFields: Set<string>;
}

/** An Instagram user as one business sees it (IGSIDs are scoped to the business). */
export interface SimUser {
  readonly igsid: string;
  readonly accountIgId: string;
  username: string;
  name: string | null;
  profilePic: string | null;
  followerCount: number;
  isUserFollowBusiness: boolean;
  isBusinessFollowUser: boolean;
  isVerifiedUser: boolean;
  /** Sends to this user fail with 551 ("This person isn't available right now"). */
  unavailable: boolean;
  /** The user wrote to the account, or tapped an icebreaker or menu: the profile is readable. */
  consented: boolean;
}

export interface SimAttachment {
  /** Graph `attachments` item: `image_data`, `video_data`, `file_url`, … */
  readonly type: 'image' | 'video' | 'audio' | 'file' | 'like_heart' | 'sticker';
  readonly id: string;
  readonly url: string;
  readonly name?: string;
}

/** Media kept by the attachment upload API (`POST /<IG_ID>/message_attachments`). */
export interface SimUpload {
  /** The `attachment_id` Instagram answered with. */
  readonly id: string;
  /** The account that uploaded it: only it may send it. */
  readonly accountIgId: string;
  readonly type: 'image' | 'audio' | 'video' | 'file';
  /** The URL it was fetched from; undefined for a file sent as multipart `filedata`. */
  readonly sourceUrl?: string;
  /** A multipart upload's file name and size in bytes. */
  readonly name?: string;
  readonly size?: number;
  readonly createdTime: number;
}

export interface SimShare {
  readonly link: string;
  readonly kind: 'post' | 'reel';
  readonly mediaId?: string;
}

export interface SimReaction {
  readonly userId: string;
  readonly reaction: string;
  readonly emoji: string;
}

export interface SimMessage {
  readonly mid: string;
  readonly conversationId: string;
  readonly createdTime: number;
  /** IG_ID of the account or IGSID of the user. */
  readonly fromId: string;
  readonly toId: string;
  text: string;
  readonly attachments: SimAttachment[];
  readonly shares: SimShare[];
  readonly story?: {
    readonly kind: 'reply_to' | 'mention';
    readonly id: string;
    readonly link: string;
  };
  reactions: SimReaction[];
  readonly replyTo?: { readonly mid: string; readonly isSelfReply: boolean };
  readonly isUnsupported: boolean;
  /** Quick replies, templates and other structured sends keep their request body here. */
  readonly payload?: unknown;
  deleted: boolean;
}

/** The folders of a Page's inbox (Facebook Login's conversations, `?folder=`). */
export type SimFolder = 'inbox' | 'other' | 'page_done' | 'pending' | 'spam';

export interface SimConversation {
  readonly id: string;
  readonly accountIgId: string;
  readonly userIgsid: string;
  /** Facebook Login: the folder of the Page's inbox the thread is in. Default `inbox`. */
  folder: SimFolder;
  /** Oldest first. */
  readonly messages: SimMessage[];
  updatedTime: number;
}

export interface SimMedia {
  readonly id: string;
  readonly accountIgId: string;
  /** LIVE: a live video (`media_type` BROADCAST; IG User Live Media reference). */
  readonly mediaProductType: 'FEED' | 'REELS' | 'STORY' | 'AD' | 'LIVE';
  readonly permalink: string;
  readonly caption: string;
  /** Default IMAGE; REELS are VIDEO, LIVE is BROADCAST. */
  readonly mediaType: 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM' | 'BROADCAST';
  /** When it was published. Default: now. */
  timestamp: number;
  likeCount: number;
  /** `is_comment_enabled`. Default true. */
  commentsEnabled: boolean;
  /** A carousel's items, in order (each a media with `parentId`). */
  readonly children: readonly string[];
  /** The carousel this media is an item of: not listed on its own. */
  readonly parentId?: string;
}

export interface SimComment {
  readonly id: string;
  readonly mediaId: string;
  readonly accountIgId: string;
  readonly fromIgsid: string;
  readonly fromUsername: string;
  readonly text: string;
  readonly createdTime: number;
  privateReplyMid: string | null;
  /** The top-level comment this one replies to. */
  readonly parentId?: string;
  likeCount?: number;
  hidden?: boolean;
}

export interface SimToken {
  readonly token: string;
  readonly igId: string;
  /**
   * A Page access token of Facebook Login for Business: valid on graph.facebook.com only, for the
   * Page and its linked Instagram account (`igId`). Undefined: an Instagram User token, valid on
   * graph.instagram.com only.
   */
  readonly pageId?: string;
  readonly kind: 'short' | 'long' | 'page';
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly permissions: readonly string[];
  /**
   * A Page token's: the tasks of the user it was issued for on the Page (`tasks` of
   * `/me/accounts`: MANAGE, CREATE_CONTENT, MODERATE, MESSAGING, ADVERTISE, ANALYZE), which some
   * Page edges require. Undefined for Instagram tokens.
   */
  readonly tasks?: readonly string[];
  revoked: boolean;
  /** The Meta app the token was issued to; undefined = the simulator's own app (igql's). */
  readonly appId?: string;
}

/**
 * The tasks of a user with full control of a Page: all six, in the order of real `/me/accounts`
 * answers (test/fixtures/instagram/api-me-accounts-real.json). A Page token issued without the
 * user's (`issuePageToken`) has them.
 */
export const DEFAULT_PAGE_TASKS: readonly string[] = [
  'ADVERTISE',
  'ANALYZE',
  'CREATE_CONTENT',
  'MESSAGING',
  'MODERATE',
  'MANAGE',
];

export const ALL_PERMISSIONS = [
  'instagram_business_basic',
  'instagram_business_manage_messages',
  'instagram_business_manage_comments',
  'instagram_business_content_publish',
  'instagram_business_manage_insights',
] as const;

/**
 * What Facebook Login for Business grants igql (issue 19): the seed's seven,
 * `pages_manage_metadata`, which the Page's conversations and `subscribed_apps` edges require
 * (developers.facebook.com/docs/graph-api/reference/page/conversations), and `pages_messaging`,
 * which the Page's welcome message flows require (Messenger Platform, "Welcome message flows").
 */
export const FACEBOOK_PERMISSIONS = [
  'instagram_basic',
  'instagram_manage_messages',
  'instagram_manage_comments',
  'instagram_manage_insights',
  'instagram_content_publish',
  'pages_show_list',
  'pages_read_engagement',
  'pages_manage_metadata',
  'pages_messaging',
] as const;

/** A Facebook Page, and the Instagram professional account linked to it. */
export interface SimPage {
  readonly id: string;
  name: string;
  readonly igId: string;
  category: string;
  /**
   * The Page fields the app subscribed to with `POST /<PAGE_ID>/subscribed_apps`: any one of
   * them lets the app's Instagram webhooks reach the linked account. Empty = none do.
   */
  readonly subscribedFields: Set<string>;
  /**
   * Other apps subscribed to the Page (a chatbot, a CRM), by app id: `GET subscribed_apps` lists
   * them beside the simulator's own app (`Store.subscribeOtherApp`).
   */
  readonly otherApps: Map<
    string,
    { readonly name: string; readonly subscribedFields: Set<string> }
  >;
}

export const SHORT_LIVED_MS = HOUR;
export const LONG_LIVED_MS = 60 * DAY;

/** Everything the simulated Instagram holds. Plain data, mutated only through these helpers. */
export class Store {
  readonly accounts = new Map<string, SimAccount>();
  readonly users = new Map<string, SimUser>();
  readonly conversations = new Map<string, SimConversation>();
  readonly messages = new Map<string, SimMessage>();
  readonly media = new Map<string, SimMedia>();
  readonly comments = new Map<string, SimComment>();
  readonly tokens = new Map<string, SimToken>();
  /** Facebook Pages, by Page id. */
  readonly pages = new Map<string, SimPage>();
  /** Attachment uploads, by `attachment_id`. */
  readonly uploads = new Map<string, SimUpload>();
  readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  addAccount(
    fields: Partial<Omit<SimAccount, 'subscribedFields'>> & { username: string },
  ): SimAccount {
    const account: SimAccount = {
      igId: fields.igId ?? newIgId(),
      appScopedId: fields.appScopedId ?? newAppScopedId(),
      username: fields.username,
      name: fields.name ?? fields.username,
      accountType: fields.accountType ?? 'Business',
      profilePictureUrl:
        fields.profilePictureUrl ??
        `https://scontent.cdninstagram.com/v/t51.2885-19/${fields.username}_n.jpg`,
      followersCount: fields.followersCount ?? 0,
      followsCount: fields.followsCount ?? 0,
      biography: fields.biography ?? '',
      website: fields.website ?? '',
      subscribedFields: new Set(),
    };
    this.accounts.set(account.igId, account);
    return account;
  }

  /** A token for the account; long-lived (60 days) unless `kind` says short (1 hour). */
  issueToken(igId: string, kind: SimToken['kind'] = 'long', issuedAt = this.clock.now()): SimToken {
    const token: SimToken = {
      token: newAccessToken(),
      igId,
      kind,
      issuedAt,
      expiresAt: issuedAt + (kind === 'long' ? LONG_LIVED_MS : SHORT_LIVED_MS),
      permissions: [...ALL_PERMISSIONS],
      revoked: false,
    };
    this.tokens.set(token.token, token);
    return token;
  }

  /** A Facebook Page linked to the Instagram account `igId`, the app not subscribed to it. */
  addPage(
    igId: string,
    fields: Partial<Omit<SimPage, 'igId' | 'subscribedFields' | 'otherApps'>> = {},
  ): SimPage {
    const account = this.accounts.get(igId);
    const page: SimPage = {
      id: fields.id ?? newPageId(),
      name: fields.name ?? `${account?.name ?? igId} Page`,
      igId,
      category: fields.category ?? 'Shopping & retail',
      subscribedFields: new Set(),
      otherApps: new Map(),
    };
    this.pages.set(page.id, page);
    return page;
  }

  /** The Page the account is linked to: an account of Facebook Login. */
  pageOf(igId: string): SimPage | undefined {
    for (const page of this.pages.values()) if (page.igId === igId) return page;
    return undefined;
  }

  /** Another app subscribed to the Page's `fields` (what that app's own setup would do). */
  subscribeOtherApp(
    pageId: string,
    app: { readonly id: string; readonly name: string; readonly fields: readonly string[] },
  ): void {
    const page = this.pages.get(pageId);
    if (!page) throw new Error(`no Page ${pageId}`);
    page.otherApps.set(app.id, { name: app.name, subscribedFields: new Set(app.fields) });
  }

  /**
   * A Page access token, as one derived from a long-lived user token: it does not expire
   * (instagram-api.md; Meta's "Long-lived access tokens" page), valid on graph.facebook.com only.
   * `tasks`: the user's on the Page, default `DEFAULT_PAGE_TASKS`.
   */
  issuePageToken(
    pageId: string,
    issuedAt = this.clock.now(),
    tasks: readonly string[] = DEFAULT_PAGE_TASKS,
  ): SimToken {
    const page = this.pages.get(pageId);
    if (!page) throw new Error(`no Page ${pageId}`);
    const token: SimToken = {
      token: newFacebookAccessToken(),
      igId: page.igId,
      pageId,
      kind: 'page',
      issuedAt,
      expiresAt: Number.MAX_SAFE_INTEGER,
      permissions: [...FACEBOOK_PERMISSIONS],
      tasks: [...tasks],
      revoked: false,
    };
    this.tokens.set(token.token, token);
    return token;
  }

  addUser(accountIgId: string, fields: Partial<SimUser> & { username: string }): SimUser {
    const user: SimUser = {
      igsid: fields.igsid ?? newIgsid(),
      accountIgId,
      username: fields.username,
      name: fields.name === undefined ? fields.username : fields.name,
      profilePic:
        fields.profilePic === undefined
          ? `https://scontent.cdninstagram.com/v/t51.2885-19/${fields.username}_s206x206.jpg`
          : fields.profilePic,
      followerCount: fields.followerCount ?? 0,
      isUserFollowBusiness: fields.isUserFollowBusiness ?? false,
      isBusinessFollowUser: fields.isBusinessFollowUser ?? false,
      isVerifiedUser: fields.isVerifiedUser ?? false,
      unavailable: fields.unavailable ?? false,
      consented: fields.consented ?? false,
    };
    this.users.set(user.igsid, user);
    return user;
  }

  userByUsername(accountIgId: string, username: string): SimUser | undefined {
    for (const user of this.users.values()) {
      if (user.accountIgId === accountIgId && user.username === username) return user;
    }
    return undefined;
  }

  addMedia(accountIgId: string, fields: Partial<SimMedia> = {}): SimMedia {
    const id = fields.id ?? newMediaId();
    const productType = fields.mediaProductType ?? 'FEED';
    const path = productType === 'REELS' ? 'reel' : productType === 'STORY' ? 'stories' : 'p';
    const media: SimMedia = {
      id,
      accountIgId,
      mediaProductType: productType,
      permalink: fields.permalink ?? `https://www.instagram.com/${path}/${id.slice(-11)}/`,
      caption: fields.caption ?? '',
      mediaType:
        fields.mediaType ??
        (productType === 'REELS' ? 'VIDEO' : productType === 'LIVE' ? 'BROADCAST' : 'IMAGE'),
      timestamp: fields.timestamp ?? this.clock.now(),
      likeCount: fields.likeCount ?? 0,
      commentsEnabled: fields.commentsEnabled ?? true,
      children: fields.children ?? [],
      ...(fields.parentId === undefined ? {} : { parentId: fields.parentId }),
    };
    this.media.set(id, media);
    return media;
  }

  /** A comment on the account's media (`parentId`: a reply to a top-level comment). */
  addComment(
    mediaId: string,
    fields: Partial<SimComment> & { fromIgsid: string; fromUsername: string; text: string },
  ): SimComment {
    const media = this.media.get(mediaId);
    if (!media) throw new Error(`no media ${mediaId}`);
    const comment: SimComment = {
      privateReplyMid: null,
      likeCount: 0,
      hidden: false,
      createdTime: this.clock.now(),
      ...fields,
      id: fields.id ?? newCommentId(),
      mediaId,
      accountIgId: media.accountIgId,
    };
    this.comments.set(comment.id, comment);
    return comment;
  }

  /** Keeps an uploaded attachment of the account under a new `attachment_id`. */
  addUpload(
    accountIgId: string,
    fields: Omit<SimUpload, 'id' | 'accountIgId' | 'createdTime'> & { id?: string },
  ): SimUpload {
    const upload: SimUpload = {
      ...fields,
      id: fields.id ?? newAttachmentId(),
      accountIgId,
      createdTime: this.clock.now(),
    };
    this.uploads.set(upload.id, upload);
    return upload;
  }

  conversationWith(accountIgId: string, igsid: string): SimConversation | undefined {
    for (const conversation of this.conversations.values()) {
      if (conversation.accountIgId === accountIgId && conversation.userIgsid === igsid) {
        return conversation;
      }
    }
    return undefined;
  }

  /** The one conversation between the account and the user, created on first use. */
  ensureConversation(accountIgId: string, igsid: string): SimConversation {
    const existing = this.conversationWith(accountIgId, igsid);
    if (existing) return existing;
    // One account, one configuration: an account linked to a Page is served by graph.facebook.com
    // only, and its threads have that host's ids.
    const facebook = this.pageOf(accountIgId) !== undefined;
    const conversation: SimConversation = {
      id: facebook ? newFacebookConversationId(accountIgId) : newConversationId(accountIgId),
      accountIgId,
      userIgsid: igsid,
      folder: 'inbox',
      messages: [],
      // Set by the first message.
      updatedTime: 0,
    };
    this.conversations.set(conversation.id, conversation);
    return conversation;
  }

  /** Appends a message to the conversation between `fromId` and `toId` (one is the account). */
  addMessage(
    accountIgId: string,
    igsid: string,
    fields: Partial<Omit<SimMessage, 'mid' | 'conversationId'>> & { fromId: string },
  ): SimMessage {
    const conversation = this.ensureConversation(accountIgId, igsid);
    const createdTime = fields.createdTime ?? this.clock.now();
    const message: SimMessage = {
      mid: newMid(accountIgId),
      conversationId: conversation.id,
      createdTime,
      fromId: fields.fromId,
      toId: fields.toId ?? (fields.fromId === accountIgId ? igsid : accountIgId),
      text: fields.text ?? '',
      attachments: fields.attachments ?? [],
      shares: fields.shares ?? [],
      story: fields.story,
      reactions: fields.reactions ?? [],
      replyTo: fields.replyTo,
      isUnsupported: fields.isUnsupported ?? false,
      payload: fields.payload,
      deleted: false,
    };
    // Keep messages ordered by time even when seeded out of order.
    const at = conversation.messages.findIndex((m) => m.createdTime > createdTime);
    if (at === -1) conversation.messages.push(message);
    else conversation.messages.splice(at, 0, message);
    conversation.updatedTime = Math.max(conversation.updatedTime, createdTime);
    this.messages.set(message.mid, message);
    const user = this.users.get(igsid);
    if (user && message.fromId === igsid) user.consented = true;
    return message;
  }

  /** The time of the user's last message in the conversation: the start of the reply window. */
  lastInboundTime(conversation: SimConversation): number | undefined {
    for (let i = conversation.messages.length - 1; i >= 0; i--) {
      const message = conversation.messages[i];
      if (message && message.fromId === conversation.userIgsid) return message.createdTime;
    }
    return undefined;
  }

  /** Index from the newest (0) of a message in its conversation; details exist for 0–19. */
  recency(message: SimMessage): number {
    const conversation = this.conversations.get(message.conversationId);
    if (!conversation) return Number.POSITIVE_INFINITY;
    return conversation.messages.length - 1 - conversation.messages.indexOf(message);
  }
}
