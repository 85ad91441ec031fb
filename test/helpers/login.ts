import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import type { Gateway } from './gateway.ts';

/**
 * A browser going through igql's two logins against the simulator (test/auth/login.test.ts for
 * Instagram Login, test/auth/facebook-login.test.ts for Facebook Login): the redirects it follows,
 * the `igql_login` cookie that binds a login to it, and what igql answers.
 */

/** The logins' routes: `/auth/instagram/*` (Business Login), `/auth/facebook/*` (Login for Business). */
export type Login = 'instagram' | 'facebook';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const THIRTY_DAYS_S = 30 * 24 * 3600;
/** The header of a client that wants the login's answer in JSON, not as a page. */
export const asJson = { accept: 'application/json' };

/** The page igql answers a browser's login with. */
export const loginPage = (title: string, message: string) =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>${title}</title><body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>${title}</h1><p>${message}</p></body></html>`;

export interface LoginBrowser {
  /** `igql_login=<nonce>`: the cookie of the last login started, which its callback needs. */
  readonly loginCookie: string;
  /** `GET /auth/<login>/login[?next=]`: the URL igql redirects to (Meta's authorize page or dialog). */
  start(login?: Login, next?: string): Promise<URL>;
  /** Meta's page (the simulator's), where the user consents: the callback it redirects back to. */
  consent(at: URL): Promise<URL>;
  /** The callback, from this browser: its login cookie, with `headers.cookie` if any. */
  callback(url: URL | string, headers?: Record<string, string>): Promise<Response>;
  /** A whole login as a JSON client: start, consent, callback; expects a 200 and answers its body. */
  login<T>(login?: Login, headers?: Record<string, string>): Promise<T>;
}

/** A browser that logs in to igql at `base`, by default with `login`. */
export function loginBrowser(base: string, login: Login): LoginBrowser {
  let loginCookie = '';
  const browser: LoginBrowser = {
    get loginCookie() {
      return loginCookie;
    },
    async start(kind = login, next) {
      const query = next === undefined ? '' : `?next=${encodeURIComponent(next)}`;
      const res = await fetch(`${base}/auth/${kind}/login${query}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      loginCookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      return new URL(res.headers.get('location') ?? '');
    },
    async consent(at) {
      const res = await fetch(at, { redirect: 'manual' });
      expect(res.status).toBe(302);
      return new URL(res.headers.get('location') ?? '');
    },
    callback: (url, headers = {}) =>
      fetch(url, {
        redirect: 'manual',
        headers: { ...headers, cookie: [loginCookie, headers.cookie].filter(Boolean).join('; ') },
      }),
    async login<T>(kind = login, headers: Record<string, string> = {}) {
      const back = await browser.consent(await browser.start(kind));
      const res = await browser.callback(back, { ...asJson, ...headers });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    },
  };
  return browser;
}

/** The cookies of a session igql hands out on loopback (no `Secure`): 15 minutes, 30 days. */
export const sessionCookies = (tokens: { accessToken: string; refreshToken: string }) => [
  `igql_session=${tokens.accessToken}; Path=/; Max-Age=900; HttpOnly; SameSite=Lax`,
  `igql_refresh=${tokens.refreshToken}; Path=/auth; Max-Age=${THIRTY_DAYS_S}; HttpOnly; SameSite=Lax`,
];

/**
 * A callback whose code was used already: a login through to its 200, then its callback URL
 * with the state of a new login of this browser (which the code, not the state, fails).
 */
export async function usedCodeCallback(browser: LoginBrowser): Promise<URL> {
  const used = await browser.consent(await browser.start());
  expect((await browser.callback(used, asJson)).status).toBe(200);
  const replay = new URL(used);
  replay.searchParams.set('state', (await browser.start()).searchParams.get('state') ?? '');
  return replay;
}

/**
 * Checks a login's `state` as igql signs it (an HS256 JWT of its own type, ten minutes, naming
 * the login by `sub`, the browser's nonce and `next`); answers its claims.
 */
export function expectState(state: string, sub: string): JWTPayload {
  expect(decodeProtectedHeader(state)).toEqual({ alg: 'HS256', typ: 'igql-state+jwt' });
  const claims = decodeJwt(state);
  expect(claims).toEqual({
    sub,
    nonce: expect.stringMatching(UUID),
    next: null,
    iss: 'igql',
    aud: 'igql',
    jti: expect.stringMatching(UUID),
    iat: expect.any(Number),
    exp: (claims.iat ?? 0) + 600,
  });
  return claims;
}

/**
 * A `state` signed with igql's own secret, as an attacker could not: of the login `sub`, for the
 * browser holding `loginCookie`, valid `ttlS` seconds (negative: expired).
 */
export const signedState = (secret: Uint8Array, sub: string, loginCookie: string, ttlS = 600) =>
  signToken(secret, 'state', { sub, nonce: loginCookie.split('=')[1], next: null }, ttlS);

/** What igql answered a callback it refused, and the Graph calls it made meanwhile. */
export interface Refusal {
  readonly status: number;
  readonly body: unknown;
  /** `GET /oauth/access_token 200`, … (`Gateway.upstream`). */
  readonly upstream: readonly string[];
}

/** The callback `back` as a JSON client, when igql refuses it: it sets no cookie. */
export async function refusedCallback(
  gw: Pick<Gateway, 'sim' | 'upstream'>,
  browser: LoginBrowser,
  back: URL,
): Promise<Refusal> {
  const mark = gw.sim.requests.length;
  const res = await browser.callback(back, asJson);
  expect(res.headers.getSetCookie()).toEqual([]);
  return { status: res.status, body: await res.json(), upstream: gw.upstream(mark) };
}
