import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { decryptToken, sealedKid } from '../../src/auth/crypto.ts';
import { RedisTokenStore } from '../../src/auth/redis-token-store.ts';
import { loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { createLogger } from '../../src/logger.ts';
import { GraphError } from '../../src/sandbox/errors.ts';
import type { FacebookUser } from '../../src/sandbox/facebook-oauth.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import {
  createClock,
  type SimAccount,
  type SimPage,
  type SimToken,
} from '../../src/sandbox/store.ts';
import { proofOf } from '../helpers/configurations.ts';
import { fixture } from '../helpers/fixtures.ts';
import { FACEBOOK_APP_SECRET, type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import {
  asJson,
  expectState,
  type LoginBrowser,
  loginBrowser,
  loginPage,
  type Refusal,
  refusedCallback,
  sessionCookies,
  signedState,
  UUID,
  usedCodeCallback,
} from '../helpers/login.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { shapeOf } from '../helpers/shape.ts';

const SCOPE =
  'instagram_basic,instagram_manage_messages,instagram_manage_comments,instagram_manage_insights,instagram_content_publish,pages_show_list,pages_read_engagement,pages_manage_metadata,pages_messaging';
const FACEBOOK_PERMISSIONS = SCOPE.split(',');
/** The code exchange and the long-lived exchange, each answered. */
const EXCHANGES = ['GET /oauth/access_token 200', 'GET /oauth/access_token 200'];
const UNAVAILABLE = {
  error: 'facebook_unavailable',
  message: 'Facebook could not be reached. Try again in a moment.',
};

const redis = useRedisServer();
let gw: Gateway;
/** A browser logging in to igql, with Facebook unless told otherwise. */
let browser: LoginBrowser;
let created = 0;

beforeAll(async () => {
  gw = await startGateway(() => {}, { env: { REDIS_URL: redis.server().url } });
  browser = loginBrowser(gw.base, 'facebook');
});
afterAll(() => gw?.stop());

/** An Instagram account linked to a new Facebook Page, unknown to igql. */
function linkedAccount(): { account: SimAccount; page: SimPage } {
  created += 1;
  const { account, page } = gw.sim.addFacebookAccount({ username: `fb.login.${created}` });
  return { account, page };
}

/** A Facebook user managing these Pages, who consents at the next dialog. */
function facebookUser(
  pages: readonly SimPage[],
  pagesWithoutInstagram: readonly string[] = [],
): FacebookUser {
  const user = gw.sim.facebookLogin.addFacebookUser({
    pageIds: pages.map((page) => page.id),
    pagesWithoutInstagram,
  });
  gw.sim.facebookLogin.loginAs(user.id);
  return user;
}

interface LoginBody {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly accounts: { id: string; igId: string; username: string; pageId: string }[];
  readonly kept: { id: string; igId: string; username: string; loginKind: string }[];
  readonly skipped: { pageId: string; igId: string; reason: string }[];
}

/** A whole Facebook login as a JSON client; answers the tokens. */
const login = (headers: Record<string, string> = {}) =>
  browser.login<LoginBody>('facebook', headers);

/** A whole Instagram Login of `account`, as a JSON client unless `headers` say otherwise. */
async function instagramLogin(
  account: SimAccount,
  headers: Record<string, string> = asJson,
): Promise<Response> {
  gw.sim.oauth.loginAs(account.igId);
  return browser.callback(await browser.consent(await browser.start('instagram')), headers);
}

/** The Page token the simulator gave igql last for this Page. */
const lastPageToken = (page: SimPage): SimToken | undefined =>
  [...gw.sim.store.tokens.values()].filter((token) => token.pageId === page.id).at(-1);

/** What igql's token store holds for an account stored by a Facebook login: its Page's last token. */
const storedLinked = ({ account, page }: { account: SimAccount; page: SimPage }) => ({
  igId: account.igId,
  accessToken: lastPageToken(page)?.token,
  loginKind: 'FACEBOOK',
  pageId: page.id,
  status: 'ACTIVE',
  issuedAt: T0,
});

/** The account's Redis hash, as stored. */
async function storedHash(igId: string): Promise<Record<string, string>> {
  const client = await redis.connect();
  return client.hGetAll(`${gw.app.sandbox?.redisPrefix}:account:${igId}`);
}

/** The Redis token store igql uses, opened with its keys. */
async function tokenStore(): Promise<RedisTokenStore> {
  return new RedisTokenStore({
    client: await redis.connect(),
    prefix: gw.app.sandbox?.redisPrefix ?? '',
    keys: gw.config.tokenEncryptionKeys,
    logger: createLogger('silent'),
  });
}

/**
 * A Facebook login of a new linked account that igql refuses: `before` runs once the login has
 * started, before the dialog (a decline, a fault: faults are cleared after). Nothing is stored.
 */
async function refusedLogin(before: () => void): Promise<Refusal> {
  const { account, page } = linkedAccount();
  facebookUser([page]);
  const at = await browser.start();
  before();
  try {
    const refusal = await refusedCallback(gw, browser, await browser.consent(at));
    expect(await storedHash(account.igId)).toEqual({});
    return refusal;
  } finally {
    gw.sim.clearFaults();
  }
}

const graphql = async (token: string, query: string) => {
  const { status, body } = await gw.query(token, query);
  return { status, body: body as unknown };
};

describe('Facebook Login for Business through igql, against the simulated Facebook', () => {
  it('redirects to the Login dialog with the app, the callback, the scopes and a signed state', async () => {
    const res = await fetch(`${gw.base}/auth/facebook/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(
      `${gw.sim.url}/facebook/v27.0/dialog/oauth`,
    );
    const state = location.searchParams.get('state') ?? '';
    expect([...location.searchParams]).toEqual([
      ['client_id', gw.sim.appId],
      ['redirect_uri', `${gw.base}/auth/facebook/callback`],
      ['state', state],
      ['response_type', 'code'],
      ['scope', SCOPE],
    ]);
    const claims = expectState(state, 'facebook-login');
    expect(res.headers.get('set-cookie')).toBe(
      `igql_login=${claims.nonce}; Path=/auth/facebook; Max-Age=600; HttpOnly; SameSite=Lax`,
    );
  });

  it('exchanges the code, stores the Page token encrypted, and hands out a working session', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    const dialogUrl = await browser.start();
    const state = dialogUrl.searchParams.get('state') ?? '';
    const back = await browser.consent(dialogUrl);
    expect(`${back.origin}${back.pathname}`).toBe(`${gw.base}/auth/facebook/callback`);
    const code = back.searchParams.get('code') ?? '';
    expect(code).toMatch(/^AQ[\w-]{200}$/);
    expect([...back.searchParams]).toEqual([
      ['code', code],
      ['state', state],
    ]);
    expect(back.hash).toBe('#_=_');

    const mark = gw.sim.requests.length;
    const res = await browser.callback(back, asJson);
    expect(res.status).toBe(200);
    const body = (await res.json()) as LoginBody;
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
      accounts: [
        {
          id: globalId.account(account.igId),
          igId: account.igId,
          username: account.username,
          pageId: page.id,
        },
      ],
      kept: [],
      skipped: [],
    });
    expect(res.headers.getSetCookie()).toEqual(sessionCookies(body));
    expect(gw.upstream(mark)).toEqual([
      'GET /oauth/access_token 200',
      'GET /oauth/access_token 200',
      'GET /me/permissions 200',
      'GET /me/accounts 200',
    ]);
    const [exchange, longLived, permissions, accounts] = gw.sim.requests.slice(mark);
    expect([exchange?.path, exchange?.query]).toEqual([
      '/facebook/v27.0/oauth/access_token',
      {
        client_id: gw.sim.appId,
        redirect_uri: `${gw.base}/auth/facebook/callback`,
        client_secret: FACEBOOK_APP_SECRET,
        code,
      },
    ]);
    expect(longLived?.query).toEqual({
      grant_type: 'fb_exchange_token',
      client_id: gw.sim.appId,
      client_secret: FACEBOOK_APP_SECRET,
      fb_exchange_token: expect.stringMatching(/^EAA/),
    });
    // The user token goes as the Bearer header, never in the URL; each call carries its
    // appsecret_proof (HMAC-SHA256 of the token with the Facebook app's secret).
    const userToken = gw.sim.facebookLogin.issuedUserTokens().at(-1) as string;
    const proof = proofOf('FACEBOOK', userToken).appsecret_proof;
    expect(permissions?.query).toEqual({ appsecret_proof: proof });
    expect(accounts?.query).toEqual({
      fields: 'id,name,access_token,tasks,instagram_business_account{id,username}',
      appsecret_proof: proof,
    });

    const claims = decodeJwt(body.accessToken);
    expect([claims.sub, claims.accounts, claims.sid]).toEqual([
      `ig:${account.igId}`,
      [account.igId],
      expect.stringMatching(UUID),
    ]);
    expect(decodeJwt(body.refreshToken).accounts).toEqual([account.igId]);

    // Stored encrypted: the hash holds the sealed Page token, never the token itself.
    const pageToken = lastPageToken(page);
    expect(pageToken?.permissions).toEqual(FACEBOOK_PERMISSIONS);
    expect(pageToken?.expiresAt).toBe(Number.MAX_SAFE_INTEGER);
    const hash = await storedHash(account.igId);
    expect({ ...hash, token: '…' }).toEqual({
      token: '…',
      status: 'ACTIVE',
      issuedAt: String(T0),
      loginKind: 'FACEBOOK',
      pageId: page.id,
    });
    expect(pageToken?.token).toMatch(/^EAA/);
    expect(hash.token).not.toContain(pageToken?.token ?? '-');
    expect(sealedKid(hash.token ?? '')).toBe('sandbox');
    expect(decryptToken(hash.token ?? '', gw.config.tokenEncryptionKeys)).toBe(pageToken?.token);

    expect(await graphql(body.accessToken, '{ viewer { igId loginKind status } }')).toEqual({
      status: 200,
      body: { data: { viewer: { igId: account.igId, loginKind: 'FACEBOOK', status: 'ACTIVE' } } },
    });
  });

  it('stores every Page with a linked Instagram account, in one session, and skips the others', async () => {
    const first = linkedAccount();
    const second = linkedAccount();
    facebookUser([first.page, second.page], ['Corner Bakery']);
    const body = await login();
    expect(body.accounts).toEqual([
      {
        id: globalId.account(first.account.igId),
        igId: first.account.igId,
        username: first.account.username,
        pageId: first.page.id,
      },
      {
        id: globalId.account(second.account.igId),
        igId: second.account.igId,
        username: second.account.username,
        pageId: second.page.id,
      },
    ]);
    expect(decodeJwt(body.accessToken).accounts).toEqual([first.account.igId, second.account.igId]);
    const store = await tokenStore();
    for (const linked of [first, second]) {
      expect(await store.get(linked.account.igId)).toEqual(storedLinked(linked));
    }
    expect(
      await graphql(body.accessToken, '{ viewer { igId } accounts { igId loginKind status } }'),
    ).toEqual({
      status: 200,
      body: {
        data: {
          viewer: { igId: first.account.igId },
          accounts: [
            { igId: first.account.igId, loginKind: 'FACEBOOK', status: 'ACTIVE' },
            { igId: second.account.igId, loginKind: 'FACEBOOK', status: 'ACTIVE' },
          ],
        },
      },
    });
  });

  it('reads every page of /me/accounts', async () => {
    const first = linkedAccount();
    const second = linkedAccount();
    facebookUser([first.page, second.page]);
    gw.sim.facebookLogin.accountsPageSize = 1;
    try {
      const back = await browser.consent(await browser.start());
      const mark = gw.sim.requests.length;
      const res = await browser.callback(back, asJson);
      const body = (await res.json()) as LoginBody;
      expect(body.accounts.map((a) => a.igId)).toEqual([first.account.igId, second.account.igId]);
      const reads = gw.sim.requests.slice(mark).filter((r) => r.endpoint === '/me/accounts');
      expect(reads.map((r) => [r.status, r.query.after ?? null])).toEqual([
        [200, null],
        [200, Buffer.from(`page:${first.page.id}`).toString('base64url')],
      ]);
    } finally {
      gw.sim.facebookLogin.accountsPageSize = 25;
    }
  });

  it('answers a browser with a page, and adds the accounts to the session the cookie names', async () => {
    const first = linkedAccount();
    facebookUser([first.page]);
    const page = await browser.callback(await browser.consent(await browser.start()));
    expect([page.status, page.headers.get('content-type'), await page.text()]).toEqual([
      200,
      'text/html; charset=utf-8',
      loginPage(
        'Instagram connected',
        `@${first.account.username} is connected to igql through Facebook. You can close this window.`,
      ),
    ]);
    const sessionToken = /^igql_session=([^;]+);/.exec(page.headers.getSetCookie()[0] ?? '')?.[1];
    const firstClaims = decodeJwt(sessionToken ?? '');

    const second = linkedAccount();
    const third = linkedAccount();
    facebookUser([second.page, third.page]);
    const res = await browser.callback(await browser.consent(await browser.start()), {
      cookie: `igql_session=${sessionToken}`,
    });
    expect(await res.text()).toBe(
      loginPage(
        'Instagram connected',
        `@${second.account.username}, @${third.account.username} are connected to igql through Facebook. You can close this window.`,
      ),
    );
    const claims = decodeJwt(
      /^igql_session=([^;]+);/.exec(res.headers.getSetCookie()[0] ?? '')?.[1] ?? '',
    );
    expect([claims.sub, claims.sid, claims.accounts]).toEqual([
      firstClaims.sub,
      firstClaims.sid,
      [first.account.igId, second.account.igId, third.account.igId],
    ]);
  });

  it('comes back to `next` when the login named an allowed one', async () => {
    const { page } = linkedAccount();
    facebookUser([page]);
    const next = `${gw.config.allowedOrigins[0]}/inbox`;
    const res = await browser.callback(
      await browser.consent(await browser.start('facebook', next)),
    );
    expect([res.status, res.headers.get('location')]).toEqual([303, next]);
  });
});

describe('Facebook Login failures: a clear answer, nothing stored, never a token', () => {
  it('refuses a callback from another browser, a state used twice, and a foreign or expired state', async () => {
    const { page } = linkedAccount();
    facebookUser([page]);
    const back = await browser.consent(await browser.start());
    const refused = (message: string) => [400, { error: 'invalid_state', message }];
    const other = await fetch(back, { redirect: 'manual', headers: asJson });
    expect([other.status, await other.json()]).toEqual(
      refused('This login was started in another browser. Start the login again.'),
    );

    const mark = gw.sim.requests.length;
    const secret = gw.config.sessionSecret;
    const expired = await signedState(secret, 'facebook-login', browser.loginCookie, -600);
    // A state of Instagram Login, from this very browser: it works only at its own callback.
    const instagramState = await signedState(secret, 'login', browser.loginCookie);
    for (const bad of [expired, instagramState, '']) {
      const url = new URL(back);
      url.searchParams.set('state', bad);
      const res = await browser.callback(url, asJson);
      expect([res.status, await res.json()]).toEqual(
        refused('This login link is invalid or expired. Start the login again.'),
      );
    }
    expect(gw.upstream(mark)).toEqual([]);

    expect((await browser.callback(back, asJson)).status).toBe(200);
    const again = await browser.callback(back, asJson);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect([again.status, await again.json()]).toEqual(
      refused('This login link was already used. Start the login again.'),
    );
    const html = await browser.callback(back);
    expect([html.status, await html.text()]).toEqual([
      400,
      loginPage(
        'Facebook login failed',
        'This login link was already used. Start the login again.',
      ),
    ]);
  });

  it('answers 403 when the user cancels at Facebook', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    const at = await browser.start();
    gw.sim.facebookLogin.denyNext();
    const back = await browser.consent(at);
    expect([...back.searchParams]).toEqual([
      ['error', 'access_denied'],
      ['error_code', '200'],
      ['error_description', 'Permissions error'],
      ['error_reason', 'user_denied'],
      ['state', at.searchParams.get('state')],
    ]);
    expect(await refusedCallback(gw, browser, back)).toEqual({
      status: 403,
      body: {
        error: 'access_denied',
        message: 'Facebook access was not granted, so nothing was connected.',
      },
      upstream: [],
    });
    expect(await storedHash(account.igId)).toEqual({});
  });

  it('refuses a login that declined a required permission, naming it, and stores nothing', async () => {
    const refused = await refusedLogin(() =>
      gw.sim.facebookLogin.declineNext('instagram_manage_messages', 'pages_manage_metadata'),
    );
    expect(refused).toEqual({
      status: 403,
      body: {
        error: 'permission_declined',
        message:
          'Facebook Login did not grant instagram_manage_messages, pages_manage_metadata, which igql needs, so nothing was connected. Log in again and allow them.',
        permissions: ['instagram_manage_messages', 'pages_manage_metadata'],
      },
      upstream: [...EXCHANGES, 'GET /me/permissions 200'],
    });
  });

  it('goes on without an optional permission the user declined: the Page token lacks it', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    gw.sim.facebookLogin.declineNext('instagram_content_publish');
    expect((await login()).accounts.map((a) => a.igId)).toEqual([account.igId]);
    expect(lastPageToken(page)?.permissions).toEqual(
      FACEBOOK_PERMISSIONS.filter((p) => p !== 'instagram_content_publish'),
    );
  });

  it('answers 422 when no Page the user manages has a linked Instagram account', async () => {
    for (const pagesWithoutInstagram of [['Corner Bakery'], []]) {
      facebookUser([], pagesWithoutInstagram);
      const back = await browser.consent(await browser.start());
      expect(await refusedCallback(gw, browser, back)).toEqual({
        status: 422,
        body: {
          error: 'no_linked_instagram_account',
          message:
            "None of the Facebook Pages you manage has an Instagram professional account linked to it, so nothing was connected. Link the Instagram account to a Page (in the Page's settings, Linked accounts), then log in again. If your role on the Page was given through a Business Manager, Facebook shows its Instagram account only to apps granted ads_read or ads_management, which igql does not ask for: ask for a role on the Page itself.",
        },
        upstream: [...EXCHANGES, 'GET /me/permissions 200', 'GET /me/accounts 200'],
      });
    }
  });

  it('answers 400 invalid_code when Facebook refuses a code already used', async () => {
    const { page } = linkedAccount();
    facebookUser([page]);
    expect(await refusedCallback(gw, browser, await usedCodeCallback(browser))).toEqual({
      status: 400,
      body: {
        error: 'invalid_code',
        message:
          'Facebook refused the login (the code may be expired or already used). Start the login again.',
      },
      upstream: ['GET /oauth/access_token 400'],
    });
  });

  it('answers 502 when Facebook is down for the exchange', async () => {
    const refused = await refusedLogin(() =>
      gw.sim.inject({ endpoint: 'GET /oauth/access_token', kind: 'server-error' }),
    );
    expect(refused).toEqual({
      status: 502,
      body: UNAVAILABLE,
      upstream: ['GET /oauth/access_token 503'],
    });
  });
});

describe('Page tasks: only Pages whose messages the user may handle are stored', () => {
  it('stores the Pages with MESSAGING, MODERATE or MANAGE, and names the others as skipped', async () => {
    const messaging = linkedAccount();
    const moderating = linkedAccount();
    const managing = linkedAccount();
    const analyst = linkedAccount();
    const noTask = linkedAccount();
    const user = gw.sim.facebookLogin.addFacebookUser({
      pageIds: [messaging, moderating, managing, analyst, noTask].map(({ page }) => page.id),
      tasks: {
        [messaging.page.id]: ['MESSAGING'],
        [moderating.page.id]: ['ANALYZE', 'MODERATE'],
        [analyst.page.id]: ['ANALYZE', 'ADVERTISE', 'CREATE_CONTENT'],
        [noTask.page.id]: [],
      },
    });
    gw.sim.facebookLogin.loginAs(user.id);
    const body = await login();
    expect(body.accounts.map((a) => [a.igId, a.pageId])).toEqual(
      [messaging, moderating, managing].map(({ account, page }) => [account.igId, page.id]),
    );
    expect(body.kept).toEqual([]);
    expect(body.skipped).toEqual([
      { pageId: analyst.page.id, igId: analyst.account.igId, reason: 'no_messaging_task' },
      { pageId: noTask.page.id, igId: noTask.account.igId, reason: 'no_messaging_task' },
    ]);
    expect(decodeJwt(body.accessToken).accounts).toEqual(
      [messaging, moderating, managing].map(({ account }) => account.igId),
    );
    expect(await storedHash(analyst.account.igId)).toEqual({});
    expect(await storedHash(noTask.account.igId)).toEqual({});
    expect((await storedHash(managing.account.igId)).loginKind).toBe('FACEBOOK');
  });

  it('refuses with no_messaging_task when no linked Page is left, naming the Pages, storing nothing', async () => {
    const analyst = linkedAccount();
    const user = gw.sim.facebookLogin.addFacebookUser({
      pageIds: [analyst.page.id],
      pagesWithoutInstagram: ['Corner Bakery'],
      tasks: { [analyst.page.id]: ['ANALYZE'] },
    });
    gw.sim.facebookLogin.loginAs(user.id);
    const back = await browser.consent(await browser.start());
    expect(await refusedCallback(gw, browser, back)).toEqual({
      status: 403,
      body: {
        error: 'no_messaging_task',
        message: `Your role on the Facebook Page linked to @${analyst.account.username} does not let you manage messages (Facebook's MESSAGING, MODERATE or MANAGE task), so nothing was connected. Ask an admin of the Page for full control or for access to messages, then log in again.`,
        skipped: [
          { pageId: analyst.page.id, igId: analyst.account.igId, reason: 'no_messaging_task' },
        ],
      },
      upstream: [...EXCHANGES, 'GET /me/permissions 200', 'GET /me/accounts 200'],
    });
    expect(await storedHash(analyst.account.igId)).toEqual({});
  });

  it('tells a browser what was connected, what was kept and what was skipped', async () => {
    const stored = linkedAccount();
    const kept = linkedAccount();
    const skipped = linkedAccount();
    expect((await instagramLogin(kept.account)).status).toBe(200);
    const user = gw.sim.facebookLogin.addFacebookUser({
      pageIds: [stored.page.id, kept.page.id, skipped.page.id],
      tasks: { [skipped.page.id]: ['ADVERTISE'] },
    });
    gw.sim.facebookLogin.loginAs(user.id);
    const page = await browser.callback(await browser.consent(await browser.start()));
    expect([page.status, await page.text()]).toEqual([
      200,
      loginPage(
        'Instagram connected',
        `@${stored.account.username} is connected to igql through Facebook. @${kept.account.username} is already connected to igql through Instagram Login, and stays so. Not connected: @${skipped.account.username}, whose Page does not let you manage messages. You can close this window.`.replaceAll(
          "'",
          '&#39;',
        ),
      ),
    ]);
  });
});

