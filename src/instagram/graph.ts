import type { InstagramClient } from './client.ts';
import { InstagramError } from './errors.ts';
import type { SendBody, UploadBody, UploadResponse } from './send-api.ts';

/** Shapes graph.instagram.com answers with (instagram-api.md §2–3); every field optional but `id`. */
export interface GraphUser {
  readonly id: string;
  readonly username?: string;
}

export interface GraphPaging {
  readonly cursors?: { readonly before?: string; readonly after?: string };
  readonly next?: string;
  readonly previous?: string;
}

export interface GraphList<T> {
  readonly data: readonly T[];
  readonly paging?: GraphPaging;
}

export interface GraphAttachment {
  readonly id?: string;
  readonly mime_type?: string;
  readonly name?: string;
  readonly image_data?: { readonly url: string; readonly preview_url?: string };
  readonly video_data?: { readonly url: string; readonly preview_url?: string };
  readonly file_url?: string;
  /** A structured message's template (MSGREF); its shape is not documented: kept as given. */
  readonly generic_template?: unknown;
}

export interface GraphMessage {
  readonly id: string;
  readonly created_time?: string;
  readonly from?: GraphUser;
  readonly to?: GraphList<GraphUser>;
  readonly message?: string;
  readonly attachments?: GraphList<GraphAttachment>;
  readonly shares?: GraphList<{
    readonly link?: string;
    readonly name?: string;
    /** A shared product or template (restfb `instagram-message.json`: `{payload: {product}}`). */
    readonly template?: unknown;
  }>;
  readonly story?: {
    readonly reply_to?: { readonly link?: string; readonly id?: string };
    readonly mention?: { readonly link?: string; readonly id?: string };
  };
  readonly reactions?: GraphList<{
    readonly reaction: string;
    /** Not documented for Graph reads (webhooks carry it): used when present. */
    readonly emoji?: string;
    readonly users?: readonly GraphUser[];
  }>;
  readonly reply_to?: { readonly mid: string; readonly is_self_reply?: boolean };
  readonly is_unsupported?: boolean;
}

export interface GraphConversation {
  readonly id: string;
  readonly updated_time?: string;
  readonly participants?: GraphList<GraphUser>;
  readonly messages?: GraphList<GraphMessage>;
}

export interface GraphAccount {
  readonly id: string;
  readonly user_id?: string;
  readonly username?: string;
  readonly name?: string;
  readonly account_type?: string;
  readonly profile_picture_url?: string;
  readonly followers_count?: number;
  readonly follows_count?: number;
  readonly media_count?: number;
}

export interface GraphUserProfile {
  readonly id: string;
  readonly name?: string | null;
  readonly username?: string;
  readonly profile_pic?: string | null;
  readonly follower_count?: number;
  readonly is_user_follow_business?: boolean;
  readonly is_business_follow_user?: boolean;
  readonly is_verified_user?: boolean;
}

/** An IG Media (instagram-api.md §13): a post, reel, story or carousel item. */
export interface GraphMedia {
  readonly id: string;
  readonly caption?: string;
  readonly media_type?: 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM';
  readonly media_product_type?: string;
  readonly media_url?: string;
  readonly thumbnail_url?: string;
  readonly permalink?: string;
  readonly timestamp?: string;
  readonly like_count?: number;
  readonly comments_count?: number;
  readonly is_comment_enabled?: boolean;
  readonly children?: GraphList<GraphMedia>;
  readonly comments?: GraphList<GraphComment>;
}

/** One metric of `GET /<id>/insights`: a lifetime value, a total, or a series by day. */
export interface GraphInsight {
  readonly name: string;
  readonly period?: string;
  readonly values?: readonly { readonly value?: number; readonly end_time?: string }[];
  readonly total_value?: { readonly value?: number };
}

/** An IG Comment (instagram-api.md §13). */
export interface GraphComment {
  readonly id: string;
  readonly text?: string;
  readonly timestamp?: string;
  readonly from?: GraphUser;
  readonly like_count?: number;
  readonly hidden?: boolean;
  readonly parent_id?: string;
  readonly media?: { readonly id: string; readonly media_product_type?: string };
  readonly replies?: GraphList<GraphComment>;
}

/** The Send API's answer: `message_id` for messages, only `recipient_id` for sender actions. */
export interface SendResponse {
  readonly recipient_id?: string;
  readonly message_id?: string;
}

