import { Client, type ExecutionResult, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface LiveListeners {
  /** How the websocket is doing, for the page to show it. */
  live(state: LiveState): void;
  /**
   * The websocket came back before any event gave a cursor to resume from: what happened while
   * it was away is not sent again, so the page reads it instead.
   */
  missed(): void;
}

/** What igql closes a websocket with when its session is refused, expired or revoked. */
export const CLOSE_SESSION_ENDED = 4403;

/** urql for queries and mutations over HTTP, graphql-ws for subscriptions, both with the session. */
export function createInboxClient(token: string, on: LiveListeners): Client {
  const authorization = `Bearer ${token}`;
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    // A websocket cannot carry headers: the session goes in `connection_init`.
    connectionParams: { authorization },
    // A lost connection is tried again for as long as the page is open, waiting longer each
    // time: a close, or a connection that could not open (a browser reports it as an error
    // event, before its close, and graphql-ws's default would give up on it). Not 4403 (an
    // ended session: graphql-ws's default would retry it forever) nor 4429 (too many connections
    // for the session, which graphql-ws never retries): they end the subscription with an error.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: retryable,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoff(retries))),
    on: {
      connected: () => on.live('live'),
      closed: () => on.live('reconnecting'),
    },
  });
  return new Client({
    url: '/graphql',
    // urql reads with GET when the URL is short enough: igql then wants the CSRF header
    // (a JSON POST passes without it). Sent on every request, it costs nothing.
    fetchOptions: { headers: { authorization, 'x-graphql-yoga-csrf': '1' } },
    exchanges: [
      subscriptionExchange({
        forwardSubscription(request) {
          // graphql-ws sends this payload again on every reconnection: with `after` kept at the
          // cursor of the last event seen, the server sends what was missed first, then goes on.
          const payload = {
            ...request,
            query: request.query ?? '',
            variables: { ...request.variables } as Record<string, unknown>,
          };
          const resumable = 'after' in payload.variables;
          return {
            subscribe(sink) {
              const offConnected = ws.on('connected', (_socket, _payload, wasRetry) => {
                if (wasRetry && resumable && payload.variables.after == null) on.missed();
              });
              const unsubscribe = ws.subscribe(payload, {
                next(result) {
                  const [event] = Object.values(result.data ?? {});
                  const cursor = (event as { cursor?: unknown } | null)?.cursor;
                  if (resumable && typeof cursor === 'string') payload.variables.after = cursor;
                  sink.next(result as ExecutionResult);
                },
                error(error) {
                  on.live('ended');
                  sink.error(error);
                },
                complete: () => sink.complete(),
              });
              return {
                unsubscribe() {
                  offConnected();
                  unsubscribe();
                },
              };
            },
          };
        },
      }),
      fetchExchange,
    ],
  });
}

/** Whether graphql-ws should connect again after this (see `createInboxClient`). */
export const retryable = (errOrCloseEvent: unknown): boolean =>
  errOrCloseEvent instanceof Event && closeCode(errOrCloseEvent) !== CLOSE_SESSION_ENDED;

/** The code of a websocket's close event, as graphql-ws hands it over; undefined for anything else. */
export function closeCode(errOrCloseEvent: unknown): number | undefined {
  const code = (errOrCloseEvent as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Half a second, doubling up to 15 s, with a little jitter so that clients do not come back at once. */
const backoff = (retries: number) =>
  Math.min(500 * 2 ** retries, 15_000) * (0.8 + Math.random() * 0.4);
