import type { InstagramClient } from './client.ts';
import { noAccessToken } from './oauth.ts';
import { idOf, isObject, listOf, stringOf } from './payload.ts';

/**
 * What Facebook Login for Business asks for (issue 19): the seed's seven permissions, and
 * `pages_manage_metadata`, which the Page's conversations and `subscribed_apps` edges require
 * (developers.facebook.com/docs/graph-api/reference/page/conversations).
 */
export const FACEBOOK_SCOPES = [
  'instagram_basic',
  'instagram_manage_messages',
  'instagram_manage_comments',
  'instagram_manage_insights',
  'instagram_content_publish',
  'pages_show_list',
  'pages_read_engagement',
  'pages_manage_metadata',
  // Welcome message flows on the Page (Messenger Platform, "Welcome message flows"); optional.
  'pages_messaging',
] as const;

/**
 * The permissions without which an account cannot be served at all: its profile (`GET
 * /<IG_USER_ID>` with Facebook Login needs instagram_basic and pages_read_engagement: the IG User
 * reference, developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user),
 * its inbox (messages, comments and their webhooks) and the list of its Pages. A login that does
 * not grant them is refused; the others (insights, publishing) only fail the operations that need
 * them, with Graph's permission error.
 *
 * Not asked, on purpose: a user whose role on the Page was granted through a Business Manager
 * also needs ads_read or ads_management for the Page's Instagram account (same reference, and
 * the Page reference's `instagram_business_account`). Those are advertising permissions, with an
 * App Review of their own; such a user sees `no_linked_instagram_account`, whose message says so.
 */
export const REQUIRED_PERMISSIONS = [
  'instagram_basic',
  'instagram_manage_messages',
  'instagram_manage_comments',
  'pages_show_list',
  'pages_read_engagement',
  'pages_manage_metadata',
] as const;

/**
 * The Page tasks under which a Page token may serve the account's inbox: the Conversations API
 * needs "a Page access token requested from a person who can perform the MESSAGING or MODERATE
 * task on the Page" (developers.facebook.com/docs/messenger-platform/conversations); MANAGE (full
 * control) includes them. A Page the user has none of these on is not stored.
 */
export const MESSAGING_TASKS = ['MESSAGING', 'MODERATE', 'MANAGE'] as const;

/** The most `/me/accounts` pages one login reads: a user with more Pages is refused. */
export const MAX_ACCOUNT_PAGES = 100;

/** `/me/accounts` paging that does not end: a cursor came back, or more than 100 pages. */
export class FacebookPagingError extends Error {
  override readonly name = 'FacebookPagingError';
}

export interface FacebookApp {
  /** `FACEBOOK_APP_ID` (the simulator's app id in sandbox mode). */
  readonly appId: string;
  /** `FACEBOOK_APP_SECRET`. */
  readonly appSecret: string;
  /** `FACEBOOK_LOGIN_CONFIG_ID`: sent as `config_id` instead of `scope`. Default: none. */
  readonly configId?: string | undefined;
}

/** Where the browser logs in. */
export interface FacebookHosts {
  /** The Login dialog's host (`FACEBOOK_OAUTH_URL`, default `https://www.facebook.com`). */
  readonly oauthUrl: string;
  /** The Graph API version the dialog is versioned with (`INSTAGRAM_API_VERSION`). */
  readonly apiVersion: string;
}

/**
 * The Login dialog of a manually built flow (developers.facebook.com/docs/facebook-login/guides/
 * advanced/manual-flow): the code flow, with the scopes, or a Facebook Login for Business
 * configuration (`config_id`) that names them instead.
 */
export function facebookDialogUrl(
  hosts: FacebookHosts,
  app: FacebookApp,
  redirectUri: string,
  state: string,
): string {
  const params = new URLSearchParams({
    client_id: app.appId,
    redirect_uri: redirectUri,
    state,
    response_type: 'code',
    ...(app.configId ? { config_id: app.configId } : { scope: FACEBOOK_SCOPES.join(',') }),
  });
  return `${hosts.oauthUrl}/${hosts.apiVersion}/dialog/oauth?${params}`;
}

/** A user token of an exchange, with its seconds to live (null: it does not expire). */
export interface FacebookToken {
  readonly accessToken: string;
  readonly expiresIn: number | null;
}

/** What `/me/permissions` says the user granted and declined. */
export interface GrantedPermissions {
  readonly granted: readonly string[];
  readonly declined: readonly string[];
}

/** A Page the user manages, with its Page access token and its linked Instagram account. */
export interface FacebookPage {
  readonly pageId: string;
  readonly name: string | null;
  /** The Page access token. Never logged, never returned. */
  readonly accessToken: string;
  /** What the user may do on the Page (`tasks`: MANAGE, MESSAGING, MODERATE, …); empty if absent. */
  readonly tasks: readonly string[];
  /** `instagram_business_account`: undefined when no Instagram account is linked to the Page. */
  readonly instagram?: { readonly igId: string; readonly username: string | null };
}

/**
 * Facebook Login's calls on graph.facebook.com, through the Instagram client (time-out, metrics,
 * error mapping): the code exchange, the long-lived exchange, the user's permissions and Pages.
 * They carry the app secret and user tokens: in `credentials` or as the Bearer token, never in a
 * logged place. No call names an account (`igId`): a refusal concerns no stored account.
 */
