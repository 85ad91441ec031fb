import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { globalId } from '../global-id.ts';
import { bearerToken, cookies, json, type Route, readBody } from '../http.ts';
import { InstagramError } from '../instagram/errors.ts';
import {
  type FacebookApp,
  type FacebookHosts,
  type FacebookOAuthClient,
  FacebookPagingError,
  facebookDialogUrl,
  MAX_ACCOUNT_PAGES,
  MESSAGING_TASKS,
  REQUIRED_PERMISSIONS,
} from '../instagram/facebook-oauth.ts';
import type { InstagramApi } from '../instagram/graph.ts';
import {
  authorizeUrl,
  type OAuthApp,
  type OAuthClient,
  type OAuthHosts,
} from '../instagram/oauth.ts';
import type { Logger } from '../logger.ts';
import {
  ACCESS_TTL_S,
  REFRESH_TTL_S,
  type Session,
  SessionError,
  signSession,
  signToken,
  verifyToken,
} from './jwt.ts';
import type { Revocations } from './revocation.ts';
import { SESSION_COOKIE, type Sessions } from './sessions.ts';
import type { LoginKind, TokenStore } from './token-store.ts';

export const REFRESH_COOKIE = 'igql_refresh';
/** Binds a login's `state` to the browser that started it (login CSRF). */
export const LOGIN_COOKIE = 'igql_login';
const STATE_TTL_S = 600;

export interface AuthRouteOptions {
  readonly secret: Uint8Array;
  /**
   * Where the browser of this request reaches igql: the redirect URI is
   * `<base>/auth/instagram/callback`, and the login must come back to the origin it started on,
   * where its `igql_login` cookie lives.
   */
  readonly publicBase: (req: IncomingMessage) => string;
  readonly allowedOrigins: readonly string[];
  readonly hosts: () => OAuthHosts;
  readonly app: () => OAuthApp;
  readonly oauth: OAuthClient;
  readonly api: InstagramApi;
  readonly tokens: TokenStore;
  readonly revocations: Revocations;
  /** Session verification (igql's own and the identity provider's tokens, revocation). */
  readonly sessions: Pick<Sessions, 'verify' | 'fromToken'>;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * Facebook Login for Business (`/auth/facebook/*`). Default: none, and so are its routes' answers
   * (404), as when `app` answers undefined (no `FACEBOOK_APP_ID` outside sandbox mode).
   */
  readonly facebook?: {
    readonly app: () => FacebookApp | undefined;
    readonly hosts: () => FacebookHosts;
    readonly oauth: FacebookOAuthClient;
  };
}

/** The two configurations' logins: `instagram` (Business Login) and `facebook` (Login for Business). */
type Kind = 'instagram' | 'facebook';
const TITLES: Readonly<Record<Kind, string>> = { instagram: 'Instagram', facebook: 'Facebook' };

/** The `sub` of a login's `state`, by configuration: a state works only at its own callback. */
const STATE_SUBJECT = { instagram: 'login', facebook: 'facebook-login' } as const;

const isLoopback = (base: string) =>
  /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(base);

/**
 * Business Login for Instagram, end to end: `GET /auth/instagram/login` redirects to Instagram's
 * authorize page with a signed, short-lived, single-use `state`; `GET /auth/instagram/callback`
 * exchanges the code for a long-lived token, stores it, and hands out an igql session (cookies,
 * and the JWTs in JSON for clients that ask). Facebook Login for Business the same way through
 * `GET /auth/facebook/login` and `/callback`, storing the Page token of every Page with a linked
 * Instagram account. `POST /auth/refresh` renews the access token, `POST /auth/logout` revokes
 * the session everywhere; both serve either configuration's sessions.
 */
