import { errors, GraphError } from './errors.ts';
import { requirePermission as requireNamed } from './permissions.ts';
import type { SimAccount, SimToken, Store } from './store.ts';
import type { WebhookSink } from './webhook-sink.ts';

/**
 * Conversation routing (instagram-api.md §11): several apps serve one account, one app owns each
 * thread, and only the owner may send in it; the others receive the thread's events on
 * `standby`. The simulator's own app (igql's) is the one whose webhooks it delivers: its
 * Instagram app for an account served with Instagram Login (even one linked to a Page), its
 * Facebook app for one served with Facebook Login, whose Page token is that app's. A token acts
 * as its own app (`appOf`); other apps act through their own tokens (`tokenFor`), exactly over
 * HTTP as igql does.
 */

/**
 * Instagram's own inbox app, connected to every account. UNCONFIRMED: the id is given by
 * third-party documentation of Meta's handover, not by Meta.
 */
export const INSTAGRAM_INBOX_APP_ID = '1217981644879628';

/** An app connected to an account. */
export interface SimApp {
  readonly id: string;
  readonly name: string;
  /** Primary behaviour: may take thread control from another app ("primary behavior only"). */
  readonly primary: boolean;
}

/** The conversation-routing calls, each `POST /<IG_ID>/<call>`. */
export const ROUTING_CALLS = new Set([
  'pass_thread_control',
  'take_thread_control',
  'release_thread_control',
  'request_thread_control',
]);

const MANAGE_MESSAGES = 'instagram_business_manage_messages';

/** Exactly the real capture error-not-thread-owner-2534037-real.json (status UNCONFIRMED: 400). */
export const notThreadOwner = () =>
  new GraphError({
    status: 400,
    message: "(#100) The action is invalid since it's not the thread owner.",
    code: 100,
    subcode: 2534037,
    type: 'OAuthException',
  });

type Json = Record<string, unknown>;

export class Routing {
  readonly #store: Store;
  readonly #webhooks: WebhookSink;
  /** The simulator's own Instagram app: see `ownAppIdOf`. */
  readonly ownAppId: string;
  /** The simulator's own Facebook app: see `ownAppIdOf`. */
  readonly ownFacebookAppId: string;
  /** Apps connected to each account (besides the own app and Instagram's inbox), by IG_ID. */
  readonly #apps = new Map<string, Map<string, SimApp>>();
  /** Thread owners by `<IG_ID>|<IGSID>`; a thread not here is owned by its account's default. */
  readonly #owners = new Map<string, string>();
  /** The app a released thread goes to, by IG_ID; default the own app. */
  readonly #defaults = new Map<string, string>();

  /** `ownFacebookAppId`: default `ownAppId` (one app serves both logins). */
  constructor(store: Store, webhooks: WebhookSink, ownAppId: string, ownFacebookAppId = ownAppId) {
    this.#store = store;
    this.#webhooks = webhooks;
    this.ownAppId = ownAppId;
    this.ownFacebookAppId = ownFacebookAppId;
  }

  /**
   * The app a token acts as: another app's (`token.appId`), else the simulator's own app of its
   * kind, the Facebook app for a Page token and the Instagram app for an Instagram User token,
   * whether or not the account is linked to a Page.
   */
  appOf(token: SimToken): string {
    return token.appId ?? (token.kind === 'page' ? this.ownFacebookAppId : this.ownAppId);
  }

  /**
   * The simulator's own app serving the account: the default owner of its threads and the
   * receiver of its webhooks. That of the configuration it is served with (`#servedByPage`), not
   * whether it is linked to a Page: an account of Instagram Login may be linked to one too.
   */
  ownAppIdOf(igId: string): string {
    return this.#servedByPage(igId) ? this.ownFacebookAppId : this.ownAppId;
  }