/** The conversation-routing calls (instagram-api.md §11). */
export type ThreadControlAction =
  | 'pass_thread_control'
  | 'take_thread_control'
  | 'release_thread_control'
  | 'request_thread_control';

/** A routing call's body: the customer, the target app (pass only), and free-form metadata. */
export interface ThreadControlBody {
  readonly recipient: { readonly id: string };
  readonly target_app_id?: string;
  readonly metadata?: string;
}

/** The messaging profile fields igql reads and writes (instagram-api.md §12). */
export type ProfileField = 'ice_breakers' | 'persistent_menu';

/** One button of the persistent menu. */
export type GraphMenuItem =
  | { readonly type: 'postback'; readonly title: string; readonly payload: string }
  | { readonly type: 'web_url'; readonly title: string; readonly url: string };

/** `GET /me/messenger_profile`'s `data[0]` (Postman: api-persistent-menu-get-postman.json). */
export interface GraphMessengerProfile {
  readonly ice_breakers?: readonly {
    readonly locale?: string;
    readonly call_to_actions: readonly { readonly question: string; readonly payload: string }[];
  }[];
  readonly persistent_menu?: readonly {
    readonly locale?: string;
    readonly call_to_actions: readonly GraphMenuItem[];
  }[];
}

/** One message of a welcome message flow: text and up to 13 text quick replies. */
export interface GraphWelcomeMessage {
  readonly message: {
    readonly text: string;
    readonly quick_replies?: readonly {
      readonly content_type: 'text';
      readonly title: string;
      readonly payload: string;
    }[];
  };
}

/**
 * A welcome message flow as `GET /<IG_ID>/welcome_message_flows` lists it (the node fields of
 * Meta's SDKs); `welcome_message_flow` is the flow's messages as a JSON string.
 */
export interface GraphWelcomeFlow {
  readonly id: string;
  readonly name?: string;
  readonly eligible_platforms?: readonly string[];
  readonly is_used_in_ad?: boolean;
  readonly last_update_time?: string;
  readonly welcome_message_flow?: string;
}

/** What a welcome flow is created or updated with. */
export interface WelcomeFlowBody {
  readonly name?: string;
  readonly welcome_message_flow?: readonly GraphWelcomeMessage[];
  readonly eligible_platforms?: readonly ['instagram'];
}

/**
 * How an account logged in, which decides the host, the node and the token of every call:
 * `INSTAGRAM` (Business Login for Instagram: graph.instagram.com, the IG_ID, an Instagram User
 * token) or `FACEBOOK` (Facebook Login for Business: graph.facebook.com, the linked Page for
 * messaging, a Page access token).
 */
export type LoginKind = 'INSTAGRAM' | 'FACEBOOK';

/**
 * Whose token a call uses: the account (IG_ID) and its token. With `pageId` the account logged in
 * with Facebook Login for Business: calls go to graph.facebook.com with the Page access token,
 * and messaging calls to the Page's node.
 */
export interface Auth {
  readonly igId: string;
  readonly token: string;
  readonly pageId?: string | undefined;
}

/**
 * The `Auth` of a stored account. An account of Facebook Login stored without its Page cannot be
 * reached: its token is a Page's, which graph.instagram.com refuses, and its messaging node is
 * unknown. It answers as a refused token does (`InstagramError` of kind `token`, REAUTH_REQUIRED
 * wherever it surfaces): the user logs in again with Facebook, which stores the Page. Its token
 * is never sent anywhere.
 */
export function authOf(stored: {
  readonly igId: string;
  readonly accessToken: string;
  readonly loginKind?: LoginKind;
  readonly pageId?: string;
}): Auth {
  if (stored.loginKind !== 'FACEBOOK') return { igId: stored.igId, token: stored.accessToken };
  if (stored.pageId === undefined) throw new InstagramError({ kind: 'token', message: NO_PAGE });
  return { igId: stored.igId, token: stored.accessToken, pageId: stored.pageId };
}

/** Why an account of Facebook Login stored without its Page answers REAUTH_REQUIRED. */
export const NO_PAGE =
  'This account of Facebook Login is stored without its Facebook Page: log in again with Facebook to reconnect it';

/** Whether `authOf` can reach the stored account (not Facebook Login without its Page). */
export const reachable = (stored: {
  readonly loginKind?: LoginKind;
  readonly pageId?: string;
}): boolean => stored.loginKind !== 'FACEBOOK' || stored.pageId !== undefined;