export function authRoutes(o: AuthRouteOptions): Record<string, Route> {
  const redirectUri = (req: IncomingMessage, kind: Kind = 'instagram') =>
    `${o.publicBase(req)}/auth/${kind}/callback`;
  const cookie = (req: IncomingMessage, name: string, value: string, maxAge: number, path = '/') =>
    [
      `${name}=${encodeURIComponent(value)}`,
      `Path=${path}`,
      `Max-Age=${maxAge}`,
      'HttpOnly',
      'SameSite=Lax',
      ...(isLoopback(o.publicBase(req)) ? [] : ['Secure']),
    ].join('; ');

  /** The session the browser already has, if any: a new login adds its account to it. */
  const existing = async (req: IncomingMessage): Promise<Session | null> => {
    const token = cookies(req)[SESSION_COOKIE];
    return token ? o.sessions.fromToken(token).catch(() => null) : null;
  };

  const issue = async (
    req: IncomingMessage,
    res: ServerResponse,
    sub: string,
    accounts: readonly string[],
    sid: string,
  ) => {
    const accessToken = await signSession(o.secret, { sub, accounts, sid }, ACCESS_TTL_S);
    const refreshToken = await signToken(
      o.secret,
      'refresh',
      { sub, accounts: [...accounts], sid },
      REFRESH_TTL_S,
    );
    res.setHeader('set-cookie', [
      cookie(req, SESSION_COOKIE, accessToken, ACCESS_TTL_S),
      cookie(req, REFRESH_COOKIE, refreshToken, REFRESH_TTL_S, '/auth'),
    ]);
    return { accessToken, refreshToken, expiresIn: ACCESS_TTL_S };
  };

  const fail = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    error: string,
    message: string,
    kind: Kind = 'instagram',
    details: Record<string, unknown> = {},
  ) => {
    if (wantsJson(req)) {
      json(res, status, { error, message, ...details });
      return;
    }
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(`${TITLES[kind]} login failed`, message));
  };

  /** Signs a login's `state` and sets the cookie that binds it to this browser. */
  const startLogin = async (req: IncomingMessage, kind: Kind) => {
    const next = new URL(req.url ?? '/', 'http://igql').searchParams.get('next');
    const safeNext =
      next && o.allowedOrigins.some((origin) => next.startsWith(`${origin}/`)) ? next : null;
    const nonce = randomUUID();
    const state = await signToken(
      o.secret,
      'state',
      { sub: STATE_SUBJECT[kind], nonce, next: safeNext },
      STATE_TTL_S,
    );
    return { state, cookie: cookie(req, LOGIN_COOKIE, nonce, STATE_TTL_S, `/auth/${kind}`) };
  };

  /**
   * The `state` of a callback, checked (signature, expiry, configuration, the browser that
   * started the login) and used up; null once a refusal was answered.
   */
  const usedState = async (
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    kind: Kind,
  ): Promise<Awaited<ReturnType<typeof verifyToken>> | null> => {
    const refuse = (message: string) => {
      fail(req, res, 400, 'invalid_state', message, kind);
      return null;
    };
    let state: Awaited<ReturnType<typeof verifyToken>>;
    try {
      state = await verifyToken(o.secret, query.get('state') ?? '', 'state');
    } catch {
      return refuse('This login link is invalid or expired. Start the login again.');
    }
    if (state.sub !== STATE_SUBJECT[kind]) {
      return refuse('This login link is invalid or expired. Start the login again.');
    }
    // The browser that comes back must be the one that started: else someone could have a
    // victim's browser complete the attacker's login (login CSRF).
    if (state.nonce !== cookies(req)[LOGIN_COOKIE]) {
      return refuse('This login was started in another browser. Start the login again.');
    }
    if (!(await o.revocations.useOnce(`state:${state.jti}`, STATE_TTL_S * 1000))) {
      return refuse('This login link was already used. Start the login again.');
    }
    return state;
  };

  /**
   * Opens the session, or adds the accounts to the one the browser already has (appended: the
   * session's default account, `viewer`, stays what it was).
   */
  const openSession = async (req: IncomingMessage, res: ServerResponse, igIds: string[]) => {
    const current = await existing(req);
    const accounts = [...new Set([...(current?.accounts ?? []), ...igIds])];
    return issue(
      req,
      res,
      current?.sub ?? `ig:${igIds[0]}`,
      accounts,
      current?.sid ?? randomUUID(),
    );
  };

  /**
   * The configuration to leave an account in, if a login of `kind` must not replace it: an ACTIVE
   * record of the other configuration stays as it is (switching an account's host, node and token
   * is never done silently); a REAUTH_REQUIRED one is replaced, since it serves nothing anyway.
   */
  const keptAs = async (igId: string, kind: LoginKind): Promise<LoginKind | undefined> => {
    const current = await o.tokens.get(igId);
    const currentKind = current?.loginKind ?? 'INSTAGRAM';
    return current?.status === 'ACTIVE' && currentKind !== kind ? currentKind : undefined;
  };

  /** Business Login for Instagram without an Instagram app (only Facebook Login configured). */
  const instagramNotConfigured = (req: IncomingMessage, res: ServerResponse) =>
    fail(
      req,
      res,
      404,
      'instagram_login_not_configured',
      'Business Login for Instagram is not configured: set INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET to the Instagram app of the Instagram API with Instagram Login.',
      'instagram',
    );

  const notConfigured = (req: IncomingMessage, res: ServerResponse) =>
    fail(
      req,
      res,
      404,
      'facebook_login_not_configured',
      'Facebook Login is not configured: set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET to the Meta app of the Instagram API with Facebook Login.',
      'facebook',
    );

  return {
    'GET /auth/instagram/login': async (req, res) => {
      if (!o.app().appId) {
        instagramNotConfigured(req, res);
        return;
      }
      const { state, cookie: loginCookie } = await startLogin(req, 'instagram');
      res.writeHead(302, {
        location: authorizeUrl(o.hosts(), o.app(), redirectUri(req), state),
        'cache-control': 'no-store',
        'set-cookie': loginCookie,
      });
      res.end();
    },

    'GET /auth/instagram/callback': async (req, res) => {
      if (!o.app().appId) {
        instagramNotConfigured(req, res);
        return;
      }
      const query = new URL(req.url ?? '/', 'http://igql').searchParams;
      const state = await usedState(req, res, query, 'instagram');
      if (!state) return;
      if (query.get('error')) {
        fail(
          req,
          res,
          403,
          'access_denied',
          'Instagram access was not granted, so nothing was connected.',
        );
        return;
      }
      const code = (query.get('code') ?? '').replace(/#_$/, '');
      if (!code) {
        fail(
          req,
          res,
          400,
          'missing_code',
          'Instagram sent no authorization code. Start the login again.',
        );
        return;
      }
      try {
        const short = await o.oauth.exchangeCode(code, redirectUri(req));
        const long = await o.oauth.exchangeLongLived(short.accessToken);
        const now = (o.now ?? Date.now)();
        // `/me` names the IG_ID (`user_id`), which webhooks and sends use. No `igId` yet: a
        // refusal of this new token concerns no stored account.
        const me = await o.api.account({ token: long.accessToken }, ['user_id', 'username']);
        const igId = String(me.user_id ?? '');
        if (!/^\d+$/.test(igId))
          throw new InstagramError({ kind: 'transient', message: '/me named no user_id' });
        // An account ACTIVE through Facebook Login stays so; the user proved it theirs all the
        // same, so it joins the session. The new Instagram token is dropped.
        const kept = await keptAs(igId, 'INSTAGRAM');
        if (kept === undefined) {
          await o.tokens.put({
            igId,
            accessToken: long.accessToken,
            status: 'ACTIVE',
            issuedAt: now,
            expiresAt: now + long.expiresIn * 1000,
          });
          o.logger.info({ igId }, 'instagram account connected');
        } else {
          o.logger.info({ igId, loginKind: kept }, 'instagram account kept as it was connected');
        }
        const tokens = await openSession(req, res, [igId]);
        const next = typeof state.next === 'string' ? state.next : null;
        const name = `@${me.username ?? igId}`;
        if (wantsJson(req)) {
          json(res, 200, {
            ...tokens,
            account: { id: globalId.account(igId), igId, username: me.username ?? null },
            kept: kept === undefined ? [] : [{ igId, loginKind: kept }],
          });
        } else if (next) {
          res.writeHead(303, { location: next });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(
            page(
              'Instagram connected',
              kept === undefined
                ? `${name} is connected to igql. You can close this window.`
                : `${name} is already connected to igql through ${LOGIN_NAMES[kept]}, and stays so. You can close this window.`,
            ),
          );
        }
      } catch (error) {
        if (!(error instanceof InstagramError)) throw error;
        o.logger.warn({ kind: error.kind, code: error.code }, 'instagram login failed');
        const refused = error.kind === 'invalid_parameter' || error.kind === 'token';
        fail(
          req,
          res,
          refused ? 400 : 502,
          refused ? 'invalid_code' : 'instagram_unavailable',
          refused
            ? 'Instagram refused the login (the code may be expired or already used). Start the login again.'
            : 'Instagram could not be reached. Try again in a moment.',
        );
      }
    },

    'GET /auth/facebook/login': async (req, res) => {
      const app = o.facebook?.app();
      if (!o.facebook || !app) {
        notConfigured(req, res);
        return;
      }
      const { state, cookie: loginCookie } = await startLogin(req, 'facebook');
      res.writeHead(302, {
        location: facebookDialogUrl(o.facebook.hosts(), app, redirectUri(req, 'facebook'), state),
        'cache-control': 'no-store',
        'set-cookie': loginCookie,
      });
      res.end();
    },

    'GET /auth/facebook/callback': async (req, res) => {
      const facebook = o.facebook;
      if (!facebook?.app()) {
        notConfigured(req, res);
        return;
      }
      const query = new URL(req.url ?? '/', 'http://igql').searchParams;
      const state = await usedState(req, res, query, 'facebook');
      if (!state) return;
      const refuse = (status: number, error: string, message: string, details = {}) =>
        fail(req, res, status, error, message, 'facebook', details);
      if (query.get('error')) {
        refuse(403, 'access_denied', 'Facebook access was not granted, so nothing was connected.');
        return;
      }
      const code = query.get('code') ?? '';
      if (!code) {
        refuse(400, 'missing_code', 'Facebook sent no authorization code. Start the login again.');
        return;
      }
      // The call under way, and whether the code was exchanged: a failure is answered by its step.
      let call = 'GET /oauth/access_token';
      let exchanged = false;
      try {
        const short = await facebook.oauth.exchangeCode(code, redirectUri(req, 'facebook'));
        exchanged = true;
        // The long-lived user token's Page tokens do not expire ("Long-Lived Access Tokens",
        // developers.facebook.com); those of a short-lived one last an hour.
        const long = await facebook.oauth.exchangeLongLived(short.accessToken);
        call = 'GET /me/permissions';
        const { granted } = await facebook.oauth.permissions(long.accessToken);
        const missing = REQUIRED_PERMISSIONS.filter((p) => !granted.includes(p));
        if (missing.length > 0) {
          o.logger.warn({ missing }, 'facebook login refused: permissions not granted');
          refuse(
            403,
            'permission_declined',
            `Facebook Login did not grant ${missing.join(', ')}, which igql needs, so nothing was connected. Log in again and allow ${missing.length === 1 ? 'it' : 'them'}.`,
            { permissions: missing },
          );
          return;
        }
        call = 'GET /me/accounts';
        const pages = await facebook.oauth.pages(long.accessToken);
        const linked = new Map<
          string,
          { pageId: string; accessToken: string; username: string | null }
        >();
        const lacking: { pageId: string; igId: string; username: string | null }[] = [];
        for (const page of pages) {
          // An Instagram account is linked to one Page; the first answer wins all the same.
          if (!page.instagram || linked.has(page.instagram.igId)) continue;
          const { igId, username } = page.instagram;
          // A Page token serves the inbox only if its user may handle the Page's messages.
          if (!page.tasks.some((task) => MESSAGING_TASKS.some((t) => t === task))) {
            lacking.push({ pageId: page.pageId, igId, username });
            continue;
          }
          linked.set(igId, { pageId: page.pageId, accessToken: page.accessToken, username });
        }
        // Pages without a task whose account no other Page of the list serves.
        const skippedPages = lacking.filter((page) => !linked.has(page.igId));
        const skipped = skippedPages.map(({ pageId, igId }) => ({
          pageId,
          igId,
          reason: 'no_messaging_task',
        }));
        if (linked.size === 0 && skippedPages.length > 0) {
          o.logger.warn(
            { pageIds: skippedPages.map((page) => page.pageId) },
            'facebook login refused: no messaging task on the linked Pages',
          );
          refuse(
            403,
            'no_messaging_task',
            `Your role on the Facebook ${skippedPages.length === 1 ? 'Page' : 'Pages'} linked to ${handles(skippedPages)} does not let you manage messages (Facebook's MESSAGING, MODERATE or MANAGE task), so nothing was connected. Ask an admin of the Page for full control or for access to messages, then log in again.`,
            { skipped },
          );
          return;
        }
        if (linked.size === 0) {
          refuse(
            422,
            'no_linked_instagram_account',
            "None of the Facebook Pages you manage has an Instagram professional account linked to it, so nothing was connected. Link the Instagram account to a Page (in the Page's settings, Linked accounts), then log in again. If your role on the Page was given through a Business Manager, Facebook shows its Instagram account only to apps granted ads_read or ads_management, which igql does not ask for: ask for a role on the Page itself.",
          );
          return;
        }
        const now = (o.now ?? Date.now)();
        // A new record each, replacing a FACEBOOK one (an account that must log in again is
        // ACTIVE once more) or a REAUTH_REQUIRED one of Instagram Login, but never an ACTIVE
        // Instagram Login record: that one is kept as it is, and joins the session all the same
        // (the user proved they manage its Page). No `expiresAt`: the Page token does not
        // expire, and the refresh job leaves FACEBOOK accounts alone.
        const stored: string[] = [];
        const kept: { igId: string; loginKind: LoginKind }[] = [];
        for (const [igId, page] of linked) {
          const keep = await keptAs(igId, 'FACEBOOK');
          if (keep !== undefined) {
            kept.push({ igId, loginKind: keep });
            continue;
          }
          await o.tokens.put({
            igId,
            accessToken: page.accessToken,
            loginKind: 'FACEBOOK',
            pageId: page.pageId,
            status: 'ACTIVE',
            issuedAt: now,
          });
          stored.push(igId);
        }
        const tokens = await openSession(req, res, [...linked.keys()]);
        o.logger.info(
          {
            igIds: stored,
            pageIds: stored.map((igId) => linked.get(igId)?.pageId),
            kept,
            skipped,
          },
          'instagram accounts connected through Facebook Login',
        );
        const accounts = stored.map((igId) => ({
          id: globalId.account(igId),
          igId,
          username: linked.get(igId)?.username ?? null,
          pageId: linked.get(igId)?.pageId,
        }));
        const next = typeof state.next === 'string' ? state.next : null;
        if (wantsJson(req)) {
          json(res, 200, {
            ...tokens,
            accounts,
            kept: kept.map(({ igId, loginKind }) => ({
              id: globalId.account(igId),
              igId,
              username: linked.get(igId)?.username ?? null,
              loginKind,
            })),
            skipped,
          });
        } else if (next) {
          res.writeHead(303, { location: next });
          res.end();
        } else {
          const named = (igIds: readonly string[]) =>
            handles(igIds.map((igId) => ({ igId, username: linked.get(igId)?.username ?? null })));
          const sentences = [
            stored.length > 0
              ? `${named(stored)} ${stored.length === 1 ? 'is' : 'are'} connected to igql through Facebook.`
              : '',
            ...kept.map(
              ({ igId, loginKind }) =>
                `${named([igId])} is already connected to igql through ${LOGIN_NAMES[loginKind]}, and stays so.`,
            ),
            skippedPages.length > 0
              ? `Not connected: ${handles(skippedPages)}, whose Page does not let you manage messages.`
              : '',
            'You can close this window.',
          ];
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(page('Instagram connected', sentences.filter(Boolean).join(' ')));
        }
      } catch (error) {
        if (error instanceof FacebookPagingError) {
          o.logger.warn({ call, reason: error.message }, 'facebook login failed');
          refuse(
            502,
            'facebook_paging_failed',
            `Facebook's list of your Pages (${call}) repeated itself or went on past ${MAX_ACCOUNT_PAGES} pages, so nothing was connected. Try again later.`,
            { call },
          );
          return;
        }
        if (!(error instanceof InstagramError)) throw error;
        o.logger.warn(
          {
            call,
            kind: error.kind,
            code: error.code,
            subcode: error.subcode,
            traceId: error.traceId,
          },
          'facebook login failed',
        );
        const failure = facebookFailure(error, call, exchanged);
        refuse(failure.status, failure.error, failure.message, failure.details);
      }
    },

    'POST /auth/refresh': async (req, res) => {
      if (!csrfSafe(req, o.allowedOrigins)) {
        json(res, 403, { error: 'csrf', message: 'Send JSON, or the x-graphql-yoga-csrf header' });
        return;
      }
      const token = (await bodyField(req, 'refreshToken')) ?? cookies(req)[REFRESH_COOKIE];
      try {
        const payload = await verifyToken(o.secret, token ?? '', 'refresh');
        const sid = String(payload.sid ?? '');
        if (!sid || (await o.revocations.isRevoked(sid)))
          throw new SessionError('the session was revoked');
        const accounts = Array.isArray(payload.accounts) ? payload.accounts.map(String) : [];
        const accessToken = await signSession(
          o.secret,
          { sub: payload.sub ?? '', accounts, sid },
          ACCESS_TTL_S,
        );
        res.setHeader('set-cookie', cookie(req, SESSION_COOKIE, accessToken, ACCESS_TTL_S));
        json(res, 200, { accessToken, expiresIn: ACCESS_TTL_S });
      } catch (error) {
        if (!(error instanceof SessionError)) throw error;
        json(res, 401, {
          error: 'invalid_refresh_token',
          message: `Log in again: ${error.message}`,
        });
      }
    },

    'POST /auth/logout': async (req, res) => {
      if (!csrfSafe(req, o.allowedOrigins)) {
        json(res, 403, { error: 'csrf', message: 'Send JSON, or the x-graphql-yoga-csrf header' });
        return;
      }
      const token = bearerToken(req.headers.authorization) ?? cookies(req)[SESSION_COOKIE];
      // The access token may have expired (a browser drops its cookie after 15 minutes) while the
      // refresh token lives on: it names the session too, from the body or its cookie (Path=/auth).
      const refresh = (await bodyField(req, 'refreshToken')) ?? cookies(req)[REFRESH_COOKIE];
      const sids = new Set<string>();
      try {
        const session = await o.sessions.verify(token ?? '');
        if (session.sid) sids.add(session.sid);
      } catch (error) {
        if (!(error instanceof SessionError)) throw error;
      }
      try {
        const payload = await verifyToken(o.secret, refresh ?? '', 'refresh');
        if (typeof payload.sid === 'string' && payload.sid) sids.add(payload.sid);
      } catch (error) {
        if (!(error instanceof SessionError)) throw error;
      }
      for (const sid of sids) await o.revocations.revoke(sid, REFRESH_TTL_S * 1000);
      res.setHeader('set-cookie', [
        cookie(req, SESSION_COOKIE, '', 0),
        cookie(req, REFRESH_COOKIE, '', 0, '/auth'),
      ]);
      res.writeHead(204);
      res.end();
    },
  };
}