  /**
   * Whether the account is served with Facebook Login: the own app holds a Page token of it. An
   * account with only Instagram User tokens of the own app is served with Instagram Login; one
   * with no token yet, by whether it is linked to a Page (as `addFacebookAccount` makes them).
   * UNCONFIRMED: an account served by both apps (tokens of both) is taken as Facebook Login's,
   * its Page's app the default owner of its threads; Meta documents no default between the two.
   */
  #servedByPage(igId: string): boolean {
    const own = [...this.#store.tokens.values()].filter(
      (t) => t.igId === igId && t.appId === undefined,
    );
    if (own.length === 0) return this.#store.pageOf(igId) !== undefined;
    return own.some((t) => t.kind === 'page');
  }

  /** Connects another app to the account (the own app is primary unless `primary` says so). */
  connect(igId: string, app: { id: string; name: string; primary?: boolean }): SimApp {
    const connected: SimApp = { id: app.id, name: app.name, primary: app.primary ?? false };
    const apps = this.#apps.get(igId) ?? new Map<string, SimApp>();
    apps.set(app.id, connected);
    this.#apps.set(igId, apps);
    return connected;
  }

  /**
   * A token of the account for another connected app: it acts as that app. Long-lived, or for an
   * account of Facebook Login its Page's (graph.facebook.com).
   */
  tokenFor(igId: string, appId: string): SimToken {
    const page = this.#servedByPage(igId) ? this.#store.pageOf(igId) : undefined;
    const issued =
      page === undefined ? this.#store.issueToken(igId) : this.#store.issuePageToken(page.id);
    const token = { ...issued, appId };
    this.#store.tokens.set(token.token, token);
    return token;
  }

  /** The app a released thread goes to (the account's default). */
  setDefault(igId: string, appId: string): void {
    this.#defaults.set(igId, appId);
  }

  /** Who owns the thread with `igsid`. */
  ownerOf(igId: string, igsid: string): string {
    return (
      this.#owners.get(`${igId}|${igsid}`) ?? this.#defaults.get(igId) ?? this.ownAppIdOf(igId)
    );
  }

  /** Seeds an owner (no webhook): a thread a bot holds from the start. */
  setOwner(igId: string, igsid: string, appId: string): void {
    this.#owners.set(`${igId}|${igsid}`, appId);
  }

  /** Sends and sender actions in a thread another app owns are refused (100/2534037). */
  requireOwner(igId: string, igsid: string, appId: string): void {
    if (this.ownerOf(igId, igsid) !== appId) throw notThreadOwner();
  }

  /**
   * Whether a messaging item goes to the own app as `standby` (another app owns its thread).
   * Handover items never do: they are the routing itself.
   */
  isStandby(igId: string, field: string, item: Json): boolean {
    if (field === 'messaging_handover') return false;
    const id = (party: unknown) => (party as { id?: unknown } | undefined)?.id;
    const sender = id(item.sender);
    const igsid = sender === igId ? id(item.recipient) : sender;
    return typeof igsid === 'string' && this.ownerOf(igId, igsid) !== this.ownAppIdOf(igId);
  }

  /** `GET /<IG_ID>/thread_owner?recipient=<IGSID>`. */
  threadOwner(account: SimAccount, token: SimToken, query: URLSearchParams): Json {
    requirePermission(token);
    const igsid = this.#customer(account, query.get('recipient'));
    return { data: [{ thread_owner: { app_id: this.ownerOf(account.igId, igsid) } }] };
  }

  /**
   * `POST /<IG_ID>/{pass,take,release,request}_thread_control` with `recipient: {id}`. Each
   * answers `{"success": true}` (the Graph reference's return type). The rules, strict where
   * UNCONFIRMED (their error texts are the simulator's): only the owner may pass or release
   * (2534037 otherwise); pass needs a `target_app_id` connected to the account; only an app with
   * primary behaviour may take; only an app that does not own the thread may request it.
   */
  control(account: SimAccount, token: SimToken, call: string, body: Json): Json {
    requirePermission(token);
    const allowed = new Set(['recipient', 'metadata', 'target_app_id', 'access_token']);
    for (const key of Object.keys(body)) {
      if (!allowed.has(key)) throw errors.invalidParameter(`Unknown parameter: ${key}`);
    }
    if (call !== 'pass_thread_control' && body.target_app_id !== undefined) {
      throw errors.invalidParameter('Unknown parameter: target_app_id');
    }
    const recipient = body.recipient as { id?: unknown } | undefined;
    const igsid = this.#customer(account, typeof recipient?.id === 'string' ? recipient.id : null);
    const metadata = body.metadata;
    if (metadata !== undefined && (typeof metadata !== 'string' || metadata.length > 1000)) {
      // UNCONFIRMED limit (Messenger's handover documents metadata up to 1,000 characters).
      throw errors.invalidParameter('Param metadata must be a string of at most 1000 characters');
    }
    const { igId } = account;
    const caller = this.appOf(token);
    const owner = this.ownerOf(igId, igsid);
    const extra = metadata === undefined ? {} : { metadata };
    switch (call) {
      case 'pass_thread_control': {
        if (owner !== caller) throw notThreadOwner();
        const target = body.target_app_id === undefined ? undefined : String(body.target_app_id);
        if (target === undefined)
          throw errors.invalidParameter('The parameter target_app_id is required');
        if (!this.#connected(igId, target)) {
          throw errors.invalidParameter(
            'Param target_app_id must be an app connected to this account',
          );
        }
        this.#change(igId, igsid, 'pass_thread_control', {
          previous_owner_app_id: owner,
          new_owner_app_id: target,
          ...extra,
        });
        break;
      }
      case 'take_thread_control': {
        if (owner === caller) break;
        if (!this.#primary(igId, caller)) {
          throw errors.invalidParameter(
            'Only an app with primary behavior can take thread control',
          );
        }
        this.#change(igId, igsid, 'take_thread_control', {
          previous_owner_app_id: owner,
          new_owner_app_id: caller,
          ...extra,
        });
        break;
      }
      case 'release_thread_control': {
        if (owner !== caller) throw notThreadOwner();
        const next = this.#defaults.get(igId) ?? this.ownAppIdOf(igId);
        // UNCONFIRMED: the release is told to the apps as a pass to the account's default app.
        this.#change(igId, igsid, 'pass_thread_control', {
          previous_owner_app_id: owner,
          new_owner_app_id: next,
          ...extra,
        });
        break;
      }
      default: {
        if (owner === caller) {
          throw errors.invalidParameter('The app already owns this thread');
        }
        // Only the owner hears of a request: delivered when the owner is the own app.
        if (owner === this.ownAppIdOf(igId)) {
          this.#handover(igId, igsid, 'request_thread_control', {
            requested_owner_app_id: caller,
            ...extra,
          });
        }
      }
    }
    return { success: true };
  }

  #change(igId: string, igsid: string, key: string, change: Json): void {
    this.#owners.set(`${igId}|${igsid}`, String(change.new_owner_app_id));
    // "Any apps subscribed to the messaging_handover Webhooks field will receive a notification"
    // (Meta's conversation-control guide): the own app hears of every change.
    this.#handover(igId, igsid, key, change);
  }

  #handover(igId: string, igsid: string, key: string, payload: Json): void {
    this.#webhooks.messaging(igId, 'messaging_handover', {
      sender: { id: igsid },
      recipient: { id: igId },
      timestamp: this.#store.clock.now(),
      [key]: payload,
    });
  }

  #customer(account: SimAccount, igsid: string | null): string {
    if (!igsid) throw errors.invalidParameter('The parameter recipient is required');
    const user = this.#store.users.get(igsid);
    if (user?.accountIgId !== account.igId) throw errors.noMatchingUser();
    return igsid;
  }

  #connected(igId: string, appId: string): boolean {
    return (
      appId === this.ownAppIdOf(igId) ||
      appId === INSTAGRAM_INBOX_APP_ID ||
      this.#apps.get(igId)?.has(appId) === true
    );
  }

  #primary(igId: string, appId: string): boolean {
    const app = this.#apps.get(igId)?.get(appId);
    return app ? app.primary : appId === this.ownAppIdOf(igId);
  }
}

/** Either configuration's name for it (permissions.ts): a Page token's is Facebook Login's. */
function requirePermission(token: SimToken): void {
  requireNamed(token, MANAGE_MESSAGES);
}