describe('an account ACTIVE through the other configuration is never switched silently', () => {
  it('a Facebook login keeps an ACTIVE Instagram Login account, adds it to the session, lists it as kept', async () => {
    const { account, page } = linkedAccount();
    expect((await instagramLogin(account)).status).toBe(200);
    const before = await storedHash(account.igId);
    expect(before.loginKind).toBeUndefined();
    facebookUser([page]);
    const body = await login();
    expect([body.accounts, body.kept, body.skipped]).toEqual([
      [],
      [
        {
          id: globalId.account(account.igId),
          igId: account.igId,
          username: account.username,
          loginKind: 'INSTAGRAM',
        },
      ],
      [],
    ]);
    expect(decodeJwt(body.accessToken).accounts).toEqual([account.igId]);
    expect(await storedHash(account.igId)).toEqual(before);
    expect(await graphql(body.accessToken, '{ viewer { igId loginKind status } }')).toEqual({
      status: 200,
      body: { data: { viewer: { igId: account.igId, loginKind: 'INSTAGRAM', status: 'ACTIVE' } } },
    });
  });

  it('a Facebook login replaces an Instagram Login account that must log in again', async () => {
    const { account, page } = linkedAccount();
    expect((await instagramLogin(account)).status).toBe(200);
    await (await tokenStore()).setStatus(account.igId, 'REAUTH_REQUIRED');
    facebookUser([page]);
    const body = await login();
    expect([body.accounts.map((a) => a.igId), body.kept]).toEqual([[account.igId], []]);
    expect(await (await tokenStore()).get(account.igId)).toEqual(storedLinked({ account, page }));
  });

  it('an Instagram login keeps an ACTIVE Facebook Login account, adds it to the session, lists it as kept', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    const first = await login();
    const before = await storedHash(account.igId);
    const mark = gw.sim.requests.length;
    const res = await instagramLogin(account);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      accessToken: string;
      account: unknown;
      kept: unknown;
    };
    expect([body.account, body.kept]).toEqual([
      { id: globalId.account(account.igId), igId: account.igId, username: account.username },
      [{ igId: account.igId, loginKind: 'FACEBOOK' }],
    ]);
    expect(gw.upstream(mark)).toEqual([
      'GET /oauth/authorize 302',
      'POST /oauth/access_token 200',
      'GET /access_token 200',
      'GET /me 200',
    ]);
    expect(decodeJwt(body.accessToken).accounts).toEqual([account.igId]);
    expect(await storedHash(account.igId)).toEqual(before);
    expect(await graphql(first.accessToken, '{ viewer { loginKind status } }')).toEqual({
      status: 200,
      body: { data: { viewer: { loginKind: 'FACEBOOK', status: 'ACTIVE' } } },
    });

    const html = await instagramLogin(account, {});
    expect(await html.text()).toBe(
      loginPage(
        'Instagram connected',
        `@${account.username} is already connected to igql through Facebook Login, and stays so. You can close this window.`,
      ),
    );
  });

  it('an Instagram login replaces a Facebook Login account that must log in again', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    await login();
    await (await tokenStore()).setStatus(account.igId, 'REAUTH_REQUIRED');
    const res = await instagramLogin(account);
    expect(((await res.json()) as { kept: unknown }).kept).toEqual([]);
    const stored = await (await tokenStore()).get(account.igId);
    expect([stored?.loginKind, stored?.pageId, stored?.status, stored?.accessToken]).toEqual([
      undefined,
      undefined,
      'ACTIVE',
      expect.stringMatching(/^IG/),
    ]);
  });
});

