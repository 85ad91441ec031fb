import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Route } from '../http.ts';
import { UserActions } from './actions.ts';
import { errors, GraphError, onFacebookHost, tokenErrors } from './errors.ts';
import { FacebookLogin } from './facebook-oauth.ts';
import { type FieldRequest, parseFields } from './fields.ts';
import { type Bucket, DOCUMENTED_LIMITS, RateLimiter, type RateLimits } from './limits.ts';
import { routeMedia } from './media.ts';
import { OAuthServer } from './oauth.ts';
import { requirePermission } from './permissions.ts';
import { handleProfile } from './profile.ts';
import {
  DETAIL_WINDOW,
  type RenderContext,
  renderAccount,
  renderConversation,
  renderConversationList,
  renderIgUser,
  renderMessage,
  renderMessageEdge,
  renderPage,
  renderUserProfile,
} from './render.ts';
import type { SimAnswer, SimRequest } from './request.ts';
import { ROUTING_CALLS, Routing } from './routing.ts';
import { handleSend, handleUpload } from './send.ts';
import {
  type Clock,
  createClock,
  type SimAccount,
  type SimFolder,
  type SimPage,
  type SimToken,
  Store,
} from './store.ts';
import { WebhookDispatcher } from './webhooks.ts';
import { WelcomeFlows } from './welcome-flows.ts';

export interface SimulatorOptions {
  /**
   * The Meta app id (the Instagram app's): what Instagram Login's OAuth expects as `client_id`,
   * the app of Instagram tokens. Default `1000000000000001`.
   */
  readonly appId?: string;
  /**
   * The Facebook app's id, for Facebook Login: what its dialog expects as `client_id`, the app of
   * Page tokens (which owns the threads they take and send in), igql's entry of a Page's
   * `subscribed_apps`. Default `appId` (igql's sandbox uses one app for both).
   */
  readonly facebookAppId?: string;
  /** Signs webhooks (`X-Hub-Signature-256`) and checks OAuth `client_secret`. */
  readonly appSecret: string;
  /**
   * The Facebook app's secret, for Facebook Login: signs the webhooks of accounts linked to a
   * Page, checks `appsecret_proof` on graph.facebook.com and the Login's `client_secret`.
   * Default `appSecret` (igql's sandbox uses one secret for both).
   */
  readonly facebookAppSecret?: string;
  /** Where webhooks are delivered; undefined = deliveries fail and are retried. */
  readonly callbackUrl?: () => string | undefined;
  /** Redirect URIs the app registered; undefined = any. */
  readonly redirectUris?: readonly string[];
  /** Latency added to every answer. Default 0. */
  readonly latencyMs?: number;
  /** Instagram's documented limits (default), other limits, or false to lift them. */
  readonly rateLimits?: RateLimits | false;
  /** Webhook retry schedule. Default: the dispatcher's. */
  readonly retryScheduleMs?: readonly number[];
  readonly clock?: Clock;
}

/** One request the simulator served, as the test log keeps it. */
export interface LoggedRequest {
  /** Which of Meta's hosts it was made to (`SimRequest.host`). */
  readonly host: 'instagram' | 'facebook';
  readonly method: string;
  readonly path: string;
  /** Path template, as igql's metrics label it: `/me/conversations`, `/{id}/messages`. */
  readonly endpoint: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  status: number;
  readonly at: number;
}

export type FaultKind =
  | 'transient'
  | 'server-error'
  | 'timeout'
  /** Instagram does the request, then its answer never comes (a time-out after the fact). */
  | 'lost'
  | 'drop'
  | 'rate-limit'
  | 'expired-token'
  | 'error';

export interface Fault {
  /** `GET /me/conversations`, `POST /{id}/messages`, … (method and template); undefined = any. */
  readonly endpoint?: string;
  readonly kind: FaultKind;
  /** How many requests it hits. Default 1. */
  readonly times?: number;
  /** How many matching requests it lets through first. Default 0. */
  readonly after?: number;
  /** For `rate-limit`: the Graph code (4, 17, 613, 80002). Default 4. */
  readonly code?: number;
  /** For `error`: the exact error to answer. */
  readonly error?: GraphError;
}

/**
 * The webhook fields an Instagram Login app may subscribe an account to (WH, IG-Login column).
 * `mentions` is not one: with Instagram Login, mentions are "included in the comments webhook
 * notification" (instagram-api.md §4); refused, strictly (UNCONFIRMED either way).
 */
const KNOWN_FIELDS = new Set([
  'comments',
  'live_comments',
  'message_echoes',
  'message_edit',
  'message_reactions',
  'messages',
  'messaging_handover',
  'messaging_optins',
  'messaging_postbacks',
  'messaging_referral',
  'messaging_seen',
  'standby',
]);

