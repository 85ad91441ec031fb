import { createHash, randomBytes } from 'node:crypto';
import { errors, GraphError, tokenErrors } from './errors.ts';
import { type FieldRequest, parseFields } from './fields.ts';
import { newAppScopedId, newFacebookAccessToken, newPageId } from './ids.ts';
import type { SimAnswer, SimRequest } from './request.ts';
import {
  DEFAULT_PAGE_TASKS,
  FACEBOOK_PERMISSIONS,
  LONG_LIVED_MS,
  SHORT_LIVED_MS,
  type SimToken,
  type Store,
} from './store.ts';

export interface FacebookLoginOptions {
  readonly store: Store;
  /** The Meta app id the dialog expects as `client_id`. */
  readonly appId: string;
  /** Checks `client_secret` of the code exchange. */
  readonly appSecret: string;
  /** Redirect URIs the app registered; undefined = any. */
  readonly redirectUris?: readonly string[];
  /**
   * The simulator's base URL, for the `paging.next` links of `/me/accounts`. Default: none, the
   * links are then paths (`/facebook/v27.0/me/accounts?…`).
   */
  readonly url?: () => string;
}

/** A Facebook user of the simulated Login: who consents at the dialog, and the Pages they manage. */
export interface FacebookUser {
  /** App-scoped user id (`id` of `/me`). */
  readonly id: string;
  readonly name: string;
  /**
   * Pages of `store.pages` (each linked to an Instagram account) the user can perform tasks on;
   * undefined = every Page of the store, as it is when they log in.
   */
  readonly pageIds: readonly string[] | undefined;
  /** Pages the user manages with no Instagram account linked (Login knows them only). */
  readonly otherPages: readonly { readonly id: string; readonly name: string }[];
  /** The user's tasks by Page id (`tasks` of `/me/accounts`); a Page not named has `DEFAULT_PAGE_TASKS`. */
  readonly tasks: Readonly<Record<string, readonly string[]>>;
}

/**
 * Page category ids, for `category_list`: those real answers name (the same fixture's, and its
 * source's); others get a stable id of the simulator's own (UNCONFIRMED: Meta publishes no list
 * of category ids, and igql reads none).
 */
const CATEGORY_IDS: Readonly<Record<string, string>> = {
  'Information Technology Company': '1130035050388269',
  'Software Company': '1065597503495311',
};
function categoryIdOf(name: string): string {
  const hash = Number.parseInt(createHash('sha256').update(name).digest('hex').slice(0, 12), 16);
  return CATEGORY_IDS[name] ?? String(100_000_000_000_000 + (hash % 900_000_000_000_000));
}

/**
 * The permissions the dialog knows: Facebook Login for Business's for igql, `public_profile`
 * (always granted) and a few others apps commonly ask. UNCONFIRMED completeness: Facebook knows
 * many more; a name outside this list is refused as an invalid scope (strict).
 */
const KNOWN_PERMISSIONS = new Set<string>([
  ...FACEBOOK_PERMISSIONS,
  'public_profile',
  'email',
  'business_management',
  'pages_messaging',
  'pages_manage_posts',
]);

/**
 * How long a code may be exchanged. UNCONFIRMED: Meta's manual-flow page names no lifetime; 10
 * minutes is RFC 6749's recommended maximum (§4.1.2), the strictest documented figure. Codes work
 * once (error 100/36009, "This authorization code has been used.", a real answer quoted in
 * akeeba/sociallogin#102).
 */
const CODE_LIFETIME_MS = 10 * 60_000;

/** The default page of `/me/accounts` (Graph's edges answer 25 items unless `limit` says). */
const DEFAULT_PAGE_SIZE = 25;

interface AuthorizationCode {
  readonly userId: string;
  readonly redirectUri: string;
  readonly granted: readonly string[];
  readonly declined: readonly string[];
  readonly issuedAt: number;
  used: boolean;
}

/** A Facebook user access token: Login's own, never valid on the Graph nodes of `store`. */
interface UserToken {
  readonly token: string;
  readonly userId: string;
  readonly kind: 'short' | 'long';
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly granted: readonly string[];
  readonly declined: readonly string[];
}

