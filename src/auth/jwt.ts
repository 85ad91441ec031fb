import { randomUUID } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from 'jose';

/** What a verified session carries (DESIGN.md): the user and the accounts they may use. */
export interface Session {
  /** The user (`sub`); idempotency keys are scoped to it. */
  readonly sub: string;
  /** IG_IDs the user may use; the first is the default (`Query.viewer`). */
  readonly accounts: readonly string[];
  readonly expiresAt: Date;
  /** igql's session id, shared by its access and refresh tokens; null for external tokens. */
  readonly sid: string | null;
}

export const SESSION_ISSUER = 'igql';
export const SESSION_AUDIENCE = 'igql';
/** Seconds of clock skew tolerated between instances. */
export const CLOCK_TOLERANCE_S = 5;
/** Access tokens live 15 minutes; refresh tokens 30 days. */
export const ACCESS_TTL_S = 15 * 60;
export const REFRESH_TTL_S = 30 * 24 * 3600;

/** Explicit typing (RFC 8725): an access token is never taken for a refresh token, or the reverse. */
export const TOKEN_TYPES = {
  access: 'igql-access+jwt',
  refresh: 'igql-refresh+jwt',
  state: 'igql-state+jwt',
} as const;

export type TokenType = keyof typeof TOKEN_TYPES;

export class SessionError extends Error {
  override readonly name = 'SessionError';
}

/**
 * What makes a token reproducible (the sandbox's): a given `jti` and issue time (seconds)
 * instead of a random one and now. The expiry is `issuedAt + ttl`.
 */
export interface FixedClaims {
  readonly jti: string;
  readonly issuedAt: number;
}

/** Signs one of igql's own JWTs (HS256 with `SESSION_SECRET`). */
export async function signToken(
  secret: Uint8Array,
  type: TokenType,
  claims: Record<string, unknown> & { sub: string },
  ttlSeconds: number,
  fixed?: FixedClaims,
): Promise<string> {
  const { sub, ...rest } = claims;
  const issuedAt = fixed?.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPES[type] })
    .setIssuer(SESSION_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(sub)
    .setJti(fixed?.jti ?? randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(secret);
}

/** An access token for a session (`sid`), as login and refresh hand out. */
export const signSession = (
  secret: Uint8Array,
  claims: { sub: string; accounts: readonly string[]; sid?: string },
  ttlSeconds = ACCESS_TTL_S,
  fixed?: FixedClaims,
): Promise<string> =>
  signToken(
    secret,
    'access',
    { sub: claims.sub, accounts: [...claims.accounts], sid: claims.sid ?? randomUUID() },
    ttlSeconds,
    fixed,
  );

/** Verifies one of igql's own tokens: algorithm, type, issuer, audience, expiry pinned. */
export async function verifyToken(
  secret: Uint8Array,
  token: string,
  type: TokenType,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      typ: TOKEN_TYPES[type],
      issuer: SESSION_ISSUER,
      audience: SESSION_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'exp', 'jti'],
    });
    return payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new SessionError('the session has expired');
    throw new SessionError('the session token is not valid');
  }
}

const isAccounts = (value: unknown): value is string[] =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every((a) => typeof a === 'string' && /^\d+$/.test(a));

/** Verifies igql's own access tokens (HS256). */
export async function verifySession(secret: Uint8Array, token: string): Promise<Session> {
  const payload = await verifyToken(secret, token, 'access');
  if (!isAccounts(payload.accounts) || typeof payload.sid !== 'string') {
    throw new SessionError('the session names no account');
  }
  return {
    sub: payload.sub ?? '',
    accounts: payload.accounts,
    expiresAt: new Date((payload.exp ?? 0) * 1000),
    sid: payload.sid,
  };
}

export interface ExternalIdentity {
  /** `JWT_JWKS_URL`: the identity provider's key set, fetched and cached by jose. */
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** The claim that lists the IG_IDs the user may use. Default `ig_accounts`. */
  readonly accountsClaim: string;
}

/**
 * Verifies a session token of either kind: igql's own (HS256), or, when an identity provider is
 * configured, its JWTs (asymmetric algorithms only, against its key set), with the accounts in
 * `accountsClaim`. `alg: none` and symmetric algorithms with a public key are refused by jose.
 */
export function sessionVerifier(
  secret: Uint8Array,
  external?: ExternalIdentity,
): (token: string) => Promise<Session> {
  const keys = external
    ? createRemoteJWKSet(new URL(external.jwksUrl), { cooldownDuration: 30_000 })
    : undefined;
  return async (token) => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new SessionError('the session token is not valid');
    }
    if (alg === 'HS256' || !external || !keys) return verifySession(secret, token);
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        issuer: external.issuer,
        audience: external.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp'],
      });
      const accounts = payload[external.accountsClaim];
      if (!isAccounts(accounts))
        throw new SessionError(`the token has no ${external.accountsClaim} claim`);
      return {
        sub: `ext:${payload.sub}`,
        accounts,
        expiresAt: new Date((payload.exp ?? 0) * 1000),
        sid: null,
      };
    } catch (error) {
      if (error instanceof SessionError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new SessionError('the session has expired');
      throw new SessionError('the session token is not valid');
    }
  };
}