type Incoming = SimRequest;
type Answer = SimAnswer;

/**
 * A simulated graph.instagram.com (plus the OAuth hosts) on 127.0.0.1, and the controls tests
 * and benchmarks use: seed data, latency, faults, request log, rate limits, webhooks, clock.
 * igql reaches it only over HTTP, exactly as it reaches Instagram.
 */
export class Simulator {
  readonly store: Store;
  readonly clock: Clock;
  readonly appId: string;
  /** The Facebook app's id (`SimulatorOptions.facebookAppId`). */
  readonly facebookAppId: string;
  readonly webhooks: WebhookDispatcher;
  readonly users: UserActions;
  readonly oauth: OAuthServer;
  /** Facebook Login for Business on the `facebook` host (src/sandbox/facebook-oauth.ts). */
  readonly facebookLogin: FacebookLogin;
  /** Conversation routing: apps per account, an owner per thread (src/sandbox/routing.ts). */
  readonly routing: Routing;
  /** Welcome message flows of Click-to-Instagram-Direct ads (src/sandbox/welcome-flows.ts). */
  readonly welcomeFlows: WelcomeFlows;
  readonly requests: LoggedRequest[] = [];
  latencyMs: number;
  readonly #limiter: RateLimiter;
  readonly #faults: (Fault & { left: number; skip: number })[] = [];
  readonly #routes = new Map<string, Route>();
  // A client gone mid-body, or a request target URL cannot parse, rejects `#handle`: drop the
  // connection rather than leave an unhandled rejection that ends the hosting process.
  readonly #server = createServer((req, res) => {
    const route = this.#routes.get(`${req.method} ${req.url?.split('?')[0]}`);
    (async () => (route ? route(req, res) : this.#handle(req, res)))().catch(() => res.destroy());
  });
  readonly #hanging = new Set<ServerResponse>();
  readonly #facebookAppSecret: string;
  #url = '';