const oauthError = (message: string, code: number, subcode?: number, status = 400) =>
  new GraphError({ status, message, code, subcode, type: 'OAuthException' });

// The code exchange's refusals on graph.facebook.com. Real texts: the code used (36009,
// akeeba/sociallogin#102), the redirect_uri mismatch (scribejava/scribejava#605, freizl/hoauth2#19;
// subcode 36008), the code expired ("This authorization code has expired.", several clients);
// the wrong secret is Graph's code 1 (facebookarchive/php-graph-sdk#538, as src/sandbox/oauth.ts).
const refusals = {
  // UNCONFIRMED text and code (101 is Graph's "invalid application" error).
  invalidApp: () => oauthError('Error validating application. Invalid application ID.', 101),
  invalidSecret: () => oauthError('Error validating client secret.', 1, undefined, 500),
  // UNCONFIRMED text; no subcode assumed.
  invalidCode: () => oauthError('Invalid verification code format.', 100),
  codeUsed: () => oauthError('This authorization code has been used.', 100, 36009),
  // UNCONFIRMED subcode 36007 (client code that handles these answers names it).
  codeExpired: () => oauthError('This authorization code has expired.', 100, 36007),
  redirectMismatch: () =>
    oauthError(
      'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
      100,
      36008,
    ),
};

/**
 * Facebook Login for Business as the simulator serves it, on its `facebook` host (issue 19): the
 * Login dialog (which consents at once, as the Instagram one does), the code exchange, the
 * long-lived exchange, and what a user token reads: `/me`, `/me/permissions`, and the Pages the
 * user manages with their Page access tokens and linked Instagram accounts (`/me/accounts`).
 * Everything else on the host (Page and Instagram nodes, Page tokens) is the simulator's Graph.
 */
export class FacebookLogin {
  readonly #o: FacebookLoginOptions;
  readonly #users = new Map<string, FacebookUser>();
  readonly #codes = new Map<string, AuthorizationCode>();
  readonly #tokens = new Map<string, UserToken>();
  /** The Page token `/me/accounts` gives, by user token and Page: the same on every read. */
  readonly #pageTokens = new Map<string, string>();
  readonly #configurations = new Map<string, readonly string[]>();
  #consenting: string | undefined;
  #denying = false;
  #declining: readonly string[] = [];
  /** Items per `/me/accounts` page when the request names no `limit`. Default 25. */
  accountsPageSize = DEFAULT_PAGE_SIZE;
  /**
   * A test hook, not Graph's behaviour: when set, every `/me/accounts` answer serves the list's
   * first page and names, as `after` cursor with a `next` link, what this answers for the cursor
   * the request named (null on the first read). Lets a test make the paging loop (A → B → A) or
   * never end. Default: none, Graph's paging.
   */
  accountsCursor: ((after: string | null) => string) | undefined;

  constructor(options: FacebookLoginOptions) {
    this.#o = options;
  }

