import {
  ApolloClient,
  ApolloLink,
  gql as apolloGql,
  HttpLink,
  InMemoryCache,
} from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { fetchExchange, subscriptionExchange, Client as UrqlClient } from '@urql/core';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { globalId } from '../../src/global-id.ts';
import {
  type RunningApp,
  type SandboxAccount,
  sandboxAccounts,
  startApp,
  customerWrites as writes,
} from '../helpers/app.ts';
import { watchSubscriber } from '../helpers/subscribers.ts';

/**
 * The ecosystem's own clients against a running sandbox igql: graphql-ws and graphql-sse for a
 * subscription, urql and Apollo Client for a query, a mutation and a subscription, each with
 * the exact data they receive. Subscriptions wait for igql to establish the subscriber
 * (`watchSubscriber`) before a customer writes through `POST /sandbox/inbound`.
 */
let igql: RunningApp;
let shop: SandboxAccount;
/** ana.costa's `Participant.id`: she wrote 30 minutes ago, inside the reply window. */
let ana: string;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  igql = await startApp();
  shop = (await sandboxAccounts(igql.base))[0] as SandboxAccount;
  const user = igql.app.sandbox?.simulator?.store.userByUsername(shop.igId, 'ana.costa');
  ana = globalId.participant(shop.igId, user?.igsid ?? '');
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

afterAll(() => igql?.stop());

const QUERY = `query Inbox { viewer { username conversations(first: 1) { nodes { participants { username } } } } }`;
const MUTATION = `mutation Send($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { text from { username } } userErrors { code message } } }`;
const SUBSCRIPTION = `subscription Events($accountId: ID!) { inboxEvents(accountId: $accountId, types: [MESSAGE_RECEIVED]) { type customer { username } ... on MessageReceivedEvent { message { text } } } }`;

const queried = {
  viewer: {
    username: 'northwind.shop',
    conversations: {
      nodes: [{ participants: [{ username: 'ana.costa' }, { username: 'northwind.shop' }] }],
    },
  },
};
const sent = (text: string) => ({
  sendTextMessage: { message: { text, from: { username: 'northwind.shop' } }, userErrors: [] },
});
const received = (text: string) => ({
  inboxEvents: { type: 'MESSAGE_RECEIVED', customer: { username: 'ana.costa' }, message: { text } },
});

/** ana.costa writes `text` to northwind.shop, as the sandbox's customers do. */
const customerWrites = (text: string) => writes(igql.base, shop.id, text);

/**
 * Subscribes with `start` (which calls `next` with each result), waits until igql established
 * the subscriber, makes ana write `text`, and answers the first result.
 */
async function firstEvent(
  text: string,
  start: (next: (value: unknown) => void, fail: (error: unknown) => void) => () => void,
): Promise<unknown> {
  const watch = watchSubscriber();
  let stop: () => void = () => {};
  const first = new Promise<unknown>((resolve, reject) => {
    stop = start(resolve, (error) => {
      watch.cancel();
      reject(error);
    });
  });
  await watch.established;
  await customerWrites(text);
  try {
    return await first;
  } finally {
    stop();
  }
}