  constructor(options: SimulatorOptions) {
    this.clock = options.clock ?? createClock();
    this.store = new Store(this.clock);
    this.appId = options.appId ?? '1000000000000001';
    this.facebookAppId = options.facebookAppId ?? this.appId;
    this.latencyMs = options.latencyMs ?? 0;
    this.#limiter = new RateLimiter(
      options.rateLimits === false ? undefined : (options.rateLimits ?? DOCUMENTED_LIMITS),
      () => this.clock.now(),
    );
    this.#facebookAppSecret = options.facebookAppSecret ?? options.appSecret;
    this.webhooks = new WebhookDispatcher({
      store: this.store,
      appSecret: options.appSecret,
      facebookAppSecret: this.#facebookAppSecret,
      callbackUrl: options.callbackUrl ?? (() => undefined),
      clock: this.clock,
      ...(options.retryScheduleMs ? { retryScheduleMs: options.retryScheduleMs } : {}),
    });
    this.users = new UserActions(this.store, this.webhooks);
    this.routing = new Routing(this.store, this.webhooks, this.appId, this.facebookAppId);
    this.webhooks.standbyOf = (igId, field, item) => this.routing.isStandby(igId, field, item);
    this.welcomeFlows = new WelcomeFlows(this.clock);
    this.oauth = new OAuthServer({
      store: this.store,
      appId: this.appId,
      appSecret: options.appSecret,
      ...(options.redirectUris ? { redirectUris: [...options.redirectUris] } : {}),
    });
    this.facebookLogin = new FacebookLogin({
      store: this.store,
      appId: this.facebookAppId,
      appSecret: this.#facebookAppSecret,
      url: () => this.#url,
      ...(options.redirectUris ? { redirectUris: [...options.redirectUris] } : {}),
    });
  }

  /** The base URL without version: what `INSTAGRAM_GRAPH_URL` and the OAuth hosts point at. */
  get url(): string {
    return this.#url;
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject).listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    this.webhooks.close();
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /**
   * Serves `routes` (keyed `METHOD /path`) beside the Graph API: ahead of it, without latency,
   * faults or rate limits, and outside the request log (the control surface of
   * `npm run simulator`, src/sandbox/control.ts).
   */
  serve(routes: Readonly<Record<string, Route>>): void {
    for (const [key, route] of Object.entries(routes)) this.#routes.set(key, route);
  }

  /** Requests served, optionally only those of one endpoint (`GET /me/conversations`). */
  count(endpoint?: string): number {
    return endpoint === undefined
      ? this.requests.length
      : this.requests.filter((r) => `${r.method} ${r.endpoint}` === endpoint).length;
  }

  resetRequests(): void {
    this.requests.length = 0;
  }

  /** Makes the next `times` matching requests fail the given way. */
  inject(fault: Fault): void {
    this.#faults.push({ ...fault, left: fault.times ?? 1, skip: fault.after ?? 0 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Replaces the limits, or lifts them with `false`. Counters restart. */
  setRateLimits(limits: Partial<RateLimits> | false): void {
    this.#limiter.limits = limits === false ? undefined : { ...DOCUMENTED_LIMITS, ...limits };
    this.#limiter.reset();
  }

  /** Creates an account with a long-lived token, subscribed to every messaging webhook field. */
  addAccount(fields: Parameters<Store['addAccount']>[0]): { account: SimAccount; token: SimToken } {
    const account = this.store.addAccount(fields);
    for (const field of KNOWN_FIELDS) account.subscribedFields.add(field);
    return { account, token: this.store.issueToken(account.igId) };
  }

  /**
   * Creates an account of Facebook Login for Business: the Instagram account, the Facebook Page
   * it is linked to, and a Page access token (graph.facebook.com only). The app receives every
   * Instagram field (`mentions` among them: a field of its own with Facebook Login) and is
   * subscribed to the Page (`feed`, as igql subscribes it), so the account's webhooks come.
   */
  addFacebookAccount(fields: Parameters<Store['addAccount']>[0] & { readonly pageId?: string }): {
    account: SimAccount;
    page: SimPage;
    token: SimToken;
  } {
    const { pageId, ...accountFields } = fields;
    const account = this.store.addAccount(accountFields);
    for (const field of [...KNOWN_FIELDS, 'mentions']) account.subscribedFields.add(field);
    const page = this.store.addPage(account.igId, pageId === undefined ? {} : { id: pageId });
    page.subscribedFields.add('feed');
    return { account, page, token: this.store.issuePageToken(page.id) };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const raw = await readBody(req);
    const incoming = await parseIncoming(req, url, raw);
    const endpoint = endpointOf(incoming);
    const entry: LoggedRequest = {
      host: incoming.host,
      method: incoming.method,
      path: url.pathname,
      endpoint,
      query: Object.fromEntries(url.searchParams),
      body: loggedBody(incoming, raw),
      status: 0,
      at: this.clock.now(),
    };
    this.requests.push(entry);
    if (this.latencyMs > 0) await sleep(this.latencyMs);

    const fault = this.#takeFault(`${incoming.method} ${endpoint}`);
    if (fault?.kind === 'drop') {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'timeout') {
      entry.status = -1;
      this.#hanging.add(res);
      res.on('close', () => this.#hanging.delete(res));
      return;
    }
    let answer: Answer;
    try {
      answer =
        fault && fault.kind !== 'lost'
          ? faultAnswer(fault, this.clock.now())
          : this.#route(incoming);
    } catch (caught) {
      const error =
        caught instanceof GraphError
          ? caught
          : new GraphError({
              status: 500,
              code: 1,
              message: 'An unknown error has occurred.',
              type: 'OAuthException',
            });
      const shown = incoming.host === 'facebook' ? onFacebookHost(error) : error;
      answer = { status: shown.status, body: shown.toJSON(), headers: { ...shown.headers } };
    }
    entry.status = answer.status;
    if (fault?.kind === 'lost') {
      entry.status = -1;
      this.#hanging.add(res);
      res.on('close', () => this.#hanging.delete(res));
      return;
    }
    const headers: Record<string, string> = { ...answer.headers };
    if (answer.status === 302) {
      res.writeHead(302, { location: String(answer.body), ...headers });
      res.end();
      return;
    }
    const isText = typeof answer.body === 'string';
    res.writeHead(answer.status, {
      'content-type': isText ? 'text/html; charset=utf-8' : 'application/json; charset=UTF-8',
      ...headers,
    });
    res.end(isText ? answer.body : JSON.stringify(answer.body));
  }

  #takeFault(endpoint: string): Fault | undefined {
    const fault = this.#faults.find((f) => f.endpoint === undefined || f.endpoint === endpoint);
    if (!fault) return undefined;
    if (fault.skip > 0) {
      fault.skip -= 1;
      return undefined;
    }
    fault.left -= 1;
    if (fault.left <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    return fault;
  }

  #route(r: Incoming): Answer {
    if (r.host === 'facebook') {
      const login = this.facebookLogin.route(r);
      if (login !== undefined) return login;
    }
    const [first, second, third] = r.segments;
    // Instagram Login's OAuth (www.instagram.com, api.instagram.com: unversioned) and token
    // exchanges; Facebook Login's are `facebookLogin`'s.
    const oauth = r.host === 'instagram' ? this.#instagramOAuth(r) : undefined;
    if (oauth !== undefined) return oauth;
    if (!first || r.segments.length > 2 || third !== undefined) {
      throw errors.unknownPath(`/${r.segments.slice(1).join('/')}`);
    }
    // A version newer than the newest released does not exist: Graph answers it as an unknown
    // path (UNCONFIRMED wording; strict). Older versions, even past their end, are served: "calls
    // made to it will be defaulted to the next oldest, usable version" (instagram-api.md §8).
    if (r.version !== undefined && Number.parseInt(r.version.slice(1), 10) > NEWEST_VERSION) {
      throw errors.unknownPath(`/${r.version}`);
    }

    const token = this.#authenticate(r);
    const account = this.store.accounts.get(token.igId);
    if (!account) throw tokenErrors.invalidated();
    const facebook = r.host === 'facebook';
    // Facebook Login: the Page the token is for (`#authenticate` lets only Page tokens here).
    const page = token.pageId === undefined ? undefined : this.store.pages.get(token.pageId);
    if (facebook && !page) throw tokenErrors.invalidated();
    const host = facebook ? `${this.#url}/${FACEBOOK_PREFIX}` : this.#url;
    const ctx: RenderContext = {
      store: this.store,
      account,
      // Paging links keep the host and the version the request named, as Graph's do.
      versionUrl: r.version === undefined ? host : `${host}/${r.version}`,
      accessToken: token.token,
      messages: 0,
    };
    const fields = r.query.get('fields') ?? r.form.get('fields');
    const requested = fields ? parseFields(fields) : undefined;
    // The node the path names. graph.instagram.com: the account (`me`, its IG_ID or app-scoped
    // id) serves every edge. graph.facebook.com: the IG_ID is the IG User (media, comments,
    // insights, publishing); the Page (a Page token's `me`) serves the messaging edges.
    const isSelf = facebook
      ? first === account.igId
      : first === 'me' || first === account.igId || first === account.appScopedId;
    const isPage = page !== undefined && (first === 'me' || first === page.id);
    const isMessaging = facebook ? isPage : isSelf;
    const ok = (body: unknown): Answer => ({
      status: 200,
      body,
      headers: { 'X-Business-Use-Case-Usage': this.#limiter.usageHeader(account.igId) },
    });

    if (facebook && isSelf && second !== undefined && MESSAGING_EDGES.has(second)) {
      throw errors.noCapability();
    }
    // The IG User and its edges on graph.facebook.com need the Page's engagement read as well
    // (IG User reference, Facebook Login column: instagram_basic, pages_read_engagement).
    if (facebook && isSelf) {
      requirePermission(token, 'instagram_business_basic');
      requirePermission(token, 'pages_read_engagement');
    }
    if (isPage && page) {
      if (second === undefined) {
        if (r.method !== 'GET') throw errors.unsupportedPost(first);
        return ok(renderPage(page, requested));
      }
      if (!MESSAGING_EDGES.has(second)) throw errors.nonexistingField(second, 'Page');
    }
    // Media and comments (src/sandbox/media.ts): undefined when the path is none of theirs.
    const media = routeMedia(
      { ...ctx, token, webhooks: this.webhooks },
      { method: r.method, first, second, isSelf, query: r.query, body: r.body, requested },
    );
    if (media !== undefined) return ok(media);
    if (second === undefined) {
      if (r.method !== 'GET') throw errors.unsupportedPost(first);
      if (isSelf)
        return ok(facebook ? renderIgUser(ctx, requested) : renderAccount(ctx, requested));
      return ok(this.#readNode(ctx, token, first, requested));
    }
    if (second === 'messages' && r.method === 'POST') {
      if (!isMessaging) throw errors.unsupportedPost(first);
      this.#limiter.take(account.igId, sendBucket(r.body, facebook));
      const appId = this.routing.appOf(token);
      const context = { store: this.store, account, token, webhooks: this.webhooks };
      return ok(handleSend({ ...context, routing: this.routing, appId }, r.body));
    }
    if (second === 'message_attachments' && r.method === 'POST') {
      if (!isMessaging) throw errors.unsupportedPost(first);
      // Meta's upload guide for Instagram Messaging on a Page sends `platform: "instagram"`;
      // without it the Page would upload for Messenger (UNCONFIRMED, strict: refused).
      if (facebook && r.body.platform !== 'instagram') {
        throw errors.invalidParameter('The parameter platform is required');
      }
      this.#limiter.take(account.igId, uploadBucket(r.body));
      const file = r.files.get('filedata');
      const context = { store: this.store, account, token };
      return ok(handleUpload(context, r.body, file));
    }
    if (second === 'conversations' && r.method === 'GET') {
      if (!isMessaging) throw errors.unsupportedGet(first);
      requirePermission(token, 'instagram_business_manage_messages');
      let folder: SimFolder | undefined;
      if (facebook) {
        // Page Conversations reference (Instagram): instagram_basic, instagram_manage_messages
        // and pages_manage_metadata.
        requirePermission(token, 'pages_manage_metadata');
        folder = pageFolder(r.query);
        // A Page's conversations are Messenger's unless `platform` says instagram (Page
        // Conversations reference: platform {INSTAGRAM, MESSENGER}; Meta's guide sends it).
        // UNCONFIRMED that MESSENGER is the default: the simulated Page has no Messenger threads.
        if (pagePlatform(r.query) === 'messenger') return ok({ data: [] });
      } else {
        // `platform=instagram` is optional: Instagram answers without it (real capture
        // api-conversations-list-no-platform-param-real.json). Any other value is refused
        // (UNCONFIRMED, strict).
        const platform = r.query.get('platform');
        if (platform !== null && platform !== 'instagram') {
          throw errors.invalidParameter('Param platform must be instagram');
        }
      }
      this.#limiter.take(account.igId, 'conversations');
      return ok(renderConversationList(ctx, r.query, requested, `${first}/conversations`, folder));
    }
    if (second === 'messages' && r.method === 'GET') {
      const conversation = this.store.conversations.get(first);
      if (!conversation || conversation.accountIgId !== account.igId)
        throw errors.unsupportedGet(first);
      requirePermission(token, 'instagram_business_manage_messages');
      this.#limiter.take(account.igId, 'conversations');
      const edge: FieldRequest = { name: 'messages', modifiers: {}, children: requested };
      return ok(renderMessageEdge(ctx, conversation, edge, r.query));
    }
    // Conversation routing (src/sandbox/routing.ts, instagram-api.md §11).
    if (second === 'thread_owner' && r.method === 'GET') {
      if (!isMessaging) throw errors.unsupportedGet(first);
      return ok(this.routing.threadOwner(account, token, r.query));
    }
    if (ROUTING_CALLS.has(second) && r.method === 'POST') {
      if (!isMessaging) throw errors.unsupportedPost(first);
      this.#limiter.take(account.igId, sendBucket({}, facebook));
      return ok(this.routing.control(account, token, second, r.body));
    }
    // Ice breakers and the persistent menu (src/sandbox/profile.ts, instagram-api.md §12).
    if (second === 'messenger_profile') {
      if (!isMessaging) throw errors.unsupportedGet(first);
      return ok(handleProfile(this.store, account, token, r.method, r.query, r.body));
    }
    if (second === 'welcome_message_flows') {
      if (!isMessaging) throw errors.unsupportedGet(first);
      return ok(this.welcomeFlows.handle(account, token, r.method, r.query, r.body, facebook));
    }
    if (second === 'subscribed_apps') {
      if (!isMessaging) throw errors.unsupportedGet(first);
      return ok(page ? this.#pageSubscribedApps(page, token, r) : this.#subscribedApps(account, r));
    }
    throw errors.unknownPath(`/${second}`);
  }

  #instagramOAuth(r: Incoming): Answer | undefined {
    const [first, second] = r.segments;
    if (!r.versioned && first === 'oauth' && second === 'authorize' && r.method === 'GET') {
      const result = this.oauth.authorize(r.query);
      return 'location' in result
        ? { status: 302, body: result.location }
        : { status: result.status, body: result.body };
    }
    if (!r.versioned && first === 'oauth' && second === 'access_token' && r.method === 'POST') {
      return this.oauth.exchangeCode(r.form);
    }
    if (r.segments.length === 1 && first === 'access_token' && r.method === 'GET') {
      return { status: 200, body: this.oauth.exchangeLongLived(r.query) };
    }
    if (r.segments.length === 1 && first === 'refresh_access_token' && r.method === 'GET') {
      return { status: 200, body: this.oauth.refresh(r.query) };
    }
    return undefined;
  }

  #readNode(
    ctx: RenderContext,
    token: SimToken,
    id: string,
    requested: readonly FieldRequest[] | undefined,
  ): unknown {
    const account = ctx.account;
    const conversation = this.store.conversations.get(id);
    if (conversation && conversation.accountIgId === account.igId) {
      requirePermission(token, 'instagram_business_manage_messages');
      this.#limiter.take(account.igId, 'conversations');
      return renderConversation(ctx, conversation, requested);
    }
    const message = this.store.messages.get(id);
    const owner = message && this.store.conversations.get(message.conversationId);
    if (message && owner?.accountIgId === account.igId) {
      requirePermission(token, 'instagram_business_manage_messages');
      this.#limiter.take(account.igId, 'conversations');
      // CONV: a message past the 20 most recent reads as deleted (9000001).
      if (message.deleted || this.store.recency(message) >= DETAIL_WINDOW)
        throw errors.messageTooOld();
      return renderMessage(ctx, message, requested);
    }
    const user = this.store.users.get(id);
    if (user && user.accountIgId === account.igId) return renderUserProfile(user, requested);
    throw errors.unsupportedGet(id);
  }

  /**
   * `/<PAGE_ID>/subscribed_apps` (Page Subscribed Apps reference): the apps subscribed to the
   * Page, one entry each (`id`, `name`, `subscribed_fields`), other apps' among them
   * (`Store.subscribeOtherApp`); any field of the own app's lets its Instagram webhooks reach the
   * linked account. `POST` and `DELETE` change the own app's (the Facebook app's) alone. Needs
   * `pages_manage_metadata`, `pages_show_list` to read, and a token of a user with a task the
   * reference names on the Page: CREATE_CONTENT, MANAGE or MODERATE to read; MODERATE ("moderator
   * admin access or higher", whose holders have MODERATE) or MANAGE to change. The error for a
   * missing task is UNCONFIRMED (a permission error, code 200, here).
   */
  #pageSubscribedApps(page: SimPage, token: SimToken, r: Incoming): unknown {
    requirePermission(token, 'pages_manage_metadata');
    if (r.method === 'GET') {
      requirePermission(token, 'pages_show_list');
      requireTask(token, ['CREATE_CONTENT', 'MANAGE', 'MODERATE']);
      const entry = (id: string, name: string, fields: ReadonlySet<string>) => ({
        id,
        name,
        subscribed_fields: [...fields].sort(),
      });
      const own =
        page.subscribedFields.size === 0
          ? []
          : [entry(this.facebookAppId, 'igql', page.subscribedFields)];
      const others = [...page.otherApps].map(([id, app]) =>
        entry(id, app.name, app.subscribedFields),
      );
      return { data: [...own, ...others] };
    }
    requireTask(token, ['MANAGE', 'MODERATE']);
    if (r.method === 'DELETE') {
      page.subscribedFields.clear();
      return { success: true };
    }
    const raw = r.query.get('subscribed_fields') ?? r.form.get('subscribed_fields');
    if (!raw) throw errors.invalidParameter('The parameter subscribed_fields is required.');
    const fields = raw.split(',').map((f) => f.trim());
    fields.forEach((field, i) => {
      if (!PAGE_FIELDS.has(field)) {
        throw errors.invalidParameter(
          `Param subscribed_fields[${i}] must be one of {${[...PAGE_FIELDS].join(', ')}} - got "${field}".`,
        );
      }
      if (PAGE_MESSAGING_FIELDS.has(field)) requirePermission(token, 'pages_messaging');
    });
    page.subscribedFields.clear();
    for (const field of fields) page.subscribedFields.add(field);
    return { success: true };
  }

  #subscribedApps(account: SimAccount, r: Incoming): unknown {
    if (r.method === 'GET') {
      return {
        data:
          account.subscribedFields.size === 0
            ? []
            : [
                {
                  id: this.appId,
                  name: 'igql',
                  subscribed_fields: [...account.subscribedFields].sort(),
                },
              ],
      };
    }
    if (r.method === 'DELETE') {
      account.subscribedFields.clear();
      return { success: true };
    }
    const raw = r.query.get('subscribed_fields') ?? r.form.get('subscribed_fields');
    if (!raw) throw errors.invalidParameter('The parameter subscribed_fields is required.');
    const fields = raw.split(',').map((f) => f.trim());
    fields.forEach((field, i) => {
      if (!KNOWN_FIELDS.has(field)) {
        throw errors.invalidParameter(
          `Param subscribed_fields[${i}] must be one of {${[...KNOWN_FIELDS].join(', ')}} - got "${field}".`,
        );
      }
    });
    account.subscribedFields.clear();
    for (const field of fields) account.subscribedFields.add(field);
    return { success: true };
  }

  /**
   * The request's token. Each host reads its own kind only: graph.instagram.com an Instagram
   * token (`IG…`), graph.facebook.com a Page token (`EAA…`); the other kind is one that host
   * cannot parse (190). graph.facebook.com checks an `appsecret_proof` that is given (the
   * simulated app does not "Require App Secret": one that is absent passes).
   */
  #authenticate(r: Incoming): SimToken {
    const bearer = /^Bearer\s+(\S+)$/i.exec(r.authorization ?? '')?.[1];
    const value = r.query.get('access_token') ?? r.form.get('access_token') ?? bearer;
    const token = value ? this.store.tokens.get(value) : undefined;
    const shape = r.host === 'facebook' ? /^EAA[A-Za-z0-9_-]{20,}$/ : /^IG[A-Za-z0-9_-]{20,}$/;
    if (!value || !shape.test(value)) throw tokenErrors.malformed();
    if (!token || token.revoked) throw tokenErrors.invalidated();
    if (r.host === 'facebook') {
      const proof = r.query.get('appsecret_proof') ?? r.form.get('appsecret_proof');
      const expected = createHmac('sha256', this.#facebookAppSecret).update(value).digest('hex');
      if (proof !== null && proof !== expected) throw errors.invalidAppSecretProof();
      // A user token of Facebook Login serves its dialog's reads (`facebookLogin`), not these.
      if (token.pageId === undefined) throw errors.unsupportedGet(r.segments[0] ?? '');
    }
    const now = this.clock.now();
    if (token.expiresAt <= now) throw tokenErrors.expired(token.expiresAt, now);
    return token;
  }
}