  /**
   * A Facebook user who manages `pageIds` (Pages of `store.pages`, default every one) and, with
   * `pagesWithoutInstagram`, Pages of those names with no Instagram account linked. `tasks` names
   * what the user may do on some of the Pages (by Page id; `[]` for a role with no task); the
   * others have `DEFAULT_PAGE_TASKS`.
   */
  addFacebookUser(
    fields: {
      readonly id?: string;
      readonly name?: string;
      readonly pageIds?: readonly string[];
      readonly pagesWithoutInstagram?: readonly string[];
      readonly tasks?: Readonly<Record<string, readonly string[]>>;
    } = {},
  ): FacebookUser {
    for (const pageId of [...(fields.pageIds ?? []), ...Object.keys(fields.tasks ?? {})]) {
      if (!this.#o.store.pages.has(pageId)) throw new Error(`no Page ${pageId}`);
    }
    const user: FacebookUser = {
      id: fields.id ?? newAppScopedId(),
      name: fields.name ?? 'Simulated Facebook User',
      pageIds: fields.pageIds === undefined ? undefined : [...fields.pageIds],
      otherPages: (fields.pagesWithoutInstagram ?? []).map((name) => ({ id: newPageId(), name })),
      tasks: { ...fields.tasks },
    };
    this.#users.set(user.id, user);
    return user;
  }

  /** The user who logs in and consents at the dialog. Default: one who manages every Page. */
  loginAs(userId: string): void {
    if (!this.#users.has(userId)) throw new Error(`no Facebook user ${userId}`);
    this.#consenting = userId;
  }

  /** The next dialog ends with the user pressing Cancel. */
  denyNext(): void {
    this.#denying = true;
  }

  /**
   * At the next dialog, the user unticks these permissions: the login goes on without them. With
   * a configuration (`config_id`) nothing can be unticked: the dialog ends as a cancel.
   */
  declineNext(...permissions: string[]): void {
    this.#declining = permissions;
  }

  /** A Facebook Login for Business configuration the dialog accepts as `config_id`. */
  addConfiguration(configId: string, permissions: readonly string[] = FACEBOOK_PERMISSIONS): void {
    this.#configurations.set(configId, [...permissions]);
  }

  /** Every user access token Login issued, oldest first (tests check that none leaks). */
  issuedUserTokens(): string[] {
    return [...this.#tokens.keys()];
  }

  /** The answer to a request on the facebook host that is Login's, or undefined when it is not. */
  route(r: SimRequest): SimAnswer | undefined {
    try {
      return this.#route(r);
    } catch (error) {
      // graph.facebook.com types its errors OAuthException, where graph.instagram.com says
      // IGApiException (instagram-api.md §6). UNCONFIRMED for the field and paging errors.
      if (!(error instanceof GraphError) || error.type !== 'IGApiException') throw error;
      throw new GraphError({
        status: error.status,
        message: error.message,
        code: error.code,
        subcode: error.subcode,
        type: 'OAuthException',
      });
    }
  }

  #route(r: SimRequest): SimAnswer | undefined {
    const [first, second, third] = r.segments;
    if (third !== undefined) return undefined;
    if (first === 'dialog' && second === 'oauth' && r.method === 'GET') return this.#dialog(r);
    if (first === 'oauth' && second === 'access_token' && ['GET', 'POST'].includes(r.method)) {
      // Graph takes the parameters in the query or, posted, in the form.
      const params = new URLSearchParams([...r.query, ...r.form]);
      return { status: 200, body: this.#accessToken(params) };
    }
    if (first !== 'me' || r.method !== 'GET') return undefined;
    if (second !== undefined && second !== 'permissions' && second !== 'accounts') return undefined;
    const bearer = /^Bearer\s+(\S+)$/i.exec(r.authorization ?? '')?.[1];
    const value = r.query.get('access_token') ?? bearer;
    const token = value === undefined ? undefined : this.#tokens.get(value);
    // A Page token, or a token Login never issued: the simulator's Graph answers it.
    if (!token) return undefined;
    this.#valid(token);
    if (second === 'permissions') return { status: 200, body: this.#permissions(token) };
    if (second === 'accounts') return { status: 200, body: this.#accounts(r, token) };
    const user = this.#user(token.userId);
    return { status: 200, body: { id: user.id, name: user.name } };
  }

  /** `GET https://www.facebook.com/<version>/dialog/oauth?client_id&redirect_uri&state&scope|config_id`. */
  #dialog(r: SimRequest): SimAnswer {
    const query = r.query;
    // The dialog's refusals are pages for the person at the browser, not redirects.
    // UNCONFIRMED: their status (Facebook renders them in its page) and exact wording.
    if (query.get('client_id') !== this.#o.appId) {
      return dialogError('Invalid App ID: The provided app ID does not look like a valid app ID.');
    }
    const redirectUri = query.get('redirect_uri') ?? '';
    if (
      !URL.canParse(redirectUri) ||
      (this.#o.redirectUris !== undefined && !this.#o.redirectUris.includes(redirectUri))
    ) {
      return dialogError(
        "URL Blocked: This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your app domains as Valid OAuth Redirect URIs.",
      );
    }
    // `code` is the default (manual flow). UNCONFIRMED: only the code flow is simulated; the
    // others (`token`, `code%20token`, …) are refused rather than answered differently.
    const responseType = query.get('response_type') ?? 'code';
    if (responseType !== 'code') return dialogError(`Unsupported response_type: ${responseType}`);
    const configId = query.get('config_id');
    let requested: readonly string[];
    if (configId !== null) {
      // A configuration names the permissions in place of `scope` (Facebook Login for Business).
      const configured = this.#configurations.get(configId);
      if (!configured) return dialogError(`Invalid configuration ID: ${configId}`);
      requested = configured;
    } else {
      requested = (query.get('scope') ?? '').split(/[,\s]+/).filter(Boolean);
      const unknown = requested.filter((scope) => !KNOWN_PERMISSIONS.has(scope));
      if (unknown.length > 0) {
        return dialogError(
          `Invalid Scopes: ${unknown.join(', ')}. This message is only shown to developers. Users of your app will ignore these permissions if present. Please read the documentation for valid permissions at: https://developers.facebook.com/docs/facebook-login/permissions`,
        );
      }
    }
    const state = query.get('state');
    const location = new URL(redirectUri);
    const declining = this.#declining;
    this.#declining = [];
    // Facebook Login for Business: "All permissions that your app asks for during login must be
    // granted by your app user or your app won't be granted any permissions"
    // (developers.facebook.com/docs/facebook-login/facebook-login-for-business, Requirements). So
    // a configuration's login cannot go on with a part of them. UNCONFIRMED how the dialog ends
    // then (whether a box can be unticked at all, and what the redirect carries): answered as a
    // cancel, the strict reading (no code, no permission).
    const cancelled =
      this.#denying || (configId !== null && declining.some((p) => requested.includes(p)));
    if (cancelled) {
      this.#denying = false;
      // Cancel, as a real cancel URL carries it (pastebin.com/jywPJecY: `error=access_denied&
      // error_code=200&error_description=Permissions+error&error_reason=user_denied`).
      location.searchParams.set('error', 'access_denied');
      location.searchParams.set('error_code', '200');
      location.searchParams.set('error_description', 'Permissions error');
      location.searchParams.set('error_reason', 'user_denied');
    } else {
      const asked = [...new Set(['public_profile', ...requested])];
      const code = `AQ${randomBytes(150).toString('base64url')}`;
      this.#codes.set(code, {
        userId: this.#consentingUser().id,
        redirectUri,
        granted: asked.filter((p) => p === 'public_profile' || !declining.includes(p)),
        declined: asked.filter((p) => p !== 'public_profile' && declining.includes(p)),
        issuedAt: this.#o.store.clock.now(),
        used: false,
      });
      location.searchParams.set('code', code);
    }
    if (state !== null) location.searchParams.set('state', state);
    // Facebook's redirects end in `#_=_`; the browser keeps it, the server never sees it.
    location.hash = '_=_';
    return { status: 302, body: location.href };
  }

  /** `GET https://graph.facebook.com/<version>/oauth/access_token`: a code, or `fb_exchange_token`. */
  #accessToken(params: URLSearchParams): unknown {
    if (params.get('client_id') !== this.#o.appId) throw refusals.invalidApp();
    if (params.get('client_secret') !== this.#o.appSecret) throw refusals.invalidSecret();
    const grantType = params.get('grant_type');
    const now = this.#o.store.clock.now();
    if (grantType === 'fb_exchange_token') {
      const value = params.get('fb_exchange_token');
      const token = value === null ? undefined : this.#tokens.get(value);
      if (!token) throw tokenErrors.malformed();
      // "Apps are unable to exchange an expired short-lived token for a long-lived token" (ibid.).
      this.#valid(token);
      return this.#respond(this.#issue(token.userId, 'long', token.granted, token.declined));
    }
    // UNCONFIRMED: other grants (the app token's client_credentials, …) are not simulated.
    if (grantType !== null && grantType !== 'authorization_code') {
      throw errors.invalidParameter(`Unsupported grant_type: ${grantType}`);
    }
    const grant = this.#codes.get(params.get('code') ?? '');
    if (!grant) throw refusals.invalidCode();
    if (grant.used) throw refusals.codeUsed();
    if (now > grant.issuedAt + CODE_LIFETIME_MS) throw refusals.codeExpired();
    if (params.get('redirect_uri') !== grant.redirectUri) throw refusals.redirectMismatch();
    grant.used = true;
    return this.#respond(this.#issue(grant.userId, 'short', grant.granted, grant.declined));
  }

  /** `GET /me/permissions`: every permission asked, granted or declined (Graph's User permissions). */
  #permissions(token: UserToken): unknown {
    return {
      data: [
        ...token.granted.map((permission) => ({ permission, status: 'granted' })),
        ...token.declined.map((permission) => ({ permission, status: 'declined' })),
      ],
    };
  }

  /**
   * `GET /me/accounts`: the Pages the user manages, each with a Page access token (Graph's User
   * accounts edge). A Page token from a long-lived user token does not expire; from a short-lived
   * one it lasts as long as it ("Long-Lived Access Tokens", developers.facebook.com).
   */
  #accounts(r: SimRequest, token: UserToken): unknown {
    // UNCONFIRMED: without pages_show_list Graph may answer an empty list; refused here (strict).
    if (!token.granted.includes('pages_show_list')) throw errors.permission('pages_show_list');
    const raw = r.query.get('fields');
    const requested = raw
      ? parseFields(raw)
      : ['access_token', 'category', 'category_list', 'name', 'id', 'tasks'].map(plain);
    const user = this.#user(token.userId);
    const store = this.#o.store;
    const linked = (user.pageIds ?? [...store.pages.keys()]).flatMap((id) => {
      const page = store.pages.get(id);
      return page
        ? [{ id: page.id, name: page.name, category: page.category, igId: page.igId }]
        : [];
    });
    const pages = [
      ...linked,
      ...user.otherPages.map((p) => ({ ...p, category: 'Local business', igId: undefined })),
    ];
    const limit = Number(r.query.get('limit') ?? this.accountsPageSize);
    if (!Number.isInteger(limit) || limit < 1) {
      throw errors.invalidParameter('Param limit must be a positive integer');
    }
    const after = r.query.get('after');
    let start = 0;
    // With the test hook, always the first page (see `accountsCursor`).
    if (after !== null && this.accountsCursor === undefined) {
      const index = pages.findIndex((page) => cursorOf(page.id) === after);
      // UNCONFIRMED wording; a cursor this edge never gave is refused (strict).
      if (index === -1) throw errors.invalidParameter('Invalid cursor: after');
      start = index + 1;
    }
    const slice = pages.slice(start, start + limit);
    const data = slice.map((page) => {
      const item: Record<string, unknown> = {};
      for (const field of requested) {
        if (field.name === 'id') item.id = page.id;
        else if (field.name === 'name') item.name = page.name;
        else if (field.name === 'category') item.category = page.category;
        else if (field.name === 'category_list') {
          item.category_list = [{ id: categoryIdOf(page.category), name: page.category }];
        } else if (field.name === 'tasks') item.tasks = user.tasks[page.id] ?? DEFAULT_PAGE_TASKS;
        else if (field.name === 'access_token')
          item.access_token = this.#pageToken(
            token,
            page,
            user.tasks[page.id] ?? DEFAULT_PAGE_TASKS,
          );
        else if (field.name === 'instagram_business_account') {
          // UNCONFIRMED: the field needs instagram_basic (strict: refused without it).
          if (!token.granted.includes('instagram_basic')) {
            throw errors.permission('instagram_basic');
          }
          // Absent for a Page with no Instagram account linked, as Graph leaves out empty fields.
          if (page.igId !== undefined)
            item.instagram_business_account = this.#igAccount(page.igId, field);
        } else throw errors.nonexistingField(field.name, 'Page');
      }
      // Graph always names a node's id.
      return { ...item, id: page.id };
    });
    if (data.length === 0) return { data };
    const first = slice[0];
    const last = slice.at(-1);
    const hooked = this.accountsCursor?.(after);
    const nextCursor = hooked ?? cursorOf(last?.id ?? '');
    const paging: Record<string, unknown> = {
      cursors: { before: cursorOf(first?.id ?? ''), after: nextCursor },
    };
    if (hooked !== undefined || start + limit < pages.length) {
      const next = new URLSearchParams(r.query);
      next.set('limit', String(limit));
      next.set('after', nextCursor);
      const version = r.version === undefined ? '' : `/${r.version}`;
      paging.next = `${this.#o.url?.() ?? ''}/facebook${version}/me/accounts?${next}`;
    }
    return { data, paging };
  }

  #igAccount(igId: string, field: FieldRequest): Record<string, unknown> {
    const account = this.#o.store.accounts.get(igId);
    const out: Record<string, unknown> = {};
    for (const child of field.children ?? [plain('id')]) {
      if (child.name === 'id') out.id = igId;
      else if (child.name === 'username') out.username = account?.username;
      else if (child.name === 'name') out.name = account?.name;
      else throw errors.nonexistingField(child.name, 'IGUser');
    }
    return { ...out, id: igId };
  }

