import { randomBytes } from 'node:crypto';
import { errors, GraphError, tokenErrors } from './errors.ts';
import { DAY, HOUR, type SimToken, type Store } from './store.ts';

export interface OAuthServerOptions {
  readonly store: Store;
  /** The Instagram app id: the only `client_id` accepted. */
  readonly appId: string;
  /** The Instagram app secret: the only `client_secret` accepted. */
  readonly appSecret: string;
  /** The app's "Valid OAuth Redirect URIs". Default: any `redirect_uri` that is a URL. */
  readonly redirectUris?: readonly string[];
}

/** api.instagram.com's error body: flat, not Graph's `{"error":{…}}` envelope (instagram-api.md §5). */
export interface OAuthErrorBody {
  readonly error_type: 'OAuthException';
  readonly code: 400;
  readonly error_message: string;
}

export type OAuthError = { readonly status: 400; readonly body: OAuthErrorBody };

export type AuthorizeResult = { readonly status: 302; readonly location: string } | OAuthError;

export type CodeExchangeResult =
  | {
      readonly status: 200;
      readonly body: {
        readonly access_token: string;
        readonly user_id: string;
        readonly permissions: readonly string[];
      };
    }
  | OAuthError;

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'bearer';
  /** Seconds until the token expires: 60 days for a new long-lived token. */
  readonly expires_in: number;
}

/**
 * Business Login scopes (instagram-api.md §5). The old `business_*` names were deprecated on
 * 2025-01-27 and are refused here.
 */
export const SCOPES: readonly string[] = [
  'instagram_business_basic',
  'instagram_business_manage_messages',
  'instagram_business_manage_comments',
  'instagram_business_content_publish',
  'instagram_business_manage_insights',
];

/** "The code is valid for 1 hour and works once" (BL). */
const CODE_LIFETIME_MS = HOUR;

interface AuthorizationCode {
  readonly igId: string;
  readonly redirectUri: string;
  readonly permissions: readonly string[];
  readonly issuedAt: number;
}

const oauthError = (message: string): OAuthError => ({
  status: 400,
  body: { error_type: 'OAuthException', code: 400, error_message: message },
});

// Wordings seen from api.instagram.com (Basic Display era and later): "Invalid platform app"
// (pdir/social-feed-bundle#105), "Invalid redirect_uri" (jsmrtn/craftagram#29), "Invalid scope
// field(s): …" (miled/wordpress-social-login#338), the redirect_uri mismatch at the exchange
// (in2code-de/instagram#40, 2024). UNCONFIRMED: the others, marked where used.
const INVALID_APP = 'Invalid platform app';
const INVALID_REDIRECT = 'Invalid redirect_uri';
const CODE_NOT_FOUND = 'Matching code was not found or was already used';
const REDIRECT_MISMATCH =
  'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request';

/**
 * Business Login for Instagram (instagram-api.md §5) as plain handlers over the store, for the
 * simulator's router: the authorize page (which consents at once), the code exchange, the
 * long-lived exchange and the refresh.
 */
export class OAuthServer {
  private readonly store: Store;
  private readonly appId: string;
  private readonly appSecret: string;
  private readonly redirectUris: readonly string[] | undefined;
  private readonly codes = new Map<string, AuthorizationCode>();
  private consentingIgId: string | undefined;
  private denying = false;

  constructor(options: OAuthServerOptions) {
    this.store = options.store;
    this.appId = options.appId;
    this.appSecret = options.appSecret;
    this.redirectUris = options.redirectUris;
  }

  /** The account that logs in and consents at the authorize page. Default: the store's first. */
  loginAs(igId: string): void {
    if (!this.store.accounts.has(igId)) throw new Error(`no account ${igId}`);
    this.consentingIgId = igId;
  }

  /** The next authorize ends with the user pressing Cancel. */
  denyNext(): void {
    this.denying = true;
  }

  /** `GET https://www.instagram.com/oauth/authorize?…` */
  authorize(query: URLSearchParams): AuthorizeResult {
    if (query.get('client_id') !== this.appId) return oauthError(INVALID_APP);
    const redirectUri = query.get('redirect_uri') ?? '';
    if (!this.redirectAllowed(redirectUri)) return oauthError(INVALID_REDIRECT);
    // UNCONFIRMED wording.
    if (query.get('response_type') !== 'code') return oauthError('Invalid response_type');
    const scopes = (query.get('scope') ?? '').split(/[,\s]+/).filter(Boolean);
    const unknown = scopes.filter((scope) => !SCOPES.includes(scope));
    if (scopes.length === 0 || unknown.length > 0) {
      return oauthError(`Invalid scope field(s): ${unknown.join(',')}`);
    }
    const state = query.get('state');
    const location = new URL(redirectUri);
    if (this.denying) {
      this.denying = false;
      location.searchParams.set('error', 'access_denied');
      location.searchParams.set('error_reason', 'user_denied');
      location.searchParams.set('error_description', 'The user denied your request');
      if (state !== null) location.searchParams.set('state', state);
      return { status: 302, location: location.href };
    }
    const code = `AQ${randomBytes(120).toString('base64url')}`;
    const now = this.store.clock.now();
    this.codes.set(code, {
      igId: this.consentingAccount(),
      redirectUri,
      permissions: [...new Set(scopes)],
      issuedAt: now,
    });
    location.searchParams.set('code', code);
    if (state !== null) location.searchParams.set('state', state);
    // The redirect ends in `#_`, which the app must strip (BL).
    location.hash = '_';
    return { status: 302, location: location.href };
  }