describe('Facebook Login failures, by step: each answered with its own code', () => {
  /** A login whose upstream `fault` is injected; answers status, body and Graph calls. */
  const failedLogin = (fault: Parameters<Simulator['inject']>[0]) =>
    refusedLogin(() => gw.sim.inject(fault));
  const graphError = (code: number, message: string, status = 400) =>
    new GraphError({ status, code, message, type: 'OAuthException' });

  it('a refused permission on /me/accounts or /me/permissions: 403 facebook_permission, naming the call', async () => {
    for (const [endpoint, code] of [
      ['GET /me/accounts', 200],
      ['GET /me/permissions', 10],
    ] as const) {
      const failed = await failedLogin({
        endpoint,
        kind: 'error',
        error: graphError(code, '(#200) Requires pages_show_list permission to manage the object'),
      });
      const call = endpoint;
      expect([failed.status, failed.body]).toEqual([
        403,
        {
          error: 'facebook_permission',
          message: `Facebook refused ${call} for lack of a permission (Graph error ${code}), so nothing was connected. Log in again and allow every permission igql asks for.`,
          call,
        },
      ]);
      expect(failed.upstream.at(-1)).toBe(`${endpoint} 400`);
    }
  });

  it('another refusal on /me/accounts or /me/permissions: 502 facebook_refused, naming the call', async () => {
    for (const endpoint of ['GET /me/accounts', 'GET /me/permissions']) {
      const failed = await failedLogin({
        endpoint,
        kind: 'error',
        error: graphError(100, 'Invalid parameter'),
      });
      expect([failed.status, failed.body]).toEqual([
        502,
        {
          error: 'facebook_refused',
          message: `Facebook refused ${endpoint} (Graph error 100), so nothing was connected. Start the login again.`,
          call: endpoint,
        },
      ]);
    }
    const accounts = await failedLogin({
      endpoint: 'GET /me/accounts',
      kind: 'error',
      error: graphError(100, 'Invalid parameter'),
    });
    expect(accounts.upstream).toEqual([
      ...EXCHANGES,
      'GET /me/permissions 200',
      'GET /me/accounts 400',
    ]);
  });

  it('Facebook down for /me/accounts or /me/permissions (after the retries): 502 facebook_unavailable', async () => {
    for (const endpoint of ['GET /me/accounts', 'GET /me/permissions']) {
      const failed = await failedLogin({ endpoint, kind: 'server-error', times: 3 });
      expect([failed.status, failed.body]).toEqual([502, UNAVAILABLE]);
      expect(failed.upstream.slice(-3)).toEqual([
        `${endpoint} 503`,
        `${endpoint} 503`,
        `${endpoint} 503`,
      ]);
    }
  });

  it('the app refused at the code exchange (wrong secret, invalid app): 500 facebook_app_misconfigured', async () => {
    const misconfigured = {
      error: 'facebook_app_misconfigured',
      message:
        "Facebook refused igql's app credentials, so nobody can log in with Facebook: set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET to the App ID and App Secret of the Meta app (App Dashboard, App settings, Basic).",
    };
    for (const error of [
      graphError(1, 'Error validating client secret.', 500),
      graphError(101, 'Error validating application. Invalid application ID.'),
    ]) {
      const failed = await failedLogin({
        endpoint: 'GET /oauth/access_token',
        kind: 'error',
        error,
      });
      expect([failed.status, failed.body, failed.upstream]).toEqual([
        500,
        misconfigured,
        [`GET /oauth/access_token ${error.status}`],
      ]);
    }
    // The long-lived exchange carries the secret too.
    const longLived = await failedLogin({
      endpoint: 'GET /oauth/access_token',
      after: 1,
      kind: 'error',
      error: graphError(1, 'Error validating client secret.', 500),
    });
    expect([longLived.status, longLived.body]).toEqual([500, misconfigured]);
  });

  it('an unknown error at the code exchange is worth a retry; a refusal of the long-lived one is Facebook’s', async () => {
    const unknown = await failedLogin({
      endpoint: 'GET /oauth/access_token',
      kind: 'error',
      error: graphError(1, 'An unknown error has occurred.', 500),
    });
    expect([unknown.status, unknown.body]).toEqual([502, UNAVAILABLE]);
    const longLived = await failedLogin({
      endpoint: 'GET /oauth/access_token',
      after: 1,
      kind: 'error',
      error: graphError(100, 'Invalid parameter'),
    });
    expect([longLived.status, longLived.body, longLived.upstream]).toEqual([
      502,
      {
        error: 'facebook_refused',
        message:
          'Facebook refused GET /oauth/access_token (Graph error 100), so nothing was connected. Start the login again.',
        call: 'GET /oauth/access_token',
      },
      ['GET /oauth/access_token 200', 'GET /oauth/access_token 400'],
    ]);
  });

  it('refuses a login that did not grant pages_read_engagement (GET /<IG_USER_ID> needs it)', async () => {
    const refused = await refusedLogin(() =>
      gw.sim.facebookLogin.declineNext('pages_read_engagement'),
    );
    expect([refused.status, refused.body]).toEqual([
      403,
      {
        error: 'permission_declined',
        message:
          'Facebook Login did not grant pages_read_engagement, which igql needs, so nothing was connected. Log in again and allow it.',
        permissions: ['pages_read_engagement'],
      },
    ]);
  });
});