/**
 * igql's Meta app of each configuration (`INSTAGRAM_APP_ID`, `FACEBOOK_APP_ID`; the simulator's in
 * sandbox mode): the app whose tokens igql holds, which owns the threads igql's sends and
 * `take_thread_control` hold, and whose entry of a Page's `subscribed_apps` is igql's. '' when
 * unknown.
 */
export interface AppIds {
  readonly INSTAGRAM: string;
  readonly FACEBOOK: string;
}

/**
 * What every call of an account carries: its token, its IG_ID (the per-account limits, and the
 * report of a refused token) and its host: graph.facebook.com for Facebook Login (IG User nodes
 * keep the IG_ID there), else the client's default, graph.instagram.com. One place for all
 * three, so that no call sends a Page token to graph.instagram.com.
 */
export function callerOf(auth: Auth): {
  readonly token: string;
  readonly igId: string;
  readonly host?: 'facebook';
} {
  const { token, igId } = auth;
  return auth.pageId === undefined ? { token, igId } : { token, igId, host: 'facebook' };
}

/**
 * The node of the messaging calls (messages, attachments, conversations, thread control, the
 * messaging profile, welcome flows, webhook subscription): for Facebook Login the Page, whose
 * linked IG_ID answers them with error 3 ("Application does not have the capability to make
 * this API call") on graph.facebook.com; else the IG_ID.
 */
export const messagingNode = (auth: Pick<Auth, 'igId' | 'pageId'>): string =>
  auth.pageId ?? auth.igId;

/**
 * Fields of Instagram Login's `/me` that the IG User of graph.facebook.com does not have (IG User
 * reference: its fields are `biography`, `id`, `ig_id`, `followers_count`, `follows_count`,
 * `media_count`, `name`, `profile_picture_url`, `username`, `website`).
 */
const NOT_ON_FACEBOOK: ReadonlySet<string> = new Set(['user_id', 'account_type']);

/**
 * The folders of a Page's inbox (`GET /<PAGE_ID>/conversations?folder=`): the Page Conversations
 * reference types the parameter as a string; these are the values in use (`inbox` is the default,
 * `other`, `page_done` the "Done" folder, `pending` message requests, `spam`). Which of them hold
 * Instagram threads is UNCONFIRMED. Facebook Login only.
 */
export type ConversationFolder = 'inbox' | 'other' | 'page_done' | 'pending' | 'spam';

export interface PageArgs {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly before?: string | undefined;
}

/**
 * Graph times (`2025-07-28T22:44:49+0000`) in ms since the epoch. V8's `Date.parse` reads the
 * `+0000` offset as it is (twice as fast as rewriting it to `Z` first, on every message read).
 */
export const graphTimeMs = (value: string): number => Date.parse(value);

/** Graph times as Dates. */
export const parseGraphTime = (value: string): Date => new Date(graphTimeMs(value));

/**
 * The typed reads igql makes, each one Graph request (a split page makes more). Paths are named
 * as Instagram Login has them; for an account of Facebook Login (`Auth.pageId`) every call goes
 * to graph.facebook.com with the Page token (`callerOf`), and the messaging ones to the Page
 * (`messagingNode`).
 */
export class InstagramApi {
  readonly #client: InstagramClient;
  readonly #apps: AppIds;

  /** `apps`: igql's app of each configuration. Default: both unknown (''). */
  constructor(client: InstagramClient, apps: AppIds = { INSTAGRAM: '', FACEBOOK: '' }) {
    this.#client = client;
    this.#apps = { ...apps };
  }

  /** igql's app for an account that logged in with `loginKind`: '' when unknown. */
  appIdOf(loginKind: LoginKind): string {
    return this.#apps[loginKind];
  }