  /** `POST https://api.instagram.com/oauth/access_token` (form fields). */
  exchangeCode(form: URLSearchParams): CodeExchangeResult {
    if (form.get('client_id') !== this.appId) return oauthError(INVALID_APP);
    // UNCONFIRMED wording on api.instagram.com; it is Graph's.
    if (form.get('client_secret') !== this.appSecret) {
      return oauthError('Error validating client secret.');
    }
    // UNCONFIRMED wording.
    if (form.get('grant_type') !== 'authorization_code') return oauthError('Invalid grant_type');
    const code = form.get('code') ?? '';
    const grant = this.codes.get(code);
    const now = this.store.clock.now();
    if (!grant || now > grant.issuedAt + CODE_LIFETIME_MS) return oauthError(CODE_NOT_FOUND);
    if (form.get('redirect_uri') !== grant.redirectUri) return oauthError(REDIRECT_MISMATCH);
    this.codes.delete(code);
    const token = this.issue(grant.igId, 'short', grant.permissions);
    const account = this.store.accounts.get(grant.igId);
    return {
      status: 200,
      // Flat, as decided in instagram-api.md §9 (BL prints a `{"data":[…]}` wrapper).
      // UNCONFIRMED: whether `user_id` is the app-scoped id or the IG_ID. We answer the
      // app-scoped id (`id` of /me), as a string (restfb accesstoken.json), so a client must
      // read the IG_ID of webhooks from /me's `user_id`, never from here.
      body: {
        access_token: token.token,
        user_id: account?.appScopedId ?? grant.igId,
        permissions: token.permissions,
      },
    };
  }

  /**
   * `GET https://graph.instagram.com/access_token?grant_type=ig_exchange_token&client_secret=…&access_token=<short>`.
   * Errors are Graph's: throws a `GraphError`.
   */
  exchangeLongLived(query: URLSearchParams): TokenResponse {
    if (query.get('grant_type') !== 'ig_exchange_token') {
      throw errors.invalidParameter('grant_type must be ig_exchange_token');
    }
    if (query.get('client_secret') !== this.appSecret) {
      // UNCONFIRMED on graph.instagram.com: code 1 and this text are Graph's answer to a wrong
      // secret (facebookarchive/php-graph-sdk#538); the status follows §9's rule for code 1.
      throw new GraphError({
        status: 500,
        message: 'Error validating client secret.',
        code: 1,
        type: 'OAuthException',
      });
    }
    const short = this.validToken(query.get('access_token'));
    if (short.kind !== 'short') {
      // UNCONFIRMED: strict, only a short-lived token can be exchanged.
      throw tokenLifecycle('Only a short-lived access token can be exchanged for a long-lived one');
    }
    return this.respond(this.issue(short.igId, 'long', short.permissions));
  }

  /**
   * `GET https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token=<long>`.
   * The token must be long-lived, at least 24 hours old and unexpired (RAT). The new token lasts
   * 60 days from now; the old one stays valid until its own expiry (nothing says it is revoked).
   */
  refresh(query: URLSearchParams): TokenResponse {
    if (query.get('grant_type') !== 'ig_refresh_token') {
      throw errors.invalidParameter('grant_type must be ig_refresh_token');
    }
    const token = this.validToken(query.get('access_token'));
    if (token.kind !== 'long' || this.store.clock.now() - token.issuedAt < DAY) {
      // UNCONFIRMED: the real code and text for a token that cannot be refreshed yet.
      throw tokenLifecycle(
        'The access token can only be refreshed once it is a long-lived token at least 24 hours old',
      );
    }
    if (!token.permissions.includes('instagram_business_basic')) {
      throw errors.permission('instagram_business_basic');
    }
    return this.respond(this.issue(token.igId, 'long', token.permissions));
  }

  private redirectAllowed(uri: string): boolean {
    if (!URL.canParse(uri)) return false;
    return this.redirectUris === undefined || this.redirectUris.includes(uri);
  }

  private consentingAccount(): string {
    const igId = this.consentingIgId ?? this.store.accounts.keys().next().value;
    if (igId === undefined) throw new Error('no account in the store to log in with');
    return igId;
  }

  private issue(igId: string, kind: SimToken['kind'], permissions: readonly string[]): SimToken {
    const token = { ...this.store.issueToken(igId, kind), permissions: [...permissions] };
    this.store.tokens.set(token.token, token);
    return token;
  }

  private validToken(value: string | null): SimToken {
    const token = value === null ? undefined : this.store.tokens.get(value);
    if (!token) throw tokenErrors.malformed();
    if (token.revoked) throw tokenErrors.invalidated();
    const now = this.store.clock.now();
    if (now >= token.expiresAt) throw tokenErrors.expired(token.expiresAt, now);
    return token;
  }

  private respond(token: SimToken): TokenResponse {
    const expiresIn = Math.floor((token.expiresAt - this.store.clock.now()) / 1000);
    return { access_token: token.token, token_type: 'bearer', expires_in: expiresIn };
  }
}

/** A valid token used where it does not fit (exchange, refresh). UNCONFIRMED code and type. */
const tokenLifecycle = (message: string) =>
  new GraphError({ status: 400, message: `(#100) ${message}`, code: 100, type: 'OAuthException' });