const wsClient = (): WsClient => {
  const client = createWsClient({
    url: igql.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${shop.token}` },
  });
  closers.push(() => client.dispose());
  return client;
};

describe('graphql-ws (the official client, over `ws`)', () => {
  it('receives a message a customer writes', async () => {
    const client = wsClient();
    const event = await firstEvent('Hello over graphql-ws', (next, fail) =>
      client.subscribe(
        { query: SUBSCRIPTION, variables: { accountId: shop.id } },
        { next, error: fail, complete: () => fail(new Error('completed')) },
      ),
    );
    expect(event).toEqual({ data: received('Hello over graphql-ws') });
  });
});

describe('graphql-sse (the official client, distinct connections mode)', () => {
  it('receives a message a customer writes', async () => {
    const client = createSseClient({
      url: igql.url,
      singleConnection: false,
      retryAttempts: 0,
      headers: { authorization: `Bearer ${shop.token}` },
    });
    closers.push(() => client.dispose());
    const event = await firstEvent('Hello over SSE', (next, fail) =>
      client.subscribe(
        { query: SUBSCRIPTION, variables: { accountId: shop.id } },
        { next, error: fail, complete: () => fail(new Error('completed')) },
      ),
    );
    expect(event).toEqual({ data: received('Hello over SSE') });
  });
});

describe('urql (@urql/core: fetchExchange, subscriptionExchange over graphql-ws)', () => {
  const urql = () => {
    const ws = wsClient();
    return new UrqlClient({
      url: igql.url,
      // urql sends queries as GETs (`preferGetMethod: 'within-url-limit'`): igql's CSRF
      // prevention wants this header on them.
      fetchOptions: {
        headers: { authorization: `Bearer ${shop.token}`, 'x-graphql-yoga-csrf': 'urql' },
      },
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({
              unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink),
            }),
          }),
        }),
      ],
    });
  };

  it('runs a query', async () => {
    const result = await urql().query(QUERY, {}).toPromise();
    expect([result.error, result.data]).toEqual([undefined, queried]);
  });

  it('runs a mutation: a text to a customer inside the reply window', async () => {
    const input = { accountId: shop.id, recipientId: ana, text: 'Sent with urql' };
    const result = await urql().mutation(MUTATION, { input }).toPromise();
    expect([result.error, result.data]).toEqual([undefined, sent('Sent with urql')]);
  });

  it('receives a subscription’s event', async () => {
    const client = urql();
    const event = await firstEvent('Hello urql', (next, fail) => {
      const { unsubscribe } = client
        .subscription(SUBSCRIPTION, { accountId: shop.id })
        .subscribe((result) => (result.error ? fail(result.error) : next(result.data)));
      return unsubscribe;
    });
    expect(event).toEqual(received('Hello urql'));
  });
});

describe('Apollo Client (HttpLink, GraphQLWsLink)', () => {
  const apollo = () => {
    const http = new HttpLink({
      uri: igql.url,
      headers: { authorization: `Bearer ${shop.token}` },
    });
    const link = ApolloLink.split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(wsClient()),
      http,
    );
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    closers.push(() => client.stop());
    return client;
  };

  it('runs a query', async () => {
    const result = await apollo().query({ query: apolloGql(QUERY), fetchPolicy: 'network-only' });
    expect(result.data).toEqual({
      viewer: {
        __typename: 'Account',
        username: 'northwind.shop',
        conversations: {
          __typename: 'ConversationConnection',
          nodes: [
            {
              __typename: 'Conversation',
              participants: [
                { __typename: 'Participant', username: 'ana.costa' },
                { __typename: 'Participant', username: 'northwind.shop' },
              ],
            },
          ],
        },
      },
    });
  });

  it('runs a mutation: a text to a customer inside the reply window', async () => {
    const input = { accountId: shop.id, recipientId: ana, text: 'Sent with Apollo' };
    const result = await apollo().mutate({ mutation: apolloGql(MUTATION), variables: { input } });
    expect(result.data).toEqual({
      sendTextMessage: {
        __typename: 'SendMessagePayload',
        message: {
          __typename: 'Message',
          text: 'Sent with Apollo',
          from: { __typename: 'Participant', username: 'northwind.shop' },
        },
        userErrors: [],
      },
    });
  });

  it('receives a subscription’s event', async () => {
    const client = apollo();
    const event = await firstEvent('Hello Apollo', (next, fail) => {
      const subscription = client
        .subscribe({ query: apolloGql(SUBSCRIPTION), variables: { accountId: shop.id } })
        .subscribe({
          next: (result) => (result.error ? fail(result.error) : next(result.data)),
          error: fail,
        });
      return () => subscription.unsubscribe();
    });
    expect(event).toEqual({
      inboxEvents: {
        __typename: 'MessageReceivedEvent',
        type: 'MESSAGE_RECEIVED',
        customer: { __typename: 'Participant', username: 'ana.costa' },
        message: { __typename: 'Message', text: 'Hello Apollo' },
      },
    });
  });
});
