import { Client, type ExecutionResult, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

/**
 * urql for queries and mutations over HTTP, graphql-ws for subscriptions, both with the session.
 * `onLive` hears how the websocket is doing, for the page to show it.
 */
export function createInboxClient(token: string, onLive: (state: LiveState) => void): Client {
  const authorization = `Bearer ${token}`;
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    // A websocket cannot carry headers: the session goes in `connection_init`.
    connectionParams: { authorization },
    // A dropped connection is retried for as long as the page is open (graphql-ws waits longer
    // each time); a closed session (4403) is not, and ends the subscription with an error.
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoff(retries))),
    on: {
      connected: () => onLive('live'),
      closed: () => onLive('reconnecting'),
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
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(payload, {
                next(result) {
                  const [event] = Object.values(result.data ?? {});
                  const cursor = (event as { cursor?: unknown } | null)?.cursor;
                  if ('after' in payload.variables && typeof cursor === 'string') {
                    payload.variables.after = cursor;
                  }
                  sink.next(result as ExecutionResult);
                },
                error(error) {
                  onLive('ended');
                  sink.error(error);
                },
                complete: () => sink.complete(),
              });
              return { unsubscribe };
            },
          };
        },
      }),
      fetchExchange,
    ],
  });
}

/** Half a second, doubling up to 15 s, with a little jitter so that clients do not come back at once. */
const backoff = (retries: number) =>
  Math.min(500 * 2 ** retries, 15_000) * (0.8 + Math.random() * 0.4);
