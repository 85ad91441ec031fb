import { request } from 'undici';
import type { Metrics } from '../metrics.ts';
import { fromResponse, InstagramError } from './errors.ts';

/** Scopes the messaging features need (BL). */
export const SCOPES = [
  'instagram_business_basic',
  'instagram_business_manage_messages',
  'instagram_business_manage_comments',
] as const;

export interface OAuthHosts {
  /** Authorize page host (`https://www.instagram.com`). */
  readonly oauthUrl: string;
  /** Code-exchange host (`https://api.instagram.com`). */
  readonly tokenUrl: string;
  /** Graph host, for the long-lived exchange (`https://graph.instagram.com`). */
  readonly graphUrl: string;
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
 * The code exchange and the long-lived exchange, counted like every upstream call. Their bodies
 * carry secrets and tokens: nothing here logs them.
 */
export class OAuthClient {
  readonly #hosts: () => OAuthHosts;
  readonly #app: () => OAuthApp;
  readonly #metrics: Metrics;

  constructor(hosts: () => OAuthHosts, app: () => OAuthApp, metrics: Metrics) {
    this.#hosts = hosts;
    this.#app = app;
    this.#metrics = metrics;
  }

  /** BL step 2: the code (single use, 1 hour) for a short-lived token. */
  async exchangeCode(
    code: string,
    redirectUri: string,
  ): Promise<{ accessToken: string; userId: string }> {
    const { appId, appSecret } = this.#app();
    const form = new URLSearchParams({
      client_id: appId,
      client_secret: appSecret,
      grant_type: 'authorization_code',
      redirect_uri: redirectUri,
      code,
    });
    const body = await this.#call(
      'POST',
      `${this.#hosts().tokenUrl}/oauth/access_token`,
      '/oauth/access_token',
      form,
    );
    // Flat, or inside `data` as BL prints it (instagram-api.md §9: accept both).
    const flat = (Array.isArray(body.data) ? body.data[0] : body) as
      | Record<string, unknown>
      | undefined;
    if (typeof flat?.access_token !== 'string') throw invalidAnswer('code exchange');
    return { accessToken: flat.access_token, userId: String(flat.user_id ?? '') };
  }

  /** BL step 3: a short-lived token for a long-lived one (60 days). */
  async exchangeLongLived(shortToken: string): Promise<{ accessToken: string; expiresIn: number }> {
    const params = new URLSearchParams({
      grant_type: 'ig_exchange_token',
      client_secret: this.#app().appSecret,
      access_token: shortToken,
    });
    const body = await this.#call(
      'GET',
      `${this.#hosts().graphUrl}/access_token?${params}`,
      '/access_token',
    );
    if (typeof body.access_token !== 'string') throw invalidAnswer('long-lived exchange');
    return { accessToken: body.access_token, expiresIn: Number(body.expires_in ?? 0) };
  }

  async #call(method: 'GET' | 'POST', url: string, endpoint: string, form?: URLSearchParams) {
    let status: number;
    let body: Record<string, unknown>;
    try {
      const res = await request(url, {
        method,
        headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
        body: form?.toString(),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.statusCode;
      body = ((await res.body.json().catch(() => ({}))) ?? {}) as Record<string, unknown>;
    } catch (cause) {
      this.#metrics.upstreamRequests.inc({ method, endpoint, outcome: 'transient' });
      throw new InstagramError({
        kind: 'transient',
        message: 'Instagram could not be reached',
        cause,
      });
    }
    if (status >= 200 && status < 300) {
      this.#metrics.upstreamRequests.inc({ method, endpoint, outcome: 'ok' });
      return body;
    }
    // The code exchange answers `{error_type, code, error_message}` rather than Graph's envelope.
    const error =
      'error_message' in body
        ? new InstagramError({
            kind: 'invalid_parameter',
            message: String(body.error_message),
            code: typeof body.code === 'number' ? body.code : undefined,
            status,
          })
        : fromResponse(status, body);
    this.#metrics.upstreamRequests.inc({ method, endpoint, outcome: error.outcome });
    throw error;
  }
}

const invalidAnswer = (what: string) =>
  new InstagramError({
    kind: 'transient',
    message: `Instagram's ${what} answer had no access token`,
  });
