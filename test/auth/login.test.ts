import { get as httpGet } from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount } from '../../src/sandbox/store.ts';
import { type RunningApp, startApp } from '../helpers/app.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/net.ts';
import { openSocket } from '../helpers/transports.ts';

const SCOPE =
  'instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments,instagram_business_content_publish,instagram_business_manage_insights';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VIEWER = '{ viewer { igId username } }';
const THIRTY_DAYS_S = 30 * 24 * 3600;

let gw: Gateway;
/** igql's base URL as the redirect URI names it. */
let base: string;
let accounts = 0;

beforeAll(async () => {
  gw = await startGateway(() => {}, { socketCheckMs: 100 });
  base = gw.url.replace(/\/graphql$/, '').replace('localhost', '127.0.0.1');
});
afterAll(() => gw?.stop());

/** A new Instagram account, unknown to igql, that consents at the next authorize. */
function freshAccount(): SimAccount {
  accounts += 1;
  const { account } = gw.sim.addAccount({ username: `login.test.${accounts}` });
  gw.sim.oauth.loginAs(account.igId);
  return account;
}

/** The `igql_login` cookie of the last login started: this test's browser. */
let loginCookie = '';

/** `GET /auth/instagram/login`: the authorize URL igql redirects to. */
async function startLogin(): Promise<URL> {
  const res = await fetch(`${base}/auth/instagram/login`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  loginCookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return new URL(res.headers.get('location') ?? '');
}

/** The simulator's authorize page: the callback URL it redirects back to. */
async function authorize(at: URL): Promise<URL> {
  const res = await fetch(at, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

/** The callback, from the browser that started the login (its `igql_login` cookie). */
const callback = (url: URL | string, headers: Record<string, string> = {}) =>
  fetch(url, {
    redirect: 'manual',
    headers: { ...headers, cookie: [loginCookie, headers.cookie].filter(Boolean).join('; ') },
  });

const asJson = { accept: 'application/json' };

interface LoginBody {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly account: { id: string; igId: string; username: string };
}

/** A whole login of `account` as a JSON client; answers the tokens. */
async function login(account: SimAccount, headers: Record<string, string> = {}) {
  gw.sim.oauth.loginAs(account.igId);
  const res = await callback(await authorize(await startLogin()), { ...asJson, ...headers });
  expect(res.status).toBe(200);
  return (await res.json()) as LoginBody;
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

const upstream = (mark: number) =>
  gw.sim.requests.slice(mark).map((r) => `${r.method} ${r.endpoint} ${r.status}`);

const unauthenticated = (message: string) => ({
  status: 401,
  body: { errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] },
});

describe('Business Login through igql, against the simulated Instagram', () => {
  it('redirects to the authorize page with the app, the callback, the scopes and a signed state', async () => {
    const res = await fetch(`${base}/auth/instagram/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${gw.sim.url}/oauth/authorize`);
    const state = location.searchParams.get('state') ?? '';
    expect([...location.searchParams]).toEqual([
      ['client_id', gw.sim.appId],
      ['redirect_uri', `${base}/auth/instagram/callback`],
      ['response_type', 'code'],
      ['scope', SCOPE],
      ['state', state],
    ]);
    expect(decodeProtectedHeader(state)).toEqual({ alg: 'HS256', typ: 'igql-state+jwt' });
    const claims = decodeJwt(state);
    expect(claims).toEqual({
      sub: 'login',
      nonce: expect.stringMatching(UUID),
      next: null,
      iss: 'igql',
      aud: 'igql',
      jti: expect.stringMatching(UUID),
      iat: expect.any(Number),
      exp: (claims.iat ?? 0) + 600,
    });
  });

  it('exchanges the code, stores the token, and hands out a working session', async () => {
    const account = freshAccount();
    const authorizeUrl = await startLogin();
    const state = authorizeUrl.searchParams.get('state') ?? '';
    const back = await authorize(authorizeUrl);
    expect(`${back.origin}${back.pathname}`).toBe(`${base}/auth/instagram/callback`);
    const code = back.searchParams.get('code') ?? '';
    expect(code).toMatch(/^AQ[\w-]{160}$/);
    expect([...back.searchParams]).toEqual([
      ['code', code],
      ['state', state],
    ]);

    const mark = gw.sim.requests.length;
    const res = await callback(back, asJson);
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
    expect(res.headers.getSetCookie()).toEqual([
      `igql_session=${body.accessToken}; Path=/; Max-Age=900; HttpOnly; SameSite=Lax`,
      `igql_refresh=${body.refreshToken}; Path=/auth; Max-Age=${THIRTY_DAYS_S}; HttpOnly; SameSite=Lax`,
    ]);
    expect(upstream(mark)).toEqual([
      'POST /oauth/access_token 200',
      'GET /access_token 200',
      'GET /me 200',
    ]);
    expect(gw.sim.requests[mark]?.body).toEqual({
      client_id: gw.sim.appId,
      client_secret: 'test-app-secret',
      grant_type: 'authorization_code',
      redirect_uri: `${base}/auth/instagram/callback`,
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
    const page = await callback(await authorize(await startLogin()));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toBe(
      `<!doctype html><html lang="en"><meta charset="utf-8"><title>Instagram connected</title><body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>Instagram connected</h1><p>@${first.username} is connected to igql. You can close this window.</p></body></html>`,
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
    const back = await authorize(await startLogin());
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
    const back = await authorize(await startLogin());
    expect((await callback(back, asJson)).status).toBe(200);
    const mark = gw.sim.requests.length;
    const again = await callback(back, asJson);
    expect(again.status).toBe(400);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(await again.json()).toEqual({
      error: 'invalid_state',
      message: 'This login link was already used. Start the login again.',
    });
    const page = await callback(back);
    expect([page.status, page.headers.get('content-type'), await page.text()]).toEqual([
      400,
      'text/html; charset=utf-8',
      '<!doctype html><html lang="en"><meta charset="utf-8"><title>Instagram login failed</title><body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>Instagram login failed</h1><p>This login link was already used. Start the login again.</p></body></html>',
    ]);
    expect(upstream(mark)).toEqual([]);
  });

  it('refuses a tampered, expired, missing or foreign state before calling Instagram', async () => {
    freshAccount();
    const back = await authorize(await startLogin());
    const state = back.searchParams.get('state') ?? '';
    const [header, payload, signature = ''] = state.split('.');
    const flipped = signature[10] === 'A' ? 'B' : 'A';
    const tamperedSignature = `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`;
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tamperedPayload = `${header}.${Buffer.from(JSON.stringify({ ...claims, next: 'https://evil.example/' })).toString('base64url')}.${signature}`;
    const expired = await signToken(
      gw.config.sessionSecret,
      'state',
      { sub: 'login', nonce: 'n', next: null },
      -600,
    );
    const accessAsState = await signToken(
      gw.config.sessionSecret,
      'access',
      { sub: 'login', accounts: ['1'], sid: 's' },
      600,
    );
    // A state of Facebook Login, from this very browser: it works only at its own callback.
    const facebookState = await signToken(
      gw.config.sessionSecret,
      'state',
      { sub: 'facebook-login', nonce: loginCookie.split('=')[1], next: null },
      600,
    );
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
      const res = await callback(url, asJson);
      expect([res.status, await res.json()]).toEqual([
        400,
        {
          error: 'invalid_state',
          message: 'This login link is invalid or expired. Start the login again.',
        },
      ]);
    }
    expect(upstream(mark)).toEqual([]);
    // The genuine state still works: none of the refusals used it up.
    expect((await callback(back, asJson)).status).toBe(200);
  });

  it('answers 403 when the user cancels at Instagram', async () => {
    freshAccount();
    const at = await startLogin();
    gw.sim.oauth.denyNext();
    const back = await authorize(at);
    expect(Object.fromEntries(back.searchParams)).toEqual({
      error: 'access_denied',
      error_reason: 'user_denied',
      error_description: 'The user denied your request',
      state: at.searchParams.get('state'),
    });
    const mark = gw.sim.requests.length;
    const res = await callback(back, asJson);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect([res.status, await res.json()]).toEqual([
      403,
      {
        error: 'access_denied',
        message: 'Instagram access was not granted, so nothing was connected.',
      },
    ]);
    expect(upstream(mark)).toEqual([]);
  });

  it('answers 400 invalid_code when Instagram refuses a code already used', async () => {
    freshAccount();
    const used = await authorize(await startLogin());
    expect((await callback(used, asJson)).status).toBe(200);
    const replay = new URL(used);
    replay.searchParams.set('state', (await startLogin()).searchParams.get('state') ?? '');
    const mark = gw.sim.requests.length;
    const res = await callback(replay, asJson);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect([res.status, await res.json()]).toEqual([
      400,
      {
        error: 'invalid_code',
        message:
          'Instagram refused the login (the code may be expired or already used). Start the login again.',
      },
    ]);
    expect(upstream(mark)).toEqual(['POST /oauth/access_token 400']);
  });

  it('answers 502 when Instagram is down for the exchange, and the login can be retried', async () => {
    const account = freshAccount();
    const back = await authorize(await startLogin());
    gw.sim.inject({ endpoint: 'POST /oauth/access_token', kind: 'server-error' });
    const mark = gw.sim.requests.length;
    const res = await callback(back, asJson);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect([res.status, await res.json()]).toEqual([
      502,
      {
        error: 'instagram_unavailable',
        message: 'Instagram could not be reached. Try again in a moment.',
      },
    ]);
    expect(upstream(mark)).toEqual(['POST /oauth/access_token 503']);
    expect((await login(account)).account.igId).toBe(account.igId);
  });
});

describe('refresh and logout', () => {
  const refresh = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/auth/refresh`, {
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

    const formPost = await fetch(`${base}/auth/logout`, {
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

    const res = await fetch(`${base}/auth/logout`, {
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
      fetch(`${base}/auth/logout`, {
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
      const started = await fetch(`${origin}/auth/instagram/login`, { redirect: 'manual' });
      const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const authorizeAt = new URL(started.headers.get('location') ?? '');
      expect(authorizeAt.searchParams.get('redirect_uri')).toBe(
        `${origin}/auth/instagram/callback`,
      );
      const consented = await fetch(authorizeAt, { redirect: 'manual' });
      const back = new URL(consented.headers.get('location') ?? '');
      expect(back.origin).toBe(origin);
      const res = await fetch(back, { redirect: 'manual', headers: { cookie, ...asJson } });
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
