import type { InstagramClient } from './client.ts';
import { InstagramError } from './errors.ts';

/**
 * Scopes the graph's features need (BL; README "Going live"): messaging, comments, publishing
 * (`publishMedia`, `Account.publishingLimit`) and insights.
 */
export const SCOPES = [
  'instagram_business_basic',
  'instagram_business_manage_messages',
  'instagram_business_manage_comments',
  'instagram_business_content_publish',
  'instagram_business_manage_insights',
] as const;

/** Where the browser logs in; the exchanges go to the client's hosts. */
export interface OAuthHosts {
  /** Authorize page host (`INSTAGRAM_OAUTH_URL`, default `https://www.instagram.com`). */
  readonly oauthUrl: string;
}

export interface OAuthApp {
  readonly appId: string;
  readonly appSecret: string;
}

/** The authorize URL of Business Login for Instagram (BL step 1). */
export function authorizeUrl(
  hosts: OAuthHosts,
  app: OAuthApp,
  redirectUri: string,
  state: string,
): string {
  const params = new URLSearchParams({
    client_id: app.appId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: SCOPES.join(','),
    state,
  });
  return `${hosts.oauthUrl}/oauth/authorize?${params}`;
}

/**
 * The code exchange and the long-lived exchange, through the Instagram client (time-out, metrics,
 * error mapping), never retried. Their requests carry secrets and tokens: nothing logs them.
 */
export class OAuthClient {
  readonly #client: InstagramClient;
  readonly #app: () => OAuthApp;

  /** `app`: read at every exchange (the sandbox names its app at start). */
  constructor(client: InstagramClient, app: () => OAuthApp) {
    this.#client = client;
    this.#app = app;
  }

  /** BL step 2: the code (single use, 1 hour) for a short-lived token. */
  async exchangeCode(
    code: string,
    redirectUri: string,
  ): Promise<{ accessToken: string; userId: string }> {
    const { appId, appSecret } = this.#app();
    // No account yet (no `igId`): nothing is throttled or reported for an account.
    const body = await this.#client.call<Record<string, unknown>>({
      method: 'POST',
      host: 'token',
      versioned: false,
      path: 'oauth/access_token',
      endpoint: '/oauth/access_token',
      form: {
        client_id: appId,
        client_secret: appSecret,
        grant_type: 'authorization_code',
        redirect_uri: redirectUri,
        code,
      },
      retry: false,
    });
    // Flat, or inside `data` as BL prints it (instagram-api.md §9: accept both).
    const flat = (Array.isArray(body.data) ? body.data[0] : body) as
      | Record<string, unknown>
      | undefined;
    if (typeof flat?.access_token !== 'string') throw noAccessToken('Instagram', 'code exchange');
    return { accessToken: flat.access_token, userId: String(flat.user_id ?? '') };
  }

  /** BL step 3: a short-lived token for a long-lived one (60 days). */
  async exchangeLongLived(shortToken: string): Promise<{ accessToken: string; expiresIn: number }> {
    // Meta documents a GET with the secret and the token in the query.
    const body = await this.#client.call<Record<string, unknown>>({
      method: 'GET',
      versioned: false,
      path: 'access_token',
      endpoint: '/access_token',
      query: { grant_type: 'ig_exchange_token' },
      credentials: { client_secret: this.#app().appSecret, access_token: shortToken },
      retry: false,
    });
    if (typeof body.access_token !== 'string') {
      throw noAccessToken('Instagram', 'long-lived exchange');
    }
    return { accessToken: body.access_token, expiresIn: Number(body.expires_in ?? 0) };
  }
}

/** An exchange answered without a token (either login's): worth trying the login again. */
export const noAccessToken = (host: 'Instagram' | 'Facebook', what: string) =>
  new InstagramError({
    kind: 'transient',
    message: `${host}'s ${what} answer had no access token`,
  });
