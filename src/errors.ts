/**
 * The errors of a GraphQL answer, by `extensions.code` (DESIGN.md, "Where failures go"): raised
 * wherever a request is answered (sessions, loaders, resolvers), mapped from Instagram's in one
 * place.
 */
import { GraphQLError } from 'graphql';
import { InstagramError } from './instagram/errors.ts';
import { isRedisOutage } from './redis.ts';

/** `extensions.code` of query errors (DESIGN.md, "Where failures go"). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'REAUTH_REQUIRED'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'BAD_USER_INPUT'
  | 'QUERY_TOO_COMPLEX'
  | 'SERVICE_UNAVAILABLE'
  // Refused before execution (src/http.ts, src/yoga.ts, src/persisted.ts, src/pubsub/streams.ts).
  | 'PAYLOAD_TOO_LARGE'
  | 'CSRF_HEADER_REQUIRED'
  | 'BAD_REQUEST'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_SUPPORTED'
  | 'PERSISTED_QUERY_ONLY'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'TOO_MANY_STREAMS';

export function graphqlError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const badUserInput = (message: string, argument?: string): GraphQLError =>
  graphqlError('BAD_USER_INPUT', message, argument ? { argument } : {});

export const unauthenticated = (
  message = 'Send a valid session: Authorization: Bearer <session JWT>',
) =>
  // RFC 6750: a 401 names the scheme it wants.
  graphqlError('UNAUTHENTICATED', message, {
    http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="igql"' } },
  });

/** Another tenant's object answers exactly like one that does not exist. */
export const notFound = (what: string) => graphqlError('NOT_FOUND', `${what} not found`);

export const reauthRequired = () =>
  graphqlError(
    'REAUTH_REQUIRED',
    'Instagram refused this account’s token: log in again (with Instagram, or with Facebook for an account of Facebook Login) to reconnect it',
  );

/** Seconds a client is told to wait when igql's shared state (Redis) is unreachable. */
export const OUTAGE_RETRY_AFTER_S = 5;

/**
 * igql's shared state (Redis) is unreachable and the operation cannot go on without it:
 * `retryAfter` seconds. `http` (a request refused before execution, such as its session check)
 * answers 503 with `Retry-After`; a field's error leaves the status to the rest of the answer.
 */
export const serviceUnavailable = (
  o: { http?: boolean; retryAfter?: number } = {},
): GraphQLError => {
  const retryAfter = o.retryAfter ?? OUTAGE_RETRY_AFTER_S;
  return graphqlError('SERVICE_UNAVAILABLE', 'igql is briefly unavailable; retry later', {
    retryAfter,
    ...(o.http ? { http: { status: 503, headers: { 'Retry-After': String(retryAfter) } } } : {}),
  });
};

/**
 * SERVICE_UNAVAILABLE, at the same place in the answer, for an error that says Redis is
 * unreachable (`isRedisOutage`); undefined for any other error. The one mapping of outages
 * wherever they surface (Yoga's `maskError`), so none answers "Unexpected error.".
 */
export function fromOutage(error: unknown): GraphQLError | undefined {
  if (!isRedisOutage(error)) return undefined;
  const typed = serviceUnavailable();
  if (!(error instanceof GraphQLError)) return typed;
  return new GraphQLError(typed.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: typed.extensions,
  });
}

/**
 * Maps what the Instagram client throws to the GraphQL error a frontend can act on, in igql's
 * words by kind: Instagram's message never reaches a client (it may quote a token or a secret;
 * the client logs it, redacted). An error Instagram answered carries `extensions.upstream`
 * (`{ code, subcode, traceId }`) for support; NOT_FOUND never does (another tenant's object
 * answers exactly like one that does not exist).
 */
export function fromUpstream(error: unknown, what = 'Object'): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (!(error instanceof InstagramError)) throw error;
  const upstream = error.reference ? { upstream: error.reference } : {};
  switch (error.kind) {
    case 'token':
    case 'permission':
      return graphqlError('REAUTH_REQUIRED', reauthRequired().message, upstream);
    case 'rate_limited':
      return graphqlError(
        'RATE_LIMITED',
        error.reference
          ? 'Instagram is throttling this account; retry later'
          : 'Too many Instagram reads for this account at once; retry later',
        { retryAfter: Math.ceil((error.retryAfterMs ?? 1000) / 1000), ...upstream },
      );
    case 'not_found':
    case 'message_too_old':
      return notFound(what);
    case 'invalid_parameter':
      return graphqlError('BAD_USER_INPUT', 'Instagram refused the request as invalid', upstream);
    case 'timeout':
      return graphqlError('UPSTREAM_UNAVAILABLE', 'Instagram did not answer in time; retry later');
    default:
      return graphqlError(
        'UPSTREAM_UNAVAILABLE',
        'Instagram is unavailable; retry later',
        upstream,
      );
  }
}
