import { get as httpGet } from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount } from '../../src/sandbox/store.ts';
import { type RunningApp, startApp } from '../helpers/app.ts';
import { APP_SECRET, type Gateway, startGateway } from '../helpers/gateway.ts';
import {
  asJson,
  expectState,
  type LoginBrowser,
  loginBrowser,
  loginPage,
  refusedCallback,
  sessionCookies,
  signedState,
  THIRTY_DAYS_S,
  UUID,
  usedCodeCallback,
} from '../helpers/login.ts';
import { freePort } from '../helpers/net.ts';
import { openSocket } from '../helpers/transports.ts';

const SCOPE =
  'instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments,instagram_business_content_publish,instagram_business_manage_insights';
const VIEWER = '{ viewer { igId username } }';

let gw: Gateway;
/** A browser logging in to igql with Instagram. */
let browser: LoginBrowser;
let accounts = 0;

beforeAll(async () => {
  gw = await startGateway(() => {}, { socketCheckMs: 100 });
  browser = loginBrowser(gw.base, 'instagram');
});
afterAll(() => gw?.stop());

/** A new Instagram account, unknown to igql, that consents at the next authorize. */
function freshAccount(): SimAccount {
  accounts += 1;
  const { account } = gw.sim.addAccount({ username: `login.test.${accounts}` });
  gw.sim.oauth.loginAs(account.igId);
  return account;
}

interface LoginBody {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly account: { id: string; igId: string; username: string };
}