/**
 * Which documented limit a send counts against (RL): private replies, media, and the rest. On a
 * Page (Facebook Login) what Meta names in its 300 a second, "messages that contain text, links,
 * reactions, and stickers" (a text message, a like_heart sticker, a react or unreact), has that
 * limit; every other send and routing call stays at `send`'s 100 (UNCONFIRMED: Meta names no
 * limit for them; the stricter choice, as igql counts them). A text with quick replies counts as
 * another send (UNCONFIRMED, strict).
 */
function sendBucket(body: Record<string, unknown>, facebook: boolean): Bucket {
  const recipient = body.recipient as { comment_id?: unknown } | undefined;
  if (recipient?.comment_id !== undefined) return 'privateReplies';
  const message = body.message as
    | { text?: unknown; quick_replies?: unknown; attachment?: { type?: unknown } }
    | undefined;
  const type = message?.attachment?.type;
  if (type === 'audio' || type === 'video') return 'sendMedia';
  const text =
    (typeof message?.text === 'string' && message.quick_replies === undefined) ||
    type === 'like_heart' ||
    body.sender_action === 'react' ||
    body.sender_action === 'unreact';
  return facebook && text ? 'sendFacebook' : 'send';
}

/**
 * A Page token's user must be able to perform one of `tasks` on the Page (a token without tasks
 * is an Instagram token, which never reaches a Page edge). Graph's error for a missing task is
 * UNCONFIRMED: a permission error (code 200) naming the tasks.
 */