  /**
   * The Page's token for this user token: issued once (`store.issuePageToken`), with the
   * permissions the user granted, and for a short-lived user token, its expiry.
   */
  #pageToken(
    token: UserToken,
    page: { readonly id: string; readonly igId?: string },
    tasks: readonly string[],
  ): string {
    const key = `${token.token}\u0000${page.id}`;
    const known = this.#pageTokens.get(key);
    if (known !== undefined) return known;
    let value: string;
    if (page.igId === undefined) {
      // A Page outside the simulated Graph: its token is valid nowhere here.
      value = newFacebookAccessToken();
    } else {
      const issued = this.#o.store.issuePageToken(page.id, undefined, tasks);
      const permissions = token.granted.filter((p) => FACEBOOK_PERMISSIONS.some((f) => f === p));
      const scoped: SimToken = {
        ...issued,
        permissions,
        ...(token.kind === 'short' ? { expiresAt: token.expiresAt } : {}),
      };
      this.#o.store.tokens.set(scoped.token, scoped);
      value = scoped.token;
    }
    this.#pageTokens.set(key, value);
    return value;
  }

  #issue(
    userId: string,
    kind: UserToken['kind'],
    granted: readonly string[],
    declined: readonly string[],
  ): UserToken {
    const issuedAt = this.#o.store.clock.now();
    const token: UserToken = {
      token: newFacebookAccessToken(),
      userId,
      kind,
      issuedAt,
      expiresAt: issuedAt + (kind === 'long' ? LONG_LIVED_MS : SHORT_LIVED_MS),
      granted,
      declined,
    };
    this.#tokens.set(token.token, token);
    return token;
  }

  /** Throws Graph's 190 for an expired user token. */
  #valid(token: UserToken): void {
    const now = this.#o.store.clock.now();
    if (now >= token.expiresAt) throw tokenErrors.expired(token.expiresAt, now);
  }

  /** `{access_token, token_type, expires_in}` (manual flow; "Long-Lived Access Tokens"). */
  #respond(token: UserToken): unknown {
    const expiresIn = Math.floor((token.expiresAt - this.#o.store.clock.now()) / 1000);
    return { access_token: token.token, token_type: 'bearer', expires_in: expiresIn };
  }

  #consentingUser(): FacebookUser {
    if (this.#consenting !== undefined) return this.#user(this.#consenting);
    const user = this.addFacebookUser();
    this.#consenting = user.id;
    return user;
  }

  #user(id: string): FacebookUser {
    const user = this.#users.get(id);
    if (!user) throw new Error(`no Facebook user ${id}`);
    return user;
  }
}

const plain = (name: string): FieldRequest => ({ name, modifiers: {}, children: undefined });

/** Opaque paging cursors, as Graph's are; each names one Page of the list. */
const cursorOf = (pageId: string) => Buffer.from(`page:${pageId}`).toString('base64url');

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The dialog's error page. */
function dialogError(message: string): SimAnswer {
  return {
    status: 400,
    body: `<!doctype html><html><head><title>Facebook</title></head><body><div id="error">${escapeHtml(message)}</div></body></html>`,
  };
}
