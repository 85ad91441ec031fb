/**
 * The errors of a GraphQL answer, by `extensions.code` (DESIGN.md, "Where failures go"): raised
 * wherever a request is answered (sessions, loaders, resolvers), mapped from Instagram's in one
 * place.
 */
import { GraphQLError } from 'graphql';
import { InstagramError } from './instagram/errors.ts';

/** `extensions.code` of query errors (DESIGN.md, "Where failures go"). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'REAUTH_REQUIRED'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'BAD_USER_INPUT'
  | 'QUERY_TOO_COMPLEX';

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
    'Instagram refused this account’s token: log in with Instagram again to reconnect it',
  );

/** Maps what the Instagram client throws to the GraphQL error a frontend can act on. */
export function fromUpstream(error: unknown, what = 'Object'): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (!(error instanceof InstagramError)) throw error;
  switch (error.kind) {
    case 'token':
    case 'permission':
      return reauthRequired();
    case 'rate_limited':
      return graphqlError('RATE_LIMITED', 'Instagram is throttling this account; retry later', {
        retryAfter: Math.ceil((error.retryAfterMs ?? 1000) / 1000),
      });
    case 'not_found':
    case 'message_too_old':
      return notFound(what);
    case 'invalid_parameter':
      return badUserInput(`Instagram refused the request: ${error.message}`);
    default:
      return graphqlError('UPSTREAM_UNAVAILABLE', 'Instagram is unavailable; retry later');
  }
}