function requireTask(token: SimToken, tasks: readonly string[]): void {
  if (tasks.some((task) => token.tasks?.includes(task))) return;
  throw new GraphError({
    status: 400,
    message: `(#200) The user must be able to perform one of the tasks ${tasks.join(', ')} on the Page`,
    code: 200,
    type: 'OAuthException',
  });
}

/**
 * The edges of a Page that serve an Instagram account of Facebook Login: its messaging. On the
 * IG_ID, graph.facebook.com answers them with error 3.
 */
const MESSAGING_EDGES: ReadonlySet<string> = new Set([
  'messages',
  'message_attachments',
  'conversations',
  'thread_owner',
  ...ROUTING_CALLS,
  'messenger_profile',
  'welcome_message_flows',
  'subscribed_apps',
]);

const FOLDERS: ReadonlySet<SimFolder> = new Set(['inbox', 'other', 'page_done', 'pending', 'spam']);

/**
 * A Page conversation list's `folder`: `inbox` when absent. The reference types it as a string;
 * a value that names no folder is refused (UNCONFIRMED, strict).
 */
function pageFolder(query: URLSearchParams): SimFolder {
  const folder = query.get('folder') ?? 'inbox';
  if (!FOLDERS.has(folder as SimFolder)) {
    throw errors.invalidParameter(
      `Param folder must be one of {${[...FOLDERS].join(', ')}} - got "${folder}"`,
    );
  }
  return folder as SimFolder;
}

