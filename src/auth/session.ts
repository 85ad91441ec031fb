import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

/** What an igql session JWT carries (DESIGN.md): the user and the accounts they may use. */
export interface Session {
  /** The user (`sub`); idempotency keys are scoped to it. */
  readonly sub: string;
  /** IG_IDs the user may use; the first is the default (`Query.viewer`). */
  readonly accounts: readonly string[];
  readonly expiresAt: Date;
}

export const SESSION_ISSUER = 'igql';
export const SESSION_AUDIENCE = 'igql';
/** Seconds of clock skew tolerated between instances. */
export const CLOCK_TOLERANCE_S = 5;

/** Signs an igql session JWT (HS256 with `SESSION_SECRET`). */
export async function signSession(
  secret: Uint8Array,
  claims: { sub: string; accounts: readonly string[] },
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ accounts: [...claims.accounts] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(SESSION_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(secret);
}

export class SessionError extends Error {
  override readonly name = 'SessionError';
}

/** Verifies algorithm, issuer, audience and expiry; throws `SessionError` with the reason. */
export async function verifySession(secret: Uint8Array, token: string): Promise<Session> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: SESSION_ISSUER,
      audience: SESSION_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'exp'],
    });
    const accounts = payload.accounts;
    if (
      !Array.isArray(accounts) ||
      accounts.length === 0 ||
      !accounts.every((a) => typeof a === 'string' && /^\d+$/.test(a))
    ) {
      throw new SessionError('the session names no account');
    }
    return {
      sub: payload.sub ?? '',
      accounts,
      expiresAt: new Date((payload.exp ?? 0) * 1000),
    };
  } catch (error) {
    if (error instanceof SessionError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new SessionError('the session has expired');
    throw new SessionError('the session token is not valid');
  }
}