/** How a page names each configuration. */
const LOGIN_NAMES: Readonly<Record<LoginKind, string>> = {
  INSTAGRAM: 'Instagram Login',
  FACEBOOK: 'Facebook Login',
};

/** `@a, @b`: accounts by username, or IG_ID when Graph named none. */
const handles = (accounts: readonly { igId: string; username: string | null }[]) =>
  accounts.map((a) => `@${a.username ?? a.igId}`).join(', ');

/**
 * A failed Facebook Login call as the callback answers it, by step. The code exchange: a refused
 * code is the user's to retry (400); after it, a refusal is Facebook's (a permission, 403, or
 * another, 502), naming the call. Either exchange refusing the app itself (Graph's 101, "invalid
 * application", or code 1 "Error validating client secret.") is igql's misconfiguration (500);
 * throttling, time-outs and outages are worth a retry (502).
 */
function facebookFailure(
  error: InstagramError,
  call: string,
  exchanged: boolean,
): { status: number; error: string; message: string; details: Record<string, unknown> } {
  const appRefused =
    call === 'GET /oauth/access_token' &&
    (error.code === 101 || (error.code === 1 && /client secret/i.test(error.message)));
  if (appRefused) {
    return {
      status: 500,
      error: 'facebook_app_misconfigured',
      message:
        "Facebook refused igql's app credentials, so nobody can log in with Facebook: set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET to the App ID and App Secret of the Meta app (App Dashboard, App settings, Basic).",
      details: {},
    };
  }
  if (['transient', 'timeout', 'rate_limited', 'reduce_data'].includes(error.kind)) {
    return {
      status: 502,
      error: 'facebook_unavailable',
      message: 'Facebook could not be reached. Try again in a moment.',
      details: {},
    };
  }
  if (!exchanged) {
    return {
      status: 400,
      error: 'invalid_code',
      message:
        'Facebook refused the login (the code may be expired or already used). Start the login again.',
      details: {},
    };
  }
  if (error.kind === 'permission') {
    return {
      status: 403,
      error: 'facebook_permission',
      message: `Facebook refused ${call} for lack of a permission (Graph error ${error.code}), so nothing was connected. Log in again and allow every permission igql asks for.`,
      details: { call },
    };
  }
  return {
    status: 502,
    error: 'facebook_refused',
    message: `Facebook refused ${call} (Graph error ${error.code ?? 'without a code'}), so nothing was connected. Start the login again.`,
    details: { call },
  };
}

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json');
}

/** A cookie-carrying POST must force a CORS preflight (JSON or the CSRF header) from an allowed origin. */
function csrfSafe(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.includes(origin)) return false;
  const type = req.headers['content-type'] ?? '';
  return type.includes('application/json') || req.headers['x-graphql-yoga-csrf'] !== undefined;
}

async function bodyField(req: IncomingMessage, name: string): Promise<string | undefined> {
  try {
    const raw = await readBody(req, 16 * 1024);
    if (raw.length === 0) return undefined;
    const value = (JSON.parse(raw.toString()) as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, message: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${escapeHtml(title)}</title><body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
}