  /**
   * `GET /me`; accepts the `{"data":[…]}` wrapper GS prints as well as the flat object. Without
   * `igId` (the login's own `/me`, before the token is stored for an account), nothing is
   * throttled or reported for an account. For Facebook Login (`pageId`) `/me` is the Page: the
   * account is `GET /<IG_ID>` on graph.facebook.com, with the fields its IG User has
   * (`NOT_ON_FACEBOOK` are never asked there).
   */
  async account(
    auth: Pick<Auth, 'token'> & Partial<Pick<Auth, 'igId' | 'pageId'>>,
    fields: readonly string[],
  ): Promise<GraphAccount> {
    if (auth.pageId !== undefined && auth.igId !== undefined) {
      return this.#facebookAccount({ ...auth, igId: auth.igId }, fields);
    }
    const body = await this.#client.call<GraphAccount | { data: GraphAccount[] }>({
      method: 'GET',
      path: 'me',
      endpoint: '/me',
      token: auth.token,
      igId: auth.igId,
      query: { fields: fields.join(',') },
    });
    return 'data' in body && Array.isArray(body.data)
      ? (body.data[0] ?? { id: '' })
      : (body as GraphAccount);
  }

  /**
   * `GET /<IG_ID>?fields=…` on graph.facebook.com; no call when every field asked is one the IG
   * User there does not have. `user_id` is the IG_ID itself.
   */
  async #facebookAccount(auth: Auth, fields: readonly string[]): Promise<GraphAccount> {
    const asked = fields.filter((field) => !NOT_ON_FACEBOOK.has(field));
    const body =
      asked.length === 0
        ? { id: auth.igId }
        : await this.#client.call<GraphAccount>({
            method: 'GET',
            path: encodeURIComponent(auth.igId),
            endpoint: '/{id}',
            ...callerOf(auth),
            query: { fields: asked.join(',') },
          });
    return fields.includes('user_id') ? { ...body, user_id: auth.igId } : body;
  }

  /**
   * `GET /<id>?fields=…`: a conversation or a message (`conversations`: paced as the
   * Conversations API), or a user profile.
   */
  node<T>(auth: Auth, id: string, fields: string, conversations = false): Promise<T> {
    return this.#client.call<T>({
      method: 'GET',
      path: encodeURIComponent(id),
      endpoint: '/{id}',
      ...callerOf(auth),
      query: { fields },
      conversations,
    });
  }

  /**
   * `GET /me/conversations`, newest first; for Facebook Login `GET /<PAGE_ID>/conversations`,
   * where `platform=instagram` is what selects the Instagram threads (without it the Page answers
   * its Messenger ones) and `folder` one of the Page inbox's folders. When Instagram answers
   * "reduce the amount of data", the page is split in two and fetched in halves, recursively.
   */
  async conversations(
    auth: Auth,
    args: PageArgs & {
      fields: string;
      userId?: string | undefined;
      /** Facebook Login only: Instagram Login documents no folder. Default: the Page's default. */
      folder?: ConversationFolder | undefined;
    },
  ): Promise<GraphList<GraphConversation>> {
    return this.#split(args, (page) =>
      this.#client.call<GraphList<GraphConversation>>({
        method: 'GET',
        path: auth.pageId === undefined ? 'me/conversations' : `${auth.pageId}/conversations`,
        endpoint: auth.pageId === undefined ? '/me/conversations' : '/{id}/conversations',
        ...callerOf(auth),
        conversations: true,
        query: {
          platform: 'instagram',
          folder: args.folder,
          fields: args.fields,
          limit: String(page.limit),
          after: page.after,
          before: page.before,
          user_id: args.userId,
        },
      }),
    );
  }

  /** `GET /<CONVERSATION_ID>/messages`, newest first. */
  messages(
    auth: Auth,
    conversationId: string,
    args: PageArgs & { fields: string },
  ): Promise<GraphList<GraphMessage>> {
    return this.#split(args, (page) =>
      this.#client.call<GraphList<GraphMessage>>({
        method: 'GET',
        path: `${encodeURIComponent(conversationId)}/messages`,
        endpoint: '/{id}/messages',
        ...callerOf(auth),
        conversations: true,
        query: {
          fields: args.fields,
          limit: String(page.limit),
          after: page.after,
          before: page.before,
        },
      }),
    );
  }

  /**
   * `POST /<IG_ID>/messages`: a message, a reaction or a sender action. Never retried: a send
   * that timed out may have gone out (`InstagramError` kind `timeout`).
   */
  send(auth: Auth, body: SendBody): Promise<SendResponse> {
    return this.#client.call<SendResponse>({
      method: 'POST',
      path: `${messagingNode(auth)}/messages`,
      endpoint: '/{id}/messages',
      ...callerOf(auth),
      body,
    });
  }

  /**
   * `POST /<IG_ID>/message_attachments`: stores media for reuse, by URL (`body`) or, with `file`,
   * as multipart (`message` as JSON, the bytes in `filedata`). Never retried, as a send. On the
   * Page (Facebook Login) with `platform: "instagram"`, as Meta's attachment upload guide for
   * Instagram Messaging sends it.
   */
  uploadAttachment(
    auth: Auth,
    upload: UploadBody,
    file?: { readonly name: string; readonly type: string; readonly bytes: Uint8Array },
  ): Promise<UploadResponse> {
    const platform: Record<string, string> =
      auth.pageId === undefined ? {} : { platform: 'instagram' };
    const body = { ...platform, ...upload };
    return this.#client.call<UploadResponse>({
      method: 'POST',
      path: `${messagingNode(auth)}/message_attachments`,
      endpoint: '/{id}/message_attachments',
      ...callerOf(auth),
      ...(file
        ? {
            multipart: {
              fields: { ...platform, message: JSON.stringify(body.message) },
              files: { filedata: file },
            },
          }
        : { body }),
    });
  }

  /**
   * `GET /<IG_ID>/thread_owner?recipient=<IGSID>` (instagram-api.md §11): the app that owns the
   * thread with the customer, `{"data":[{"thread_owner":{"app_id":"…"}}]}`; null when none is named.
   */
  async threadOwner(auth: Auth, igsid: string): Promise<string | null> {
    const body = await this.#client.call<{
      data?: { thread_owner?: { app_id?: string | number } }[];
    }>({
      method: 'GET',
      path: `${messagingNode(auth)}/thread_owner`,
      endpoint: '/{id}/thread_owner',
      ...callerOf(auth),
      query: { recipient: igsid },
    });
    const appId = body.data?.[0]?.thread_owner?.app_id;
    return appId === undefined ? null : String(appId);
  }

  /**
   * `POST /<IG_ID>/<action>` (`pass_thread_control`, `take_thread_control`,
   * `release_thread_control`, `request_thread_control`: instagram-api.md §11). Never retried: the
   * first attempt may have changed the owner.
   */
  async threadControl(
    auth: Auth,
    action: ThreadControlAction,
    body: ThreadControlBody,
  ): Promise<void> {
    await this.#client.call({
      method: 'POST',
      path: `${messagingNode(auth)}/${action}`,
      endpoint: `/{id}/${action}`,
      ...callerOf(auth),
      body,
    });
  }

  /** `GET /<IG_ID>/messenger_profile?fields=…&platform=instagram` (instagram-api.md §12). */
  async messengerProfile(
    auth: Auth,
    fields: readonly ProfileField[],
  ): Promise<GraphMessengerProfile> {
    const body = await this.#client.call<{ data?: GraphMessengerProfile[] }>({
      method: 'GET',
      path: `${messagingNode(auth)}/messenger_profile`,
      endpoint: '/{id}/messenger_profile',
      ...callerOf(auth),
      query: { fields: fields.join(','), platform: 'instagram' },
    });
    return body.data?.[0] ?? {};
  }

  /** `POST /<IG_ID>/messenger_profile`: sets ice breakers or the persistent menu. */
  async setMessengerProfile(
    auth: Auth,
    profile: Pick<GraphMessengerProfile, ProfileField>,
  ): Promise<void> {
    await this.#client.call({
      method: 'POST',
      path: `${messagingNode(auth)}/messenger_profile`,
      endpoint: '/{id}/messenger_profile',
      ...callerOf(auth),
      body: { platform: 'instagram', ...profile },
    });
  }

  /** `DELETE /<IG_ID>/messenger_profile` with `{"fields":[…],"platform":"instagram"}`. */
  async deleteMessengerProfile(auth: Auth, fields: readonly ProfileField[]): Promise<void> {
    await this.#client.call({
      method: 'DELETE',
      path: `${messagingNode(auth)}/messenger_profile`,
      endpoint: '/{id}/messenger_profile',
      ...callerOf(auth),
      body: { fields, platform: 'instagram' },
    });
  }

  /**
   * `GET /<IG_ID>/welcome_message_flows` with every field (instagram-api.md §12), or with
   * `flowId` that flow only. For Facebook Login the Page's flows, which include its Messenger
   * ones (`eligible_platforms` `["messenger"]`, Meta's "Welcome message flows" for the Messenger
   * Platform): only those eligible on Instagram are the account's, and are given.
   */
  async welcomeFlows(auth: Auth, flowId?: string): Promise<GraphList<GraphWelcomeFlow>> {
    const list = await this.#client.call<GraphList<GraphWelcomeFlow>>({
      method: 'GET',
      path: `${messagingNode(auth)}/welcome_message_flows`,
      endpoint: '/{id}/welcome_message_flows',
      ...callerOf(auth),
      query: {
        fields: 'id,name,eligible_platforms,is_used_in_ad,last_update_time,welcome_message_flow',
        flow_id: flowId,
      },
    });
    if (auth.pageId === undefined) return list;
    const data = list.data.filter((flow) => flow.eligible_platforms?.includes('instagram'));
    return { ...list, data };
  }

  /**
   * `POST /<IG_ID>/welcome_message_flows`: creates a flow (→ its `flow_id`), or, with `flowId`,
   * updates the fields given.
   */
  async saveWelcomeFlow(
    auth: Auth,
    body: WelcomeFlowBody,
    flowId?: string,
  ): Promise<{ readonly flow_id?: string | number }> {
    return this.#client.call<{ flow_id?: string | number }>({
      method: 'POST',
      path: `${messagingNode(auth)}/welcome_message_flows`,
      endpoint: '/{id}/welcome_message_flows',
      ...callerOf(auth),
      body: flowId === undefined ? body : { flow_id: flowId, ...body },
    });
  }

  /** `DELETE /<IG_ID>/welcome_message_flows?flow_id=…`. */
  async deleteWelcomeFlow(auth: Auth, flowId: string): Promise<void> {
    await this.#client.call({
      method: 'DELETE',
      path: `${messagingNode(auth)}/welcome_message_flows`,
      endpoint: '/{id}/welcome_message_flows',
      ...callerOf(auth),
      query: { flow_id: flowId },
    });
  }

  /**
   * `GET /<IG_ID>/subscribed_apps`: the webhook fields the app receives for the account. For
   * Facebook Login the Page's (webhooks/reconcile.ts), which lists every app subscribed to the
   * Page, one entry each (`id`, `name`, `subscribed_fields`: Page Subscribed Apps reference):
   * only the entry of igql's Facebook app (`appIdOf`) is igql's.
   */
  async subscribedFields(auth: Auth): Promise<string[]> {
    const body = await this.#client.call<{
      data: { id?: string | number; subscribed_fields?: string[] }[];
    }>({
      method: 'GET',
      path: `${messagingNode(auth)}/subscribed_apps`,
      endpoint: '/{id}/subscribed_apps',
      ...callerOf(auth),
    });
    const own =
      auth.pageId === undefined
        ? body.data
        : body.data.filter((app) => String(app.id) === this.#apps.FACEBOOK);
    return own.flatMap((app) => app.subscribed_fields ?? []);
  }

  /** `POST /<IG_ID>/subscribed_apps?subscribed_fields=…`: (re)subscribes the app to the account. */
  async subscribe(auth: Auth, fields: readonly string[]): Promise<void> {
    await this.#client.call({
      method: 'POST',
      path: `${messagingNode(auth)}/subscribed_apps`,
      endpoint: '/{id}/subscribed_apps',
      ...callerOf(auth),
      query: { subscribed_fields: fields.join(',') },
    });
  }

  // ---- Media and comments (instagram-api.md §13) ----------------------------------------------

  /** `GET /<IG_ID>/media` (posts and reels, newest first) or `/<IG_ID>/stories`. */
  mediaList(
    auth: Auth,
    edge: 'media' | 'stories' | 'live_media',
    args: PageArgs & { fields: string },
  ): Promise<GraphList<GraphMedia>> {
    return this.#split(args, (page) =>
      this.#client.call<GraphList<GraphMedia>>({
        method: 'GET',
        path: `${auth.igId}/${edge}`,
        endpoint: `/{id}/${edge}`,
        ...callerOf(auth),
        query: {
          fields: args.fields,
          limit: String(page.limit),
          after: page.after,
          before: page.before,
        },
      }),
    );
  }

  /** `GET /<MEDIA_ID>/comments` or `GET /<COMMENT_ID>/replies`. */
  comments(
    auth: Auth,
    parentId: string,
    edge: 'comments' | 'replies',
    args: PageArgs & { fields: string },
  ): Promise<GraphList<GraphComment>> {
    return this.#client.call<GraphList<GraphComment>>({
      method: 'GET',
      path: `${encodeURIComponent(parentId)}/${edge}`,
      endpoint: `/{id}/${edge}`,
      ...callerOf(auth),
      query: {
        fields: args.fields,
        limit: String(args.limit),
        after: args.after,
        before: args.before,
      },
    });
  }

  /**
   * `POST /<MEDIA_ID>/comments?message=` or `POST /<COMMENT_ID>/replies?message=`: the new
   * comment's id. Never retried, as a send.
   */
  comment(
    auth: Auth,
    parentId: string,
    edge: 'comments' | 'replies',
    message: string,
  ): Promise<{ id: string }> {
    return this.#client.call<{ id: string }>({
      method: 'POST',
      path: `${encodeURIComponent(parentId)}/${edge}`,
      endpoint: `/{id}/${edge}`,
      ...callerOf(auth),
      query: { message },
    });
  }

  /**
   * `GET /<MEDIA_ID>/insights?metric=…` or `GET /<IG_ID>/insights?metric=…&period=…`
   * (`metric_type`, `since`, `until` as given).
   */
  insights(
    auth: Auth,
    id: string,
    query: Readonly<Record<string, string | undefined>>,
  ): Promise<GraphList<GraphInsight>> {
    return this.#client.call<GraphList<GraphInsight>>({
      method: 'GET',
      path: `${encodeURIComponent(id)}/insights`,
      endpoint: '/{id}/insights',
      ...callerOf(auth),
      query,
    });
  }

  /** `GET /<IG_ID>/content_publishing_limit?fields=quota_usage,config`: the rolling 24-hour quota. */
  async publishingLimit(
    auth: Auth,
  ): Promise<{ quota_usage?: number; config?: { quota_total?: number; quota_duration?: number } }> {
    const body = await this.#client.call<{
      data: { quota_usage?: number; config?: { quota_total?: number; quota_duration?: number } }[];
    }>({
      method: 'GET',
      path: `${auth.igId}/content_publishing_limit`,
      endpoint: '/{id}/content_publishing_limit',
      ...callerOf(auth),
      query: { fields: 'quota_usage,config' },
    });
    return body.data[0] ?? {};
  }

  /** `POST /<COMMENT_ID>?hide=true|false`, or `DELETE /<COMMENT_ID>`: `{"success":true}`. */
  moderateComment(
    auth: Auth,
    commentId: string,
    action: 'hide' | 'unhide' | 'delete',
  ): Promise<unknown> {
    return this.#client.call({
      method: action === 'delete' ? 'DELETE' : 'POST',
      path: encodeURIComponent(commentId),
      endpoint: '/{id}',
      ...callerOf(auth),
      ...(action === 'delete' ? {} : { query: { hide: String(action === 'hide') } }),
    });
  }

  async #split<T>(
    args: PageArgs,
    read: (page: PageArgs) => Promise<GraphList<T>>,
  ): Promise<GraphList<T>> {
    try {
      return await read(args);
    } catch (error) {
      if (!(error instanceof InstagramError) || error.kind !== 'reduce_data' || args.limit < 2)
        throw error;
    }
    const half = Math.ceil(args.limit / 2);
    if (args.before !== undefined) {
      // Backwards: the half nearest the cursor first, then the one before it.
      const later = await this.#split({ limit: half, before: args.before }, read);
      const cursor = later.paging?.cursors?.before;
      if (!later.paging?.previous || cursor === undefined) return later;
      const earlier = await this.#split({ limit: args.limit - half, before: cursor }, read);
      return merge(earlier, later);
    }
    const first = await this.#split({ limit: half, after: args.after }, read);
    const cursor = first.paging?.cursors?.after;
    if (!first.paging?.next || cursor === undefined) return first;
    const second = await this.#split({ limit: args.limit - half, after: cursor }, read);
    return merge(first, second);
  }
}

function merge<T>(first: GraphList<T>, second: GraphList<T>): GraphList<T> {
  const paging: GraphPaging = {
    cursors: {
      ...(first.paging?.cursors?.before ? { before: first.paging.cursors.before } : {}),
      ...(second.paging?.cursors?.after ? { after: second.paging.cursors.after } : {}),
    },
    ...(first.paging?.previous ? { previous: first.paging.previous } : {}),
    ...(second.paging?.next ? { next: second.paging.next } : {}),
  };
  return { data: [...first.data, ...second.data], paging };
}