/** A Page conversation list's `platform` (enum {INSTAGRAM, MESSENGER}, either case). */
function pagePlatform(query: URLSearchParams): 'instagram' | 'messenger' {
  const platform = query.get('platform')?.toLowerCase() ?? 'messenger';
  if (platform !== 'instagram' && platform !== 'messenger') {
    throw errors.invalidParameter(
      `Param platform must be one of {INSTAGRAM, MESSENGER} - got "${query.get('platform')}"`,
    );
  }
  return platform;
}

/**
 * The Page webhook fields (Graph API webhooks reference, Page object) a Page subscription takes.
 * Those of the Messenger Platform need `pages_messaging` as well (UNCONFIRMED per field, strict).
 */
const PAGE_FIELDS: ReadonlySet<string> = new Set([
  'feed',
  'mention',
  'name',
  'picture',
  'category',
  'description',
  'conversations',
  'inbox_labels',
  'leadgen',
  'live_videos',
  'ratings',
  'videos',
  'messages',
  'message_deliveries',
  'message_echoes',
  'message_edits',
  'message_reactions',
  'message_reads',
  'messaging_account_linking',
  'messaging_handovers',
  'messaging_optins',
  'messaging_policy_enforcement',
  'messaging_postbacks',
  'messaging_referrals',
  'standby',
]);
const PAGE_MESSAGING_FIELDS: ReadonlySet<string> = new Set(
  [...PAGE_FIELDS].filter((field) => field.startsWith('messag') || field === 'standby'),
);

