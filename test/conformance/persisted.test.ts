import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { DocumentStore, loadTrustedDocuments, type PersistedOptions } from '../../src/persisted.ts';
import { startSandbox } from '../../src/sandbox/index.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const MANIFEST = 'test/conformance/trusted-documents.json';
const VERSION = 'query Version { instagramApiVersion }';
const ME = 'query Me { viewer { username } }';

interface Running {
  readonly app: App;
  readonly url: string;
  readonly token: string;
  stop(): Promise<void>;
}

/** igql in sandbox mode with these persisted-document options, and a demo session. */
async function start(persisted?: PersistedOptions): Promise<Running> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' });
  const sandbox = await startSandbox({ config });
  const app = createApp({ config, sandbox, drainTimeoutMs: 1000, persisted });
  const url = await app.start();
  const listed = (await (await fetch(url.replace(/graphql$/, 'sandbox'))).json()) as {
    accounts: { token: string }[];
  };
  return {
    app,
    url,
    token: listed.accounts[0]?.token ?? '',
    stop: async () => {
      await app.stop();
      await sandbox.stop();
    },
  };
}

/** One POST; `accept` decides the status of refusals (GraphQL over HTTP). */
async function post(
  target: Running,
  body: Record<string, unknown>,
  accept = 'application/graphql-response+json',
) {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept,
      authorization: `Bearer ${target.token}`,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    body: (await res.json()) as unknown,
  };
}

type Frame = Record<string, unknown>;

/** A graphql-ws socket with a session, driven by hand: `until` waits for a matching frame. */
async function connect(target: Running) {
  const ws = new WebSocket(target.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const wake of waiters) wake();
  });
  ws.on('close', () => {
    for (const wake of waiters) wake();
  });
  await once(ws, 'open');
  const until = (match: (frame: Frame) => boolean) =>
    new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const found = frames.find(match);
        if (found || ws.readyState === ws.CLOSED) waiters.delete(check);
        if (found) resolve(found);
        else if (ws.readyState === ws.CLOSED) reject(new Error('the socket closed'));
      };
      waiters.add(check);
      check();
    });
  ws.send(
    JSON.stringify({
      type: 'connection_init',
      payload: { authorization: `Bearer ${target.token}` },
    }),
  );
  await until((f) => f.type === 'connection_ack');
  return {
    frames,
    until,
    /** Sends a subscribe and waits for its last frame (`error` or `complete`). */
    async run(id: string, payload: Frame) {
      ws.send(JSON.stringify({ id, type: 'subscribe', payload }));
      await until((f) => f.id === id && (f.type === 'error' || f.type === 'complete'));
      return frames.filter((f) => f.id === id);
    },
    close: () => ws.close(),
  };
}