describe('/me/accounts paging that does not end', () => {
  /** A login whose `/me/accounts` pages are linked by `cursor`: its answer and the cursors read. */
  const paged = async (cursor: (after: string | null) => string) => {
    const mark = gw.sim.requests.length;
    try {
      const { status, body } = await refusedLogin(() => {
        gw.sim.facebookLogin.accountsCursor = cursor;
      });
      const reads = gw.sim.requests.slice(mark).filter((r) => r.endpoint === '/me/accounts');
      return { status, body, afters: reads.map((r) => r.query.after ?? null) };
    } finally {
      gw.sim.facebookLogin.accountsCursor = undefined;
    }
  };
  const failed = {
    error: 'facebook_paging_failed',
    message:
      "Facebook's list of your Pages (GET /me/accounts) repeated itself or went on past 100 pages, so nothing was connected. Try again later.",
    call: 'GET /me/accounts',
  };

  it('stops at a cursor named before (A → B → A)', async () => {
    const loop = await paged((after) => (after === 'A' ? 'B' : 'A'));
    expect([loop.status, loop.body, loop.afters]).toEqual([502, failed, [null, 'A', 'B']]);
  });

  it('stops after 100 pages of new cursors', async () => {
    let n = 0;
    const endless = await paged(() => `cursor-${++n}`);
    expect([endless.status, endless.body, endless.afters.length]).toEqual([502, failed, 100]);
    expect(endless.afters.slice(0, 3)).toEqual([null, 'cursor-1', 'cursor-2']);
  });
});