export class FacebookOAuthClient {
  readonly #client: InstagramClient;
  readonly #app: () => FacebookApp;

  /** `app`: read at every exchange (the sandbox names its app at start). */
  constructor(client: InstagramClient, app: () => FacebookApp) {
    this.#client = client;
    this.#app = app;
  }

  /**
   * `GET /oauth/access_token?client_id&redirect_uri&client_secret&code` (manual flow): the code
   * (single use) for a user token. Never retried: a code works once.
   */
  exchangeCode(code: string, redirectUri: string): Promise<FacebookToken> {
    return this.#accessToken({ redirect_uri: redirectUri }, { code }, 'code exchange');
  }

  /**
   * `GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token`
   * (developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived): a user
   * token for a long-lived one (about 60 days), whose Page tokens do not expire.
   */
  exchangeLongLived(userToken: string): Promise<FacebookToken> {
    return this.#accessToken(
      { grant_type: 'fb_exchange_token' },
      { fb_exchange_token: userToken },
      'long-lived exchange',
    );
  }

  /**
   * `GET /oauth/access_token` with the app's id and secret: `{access_token, token_type,
   * expires_in}`, `expires_in` absent for a token that does not expire. Never retried.
   */
  async #accessToken(
    query: Record<string, string>,
    credentials: Record<string, string>,
    what: string,
  ): Promise<FacebookToken> {
    const { appId, appSecret } = this.#app();
    const body = await this.#client.call<unknown>({
      method: 'GET',
      host: 'facebook',
      path: 'oauth/access_token',
      endpoint: '/oauth/access_token',
      query: { client_id: appId, ...query },
      credentials: { client_secret: appSecret, ...credentials },
      retry: false,
    });
    const accessToken = isObject(body) ? stringOf(body.access_token) : null;
    if (!accessToken) throw noAccessToken('Facebook', what);
    const expiresIn =
      isObject(body) && typeof body.expires_in === 'number' ? body.expires_in : null;
    return { accessToken, expiresIn };
  }

  /** `GET /me/permissions`: `{data: [{permission, status: granted|declined|expired}]}`. */
  async permissions(userToken: string): Promise<GrantedPermissions> {
    const body = await this.#client.call<unknown>({
      method: 'GET',
      host: 'facebook',
      path: 'me/permissions',
      endpoint: '/me/permissions',
      token: userToken,
    });
    const granted: string[] = [];
    const declined: string[] = [];
    for (const item of listOf(body)) {
      if (!isObject(item)) continue;
      const permission = stringOf(item.permission);
      if (permission === null) continue;
      (item.status === 'granted' ? granted : declined).push(permission);
    }
    return { granted, declined };
  }

  /**
   * `GET /me/accounts?fields=id,name,access_token,tasks,instagram_business_account{id,username}`,
   * every page of it (by the `after` cursor while Graph names a `next` page). Throws
   * `FacebookPagingError` when a cursor comes back (a loop) or past `MAX_ACCOUNT_PAGES` pages.
   */
  async pages(userToken: string): Promise<FacebookPage[]> {
    const pages: FacebookPage[] = [];
    const seen = new Set<string>();
    let after: string | undefined;
    for (let read = 1; ; read += 1) {
      const body = await this.#client.call<unknown>({
        method: 'GET',
        host: 'facebook',
        path: 'me/accounts',
        endpoint: '/me/accounts',
        token: userToken,
        query: {
          fields: 'id,name,access_token,tasks,instagram_business_account{id,username}',
          after,
        },
      });
      for (const item of listOf(body)) {
        const page = pageOf(item);
        if (page) pages.push(page);
      }
      const paging = isObject(body) && isObject(body.paging) ? body.paging : {};
      const cursors = isObject(paging.cursors) ? paging.cursors : {};
      const next = stringOf(cursors.after);
      // Graph names `next` only when there is a page after this one.
      if (typeof paging.next !== 'string' || next === null) return pages;
      if (seen.has(next)) {
        throw new FacebookPagingError('/me/accounts named a cursor it had named before');
      }
      if (read >= MAX_ACCOUNT_PAGES) {
        throw new FacebookPagingError(`/me/accounts went on past ${MAX_ACCOUNT_PAGES} pages`);
      }
      seen.add(next);
      after = next;
    }
  }
}

const numeric = (id: string | null): id is string => id !== null && /^\d+$/.test(id);

/** One `/me/accounts` item; null for one without a usable id or token. */
function pageOf(item: unknown): FacebookPage | null {
  if (!isObject(item)) return null;
  const pageId = idOf(item.id);
  const accessToken = stringOf(item.access_token);
  if (!numeric(pageId) || !accessToken) return null;
  const linked = isObject(item.instagram_business_account)
    ? item.instagram_business_account
    : undefined;
  const igId = linked ? idOf(linked.id) : null;
  return {
    pageId,
    name: stringOf(item.name),
    accessToken,
    tasks: listOf(item.tasks).filter((task): task is string => typeof task === 'string'),
    ...(linked && numeric(igId)
      ? { instagram: { igId, username: stringOf(linked.username) } }
      : {}),
  };
}
