import DataLoader from 'dataloader';
import { mayUse } from '../auth/access.ts';
import type { Session } from '../auth/jwt.ts';
import type { AccountStatus, LoginKind, StoredAccount, TokenStore } from '../auth/token-store.ts';
import { graphqlError, notFound, reauthRequired } from '../errors.ts';
import type { ConversationStateStore } from '../inbox/conversation-state.ts';
import type { ReadCache, Scope } from '../inbox/read-cache.ts';
import type { Referral } from '../inbox/referral.ts';
import { messageFields, splitFields } from '../instagram/fields.ts';
import type {
  Auth,
  ConversationFolder,
  GraphAccount,
  GraphComment,
  GraphConversation,
  GraphInsight,
  GraphList,
  GraphMedia,
  GraphMessage,
  GraphMessengerProfile,
  GraphUser,
  GraphWelcomeFlow,
  InstagramApi,
  PageArgs,
  ProfileField,
} from '../instagram/graph.ts';
import { authOf, NO_PAGE, reachable } from '../instagram/graph.ts';

/**
 * What a `GET /<id>` reads: a conversation or a message (Conversations API reads, paced), a
 * customer's profile, or anything else (media, a comment: never kept in the read cache).
 */
type NodeKind = 'conversation' | 'message' | 'profile' | 'other';

interface NodeKey {
  readonly igId: string;
  readonly id: string;
  readonly fields: string;
  readonly kind: NodeKind;
}

/**
 * How long a read is answered from the shared cache at most: the bound for what no event
 * announces. Conversation lists and pages change with every message, each of which a webhook
 * announces (invalidating them at once): 60 s covers a webhook Meta never delivers until
 * reconciliation finds it. A message changes by events naming it (an edit, a reaction, its
 * deletion, seen). A profile changes by no event at all: 10 minutes, within which its
 * `profile_pic` URL stays valid (the cache never keeps an entry past its earliest media URL).
 */
export const CONVERSATIONS_TTL_MS = 60_000;
export const MESSAGE_TTL_MS = 60_000;
export const PROFILE_TTL_MS = 600_000;
/** The account's own profile (`/me`): every poll of an inbox reads it, and no event announces it. */
export const ACCOUNT_TTL_MS = 60_000;

/** What `messageCustomer` reads: `id,created_time,from,to`. */
const CUSTOMER_FIELDS = messageFields({ to: true });

const keyOf = (key: { igId: string; id: string; fields: string }) =>
  `${key.igId}\n${key.id}\n${key.fields}`;

/** Reads for one request: what is read twice reaches Instagram once, and sibling reads combine. */
export class RequestLoaders {
  readonly #api: InstagramApi;
  readonly #session: Session | null;
  readonly #conversations: ConversationStateStore | undefined;
  readonly #now: () => number;
  readonly #cache: ReadCache | undefined;
  readonly #stored: DataLoader<string, StoredAccount | undefined>;
  readonly #nodes: DataLoader<NodeKey, unknown, string>;
  readonly #pages = new Map<string, Promise<unknown>>();
  /** Messages seen in pages, with the fields they were read with. */
  readonly #messages = new Map<
    string,
    { readonly fields: ReadonlySet<string>; readonly data: GraphMessage }
  >();
  /** Pages primed and not yet indexed into `#messages`, in order. */
  readonly #primed: { readonly messages: readonly GraphMessage[]; readonly fields: string }[] = [];