describe('logs', () => {
  it('never hold a Page token, a user token, the code or the app secret', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const sim = new Simulator({
      appSecret: 'log-test-app-secret',
      facebookAppSecret: 'log-test-facebook-secret',
      rateLimits: false,
      clock: createClock(T0, true),
    });
    await sim.start();
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'trace',
      INSTAGRAM_APP_SECRET: 'log-test-app-secret',
      FACEBOOK_APP_SECRET: 'log-test-facebook-secret',
    });
    const app = createApp({
      config,
      sandbox: await startSandbox({ config, simulator: sim, logger }),
      logger,
      now: () => sim.clock.now(),
      drainTimeoutMs: 1000,
    });
    try {
      const at = (await app.start()).replace(/\/graphql$/, '').replace('localhost', '127.0.0.1');
      const linked = sim.addFacebookAccount({ username: 'logged.shop' });
      const skipped = sim.addFacebookAccount({ username: 'logged.skipped' });
      const user = sim.facebookLogin.addFacebookUser({
        pageIds: [linked.page.id, skipped.page.id],
        tasks: { [skipped.page.id]: ['ANALYZE'] },
      });
      sim.facebookLogin.loginAs(user.id);
      const codes: string[] = [];
      const logsIn = loginBrowser(at, 'facebook');
      const once = async () => {
        const back = await logsIn.consent(await logsIn.start());
        codes.push(back.searchParams.get('code') ?? '');
        return logsIn.callback(back, asJson);
      };
      expect((await once()).status).toBe(200);
      sim.inject({
        endpoint: 'GET /me/accounts',
        kind: 'error',
        error: new GraphError({
          status: 400,
          code: 100,
          message: 'Invalid parameter',
          type: 'OAuthException',
        }),
      });
      expect((await once()).status).toBe(502);

      const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages).toContain('instagram accounts connected through Facebook Login');
      expect(messages).toContain('facebook login failed');
      const pageTokens = [...sim.store.tokens.values()]
        .filter((token) => token.pageId !== undefined)
        .map((token) => token.token);
      const userTokens = sim.facebookLogin.issuedUserTokens();
      expect([pageTokens.length, userTokens.length, codes.length]).toEqual([4, 4, 2]);
      const dump = lines.join('\n');
      expect(dump).not.toContain('log-test-app-secret');
      expect(dump).not.toContain('log-test-facebook-secret');
      for (const secret of [...pageTokens, ...userTokens, ...codes]) {
        for (let i = 0; i + 8 <= secret.length; i += 1) {
          expect(dump).not.toContain(secret.slice(i, i + 8));
        }
      }
    } finally {
      await app.stop();
      await sim.stop();
    }
  });
});