/**
 * An upload counts as a send of its type (RL lists no limit of its own: UNCONFIRMED): audio and
 * video as media, the rest at `send`'s 100 in either configuration (an upload is no message).
 */
function uploadBucket(body: Record<string, unknown>): Bucket {
  const message = body.message as { attachment?: { type?: unknown } } | undefined;
  const type = message?.attachment?.type;
  return type === 'audio' || type === 'video' ? 'sendMedia' : 'send';
}

function faultAnswer(fault: Fault, now: number): Answer {
  if (fault.kind === 'server-error') {
    return { status: 503, body: '<html><body>Service Unavailable</body></html>' };
  }
  const error =
    fault.kind === 'transient'
      ? errors.transient()
      : fault.kind === 'expired-token'
        ? tokenErrors.expired(now - 60_000, now)
        : fault.kind === 'rate-limit'
          ? new GraphError({
              status: 400,
              code: fault.code ?? 4,
              message:
                fault.code === 17
                  ? 'User request limit reached'
                  : fault.code === 80002
                    ? 'There have been too many calls to this Instagram account. Wait a bit and try again.'
                    : fault.code === 613
                      ? 'Calls to this api have exceeded the rate limit.'
                      : 'Application request limit reached',
              headers: { 'X-App-Usage': '{"call_count":100,"total_cputime":20,"total_time":20}' },
            })
          : (fault.error ?? errors.transient());
  return { status: error.status, body: error.toJSON(), headers: { ...error.headers } };
}

