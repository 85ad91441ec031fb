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

/** The Send API's answer: `message_id` for messages, only `recipient_id` for sender actions. */
export interface SendResponse {
  readonly recipient_id?: string;
  readonly message_id?: string;
}

/** Whose token a call uses: the account (IG_ID) and its Instagram token. */
export interface Auth {
  readonly igId: string;
  readonly token: string;
}

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

/** The typed reads igql makes, each one Graph request (a split page makes more). */
export class InstagramApi {
  readonly #client: InstagramClient;

  constructor(client: InstagramClient) {
    this.#client = client;
  }

  /**
   * `GET /me`; accepts the `{"data":[…]}` wrapper GS prints as well as the flat object. Without
   * `igId` (the login's own `/me`, before the token is stored for an account), nothing is
   * throttled or reported for an account.
   */
  async account(
    auth: Pick<Auth, 'token'> & Partial<Pick<Auth, 'igId'>>,
    fields: readonly string[],
  ): Promise<GraphAccount> {
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
   * `GET /<id>?fields=…`: a conversation or a message (`conversations`: paced as the
   * Conversations API), or a user profile.
   */
  node<T>(auth: Auth, id: string, fields: string, conversations = false): Promise<T> {
    return this.#client.call<T>({
      method: 'GET',
      path: encodeURIComponent(id),
      endpoint: '/{id}',
      token: auth.token,
      igId: auth.igId,
      query: { fields },
      conversations,
    });
  }

  /**
   * `GET /me/conversations`, newest first. When Instagram answers "reduce the amount of data",
   * the page is split in two and fetched in halves, recursively.
   */
  async conversations(
    auth: Auth,
    args: PageArgs & { fields: string; userId?: string | undefined },
  ): Promise<GraphList<GraphConversation>> {
    return this.#split(args, (page) =>
      this.#client.call<GraphList<GraphConversation>>({
        method: 'GET',
        path: 'me/conversations',
        endpoint: '/me/conversations',
        token: auth.token,
        igId: auth.igId,
        conversations: true,
        query: {
          platform: 'instagram',
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
        token: auth.token,
        igId: auth.igId,
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
      path: `${auth.igId}/messages`,
      endpoint: '/{id}/messages',
      token: auth.token,
      igId: auth.igId,
      body,
    });
  }

  /**
   * `POST /<IG_ID>/message_attachments`: stores media for reuse, by URL (`body`) or, with `file`,
   * as multipart (`message` as JSON, the bytes in `filedata`). Never retried, as a send.
   */
  uploadAttachment(
    auth: Auth,
    body: UploadBody,
    file?: { readonly name: string; readonly type: string; readonly bytes: Uint8Array },
  ): Promise<UploadResponse> {
    return this.#client.call<UploadResponse>({
      method: 'POST',
      path: `${auth.igId}/message_attachments`,
      endpoint: '/{id}/message_attachments',
      token: auth.token,
      igId: auth.igId,
      ...(file
        ? {
            multipart: {
              fields: { message: JSON.stringify(body.message) },
              files: { filedata: file },
            },
          }
        : { body }),
    });
  }

  /** `GET /<IG_ID>/subscribed_apps`: the webhook fields the app receives for the account. */
  async subscribedFields(auth: Auth): Promise<string[]> {
    const body = await this.#client.call<{ data: { subscribed_fields?: string[] }[] }>({
      method: 'GET',
      path: `${auth.igId}/subscribed_apps`,
      endpoint: '/{id}/subscribed_apps',
      token: auth.token,
      igId: auth.igId,
    });
    return body.data.flatMap((app) => app.subscribed_fields ?? []);
  }

  /** `POST /<IG_ID>/subscribed_apps?subscribed_fields=…`: (re)subscribes the app to the account. */
  async subscribe(auth: Auth, fields: readonly string[]): Promise<void> {
    await this.#client.call({
      method: 'POST',
      path: `${auth.igId}/subscribed_apps`,
      endpoint: '/{id}/subscribed_apps',
      token: auth.token,
      igId: auth.igId,
      query: { subscribed_fields: fields.join(',') },
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