/** A whole login of `account` as a JSON client; answers the tokens. */
function login(account: SimAccount, headers: Record<string, string> = {}) {
  gw.sim.oauth.loginAs(account.igId);
  return browser.login<LoginBody>('instagram', headers);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function graphql(headers: Record<string, string>, query: string) {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

const unauthenticated = (message: string) => ({
  status: 401,
  body: { errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] },
});

describe('Business Login through igql, against the simulated Instagram', () => {
  it('redirects to the authorize page with the app, the callback, the scopes and a signed state', async () => {
    const res = await fetch(`${gw.base}/auth/instagram/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${gw.sim.url}/oauth/authorize`);
    const state = location.searchParams.get('state') ?? '';
    expect([...location.searchParams]).toEqual([
      ['client_id', gw.sim.appId],
      ['redirect_uri', `${gw.base}/auth/instagram/callback`],
      ['response_type', 'code'],
      ['scope', SCOPE],
      ['state', state],
    ]);
    expectState(state, 'login');
  });

  it('exchanges the code, stores the token, and hands out a working session', async () => {
    const account = freshAccount();
    const authorizeUrl = await browser.start();
    const state = authorizeUrl.searchParams.get('state') ?? '';
    const back = await browser.consent(authorizeUrl);
    expect(`${back.origin}${back.pathname}`).toBe(`${gw.base}/auth/instagram/callback`);
    const code = back.searchParams.get('code') ?? '';
    expect(code).toMatch(/^AQ[\w-]{160}$/);
    expect([...back.searchParams]).toEqual([
      ['code', code],
      ['state', state],
    ]);

    const mark = gw.sim.requests.length;
    const res = await browser.callback(back, asJson);
    expect(res.status).toBe(200);
    const body = (await res.json()) as LoginBody;
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
      account: {
        id: globalId.account(account.igId),
        igId: account.igId,
        username: account.username,
      },
      kept: [],
    });
    expect(res.headers.getSetCookie()).toEqual(sessionCookies(body));
    expect(gw.upstream(mark)).toEqual([
      'POST /oauth/access_token 200',
      'GET /access_token 200',
      'GET /me 200',
    ]);
    expect(gw.sim.requests[mark]?.body).toEqual({
      client_id: gw.sim.appId,
      client_secret: APP_SECRET,
      grant_type: 'authorization_code',
      redirect_uri: `${gw.base}/auth/instagram/callback`,
      code,
    });

    expect(decodeProtectedHeader(body.accessToken)).toEqual({
      alg: 'HS256',
      typ: 'igql-access+jwt',
    });
    const access = decodeJwt(body.accessToken);
    expect(access).toEqual({
      sub: `ig:${account.igId}`,
      accounts: [account.igId],
      sid: expect.stringMatching(UUID),
      iss: 'igql',
      aud: 'igql',
      jti: expect.stringMatching(UUID),
      iat: expect.any(Number),
      exp: (access.iat ?? 0) + 900,
    });
    expect(decodeProtectedHeader(body.refreshToken).typ).toBe('igql-refresh+jwt');
    const refresh = decodeJwt(body.refreshToken);
    expect([
      refresh.sub,
      refresh.accounts,
      refresh.sid,
      (refresh.exp ?? 0) - (refresh.iat ?? 0),
    ]).toEqual([`ig:${account.igId}`, [account.igId], access.sid, THIRTY_DAYS_S]);

    const viewer = { data: { viewer: { igId: account.igId, username: account.username } } };
    expect(await graphql(bearer(body.accessToken), VIEWER)).toEqual({ status: 200, body: viewer });
    const cookie = { cookie: `igql_session=${body.accessToken}` };
    expect(await graphql(cookie, VIEWER)).toEqual({ status: 200, body: viewer });

    const get = `${gw.url}?query=${encodeURIComponent(VIEWER)}`;
    const refused = await fetch(get, { headers: cookie });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    const allowed = await fetch(get, { headers: { ...cookie, 'x-graphql-yoga-csrf': '1' } });
    expect([allowed.status, await allowed.json()]).toEqual([200, viewer]);
    const plain = await fetch(gw.url, {
      method: 'POST',
      headers: { ...cookie, 'content-type': 'text/plain' },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(plain.status).toBe(403);
    await plain.body?.cancel();
  });

  it('answers a browser with a page, and adds a second account to the session the cookie names', async () => {
    const first = freshAccount();
    const page = await browser.callback(await browser.consent(await browser.start()));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toBe(
      loginPage(
        'Instagram connected',
        `@${first.username} is connected to igql. You can close this window.`,
      ),
    );
    const [sessionCookie] = page.headers.getSetCookie();
    const firstToken = /^igql_session=([^;]+);/.exec(sessionCookie ?? '')?.[1] ?? '';
    const firstClaims = decodeJwt(firstToken);
    expect(firstClaims.accounts).toEqual([first.igId]);

    const second = freshAccount();
    const body = await login(second, { cookie: `igql_session=${firstToken}` });
    const claims = decodeJwt(body.accessToken);
    expect([claims.sub, claims.sid, claims.accounts]).toEqual([
      `ig:${first.igId}`,
      firstClaims.sid,
      // Appended: the session's default account stays the first one.
      [first.igId, second.igId],
    ]);
    expect(decodeJwt(body.refreshToken).accounts).toEqual([first.igId, second.igId]);
    expect(
      await graphql(bearer(body.accessToken), '{ viewer { igId } accounts { igId username } }'),
    ).toEqual({
      status: 200,
      body: {
        data: {
          viewer: { igId: first.igId },
          accounts: [
            { igId: first.igId, username: first.username },
            { igId: second.igId, username: second.username },
          ],
        },
      },
    });
  });
});

describe('login failures: a clear answer, never a stack trace or a token', () => {
  it('refuses a callback from a browser that did not start the login (login CSRF)', async () => {
    freshAccount();
    const back = await browser.consent(await browser.start());
    // The attacker stopped at the callback and sends the link to a victim: another browser.
    const res = await fetch(back, { redirect: 'manual', headers: asJson });
    expect([res.status, await res.json()]).toEqual([
      400,
      {
        error: 'invalid_state',
        message: 'This login was started in another browser. Start the login again.',
      },
    ]);
  });

  it('refuses a state used twice', async () => {
    freshAccount();
    const back = await browser.consent(await browser.start());
    expect((await browser.callback(back, asJson)).status).toBe(200);
    const mark = gw.sim.requests.length;
    const again = await browser.callback(back, asJson);
    expect(again.status).toBe(400);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(await again.json()).toEqual({
      error: 'invalid_state',
      message: 'This login link was already used. Start the login again.',
    });
    const page = await browser.callback(back);
    expect([page.status, page.headers.get('content-type'), await page.text()]).toEqual([
      400,
      'text/html; charset=utf-8',
      loginPage(
        'Instagram login failed',
        'This login link was already used. Start the login again.',
      ),
    ]);
    expect(gw.upstream(mark)).toEqual([]);
  });

  it('refuses a tampered, expired, missing or foreign state before calling Instagram', async () => {
    freshAccount();
    const back = await browser.consent(await browser.start());
    const state = back.searchParams.get('state') ?? '';
    const [header, payload, signature = ''] = state.split('.');
    const flipped = signature[10] === 'A' ? 'B' : 'A';
    const tamperedSignature = `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`;
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tamperedPayload = `${header}.${Buffer.from(JSON.stringify({ ...claims, next: 'https://evil.example/' })).toString('base64url')}.${signature}`;
    const secret = gw.config.sessionSecret;
    const expired = await signedState(secret, 'login', browser.loginCookie, -600);
    const accessAsState = await signToken(
      secret,
      'access',
      { sub: 'login', accounts: ['1'], sid: 's' },
      600,
    );
    // A state of Facebook Login, from this very browser: it works only at its own callback.
    const facebookState = await signedState(secret, 'facebook-login', browser.loginCookie);
    const mark = gw.sim.requests.length;
    for (const bad of [
      tamperedSignature,
      tamperedPayload,
      expired,
      accessAsState,
      facebookState,
      '',
    ]) {
      const url = new URL(back);
      url.searchParams.set('state', bad);
      const res = await browser.callback(url, asJson);
      expect([res.status, await res.json()]).toEqual([
        400,
        {
          error: 'invalid_state',
          message: 'This login link is invalid or expired. Start the login again.',
        },
      ]);
    }
    expect(gw.upstream(mark)).toEqual([]);
    // The genuine state still works: none of the refusals used it up.
    expect((await browser.callback(back, asJson)).status).toBe(200);
  });

  it('answers 403 when the user cancels at Instagram', async () => {
    freshAccount();
    const at = await browser.start();
    gw.sim.oauth.denyNext();
    const back = await browser.consent(at);
    expect(Object.fromEntries(back.searchParams)).toEqual({
      error: 'access_denied',
      error_reason: 'user_denied',
      error_description: 'The user denied your request',
      state: at.searchParams.get('state'),
    });
    expect(await refusedCallback(gw, browser, back)).toEqual({
      status: 403,
      body: {
        error: 'access_denied',
        message: 'Instagram access was not granted, so nothing was connected.',
      },
      upstream: [],
    });
  });

  it('answers 400 invalid_code when Instagram refuses a code already used', async () => {
    freshAccount();
    expect(await refusedCallback(gw, browser, await usedCodeCallback(browser))).toEqual({
      status: 400,
      body: {
        error: 'invalid_code',
        message:
          'Instagram refused the login (the code may be expired or already used). Start the login again.',
      },
      upstream: ['POST /oauth/access_token 400'],
    });
  });

  it('answers 502 when Instagram is down for the exchange, and the login can be retried', async () => {
    const account = freshAccount();
    const back = await browser.consent(await browser.start());
    gw.sim.inject({ endpoint: 'POST /oauth/access_token', kind: 'server-error' });
    expect(await refusedCallback(gw, browser, back)).toEqual({
      status: 502,
      body: {
        error: 'instagram_unavailable',
        message: 'Instagram could not be reached. Try again in a moment.',
      },
      upstream: ['POST /oauth/access_token 503'],
    });
    expect((await login(account)).account.igId).toBe(account.igId);
  });
});

describe('refresh and logout', () => {
  const refresh = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw.base}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, cookies: res.headers.getSetCookie(), body: await res.json() };
  };

  it('renews the access token from the refresh token, and from nothing else', async () => {
    const account = freshAccount();
    const tokens = await login(account);
    const renewed = await refresh({ refreshToken: tokens.refreshToken });
    const accessToken = (renewed.body as { accessToken: string }).accessToken;
    expect(renewed).toEqual({
      status: 200,
      cookies: [`igql_session=${accessToken}; Path=/; Max-Age=900; HttpOnly; SameSite=Lax`],
      body: { accessToken: expect.any(String), expiresIn: 900 },
    });
    expect(accessToken).not.toBe(tokens.accessToken);
    const claims = decodeJwt(accessToken);
    const original = decodeJwt(tokens.accessToken);
    expect([claims.sub, claims.accounts, claims.sid]).toEqual([
      original.sub,
      [account.igId],
      original.sid,
    ]);
    expect(await graphql(bearer(accessToken), VIEWER)).toEqual({
      status: 200,
      body: { data: { viewer: { igId: account.igId, username: account.username } } },
    });

    // The refresh cookie alone (a browser), as a JSON POST.
    const byCookie = await refresh({}, { cookie: `igql_refresh=${tokens.refreshToken}` });
    expect([
      byCookie.status,
      decodeJwt((byCookie.body as { accessToken: string }).accessToken).sid,
    ]).toEqual([200, original.sid]);

    expect(await graphql(bearer(tokens.refreshToken), VIEWER)).toEqual(
      unauthenticated('Invalid session: the session token is not valid'),
    );
    expect(await refresh({ refreshToken: tokens.accessToken })).toEqual({
      status: 401,
      cookies: [],
      body: {
        error: 'invalid_refresh_token',
        message: 'Log in again: the session token is not valid',
      },
    });
  });

  it('logs out everywhere: access and refresh tokens refused, the open websocket closed with 4403', async () => {
    const account = freshAccount();
    const tokens = await login(account);
    const renewed = (await refresh({ refreshToken: tokens.refreshToken })).body as {
      accessToken: string;
    };
    const socket = await openSocket(gw.url, {
      connectionParams: { authorization: `Bearer ${tokens.accessToken}` },
    });
    await socket.frame('connection_ack');

    const formPost = await fetch(`${gw.base}/auth/logout`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `igql_session=${tokens.accessToken}`,
      },
      body: 'logout=1',
    });
    expect([formPost.status, await formPost.json()]).toEqual([
      403,
      { error: 'csrf', message: 'Send JSON, or the x-graphql-yoga-csrf header' },
    ]);
    expect((await graphql(bearer(tokens.accessToken), VIEWER)).status).toBe(200);

    const res = await fetch(`${gw.base}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(tokens.accessToken) },
      body: '{}',
    });
    const loggedOutAt = Date.now();
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()).toEqual([
      'igql_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
      'igql_refresh=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax',
    ]);

    expect(await socket.closed).toEqual({ code: 4403, reason: 'Session revoked' });
    expect(Date.now() - loggedOutAt).toBeLessThan(1000);

    const gone = unauthenticated('Invalid session: the session was revoked');
    expect(await graphql(bearer(tokens.accessToken), VIEWER)).toEqual(gone);
    expect(await graphql(bearer(renewed.accessToken), VIEWER)).toEqual(gone);
    expect(await graphql({ cookie: `igql_session=${tokens.accessToken}` }, VIEWER)).toEqual(gone);
    expect(await refresh({ refreshToken: tokens.refreshToken })).toEqual({
      status: 401,
      cookies: [],
      body: { error: 'invalid_refresh_token', message: 'Log in again: the session was revoked' },
    });
    const reopened = await openSocket(gw.url, {
      connectionParams: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(await reopened.closed).toEqual({ code: 4403, reason: 'Forbidden' });
  });

  it('logs out a session whose access token expired, by its refresh token', async () => {
    const logout = (headers: Record<string, string>, body: unknown = {}) =>
      fetch(`${gw.base}/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const gone = {
      status: 401,
      cookies: [],
      body: { error: 'invalid_refresh_token', message: 'Log in again: the session was revoked' },
    };

    // A browser 15 minutes on: its session cookie is gone, the refresh cookie (Path=/auth) is sent.
    const browser = await login(freshAccount());
    expect((await logout({ cookie: `igql_refresh=${browser.refreshToken}` })).status).toBe(204);
    expect(await refresh({ refreshToken: browser.refreshToken })).toEqual(gone);
    expect(await graphql(bearer(browser.accessToken), VIEWER)).toEqual(
      unauthenticated('Invalid session: the session was revoked'),
    );

    // An API client with an expired access token and its refresh token.
    const client = await login(freshAccount());
    const claims = decodeJwt(client.accessToken);
    const expired = await signToken(
      gw.config.sessionSecret,
      'access',
      { sub: String(claims.sub), accounts: claims.accounts, sid: claims.sid },
      -60,
    );
    expect(await graphql(bearer(expired), VIEWER)).toEqual(
      unauthenticated('Invalid session: the session has expired'),
    );
    const res = await logout(bearer(expired), { refreshToken: client.refreshToken });
    expect(res.status).toBe(204);
    expect(await refresh({ refreshToken: client.refreshToken })).toEqual(gone);
  });
});