/** The first path segment under which the simulator stands for graph.facebook.com. */
export const FACEBOOK_PREFIX = 'facebook';

/** The newest Graph API version released (v27.0, 2026-11-04: instagram-api.md §10). */
const NEWEST_VERSION = 27;

async function parseIncoming(req: IncomingMessage, url: URL, raw: Buffer): Promise<Incoming> {
  const all = url.pathname.split('/').filter(Boolean);
  const host = all[0] === FACEBOOK_PREFIX ? 'facebook' : 'instagram';
  const parts = host === 'facebook' ? all.slice(1) : all;
  const versioned = /^v\d+\.0$/.test(parts[0] ?? '');
  const segments = versioned ? parts.slice(1) : parts;
  const type = req.headers['content-type'] ?? '';
  let body: Record<string, unknown> = {};
  let form = new URLSearchParams();
  const files = new Map<string, File>();
  const multipart = type.includes('multipart/form-data');
  if (multipart) {
    // Fields as in a form (JSON-valued ones parsed), files apart. An unreadable body is empty.
    const data = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } })
      .formData()
      .catch(() => new FormData());
    for (const [key, value] of data) {
      if (typeof value === 'string') body[key] = safeJson(Buffer.from(value)) ?? value;
      else files.set(key, value);
    }
  } else if (type.includes('application/json')) {
    const parsed = safeJson(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } else if (raw.length > 0) {
    form = new URLSearchParams(raw.toString());
    // Graph takes object parameters as JSON strings in forms and query strings.
    for (const [key, value] of form) body[key] = safeJson(Buffer.from(value)) ?? value;
  }
  if (Object.keys(body).length === 0 && req.method === 'POST') {
    for (const [key, value] of url.searchParams) {
      if (key !== 'access_token' && key !== 'appsecret_proof')
        body[key] = safeJson(Buffer.from(value)) ?? value;
    }
  }
  return {
    host,
    method: req.method ?? 'GET',
    segments,
    query: url.searchParams,
    body,
    form,
    multipart,
    files,
    authorization: req.headers.authorization,
    versioned,
    version: versioned ? parts[0] : undefined,
  };
}

/** A request's body as the log keeps it: JSON, form fields, or multipart fields and files. */
function loggedBody(r: Incoming, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  if (r.multipart) {
    const files = [...r.files].map(([key, f]) => [
      key,
      { name: f.name, type: f.type, size: f.size },
    ]);
    return { ...r.body, ...Object.fromEntries(files) };
  }
  return safeJson(raw) ?? Object.fromEntries(r.form);
}

function endpointOf(r: Incoming): string {
  const [first, second] = r.segments;
  if (first === 'oauth') return `/oauth/${second ?? ''}`;
  if (first === 'dialog') return `/dialog/${second ?? ''}`;
  if (r.segments.length === 1 && (first === 'access_token' || first === 'refresh_access_token')) {
    return `/${first}`;
  }
  const head = first === 'me' ? '/me' : '/{id}';
  return second === undefined ? head : `${head}/${second}`;
}

function safeJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString());
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
