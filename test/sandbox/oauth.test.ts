import { beforeEach, describe, expect, it } from 'vitest';
import { GraphError } from '../../src/sandbox/errors.ts';
import { OAuthServer } from '../../src/sandbox/oauth.ts';
import { type Clock, DAY, HOUR, type SimAccount, Store } from '../../src/sandbox/store.ts';

const APP_ID = '1000000000000001';
const SECRET = 'instagram-app-secret';
const REDIRECT = 'https://igql.example/auth/instagram/callback';
const SCOPE = 'instagram_business_basic,instagram_business_manage_messages';
const T = 1_700_000_000_000;
const SIXTY_DAYS_S = 60 * 24 * 3600;

const fixedClock = (start: number): Clock => {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
};

const params = (values: Record<string, string>) => new URLSearchParams(values);

const authorizeQuery = (extra: Record<string, string> = {}) =>
  params({
    client_id: APP_ID,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: SCOPE,
    ...extra,
  });

const oauthError = (message: string) => ({
  status: 400,
  body: { error_type: 'OAuthException', code: 400, error_message: message },
});

/** The GraphError `fn` throws. */
const graphError = (fn: () => unknown): GraphError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraphError) return error;
    throw error;
  }
  throw new Error('expected a GraphError');
};

describe('OAuthServer (Business Login)', () => {
  let store: Store;
  let account: SimAccount;
  let oauth: OAuthServer;

  /** Authorizes and returns the code from the redirect. */
  const code = (extra: Record<string, string> = {}) => {
    const result = oauth.authorize(authorizeQuery(extra));
    if (!('location' in result)) throw new Error(JSON.stringify(result));
    const value = new URL(result.location).searchParams.get('code');
    if (!value) throw new Error(result.location);
    return value;
  };
  const exchangeForm = (value: string, extra: Record<string, string> = {}) =>
    params({
      client_id: APP_ID,
      client_secret: SECRET,
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT,
      code: value,
      ...extra,
    });
  const shortToken = () => {
    const result = oauth.exchangeCode(exchangeForm(code()));
    if (result.status !== 200) throw new Error(JSON.stringify(result));
    return result.body.access_token;
  };
  const longToken = () =>
    oauth.exchangeLongLived(
      params({
        grant_type: 'ig_exchange_token',
        client_secret: SECRET,
        access_token: shortToken(),
      }),
    ).access_token;

  beforeEach(() => {
    store = new Store(fixedClock(T));
    account = store.addAccount({ username: 'shop' });
    store.addAccount({ username: 'other_shop' });
    oauth = new OAuthServer({ store, appId: APP_ID, appSecret: SECRET, redirectUris: [REDIRECT] });
  });

  it('runs the whole flow: authorize, code, short token, long-lived token, refresh', () => {
    const authorized = oauth.authorize(authorizeQuery({ state: 'xyz 1' }));
    expect(authorized.status).toBe(302);
    if (!('location' in authorized)) throw new Error('no redirect');
    const location = new URL(authorized.location);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.hash).toBe('#_');
    expect([...location.searchParams.keys()]).toEqual(['code', 'state']);
    expect(location.searchParams.get('state')).toBe('xyz 1');
    const value = location.searchParams.get('code') ?? '';
    expect(value).toMatch(/^AQ[\w-]{100,}$/);

    const exchanged = oauth.exchangeCode(exchangeForm(value));
    if (exchanged.status !== 200) throw new Error(JSON.stringify(exchanged));
    expect(Object.keys(exchanged.body)).toEqual(['access_token', 'user_id', 'permissions']);
    expect(exchanged.body).toEqual({
      access_token: expect.stringMatching(/^IG/),
      user_id: account.appScopedId,
      permissions: ['instagram_business_basic', 'instagram_business_manage_messages'],
    });
    const short = store.tokens.get(exchanged.body.access_token);
    expect(short).toMatchObject({ igId: account.igId, kind: 'short', expiresAt: T + HOUR });
    expect(short?.permissions).toEqual(exchanged.body.permissions);

    const long = oauth.exchangeLongLived(
      params({
        grant_type: 'ig_exchange_token',
        client_secret: SECRET,
        access_token: exchanged.body.access_token,
      }),
    );
    expect(long).toEqual({
      access_token: expect.stringMatching(/^IG/),
      token_type: 'bearer',
      expires_in: SIXTY_DAYS_S,
    });
    const longToken = store.tokens.get(long.access_token);
    expect(longToken).toMatchObject({ igId: account.igId, kind: 'long', issuedAt: T });
    expect(longToken?.permissions).toEqual(exchanged.body.permissions);

    store.clock.advance(DAY);
    const refreshed = oauth.refresh(
      params({ grant_type: 'ig_refresh_token', access_token: long.access_token }),
    );
    expect(refreshed).toEqual({
      access_token: expect.stringMatching(/^IG/),
      token_type: 'bearer',
      expires_in: SIXTY_DAYS_S,
    });
    expect(refreshed.access_token).not.toBe(long.access_token);
    expect(store.tokens.get(refreshed.access_token)).toMatchObject({
      kind: 'long',
      issuedAt: T + DAY,
      expiresAt: T + DAY + 60 * DAY,
    });
    // The old token is left alone: valid until its own expiry.
    expect(store.tokens.get(long.access_token)).toMatchObject({
      revoked: false,
      expiresAt: T + 60 * DAY,
    });
  });

  it('accepts space-separated scopes and logs in as the chosen account', () => {
    const other = [...store.accounts.values()][1];
    if (!other) throw new Error('no second account');
    oauth.loginAs(other.igId);
    const value = code({
      scope: 'instagram_business_basic instagram_business_manage_comments',
    });
    const result = oauth.exchangeCode(exchangeForm(value));
    expect(result).toEqual({
      status: 200,
      body: {
        access_token: expect.any(String),
        user_id: other.appScopedId,
        permissions: ['instagram_business_basic', 'instagram_business_manage_comments'],
      },
    });
    expect(() => oauth.loginAs('17841499999999999')).toThrow('no account');
  });

  it('redirects with the documented error when the user cancels', () => {
    oauth.denyNext();
    expect(oauth.authorize(authorizeQuery({ state: 's1' }))).toEqual({
      status: 302,
      location: `${REDIRECT}?error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request&state=s1`,
    });
    // Only the next one.
    expect(oauth.authorize(authorizeQuery())).toMatchObject({
      status: 302,
      location: expect.stringContaining('?code=AQ'),
    });
  });

  it('refuses bad authorize requests', () => {
    expect(oauth.authorize(authorizeQuery({ client_id: '999' }))).toEqual(
      oauthError('Invalid platform app'),
    );
    expect(oauth.authorize(authorizeQuery({ redirect_uri: 'https://evil.example/cb' }))).toEqual(
      oauthError('Invalid redirect_uri'),
    );
    const noRedirect = authorizeQuery();
    noRedirect.delete('redirect_uri');
    expect(oauth.authorize(noRedirect)).toEqual(oauthError('Invalid redirect_uri'));
    expect(oauth.authorize(authorizeQuery({ response_type: 'token' }))).toEqual(
      oauthError('Invalid response_type'),
    );
    expect(
      oauth.authorize(authorizeQuery({ scope: 'business_basic,instagram_business_basic' })),
    ).toEqual(oauthError('Invalid scope field(s): business_basic'));
    expect(oauth.authorize(authorizeQuery({ scope: '' }))).toEqual(
      oauthError('Invalid scope field(s): '),
    );
  });

  it('uses a code once', () => {
    const value = code();
    expect(oauth.exchangeCode(exchangeForm(value)).status).toBe(200);
    expect(oauth.exchangeCode(exchangeForm(value))).toEqual(
      oauthError('Matching code was not found or was already used'),
    );
    expect(oauth.exchangeCode(exchangeForm('AQnot-a-code'))).toEqual(
      oauthError('Matching code was not found or was already used'),
    );
  });

  it('lets a code expire after one hour', () => {
    const fresh = code();
    const stale = code();
    store.clock.advance(HOUR);
    expect(oauth.exchangeCode(exchangeForm(fresh)).status).toBe(200);
    store.clock.advance(1);
    expect(oauth.exchangeCode(exchangeForm(stale))).toEqual(
      oauthError('Matching code was not found or was already used'),
    );
  });

  it('requires the redirect_uri of the authorize request', () => {
    const value = code();
    expect(oauth.exchangeCode(exchangeForm(value, { redirect_uri: `${REDIRECT}/other` }))).toEqual(
      oauthError(
        'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
      ),
    );
    // A failed exchange does not use up the code.
    expect(oauth.exchangeCode(exchangeForm(value)).status).toBe(200);
  });

  it('checks the client and the grant type', () => {
    const value = code();
    expect(oauth.exchangeCode(exchangeForm(value, { client_secret: 'wrong' }))).toEqual(
      oauthError('Error validating client secret.'),
    );
    expect(oauth.exchangeCode(exchangeForm(value, { client_id: '42' }))).toEqual(
      oauthError('Invalid platform app'),
    );
    expect(oauth.exchangeCode(exchangeForm(value, { grant_type: 'password' }))).toEqual(
      oauthError('Invalid grant_type'),
    );
  });

  it('answers Graph errors on the long-lived exchange', () => {
    const short = shortToken();
    const exchange = (extra: Record<string, string>) => () =>
      oauth.exchangeLongLived(
        params({
          grant_type: 'ig_exchange_token',
          client_secret: SECRET,
          access_token: short,
          ...extra,
        }),
      );
    expect(graphError(exchange({ client_secret: 'wrong' }))).toMatchObject({
      code: 1,
      type: 'OAuthException',
      message: 'Error validating client secret.',
    });
    expect(graphError(exchange({ access_token: 'garbage' }))).toMatchObject({
      code: 190,
      type: 'OAuthException',
      message: 'Invalid OAuth access token - Cannot parse access token',
    });
    expect(graphError(exchange({ grant_type: 'ig_refresh_token' }))).toMatchObject({
      status: 400,
      code: 100,
    });
    const long = exchange({})().access_token;
    expect(graphError(exchange({ access_token: long }))).toMatchObject({ status: 400, code: 100 });
    store.clock.advance(HOUR);
    expect(graphError(exchange({}))).toMatchObject({ code: 190, subcode: 463 });
  });

  it('refuses to refresh too early, a short token, an expired token or a wrong grant', () => {
    const long = longToken();
    const refresh =
      (extra: Record<string, string> = {}) =>
      () =>
        oauth.refresh(params({ grant_type: 'ig_refresh_token', access_token: long, ...extra }));
    store.clock.advance(DAY - 1);
    expect(graphError(refresh())).toMatchObject({
      status: 400,
      code: 100,
      type: 'OAuthException',
    });
    expect(graphError(refresh({ access_token: shortToken() }))).toMatchObject({ code: 100 });
    expect(graphError(refresh({ grant_type: 'ig_exchange_token' }))).toMatchObject({ code: 100 });
    store.clock.advance(1);
    expect(refresh()().token_type).toBe('bearer');
    store.clock.advance(60 * DAY);
    expect(graphError(refresh())).toMatchObject({ code: 190, subcode: 463 });
  });

  it('refuses to refresh a token without instagram_business_basic', () => {
    const value = code({ scope: 'instagram_business_manage_messages' });
    const result = oauth.exchangeCode(exchangeForm(value));
    if (result.status !== 200) throw new Error(JSON.stringify(result));
    const long = oauth.exchangeLongLived(
      params({
        grant_type: 'ig_exchange_token',
        client_secret: SECRET,
        access_token: result.body.access_token,
      }),
    ).access_token;
    store.clock.advance(DAY);
    expect(
      graphError(() =>
        oauth.refresh(params({ grant_type: 'ig_refresh_token', access_token: long })),
      ),
    ).toMatchObject({ code: 200 });
  });
});