describe('Business Login in sandbox mode, from either loopback origin', () => {
  let igql: RunningApp;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    igql = await startApp({ PORT: String(port) });
  });
  afterAll(() => igql?.stop());

  for (const host of ['localhost', '127.0.0.1']) {
    it(`comes back to http://${host}, where the login cookie lives`, async () => {
      const origin = `http://${host}:${port}`;
      const at = loginBrowser(origin, 'instagram');
      const authorizeAt = await at.start();
      expect(authorizeAt.searchParams.get('redirect_uri')).toBe(
        `${origin}/auth/instagram/callback`,
      );
      const back = await at.consent(authorizeAt);
      expect(back.origin).toBe(origin);
      const res = await at.callback(back, asJson);
      expect(res.status).toBe(200);
      expect(((await res.json()) as LoginBody).account.username).toBe('northwind.shop');
    });
  }

  it('never takes a redirect URI from a Host that is not this loopback port', async () => {
    // fetch cannot set Host; node:http can, as any client outside a browser.
    const location = await new Promise<string>((resolve, reject) => {
      const req = httpGet(
        {
          host: '127.0.0.1',
          port,
          path: '/auth/instagram/login',
          headers: { host: 'evil.example' },
        },
        (res) => {
          res.resume();
          resolve(String(res.headers.location));
        },
      );
      req.on('error', reject);
    });
    const authorizeAt = new URL(location);
    expect(authorizeAt.searchParams.get('redirect_uri')).toBe(
      `http://localhost:${port}/auth/instagram/callback`,
    );
  });
});