describe('Page tokens: no refresh, and a new login after a refusal', () => {
  it('marks the account REAUTH_REQUIRED on a 190, and a new Facebook login makes it ACTIVE again', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    const first = await login();
    const refused = lastPageToken(page);
    if (!refused) throw new Error('no Page token issued');
    // The Page token is invalidated at Facebook (a Page admin changed their password).
    refused.revoked = true;

    const read = await graphql(first.accessToken, '{ viewer { username } }');
    const errors = (read.body as { errors?: { path: unknown; extensions: { code: unknown } }[] })
      .errors;
    expect(errors?.map((e) => [e.path, e.extensions.code])).toEqual([
      [['viewer', 'username'], 'REAUTH_REQUIRED'],
    ]);
    expect(await graphql(first.accessToken, '{ viewer { loginKind status } }')).toEqual({
      status: 200,
      body: { data: { viewer: { loginKind: 'FACEBOOK', status: 'REAUTH_REQUIRED' } } },
    });

    const again = await login({ cookie: `igql_session=${first.accessToken}` });
    expect(again.accounts.map((a) => a.igId)).toEqual([account.igId]);
    const renewed = lastPageToken(page);
    expect(renewed?.token).not.toBe(refused.token);
    expect(await (await tokenStore()).get(account.igId)).toEqual(storedLinked({ account, page }));
    expect(await graphql(again.accessToken, '{ viewer { status } }')).toEqual({
      status: 200,
      body: { data: { viewer: { status: 'ACTIVE' } } },
    });
  });

  it('leaves Page tokens out of the refresh job, even one stored with an expiry', async () => {
    const { account, page } = linkedAccount();
    facebookUser([page]);
    await login();
    const store = await tokenStore();
    // As if stored from a short-lived user token: past its end, and old enough to refresh.
    const dated = linkedAccount();
    await store.put({
      igId: dated.account.igId,
      accessToken: gw.sim.store.issuePageToken(dated.page.id).token,
      loginKind: 'FACEBOOK',
      pageId: dated.page.id,
      status: 'ACTIVE',
      issuedAt: T0 - 59 * 24 * 3_600_000,
      expiresAt: T0 - 1,
    });
    const mark = gw.sim.requests.length;
    expect(await gw.app.refresher.refreshDue()).toEqual({ refreshed: [], failed: [] });
    expect(gw.upstream(mark)).toEqual([]);
    expect((await store.get(account.igId))?.status).toBe('ACTIVE');
    expect((await store.get(dated.account.igId))?.status).toBe('ACTIVE');
  });
});

describe('Facebook Login settings', () => {
  const production = {
    INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'verify-token',
    TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
    SESSION_SECRET: 'a-session-secret-of-at-least-32-bytes!!',
  };

  it('answers 404 with what to set when Facebook Login is not configured', async () => {
    const igOnly = await startGateway(() => {}, {
      env: { ...production, INSTAGRAM_APP_ID: '1000000000000001' },
    });
    try {
      const message =
        'Facebook Login is not configured: set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET to the Meta app of the Instagram API with Facebook Login.';
      for (const path of ['/auth/facebook/login', '/auth/facebook/callback?code=c&state=s']) {
        const res = await fetch(`${igOnly.base}${path}`, { redirect: 'manual', headers: asJson });
        expect([res.status, await res.json()]).toEqual([
          404,
          { error: 'facebook_login_not_configured', message },
        ]);
      }
      expect(igOnly.sim.requests).toEqual([]);
    } finally {
      await igOnly.stop();
    }
  });

  it('answers 404 at Instagram Login when only Facebook Login is configured', async () => {
    const fbOnly = await startGateway(() => {}, {
      env: { ...production, FACEBOOK_APP_ID: '1000000000000001' },
    });
    try {
      const message =
        'Business Login for Instagram is not configured: set INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET to the Instagram app of the Instagram API with Instagram Login.';
      for (const path of ['/auth/instagram/login', '/auth/instagram/callback?code=c&state=s']) {
        const res = await fetch(`${fbOnly.base}${path}`, { redirect: 'manual', headers: asJson });
        expect([res.status, await res.json()]).toEqual([
          404,
          { error: 'instagram_login_not_configured', message },
        ]);
      }
      expect(fbOnly.sim.requests).toEqual([]);
    } finally {
      await fbOnly.stop();
    }
  });

  it('sends FACEBOOK_LOGIN_CONFIG_ID in place of the scopes, with the app of FACEBOOK_APP_ID', async () => {
    let linked: { account: SimAccount; page: SimPage } | undefined;
    const configured = await startGateway(
      (sim) => {
        sim.facebookLogin.addConfiguration('7720001112223334');
        linked = sim.addFacebookAccount({ username: 'configured.shop' });
        sim.facebookLogin.loginAs(
          sim.facebookLogin.addFacebookUser({ pageIds: [linked.page.id] }).id,
        );
      },
      {
        env: {
          ...production,
          // With the gateway's FACEBOOK_APP_SECRET.
          FACEBOOK_APP_ID: '1000000000000001',
          FACEBOOK_LOGIN_CONFIG_ID: '7720001112223334',
        },
      },
    );
    try {
      const logsIn = loginBrowser(configured.base, 'facebook');
      const dialogUrl = await logsIn.start();
      expect([...dialogUrl.searchParams].map(([name]) => name)).toEqual([
        'client_id',
        'redirect_uri',
        'state',
        'response_type',
        'config_id',
      ]);
      expect(dialogUrl.searchParams.get('config_id')).toBe('7720001112223334');
      const res = await logsIn.callback(await logsIn.consent(dialogUrl), asJson);
      expect(res.status).toBe(200);
      const body = (await res.json()) as LoginBody;
      expect(body.accounts.map((a) => [a.igId, a.pageId])).toEqual([
        [linked?.account.igId, linked?.page.id],
      ]);
    } finally {
      await configured.stop();
    }
  });
});

