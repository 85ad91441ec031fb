import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Config } from '../config.ts';
import { serviceUnavailable, unauthenticated } from '../errors.ts';
import { bearerToken, cookies } from '../http.ts';
import { isRedisOutage } from '../redis.ts';
import { deadlines } from '../timers.ts';
import { type Session, SessionError, sessionVerifier } from './jwt.ts';
import type { Revocations } from './revocation.ts';

/** The cookie of a browser's igql session (set by the login routes). */
export const SESSION_COOKIE = 'igql_session';

/**
 * The session token of a websocket: `connection_init`'s `authorization` (`Bearer <JWT>`; nothing
 * when it is not that), else the session cookie when the upgrade came from a page (`Origin`).
 */
export function socketToken(
  params: Record<string, unknown>,
  request: IncomingMessage,
): string | undefined {
  const authorization = params.authorization ?? params.Authorization;
  if (typeof authorization === 'string') return bearerToken(authorization);
  return request.headers.origin ? cookies(request)[SESSION_COOKIE] : undefined;
}

export interface Sessions {
  /** Verifies a token of either kind (igql's own, or the identity provider's). */
  readonly verify: (token: string) => Promise<Session>;
  /**
   * A verified session that was not revoked; throws UNAUTHENTICATED otherwise, and
   * SERVICE_UNAVAILABLE (503) when Redis stays unreachable past the fail-open time.
   */
  fromToken(token: string): Promise<Session>;
  /** HTTP and SSE: `Authorization: Bearer`, else the `igql_session` cookie; null without either. */
  fromRequest(req: IncomingMessage | undefined): Promise<Session | null>;
  /**
   * graphql-ws: `connectionParams.authorization` (GraphiQL may send `Authorization`), else the
   * cookie, but only from a browser page (an `Origin`, checked on upgrade); null when refused.
   */
  fromSocket(
    params: Readonly<Record<string, unknown>>,
    request: IncomingMessage,
  ): Promise<Session | null>;
  /**
   * Not expired and not revoked: subscriptions check it for every event. While Redis is
   * unreachable the revocation check fails open (`REVOCATION_FAIL_OPEN_MS`), then rejects with
   * SERVICE_UNAVAILABLE.
   */
  stillValid(session: Session | null): Promise<boolean>;
  /**
   * Closes the socket with 4403 when its session expires (at that millisecond) or is revoked
   * (checked every `checkMs`, once per session whatever its sockets). One schedule serves every
   * watched socket: the process's `deadlines` for expiry, and one interval, running while any
   * socket is watched, at the `checkMs` of the first, for revocations.
   */
  watch(socket: WebSocket, session: Session, checkMs: number): void;
}

/** Tokens remembered as verified, at most (the oldest forgotten first). */
export const VERIFIED_TOKENS = 10_000;

/**
 * `verify`, remembering the tokens it verified until they expire: a client sends the same token
 * with every request, and checking its signature again cost more than a request's own shaping.
 * Only a token verified before is taken, by its exact text; past its expiry (on the machine's
 * clock, as jose's) it is verified again, with jose's tolerance. Revocation is checked apart, on
 * every request.
 */
export function rememberVerified(verify: (token: string) => Promise<Session>) {
  const verified = new Map<string, Session>();
  return async (token: string): Promise<Session> => {
    const known = verified.get(token);
    if (known && known.expiresAt.getTime() > Date.now()) return known;
    verified.delete(token);
    const session = await verify(token);
    if (verified.size >= VERIFIED_TOKENS) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, session);
    return session;
  };
}

/** `now` decides expiry for `stillValid` (default `Date.now`); the JWT check itself uses jose's clock. */
export function createSessions(
  config: Config,
  revocations: Revocations,
  now: () => number = Date.now,
): Sessions {
  const { jwksUrl, issuer, audience, accountsClaim } = config.jwt;
  const verify = rememberVerified(
    sessionVerifier(
      config.sessionSecret,
      jwksUrl && issuer && audience ? { jwksUrl, issuer, audience, accountsClaim } : undefined,
    ),
  );
  const revoked = async (session: Session) =>
    session.sid !== null && (await revocations.isRevoked(session.sid));
  /** `revoked`, with a store that stays unreachable past its fail-open time typed for clients. */
  const checkRevoked = async (session: Session, http: boolean) => {
    try {
      return await revoked(session);
    } catch (error) {
      if (isRedisOutage(error)) throw serviceUnavailable({ http });
      throw error;
    }
  };

  const fromToken = async (token: string): Promise<Session> => {
    try {
      const session = await verify(token);
      if (await checkRevoked(session, true)) throw new SessionError('the session was revoked');
      return session;
    } catch (error) {
      if (error instanceof SessionError) throw unauthenticated(`Invalid session: ${error.message}`);
      throw error;
    }
  };

  /** Watched sockets and their sessions: one schedule for all of them (see `watch`). */
  const watched = new Map<WebSocket, { session: Session; cancelExpiry: () => void }>();
  let revocationCheck: NodeJS.Timeout | undefined;
  let checking = false;
  const closeWatched = (socket: WebSocket, reason: string) => {
    if (socket.readyState === socket.OPEN) socket.close(4403, reason);
  };
  function unwatch(this: WebSocket) {
    const entry = watched.get(this);
    if (!entry) return;
    watched.delete(this);
    entry.cancelExpiry();
    if (watched.size === 0) {
      clearInterval(revocationCheck);
      revocationCheck = undefined;
    }
  }
  /** One revocation check per session (`sid`), however many sockets it has open. */
  const checkRevocations = async () => {
    if (checking) return;
    checking = true;
    try {
      const bySid = new Map<string, WebSocket[]>();
      for (const [socket, { session }] of watched) {
        if (session.sid === null) continue;
        const sockets = bySid.get(session.sid);
        if (sockets) sockets.push(socket);
        else bySid.set(session.sid, [socket]);
      }
      await Promise.all(
        [...bySid].map(async ([sid, sockets]) => {
          if (await revocations.isRevoked(sid).catch(() => false))
            for (const socket of sockets) closeWatched(socket, 'Session revoked');
        }),
      );
    } finally {
      checking = false;
    }
  };

  return {
    verify,
    fromToken,
    async fromRequest(req) {
      const authorization = req?.headers.authorization;
      if (authorization) {
        const token = bearerToken(authorization);
        if (!token) throw unauthenticated('Authorization must be `Bearer <session JWT>`');
        return fromToken(token);
      }
      const cookie = req ? cookies(req)[SESSION_COOKIE] : undefined;
      return cookie ? fromToken(cookie) : null;
    },
    async fromSocket(params, request) {
      const token = socketToken(params, request);
      try {
        return token ? await fromToken(token) : null;
      } catch {
        return null;
      }
    },
    async stillValid(session) {
      return (
        session !== null &&
        session.expiresAt.getTime() > now() &&
        !(await checkRevoked(session, false))
      );
    },
    watch(socket, session, checkMs) {
      if (watched.has(socket)) return;
      const cancelExpiry = deadlines.at(session.expiresAt.getTime(), () =>
        closeWatched(socket, 'Session expired'),
      );
      watched.set(socket, { session, cancelExpiry });
      socket.on('close', unwatch);
      if (!revocationCheck) {
        revocationCheck = setInterval(() => void checkRevocations(), checkMs);
        revocationCheck.unref();
      }
    },
  };
}