  /**
   * `conversations`: the shared conversation state (thread owners, origins); without it owners
   * are read from Instagram every request and no origin is known. `now`: its clock.
   * `readCache`: where conversation lists and pages, messages and profiles are answered from
   * across requests (the services' `readCache`; none: every read goes to Instagram). It sits below `auth`: a
   * session that may not read an account never reaches its entries.
   */
  constructor(
    api: InstagramApi,
    tokens: TokenStore,
    session: Session | null,
    conversations?: ConversationStateStore,
    now: () => number = Date.now,
    readCache?: ReadCache,
  ) {
    this.#api = api;
    this.#session = session;
    this.#conversations = conversations;
    this.#now = now;
    this.#cache = readCache;
    this.#stored = new DataLoader(async (igIds) => Promise.all(igIds.map((id) => tokens.get(id))));
    this.#nodes = new DataLoader<NodeKey, unknown, string>((keys) => this.#loadNodes(keys), {
      cacheKeyFn: keyOf,
    });
  }

  /**
   * Forgets everything read so far. A subscription keeps one context for its whole life: it
   * clears before each event so that events never show data read for an earlier one.
   */
  clear(): void {
    this.#stored.clearAll();
    this.#nodes.clearAll();
    this.#pages.clear();
    this.#messages.clear();
    this.#primed.length = 0;
  }

  /**
   * The token to read the account with. An account the session may not use answers exactly as
   * one that does not exist; one whose token Instagram refused answers REAUTH_REQUIRED.
   */
  async auth(igId: string): Promise<Auth> {
    const stored = mayUse(this.#session, igId) ? await this.#stored.load(igId) : undefined;
    if (!stored) throw notFound('Account');
    // The Page first: a record without it also reads as REAUTH_REQUIRED, and this says why.
    if (!reachable(stored)) throw graphqlError('REAUTH_REQUIRED', NO_PAGE);
    if (stored.status === 'REAUTH_REQUIRED') throw reauthRequired();
    return authOf(stored);
  }

  /** How the account logged in, from the token store (absent: `INSTAGRAM`); never a call. */
  async loginKind(igId: string): Promise<LoginKind> {
    const stored = mayUse(this.#session, igId) ? await this.#stored.load(igId) : undefined;
    if (!stored) throw notFound('Account');
    return stored.loginKind ?? 'INSTAGRAM';
  }

  /**
   * igql's Meta app for the account, by how it logged in: the one whose threads are igql's
   * (`ThreadOwner.kind` THIS_APP); '' when unknown. Never a call.
   */
  async ownAppId(igId: string): Promise<string> {
    return this.#api.appIdOf(await this.loginKind(igId));
  }

  /** As stored; an account igql cannot reach (`reachable`) needs a new login as well. */
  async status(igId: string): Promise<AccountStatus> {
    const stored = mayUse(this.#session, igId) ? await this.#stored.load(igId) : undefined;
    if (!stored) throw notFound('Account');
    return reachable(stored) ? stored.status : 'REAUTH_REQUIRED';
  }

  /** `GET /me` with the union of the fields asked for the account in this tick. */
  async account(igId: string, fields: readonly string[]): Promise<GraphAccount> {
    const load = { igId, id: 'me', fields: fields.join(','), kind: 'other' } as const;
    return (await this.#nodes.load(load)) as GraphAccount;
  }

  /**
   * `GET /<id>` with the union of the fields asked for that object in this tick;
   * `conversations` for a conversation (paced as the Conversations API, and kept in the read
   * cache). A message is read by `message`, a profile by `profile`.
   */
  async node<T>(igId: string, id: string, fields: string, conversations = false): Promise<T> {
    const kind = conversations ? 'conversation' : 'other';
    return (await this.#nodes.load({ igId, id, fields, kind })) as T;
  }

  /** A customer's profile, `GET /<IGSID>` (User Profile API), kept in the read cache. */
  async profile<T>(igId: string, igsid: string, fields: string): Promise<T> {
    return (await this.#nodes.load({ igId, id: igsid, fields, kind: 'profile' })) as T;
  }

  conversations(
    igId: string,
    args: PageArgs & {
      fields: string;
      userId?: string | undefined;
      folder?: ConversationFolder | undefined;
    },
  ): Promise<GraphList<GraphConversation>> {
    const scopes = ['account', 'conversations', ...(args.userId ? [`thread:${args.userId}`] : [])];
    return this.#page(`c\n${igId}\n${JSON.stringify(args)}`, igId, (auth) =>
      this.#cached(auth, ['conversations', args], scopes, CONVERSATIONS_TTL_MS, () =>
        this.#api.conversations(auth, args),
      ),
    );
  }

  /** `GET messenger_profile` for one field (ice breakers, the menu), once per request. */
  messengerProfile(igId: string, field: ProfileField): Promise<GraphMessengerProfile> {
    return this.#page(`p\n${igId}\n${field}`, igId, (auth) =>
      this.#api.messengerProfile(auth, [field]),
    );
  }

  /**
   * The app that owns the thread with `igsid`, once per request: the owner the shared
   * conversation state knows (a handover webhook or an earlier read told it), else
   * `GET thread_owner`, whose answer is then shared. A store that fails is read past.
   */
  threadOwner(igId: string, igsid: string): Promise<string | null> {
    const key = `o\n${igId}\n${igsid}`;
    let owner = this.#pages.get(key) as Promise<string | null> | undefined;
    if (!owner) {
      owner = this.auth(igId).then(async (auth) => {
        const state = this.#conversations;
        const known = await state?.threadOwner(igId, igsid).catch(() => undefined);
        if (known !== undefined) return known;
        // As of the read's start: a handover told while it is in flight stays the newer.
        const at = this.#now();
        const read = await this.#upstream(igId, () => this.#api.threadOwner(auth, igsid));
        if (read !== null) await state?.setThreadOwner(igId, igsid, read, at).catch(() => {});
        return read;
      });
      this.#pages.set(key, owner);
    }
    return owner;
  }

  /**
   * Records an owner igql's own thread-control call set (`null`: unknown, read again), so that
   * it answers before the handover webhook arrives; this request's answer is replaced too.
   */
  async threadOwnerChanged(igId: string, igsid: string, appId: string | null): Promise<void> {
    this.#pages.delete(`o\n${igId}\n${igsid}`);
    await this.#conversations?.setThreadOwner(igId, igsid, appId, this.#now()).catch(() => {});
  }

  /** The conversation's first referral (`Conversation.origin`), for a session that may read it. */
  async origin(igId: string, igsid: string): Promise<Referral | null> {
    await this.auth(igId);
    return (await this.#conversations?.origin(igId, igsid)) ?? null;
  }

  /** `GET welcome_message_flows`, once per request. */
  welcomeFlows(igId: string): Promise<GraphList<GraphWelcomeFlow>> {
    return this.#page(`w\n${igId}`, igId, (auth) => this.#api.welcomeFlows(auth));
  }

  messages(
    igId: string,
    conversationId: string,
    args: PageArgs & { fields: string },
  ): Promise<GraphList<GraphMessage>> {
    // Events name the customer, not the conversation: any change of the account's conversations
    // reads a thread's pages again.
    const scopes = ['account', 'conversations'];
    return this.#page(`m\n${igId}\n${conversationId}\n${JSON.stringify(args)}`, igId, (auth) =>
      this.#cached(auth, ['messages', conversationId, args], scopes, CONVERSATIONS_TTL_MS, () =>
        this.#api.messages(auth, conversationId, args),
      ),
    );
  }

  /** `GET /<IG_ID>/media` or `/stories`, once per request and arguments. */
  mediaList(
    igId: string,
    edge: 'media' | 'stories' | 'live_media',
    args: PageArgs & { fields: string },
  ): Promise<GraphList<GraphMedia>> {
    return this.#page(`media\n${igId}\n${edge}\n${JSON.stringify(args)}`, igId, (auth) =>
      this.#api.mediaList(auth, edge, args),
    );
  }

  /** `GET /<MEDIA_ID>/comments` or `/<COMMENT_ID>/replies`, once per request and arguments. */
  comments(
    igId: string,
    parentId: string,
    edge: 'comments' | 'replies',
    args: PageArgs & { fields: string },
  ): Promise<GraphList<GraphComment>> {
    const key = `comments\n${igId}\n${parentId}\n${edge}\n${JSON.stringify(args)}`;
    return this.#page(key, igId, (auth) => this.#api.comments(auth, parentId, edge, args));
  }

  /** `GET /<id>/insights` of a media or the account, once per request and query. */
  insights(
    igId: string,
    id: string,
    query: Readonly<Record<string, string | undefined>>,
  ): Promise<GraphList<GraphInsight>> {
    const key = `insights\n${igId}\n${id}\n${JSON.stringify(query)}`;
    return this.#page(key, igId, (auth) => this.#api.insights(auth, id, query));
  }

  /** `GET /<IG_ID>/content_publishing_limit`, once per request. */
  publishingLimit(igId: string) {
    return this.#page(`publishing-limit\n${igId}`, igId, (auth) => this.#api.publishingLimit(auth));
  }

  /**
   * Remembers messages a page returned, so that a `replyTo` among them costs no call. Indexed
   * only when a message is looked up: most pages never are.
   */
  prime(messages: readonly GraphMessage[], fields: string): void {
    this.#primed.push({ messages, fields });
  }

  /** A message by mid: from a page already read when it carried the fields, else `GET /<mid>`. */
  async message(igId: string, mid: string, fields: string): Promise<GraphMessage> {
    for (const page of this.#primed.splice(0)) {
      const set = new Set(splitFields(page.fields));
      for (const message of page.messages) {
        if (message.from !== undefined)
          this.#messages.set(message.id, { fields: set, data: message });
      }
    }
    const seen = this.#messages.get(mid);
    if (seen && splitFields(fields).every((f) => seen.fields.has(f))) return seen.data;
    return (await this.#nodes.load({ igId, id: mid, fields, kind: 'message' })) as GraphMessage;
  }

  /**
   * The customer of the account's message `mid`, for an event whose webhook names none (real
   * `read` and `message_edit` deliveries may come without `sender` and `recipient`): the party
   * of `from` and `to` that is not the account. One `GET /<mid>` per mid and request, combined
   * with the other reads of that message in the same tick (an edit's text); null when the
   * message names no one but the account.
   */
  async messageCustomer(igId: string, mid: string): Promise<GraphUser | null> {
    const data = await this.message(igId, mid, CUSTOMER_FIELDS);
    const parties = [data.from, ...(data.to?.data ?? [])];
    return parties.find((p) => p !== undefined && p.id !== igId) ?? null;
  }

  async #page<T>(key: string, igId: string, read: (auth: Auth) => Promise<T>): Promise<T> {
    let page = this.#pages.get(key) as Promise<T> | undefined;
    if (!page) {
      page = this.auth(igId).then((auth) => this.#upstream(igId, () => read(auth)));
      this.#pages.set(key, page);
    }
    return page;
  }

  /**
   * `load()` through the read cache, keyed by the account, its Page (Facebook Login reads
   * another path) and `request` (the upstream read's arguments, never the token); or directly
   * without a cache.
   */
  async #cached<T>(
    auth: Auth,
    request: readonly unknown[],
    scopes: readonly Scope[],
    ttlMs: number,
    load: () => Promise<T>,
  ): Promise<T> {
    if (!this.#cache) return load();
    const key = JSON.stringify(['GET', auth.pageId ?? null, ...request]);
    return (await this.#cache.read({ igId: auth.igId, key, scopes, ttlMs, load })).value;
  }

  /** One `GET /<id>`: through the read cache for a conversation, a message or a profile. */
  #readNode(auth: Auth, id: string, kind: NodeKind, fields: readonly string[]): Promise<unknown> {
    const joined = fields.join(',');
    // The account itself (`/me`): nothing announces a change of its name, picture or counts.
    if (id === 'me') {
      const request = ['me', [...fields].sort().join(',')];
      return this.#cached(auth, request, ['account'], ACCOUNT_TTL_MS, () =>
        this.#api.account(auth, fields),
      );
    }
    const load = () =>
      this.#api.node(auth, id, joined, kind === 'conversation' || kind === 'message');
    // The same fields in any order are one entry.
    const request = ['node', id, [...fields].sort().join(',')];
    switch (kind) {
      case 'conversation':
        return this.#cached(
          auth,
          request,
          ['account', 'conversations'],
          CONVERSATIONS_TTL_MS,
          load,
        );
      case 'message':
        return this.#cached(auth, request, ['account', `message:${id}`], MESSAGE_TTL_MS, load);
      case 'profile':
        return this.#cached(auth, request, ['account'], PROFILE_TTL_MS, load);
      default:
        return load();
    }
  }

  async #loadNodes(keys: readonly NodeKey[]): Promise<unknown[]> {
    const groups = new Map<
      string,
      { igId: string; id: string; fields: Set<string>; kind: NodeKind }
    >();
    for (const key of keys) {
      const group = groups.get(`${key.igId}\n${key.id}`) ?? {
        igId: key.igId,
        id: key.id,
        fields: new Set(),
        kind: key.kind,
      };
      for (const field of splitFields(key.fields)) group.fields.add(field);
      groups.set(`${key.igId}\n${key.id}`, group);
    }
    const results = new Map<string, Promise<unknown>>();
    for (const [name, group] of groups) {
      const fields = [...group.fields];
      results.set(
        name,
        this.auth(group.igId).then((auth) =>
          this.#upstream(group.igId, () => this.#readNode(auth, group.id, group.kind, fields)),
        ),
      );
    }
    return Promise.all(
      keys.map((key) =>
        (results.get(`${key.igId}\n${key.id}`) as Promise<unknown>).catch(
          (e: unknown) => e as Error,
        ),
      ),
    );
  }

  /**
   * After a failed call the account is read afresh: the client may have marked it
   * REAUTH_REQUIRED (a refused token), and the rest of the request must see it.
   */
  async #upstream<T>(igId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.#stored.clear(igId);
      throw error;
    }
  }
}