describe('the simulated Facebook Login: documented shapes and refusals', () => {
  const REDIRECT = 'https://app.example/auth/facebook/callback';
  let sim: Simulator;
  let fb: string;
  beforeAll(async () => {
    sim = new Simulator({
      appSecret: 'sim-secret',
      facebookAppSecret: 'sim-facebook-secret',
      rateLimits: false,
      clock: createClock(T0, true),
      redirectUris: [REDIRECT],
    });
    await sim.start();
    fb = `${sim.url}/facebook/v27.0`;
  });
  afterAll(() => sim?.stop());

  const dialogAt = (params: Record<string, string>) =>
    fetch(`${fb}/dialog/oauth?${new URLSearchParams(params)}`, { redirect: 'manual' });
  const valid = { client_id: '1000000000000001', redirect_uri: REDIRECT, state: 's', scope: SCOPE };
  const get = async (path: string, token?: string) => {
    const res = await fetch(`${fb}/${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const graphError = (status: number, message: string, code: number, subcode?: number) => ({
    status,
    body: {
      error: {
        message,
        type: 'OAuthException',
        code,
        ...(subcode === undefined ? {} : { error_subcode: subcode }),
        fbtrace_id: expect.stringMatching(/^A[\w-]{22}$/),
      },
    },
  });
  /** A code of the dialog, for a user managing `pages`. */
  async function codeFor(pages: readonly SimPage[], decline: string[] = []): Promise<string> {
    sim.facebookLogin.loginAs(
      sim.facebookLogin.addFacebookUser({ pageIds: pages.map((p) => p.id) }).id,
    );
    sim.facebookLogin.declineNext(...decline);
    const res = await dialogAt(valid);
    return new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
  }
  const exchange = (code: string, overrides: Record<string, string> = {}) =>
    get(
      `oauth/access_token?${new URLSearchParams({ client_id: '1000000000000001', redirect_uri: REDIRECT, client_secret: 'sim-facebook-secret', code, ...overrides })}`,
    );
  const extend = (token: string) =>
    get(
      `oauth/access_token?${new URLSearchParams({ grant_type: 'fb_exchange_token', client_id: '1000000000000001', client_secret: 'sim-facebook-secret', fb_exchange_token: token })}`,
    );

  it('shows an error page, not a redirect, for a wrong app, redirect URI, scope or configuration', async () => {
    const cases: [Record<string, string>, string][] = [
      [
        { ...valid, client_id: '999' },
        'Invalid App ID: The provided app ID does not look like a valid app ID.',
      ],
      [
        { ...valid, redirect_uri: 'https://evil.example/cb' },
        'URL Blocked: This redirect failed because the redirect URI is not whitelisted in the app&#39;s Client OAuth Settings.',
      ],
      [{ ...valid, scope: 'instagram_basic,manage_pages' }, 'Invalid Scopes: manage_pages.'],
      [{ ...valid, config_id: '404' }, 'Invalid configuration ID: 404'],
      [{ ...valid, response_type: 'token' }, 'Unsupported response_type: token'],
    ];
    for (const [params, text] of cases) {
      const res = await dialogAt(params);
      expect([res.status, res.headers.get('content-type')]).toEqual([
        400,
        'text/html; charset=utf-8',
      ]);
      expect(await res.text()).toContain(text);
    }
  });

  it('exchanges a code once, for a short-lived token, then for a 60-day one', async () => {
    const { page } = sim.addFacebookAccount({ username: 'sim.shop' });
    const code = await codeFor([page]);
    const short = await exchange(code);
    expect(short).toEqual({
      status: 200,
      body: { access_token: expect.stringMatching(/^EAA/), token_type: 'bearer', expires_in: 3600 },
    });
    expect(await exchange(code)).toEqual(
      graphError(400, 'This authorization code has been used.', 100, 36009),
    );
    const long = await extend(String(short.body.access_token));
    expect(long).toEqual({
      status: 200,
      body: {
        access_token: expect.stringMatching(/^EAA/),
        token_type: 'bearer',
        expires_in: 60 * 24 * 3600,
      },
    });
    const token = String(long.body.access_token);
    const user = await get('me', token);
    expect(user).toEqual({
      status: 200,
      body: { id: expect.stringMatching(/^\d{16}$/), name: 'Simulated Facebook User' },
    });
    expect(await get('me/permissions', token)).toEqual({
      status: 200,
      body: {
        data: ['public_profile', ...FACEBOOK_PERMISSIONS].map((permission) => ({
          permission,
          status: 'granted',
        })),
      },
    });
    const accounts = await get('me/accounts', token);
    const pageToken = (accounts.body.data as { access_token: string }[])[0]?.access_token;
    expect(accounts).toEqual({
      status: 200,
      body: {
        data: [
          {
            access_token: pageToken,
            category: 'Shopping & retail',
            category_list: [{ id: expect.stringMatching(/^\d{15}$/), name: 'Shopping & retail' }],
            name: page.name,
            id: page.id,
            tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
          },
        ],
        paging: {
          cursors: {
            before: Buffer.from(`page:${page.id}`).toString('base64url'),
            after: Buffer.from(`page:${page.id}`).toString('base64url'),
          },
        },
      },
    });
    // As a real answer is (test/fixtures/instagram/api-me-accounts-real.json): its shape, and its
    // keys in its order.
    const real = fixture('api-me-accounts-real.json') as { data: Record<string, unknown>[] };
    expect(shapeOf(accounts.body)).toEqual(shapeOf(real));
    expect(Object.keys((accounts.body.data as object[])[0] ?? {})).toEqual(
      Object.keys(real.data[0] ?? {}),
    );
    // The same Page token on every read; from a long-lived user token, it never expires.
    expect((await get('me/accounts', token)).body.data).toEqual(accounts.body.data);
    expect(sim.store.tokens.get(pageToken ?? '')?.expiresAt).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses a wrong app, a wrong secret, a foreign redirect_uri, an unknown or expired code', async () => {
    const { page } = sim.addFacebookAccount({ username: 'sim.refusals' });
    const code = await codeFor([page]);
    expect(await exchange(code, { client_id: '42' })).toEqual(
      graphError(400, 'Error validating application. Invalid application ID.', 101),
    );
    // The Instagram app's secret is not the Facebook app's.
    for (const client_secret of ['wrong', 'sim-secret']) {
      expect(await exchange(code, { client_secret })).toEqual(
        graphError(500, 'Error validating client secret.', 1),
      );
    }
    expect(await exchange(code, { redirect_uri: `${REDIRECT}/` })).toEqual(
      graphError(
        400,
        'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
        100,
        36008,
      ),
    );
    expect(await exchange('AQnot-a-code')).toEqual(
      graphError(400, 'Invalid verification code format.', 100),
    );
    // None of the refusals used the code up; ten minutes on, it has expired.
    sim.clock.advance(10 * 60_000 + 1);
    expect(await exchange(code)).toEqual(
      graphError(400, 'This authorization code has expired.', 100, 36007),
    );
  });

  it('ties Page tokens to the user token: its grants, and a short-lived one’s expiry', async () => {
    const { page } = sim.addFacebookAccount({ username: 'sim.short' });
    const short = await exchange(await codeFor([page], ['instagram_manage_insights']));
    const token = String(short.body.access_token);
    const accounts = await get(
      'me/accounts?fields=id,instagram_business_account{id,username}',
      token,
    );
    const data = accounts.body.data as { id: string; instagram_business_account: unknown }[];
    expect(data).toEqual([
      { id: page.id, instagram_business_account: { id: page.igId, username: 'sim.short' } },
    ]);
    const withToken = await get('me/accounts?fields=access_token', token);
    const pageToken = sim.store.tokens.get(
      (withToken.body.data as { access_token: string }[])[0]?.access_token ?? '',
    );
    expect([pageToken?.pageId, pageToken?.igId, pageToken?.kind, pageToken?.expiresAt]).toEqual([
      page.id,
      page.igId,
      'page',
      sim.clock.now() + 3_600_000,
    ]);
    expect(pageToken?.permissions).toEqual(
      FACEBOOK_PERMISSIONS.filter((p) => p !== 'instagram_manage_insights'),
    );
    expect((await get('me/permissions', token)).body.data).toContainEqual({
      permission: 'instagram_manage_insights',
      status: 'declined',
    });
    expect(await get('me/accounts?fields=id,likes', token)).toEqual({
      status: 400,
      body: {
        error: {
          message: '(#100) Tried accessing nonexisting field (likes) on node type (Page)',
          type: 'OAuthException',
          code: 100,
          fbtrace_id: expect.any(String),
        },
      },
    });
    // An hour on, the short-lived token can be neither used nor exchanged.
    sim.clock.advance(3_600_000);
    expect((await get('me/accounts', token)).body).toMatchObject({
      error: { code: 190, error_subcode: 463 },
    });
    expect((await extend(token)).body).toMatchObject({ error: { code: 190, error_subcode: 463 } });
    expect((await extend('EAAnot-a-token')).body).toMatchObject({
      error: { code: 190, message: 'Invalid OAuth access token - Cannot parse access token' },
    });
  });

  it('answers each Page’s tasks in /me/accounts: the user’s, or the full-control default', async () => {
    const managed = sim.addFacebookAccount({ username: 'sim.tasks.managed' });
    const analysed = sim.addFacebookAccount({ username: 'sim.tasks.analysed' });
    sim.facebookLogin.loginAs(
      sim.facebookLogin.addFacebookUser({
        pageIds: [managed.page.id, analysed.page.id],
        tasks: { [analysed.page.id]: ['ANALYZE', 'ADVERTISE'] },
      }).id,
    );
    const res = await dialogAt(valid);
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const token = String((await exchange(code)).body.access_token);
    expect((await get('me/accounts?fields=id,tasks', token)).body.data).toEqual([
      {
        id: managed.page.id,
        tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
      },
      { id: analysed.page.id, tasks: ['ANALYZE', 'ADVERTISE'] },
    ]);
    expect(() => sim.facebookLogin.addFacebookUser({ tasks: { '404': ['MANAGE'] } })).toThrow(
      'no Page 404',
    );
  });

  it('ends a configuration’s dialog as a cancel when the user would untick a permission', async () => {
    const { page } = sim.addFacebookAccount({ username: 'sim.config' });
    sim.facebookLogin.addConfiguration('5550001112223334');
    sim.facebookLogin.loginAs(sim.facebookLogin.addFacebookUser({ pageIds: [page.id] }).id);
    const { scope: _scope, ...withoutScope } = valid;
    const configured = { ...withoutScope, config_id: '5550001112223334' };
    sim.facebookLogin.declineNext('instagram_manage_insights');
    const cancelled = await dialogAt(configured);
    expect(cancelled.status).toBe(302);
    expect([...new URL(cancelled.headers.get('location') ?? '').searchParams]).toEqual([
      ['error', 'access_denied'],
      ['error_code', '200'],
      ['error_description', 'Permissions error'],
      ['error_reason', 'user_denied'],
      ['state', 's'],
    ]);
    // The decline was used up: the next dialog grants the whole configuration.
    const granted = await dialogAt(configured);
    const code = new URL(granted.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const token = String((await exchange(code)).body.access_token);
    expect((await get('me/permissions', token)).body.data).toEqual(
      ['public_profile', ...FACEBOOK_PERMISSIONS].map((permission) => ({
        permission,
        status: 'granted',
      })),
    );
    // Without a configuration, the same decline is partial: the login goes on without it.
    expect(
      (
        await get(
          'me/permissions',
          String(
            (
              await exchange(await codeFor([page], ['instagram_manage_insights']))
            ).body.access_token,
          ),
        )
      ).body.data,
    ).toContainEqual({ permission: 'instagram_manage_insights', status: 'declined' });
  });

  it('refuses /me/accounts without pages_show_list', async () => {
    const { page } = sim.addFacebookAccount({ username: 'sim.nolist' });
    const short = await exchange(await codeFor([page], ['pages_show_list']));
    expect(await get('me/accounts', String(short.body.access_token))).toEqual({
      status: 400,
      body: {
        error: {
          message: '(#200) Requires pages_show_list permission to manage the object',
          type: 'OAuthException',
          code: 200,
          fbtrace_id: expect.any(String),
        },
      },
    });
  });
});