const pq = (hash: string, version = 1) => ({ persistedQuery: { version, sha256Hash: hash } });
const NOT_FOUND = {
  errors: [
    { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
  ],
};
const ONLY_TRUSTED = {
  errors: [
    {
      message:
        'Only trusted documents run here: send the id of a listed document in `extensions.persistedQuery.sha256Hash`',
      extensions: { code: 'PERSISTED_QUERY_ONLY' },
    },
  ],
};

describe('DocumentStore', () => {
  it('keeps at most maxEntries, dropping the least recently used', () => {
    const store = new DocumentStore({ maxEntries: 2 });
    store.set('a', 'A');
    store.set('b', 'B');
    expect(store.get('a')).toBe('A'); // a is now the most recently used
    store.set('c', 'C');
    expect([store.get('a'), store.get('b'), store.get('c')]).toEqual(['A', undefined, 'C']);
    expect(store.size).toBe(2);
  });

  it('keeps at most maxBytes of UTF-8 text, and never a document larger than that', () => {
    const store = new DocumentStore({ maxBytes: 10 });
    store.set('a', 'aaaa');
    store.set('b', 'bbbb');
    store.set('c', 'éé'); // 4 bytes: 12 in all, so `a` goes
    expect([store.get('a'), store.get('b'), store.get('c')]).toEqual([undefined, 'bbbb', 'éé']);
    expect(store.bytes).toBe(8);
    store.set('d', 'd'.repeat(11));
    expect([store.get('d'), store.size, store.bytes]).toEqual([undefined, 2, 8]);
    store.set('b', 'bb'); // replacing an entry counts its new size only
    expect([store.get('b'), store.bytes]).toEqual(['bb', 6]);
  });
});

describe('automatic persisted queries (Apollo’s protocol)', () => {
  let igql: Running;
  beforeAll(async () => {
    igql = await start();
  });
  afterAll(() => igql?.stop());

  it('answers an unknown hash PERSISTED_QUERY_NOT_FOUND, uncached, 404 or 200 by Accept', async () => {
    const hash = sha256('query Unknown { instagramApiVersion }');
    expect(await post(igql, { extensions: pq(hash) })).toEqual({
      status: 404,
      cacheControl: 'private, no-cache, must-revalidate',
      body: NOT_FOUND,
    });
    expect(await post(igql, { extensions: pq(hash) }, 'application/json')).toEqual({
      status: 200,
      cacheControl: 'private, no-cache, must-revalidate',
      body: NOT_FOUND,
    });
  });

  it('registers a query sent with its hash, then runs it by hash alone over POST and GET', async () => {
    const query = 'query Registered { instagramApiVersion }';
    const hash = sha256(query);
    expect(await post(igql, { extensions: pq(hash) })).toMatchObject({ status: 404 });
    expect(await post(igql, { query, extensions: pq(hash) })).toMatchObject({
      status: 200,
      body: { data: { instagramApiVersion: 'v27.0' } },
    });
    expect(await post(igql, { extensions: pq(hash) })).toMatchObject({
      status: 200,
      body: { data: { instagramApiVersion: 'v27.0' } },
    });
    const get = await fetch(
      `${igql.url}?extensions=${encodeURIComponent(JSON.stringify(pq(hash)))}`,
      { headers: { accept: 'application/graphql-response+json', 'x-graphql-yoga-csrf': '1' } },
    );
    expect([get.status, await get.json()]).toEqual([
      200,
      { data: { instagramApiVersion: 'v27.0' } },
    ]);
  });

  it('refuses a hash that is not the query’s, and keeps nothing under it', async () => {
    const wrong = sha256('something else');
    expect(await post(igql, { query: VERSION, extensions: pq(wrong) })).toEqual({
      status: 400,
      cacheControl: null,
      body: {
        errors: [
          {
            message: '`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      },
    });
    expect((await post(igql, { extensions: pq(wrong) })).body).toEqual(NOT_FOUND);
  });

  it('refuses another protocol version', async () => {
    expect(await post(igql, { query: VERSION, extensions: pq(sha256(VERSION), 2) })).toEqual({
      status: 400,
      cacheControl: null,
      body: {
        errors: [
          {
            message:
              '`extensions.persistedQuery` must be {"version": 1, "sha256Hash": "<hex SHA-256 of the query>"}',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      },
    });
  });

  it('keeps only documents that validate', async () => {
    const invalid = 'query Invalid { noSuchField }';
    const hash = sha256(invalid);
    const sent = await post(igql, { query: invalid, extensions: pq(hash) });
    expect(sent.status).toBe(400);
    expect((await post(igql, { extensions: pq(hash) })).body).toEqual(NOT_FOUND);
  });

  it('registers over graphql-ws too: a query sent there with its hash then runs by hash over HTTP', async () => {
    const query = 'query OverSocket { instagramApiVersion }';
    const socket = await connect(igql);
    expect(await socket.run('bad', { query, extensions: pq(sha256('x')) })).toEqual([
      {
        id: 'bad',
        type: 'error',
        payload: [
          {
            message: '`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      },
    ]);
    expect(await socket.run('ok', { query, extensions: pq(sha256(query)) })).toEqual([
      { id: 'ok', type: 'next', payload: { data: { instagramApiVersion: 'v27.0' } } },
      { id: 'ok', type: 'complete' },
    ]);
    socket.close();
    expect((await post(igql, { extensions: pq(sha256(query)) })).body).toEqual({
      data: { instagramApiVersion: 'v27.0' },
    });
  });

  it('serves Apollo Client’s persisted-query link: a miss and a registration, then the hash alone', async () => {
    const sent: Record<string, unknown>[] = [];
    const link = new PersistedQueryLink({ sha256 }).concat(
      new HttpLink({
        uri: igql.url,
        headers: { authorization: `Bearer ${igql.token}` },
        fetch: async (input, init) => {
          sent.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
          return fetch(input, init);
        },
      }),
    );
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    const query = gql`
      query ApolloMe {
        viewer {
          username
        }
      }
    `;
    const hash = sha256('query ApolloMe {\n  viewer {\n    username\n    __typename\n  }\n}');
    const first = await client.query({ query, fetchPolicy: 'network-only' });
    const second = await client.query({ query, fetchPolicy: 'network-only' });
    const expected = { viewer: { __typename: 'Account', username: 'northwind.shop' } };
    expect([first.data, second.data]).toEqual([expected, expected]);
    const hashes = sent.map((b) => [
      typeof b.query,
      (b.extensions as { persistedQuery?: unknown }).persistedQuery,
    ]);
    expect(hashes).toEqual([
      ['undefined', pq(hash).persistedQuery],
      ['string', pq(hash).persistedQuery],
      ['undefined', pq(hash).persistedQuery],
    ]);
    client.stop();
  });
});

describe('trusted documents only', () => {
  let igql: Running;
  beforeAll(async () => {
    igql = await start({ trustedDocuments: MANIFEST });
  });
  afterAll(() => igql?.stop());

  it('runs a listed document by its id, or by its exact text', async () => {
    expect(await post(igql, { extensions: pq(sha256(ME)) })).toEqual({
      status: 200,
      cacheControl: null,
      body: { data: { viewer: { username: 'northwind.shop' } } },
    });
    expect((await post(igql, { query: VERSION })).body).toEqual({
      data: { instagramApiVersion: 'v27.0' },
    });
  });

  it('refuses any other document, and an id that is not listed, PERSISTED_QUERY_ONLY', async () => {
    for (const body of [
      { query: '{ instagramApiVersion }' },
      {
        query: 'query Other { instagramApiVersion }',
        extensions: pq(sha256('query Other { instagramApiVersion }')),
      },
      { extensions: pq(sha256('query Other { instagramApiVersion }')) },
      { query: VERSION, extensions: pq(sha256(ME)) },
    ]) {
      expect(await post(igql, body)).toEqual({
        status: 400,
        cacheControl: null,
        body: ONLY_TRUSTED,
      });
      expect((await post(igql, body, 'application/json')).status).toBe(200);
    }
  });

  it('applies over graphql-ws: an unlisted document is an error for that operation only', async () => {
    const socket = await connect(igql);
    expect(await socket.run('1', { query: '{ instagramApiVersion }' })).toEqual([
      { id: '1', type: 'error', payload: ONLY_TRUSTED.errors },
    ]);
    expect(await socket.run('2', { query: '', extensions: pq(sha256(ME)) })).toEqual([
      { id: '2', type: 'next', payload: { data: { viewer: { username: 'northwind.shop' } } } },
      { id: '2', type: 'complete' },
    ]);
    expect(await socket.run('3', { query: VERSION })).toEqual([
      { id: '3', type: 'next', payload: { data: { instagramApiVersion: 'v27.0' } } },
      { id: '3', type: 'complete' },
    ]);
    expect(await socket.run('4', { query: '', extensions: pq('nope') })).toEqual([
      { id: '4', type: 'error', payload: ONLY_TRUSTED.errors },
    ]);
    socket.close();
  });
});

describe('loadTrustedDocuments', () => {
  it('reads Apollo’s manifest', () => {
    expect(loadTrustedDocuments(MANIFEST)).toEqual(
      new Map([
        [sha256(VERSION), VERSION],
        [sha256(ME), ME],
      ]),
    );
  });

  it('names the file and what it expected when it is not a list', () => {
    expect(() => loadTrustedDocuments('package.json')).toThrow(
      'package.json: an entry is not a non-empty id with a non-empty document (private); expected {"<id>": "<document>", …} or Apollo\'s manifest {"operations": [{"id", "body"}, …]}',
    );
  });
});
