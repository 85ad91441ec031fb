import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { get as httpGet } from 'node:http';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { PRODUCTION_ENV, type RunningApp, sandboxAccounts, startApp } from './helpers/app.ts';
import { type RedisServer, startRedis } from './helpers/redis.ts';
import { openSocket } from './helpers/transports.ts';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('igql without Redis', () => {
  let igql: RunningApp;
  let authorization: string;
  beforeAll(async () => {
    igql = await startApp();
    authorization = `Bearer ${(await sandboxAccounts(igql.base))[0]?.token}`;
  });
  afterAll(() => igql.stop());

  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${igql.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${igql.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: {} });
  });

  it('exposes Prometheus metrics with the upstream counter', async () => {
    const res = await fetch(`${igql.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE instagram_upstream_requests_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('answers a query over HTTP', async () => {
    expect(await post(igql.url, { query: '{ instagramApiVersion }' })).toEqual({
      status: 200,
      body: { data: { instagramApiVersion: 'v27.0' } },
    });
  });

  it('answers a malformed query with a typed error and no stack', async () => {
    const res = await post(
      igql.url,
      { query: '{ instagramApiVersion ' },
      { accept: 'application/graphql-response+json' },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].message).toBe('Syntax Error: Expected Name, found <EOF>.');
    expect(res.body.errors[0].extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('answers 400, not 500, to a GET whose variables are not JSON', async () => {
    const query = encodeURIComponent('query($n: Int) { instagramApiVersion }');
    for (const broken of ['variables=%7B', 'extensions=nope']) {
      const res = await fetch(`${igql.url}?query=${query}&${broken}`, {
        headers: { accept: 'application/graphql-response+json', 'x-graphql-yoga-csrf': '1' },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        errors: [
          {
            message: '`variables` and `extensions` must be JSON objects',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      });
    }
  });

  it('names the Bearer scheme on a 401', async () => {
    const res = await fetch(igql.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="igql"');
  });

  it('allows CORS for an allowed origin only, never `null`, and always varies by Origin', async () => {
    const withOrigins = await startApp({ ALLOWED_ORIGINS: 'https://inbox.example' });
    /** A preflight and a POST from `origin`: the CORS headers of each. */
    const cors = async (origin: string) =>
      Promise.all(
        [
          fetch(withOrigins.url, {
            method: 'OPTIONS',
            headers: { origin, 'access-control-request-method': 'POST' },
          }),
          fetch(withOrigins.url, {
            method: 'POST',
            headers: { origin, 'content-type': 'application/json' },
            body: JSON.stringify({ query: '{ instagramApiVersion }' }),
          }),
        ].map(async (answer) => {
          const res = await answer;
          return [
            res.headers.get('access-control-allow-origin'),
            res.headers.get('access-control-allow-credentials'),
            /\bOrigin\b/.test(res.headers.get('vary') ?? ''),
          ];
        }),
      );
    try {
      expect(await cors('https://inbox.example')).toEqual([
        ['https://inbox.example', 'true', true],
        ['https://inbox.example', 'true', true],
      ]);
      for (const origin of ['null', 'https://evil.example']) {
        expect(await cors(origin)).toEqual([
          [null, null, true],
          [null, null, true],
        ]);
      }
    } finally {
      await withOrigins.stop();
    }
  });

  it('refuses a GET without the CSRF header', async () => {
    const query = encodeURIComponent('{ instagramApiVersion }');
    const res = await fetch(`${igql.url}?query=${query}`, {
      headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      errors: [
        {
          message:
            'GET requests and simple bodies need the `x-graphql-yoga-csrf` header (any value)',
          extensions: { code: 'CSRF_HEADER_REQUIRED' },
        },
      ],
    });
    const ok = await fetch(`${igql.url}?query=${query}`, {
      headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
    });
    expect(await ok.json()).toEqual({ data: { instagramApiVersion: 'v27.0' } });
  });

  it('serves GraphiQL to a browser: a small page naming hashed files', async () => {
    const res = await fetch(igql.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>igql</title>');
    expect(html.length).toBeLessThan(12_000);
    const options = JSON.parse(
      /<script id="igql-graphiql" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1] ?? '',
    );
    expect(options.endpoint).toBe('/graphql');
    expect(options.graphiql.subscriptionsProtocol).toBe('WS');
    // Sandbox mode: ready to run, with the demo session and three example tabs.
    const headers = JSON.parse(options.graphiql.headers);
    expect(headers).toEqual({
      authorization: expect.stringMatching(/^Bearer ey[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    expect(
      options.graphiql.defaultTabs.map((tab: { query: string; headers: string }) => [
        /^(query|mutation|subscription) (\w+)/m.exec(tab.query)?.[0],
        tab.headers === options.graphiql.headers,
      ]),
    ).toEqual([
      ['query Inbox', true],
      ['mutation SendText', true],
      ['subscription InboxEvents', true],
    ]);
    const files = [...new Set([...html.matchAll(/"(\/graphiql\/[\w.-]+)"/g)].map((m) => m[1]))];
    expect(files.map((f) => f?.replace(/\.[\w-]{12}\./, '.<hash>.')).sort()).toEqual([
      '/graphiql/editor.worker.<hash>.js',
      '/graphiql/favicon.<hash>.ico',
      '/graphiql/graphiql.<hash>.css',
      '/graphiql/graphiql.<hash>.js',
      '/graphiql/graphql-ws.<hash>.js',
      '/graphiql/graphql.worker.<hash>.js',
      '/graphiql/igql.<hash>.js',
      '/graphiql/json.worker.<hash>.js',
    ]);
  });

  it('serves GraphiQL’s files compressed and cached for a year, by content hash', async () => {
    const html = await (await fetch(igql.url, { headers: { accept: 'text/html' } })).text();
    const bundle = /src="(\/graphiql\/graphiql\.[\w-]{12}\.js)"/.exec(html)?.[1] ?? '';
    const get = (encoding: string) =>
      new Promise<{ status?: number; headers: Record<string, unknown>; bytes: number }>(
        (resolve, reject) => {
          // node:http, not fetch: the body as it crossed the wire, not decompressed.
          httpGet(`${igql.base}${bundle}`, { headers: { 'accept-encoding': encoding } }, (res) => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
            });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes }));
          }).on('error', reject);
        },
      );
    const plain = await get('identity');
    const br = await get('gzip, deflate, br');
    const gzip = await get('gzip;q=1, br;q=0');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(br.headers['content-encoding']).toBe('br');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(br.headers.vary).toBe('accept-encoding');
    expect(br.bytes).toBeLessThan(plain.bytes / 3);
    expect(gzip.bytes).toBeLessThan(plain.bytes / 3);
    const hash = createHash('sha256');
    hash.update(await (await fetch(`${igql.base}${bundle}`)).bytes());
    expect(bundle).toContain(`.${hash.digest('base64url').slice(0, 12)}.js`);
    expect((await fetch(`${igql.base}/graphiql/graphiql.000000000000.js`)).status).toBe(404);
  });

  it('compresses JSON above a kilobyte when asked, never a small answer or a stream', async () => {
    const ask = (query: string, accept = 'application/json') =>
      fetch(igql.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'accept-encoding': 'gzip',
          accept,
          authorization,
        },
        body: JSON.stringify({ query }),
      });
    const large = await ask('{ __schema { types { name fields { name } } } }');
    expect(large.headers.get('content-encoding')).toBe('gzip');
    expect(large.headers.get('vary')).toContain('Accept-Encoding');
    expect(
      ((await large.json()) as { data: { __schema: { types: unknown[] } } }).data.__schema.types
        .length,
    ).toBeGreaterThan(50);
    const small = await ask('{ instagramApiVersion }');
    expect(small.headers.get('content-encoding')).toBeNull();
    expect(await small.json()).toEqual({ data: { instagramApiVersion: 'v27.0' } });
    const stream = await ask('subscription { heartbeat(intervalSeconds: 1) }', 'text/event-stream');
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    // Yoga says so itself, so that no proxy buffers the stream to compress it.
    expect(stream.headers.get('content-encoding')).toBe('none');
    const reader = stream.body?.getReader();
    const first = new TextDecoder().decode((await reader?.read())?.value);
    expect(first).toMatch(/"heartbeat":"\d{4}-/);
    await reader?.cancel();
  });

  it('streams a subscription over graphql-ws', async () => {
    const client = createClient({
      url: igql.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization },
    });
    const events = client.iterate<{ heartbeat: string }>({
      query: 'subscription { heartbeat(intervalSeconds: 1) }',
    });
    const first = await events.next();
    const second = await events.next();
    await events.return?.();
    await client.dispose();
    const [a, b] = [first.value?.data?.heartbeat, second.value?.data?.heartbeat];
    expect(a).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(b ?? '') - Date.parse(a ?? '')).toBeGreaterThanOrEqual(900);
  });

  it('answers an invalid websocket operation with its validation error', async () => {
    const client = createClient({
      url: igql.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization },
    });
    const events = client.iterate({ query: 'subscription { heartbeat(intervalSeconds: 0) }' });
    expect((await events.next()).value).toEqual({
      errors: [
        {
          message: 'intervalSeconds must be between 1 and 300',
          locations: [{ line: 1, column: 16 }],
          path: ['heartbeat'],
          extensions: { code: 'BAD_USER_INPUT', argument: 'intervalSeconds' },
        },
      ],
    });
    const invalid = client.iterate({ query: 'subscription { nope }' });
    await expect(invalid.next()).rejects.toEqual([
      expect.objectContaining({
        message: 'Cannot query field "nope" on type "Subscription".',
      }),
    ]);
    await client.dispose();
  });

  it('refuses a document over the limits per operation over graphql-ws, on the same socket', async () => {
    let connections = 0;
    const closes: number[] = [];
    const client = createClient({
      url: igql.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization },
      on: {
        connected: () => connections++,
        closed: (event) => closes.push((event as { code: number }).code),
      },
    });
    const refused = async (query: string) => {
      try {
        for await (const result of client.iterate({ query })) return result;
        return 'completed without a result';
      } catch (errors) {
        return errors;
      }
    };
    const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: instagramApiVersion`).join(' ')} }`;
    expect(await refused(aliases)).toEqual([
      {
        message: 'Aliases limit of 15 exceeded, found 16.',
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      },
    ]);
    const deep = `{ nodes(ids: ${'['.repeat(1999)}${']'.repeat(1999)}) { id } }`;
    expect(await refused(deep)).toEqual([
      { message: 'The document is nested too deeply', extensions: { code: 'QUERY_TOO_COMPLEX' } },
    ]);
    // Validation errors as the client sees them: no Yoga-internal `extensions.http`.
    expect(await refused('{ nope }')).toEqual([
      {
        message: 'Cannot query field "nope" on type "Query". [Suggestion hidden]',
        locations: [{ line: 1, column: 3 }],
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
    expect(await refused('{ instagramApiVersion }')).toEqual({
      data: { instagramApiVersion: 'v27.0' },
    });
    expect([connections, closes]).toEqual([1, []]);
    await client.dispose();
  });

  it('answers 400 to a document over the alias or directive limit, as GraphQL over HTTP asks', async () => {
    const ask = (query: string) =>
      fetch(igql.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
        },
        body: JSON.stringify({ query }),
      });
    const aliases = await ask(
      `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: instagramApiVersion`).join(' ')} }`,
    );
    expect(aliases.status).toBe(400);
    expect(await aliases.json()).toEqual({
      errors: [
        {
          message: 'Aliases limit of 15 exceeded, found 16.',
          extensions: { code: 'QUERY_TOO_COMPLEX' },
        },
      ],
    });
    const directives = await ask(`{ ${'instagramApiVersion @include(if: true) '.repeat(51)}}`);
    expect(directives.status).toBe(400);
    expect(await directives.json()).toEqual({
      errors: [
        {
          message: 'Directives limit of 50 exceeded, found 51.',
          extensions: { code: 'QUERY_TOO_COMPLEX' },
        },
      ],
    });
  });

  it('answers 400 to a document nested deeper than the parser goes, over HTTP', async () => {
    const res = await fetch(igql.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      },
      body: JSON.stringify({
        query: `{ nodes(ids: ${'['.repeat(1999)}${']'.repeat(1999)}) { id } }`,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      errors: [
        { message: 'The document is nested too deeply', extensions: { code: 'QUERY_TOO_COMPLEX' } },
      ],
    });
  });

  it('refuses the heartbeat to an anonymous client', async () => {
    const res = await fetch(igql.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { heartbeat }' }),
    });
    const text = await res.text();
    expect(text).toContain('"code":"UNAUTHENTICATED"');
    expect(text).not.toContain('"heartbeat":"');
  });

  it('reads the session cookie even beside a cookie that is not valid percent-encoding', async () => {
    const res = await post(
      igql.url,
      { query: '{ viewer { username } }' },
      { cookie: `other=100%; igql_session=${authorization.slice('Bearer '.length)}` },
    );
    expect(res).toEqual({
      status: 200,
      body: { data: { viewer: { username: 'northwind.shop' } } },
    });
  });

  it('closes a websocket without a valid session with 4403', async () => {
    for (const connectionParams of [{}, { authorization: 'Bearer nope' }]) {
      const closed = new Promise<number>((resolve) => {
        const client = createClient({
          url: igql.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams,
          on: { closed: (event) => resolve((event as { code: number }).code) },
        });
        client.subscribe(
          { query: 'subscription { heartbeat }' },
          { next: () => {}, error: () => {}, complete: () => {} },
        );
      });
      expect(await closed).toBe(4403);
    }
  });

  it('closes with 4400 a socket whose client sends a server’s message, and logs no stack', async () => {
    const stderr = vi.spyOn(console, 'error');
    for (const frame of [
      { type: 'next', id: '1', payload: { data: null } },
      { type: 'error', id: '1', payload: [{ message: 'x' }] },
      { type: 'connection_ack' },
    ]) {
      const socket = await openSocket(igql.url, { connectionParams: { authorization } });
      await socket.frame('connection_ack');
      socket.send(frame);
      expect(await socket.closed).toEqual({ code: 4400, reason: 'Invalid message received' });
    }
    expect(stderr).not.toHaveBeenCalled();
    stderr.mockRestore();
  });

  it('closes a socket that breaks graphql-transport-ws with the protocol’s exact code and reason', async () => {
    const acked = async () => {
      const socket = await openSocket(igql.url, { connectionParams: { authorization } });
      await socket.frame('connection_ack');
      return socket;
    };
    // 4400: not one of the protocol's messages (here a JSON string, then a subscribe without id).
    for (const frame of [
      'not an object',
      { type: 'subscribe', payload: { query: '{ __typename }' } },
    ]) {
      const socket = await acked();
      socket.send(frame as Record<string, unknown>);
      expect(await socket.closed).toEqual({ code: 4400, reason: 'Invalid message received' });
    }
    // 4401: a subscribe before connection_ack.
    const early = await openSocket(igql.url, { init: false });
    early.send({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } });
    expect(await early.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
    // 4403: connection_init without a valid session.
    const anonymous = await openSocket(igql.url, { connectionParams: {} });
    expect(await anonymous.closed).toEqual({ code: 4403, reason: 'Forbidden' });
    // 4409: the id of a running operation again.
    const twice = await acked();
    const heartbeat = { query: 'subscription { heartbeat(intervalSeconds: 300) }' };
    twice.send({ id: 'same', type: 'subscribe', payload: heartbeat });
    twice.send({ id: 'same', type: 'subscribe', payload: heartbeat });
    expect(await twice.closed).toEqual({
      code: 4409,
      reason: 'Subscriber for same already exists',
    });
    // 4429: a second connection_init.
    const again = await acked();
    again.send({ type: 'connection_init', payload: { authorization } });
    expect(await again.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
    // 4406: without the graphql-transport-ws subprotocol.
    const other = new WebSocket(igql.wsUrl);
    const [code, reason] = (await once(other, 'close')) as [number, Buffer];
    expect({ code, reason: String(reason) }).toEqual({
      code: 4406,
      reason: 'Subprotocol not acceptable',
    });
  });

  it('closes a socket that sends no connection_init within 3 s with 4408; an initialised one stays', async () => {
    const silent = await openSocket(igql.url, { init: false });
    const initialised = await openSocket(igql.url, { connectionParams: { authorization } });
    await initialised.frame('connection_ack');
    expect(await silent.closed).toEqual({
      code: 4408,
      reason: 'Connection initialisation timeout',
    });
    // Its deadline passed too: a ping still gets its pong, with the payload echoed.
    initialised.send({ type: 'ping', payload: { at: 'deadline' } });
    expect(await initialised.frame('pong')).toEqual({ type: 'pong', payload: { at: 'deadline' } });
    await initialised.close();
  });

  it('runs a query over graphql-ws as next then complete, and stops a subscription the client completes', async () => {
    const socket = await openSocket(igql.url, { connectionParams: { authorization } });
    await socket.frame('connection_ack');
    socket.send({ id: 'q', type: 'subscribe', payload: { query: '{ viewer { username } }' } });
    await socket.frame('complete');
    expect(socket.frames.filter((f) => f.id === 'q')).toEqual([
      { id: 'q', type: 'next', payload: { data: { viewer: { username: 'northwind.shop' } } } },
      { id: 'q', type: 'complete' },
    ]);
    socket.send({
      id: 's',
      type: 'subscribe',
      payload: { query: 'subscription { heartbeat(intervalSeconds: 300) }' },
    });
    // Its first beat comes at once, the next in 5 minutes.
    await vi.waitFor(() => expect(socket.frames.filter((f) => f.id === 's')).toHaveLength(1));
    socket.send({ id: 's', type: 'complete' });
    // The same id again is a new operation, not a duplicate: its first result comes.
    socket.send({ id: 's', type: 'subscribe', payload: { query: '{ __typename }' } });
    await vi.waitFor(() =>
      expect(socket.frames.filter((f) => f.type === 'complete')).toHaveLength(2),
    );
    expect(socket.frames.filter((f) => f.id === 's').map((f) => f.type)).toEqual([
      'next',
      'next',
      'complete',
    ]);
    await socket.close();
  });

  it('refuses a websocket from a foreign origin', async () => {
    const socket = new WebSocket(igql.wsUrl, 'graphql-transport-ws', {
      origin: 'https://evil.example',
    });
    socket.on('error', () => {});
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      socket.once('open', () => resolve(undefined));
    });
    expect(status).toBe(403);
  });
});

describe('igql with Redis', () => {
  let redis: RedisServer;
  let igql: RunningApp;
  beforeAll(async () => {
    redis = await startRedis();
    igql = await startApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await igql?.stop();
    await redis?.stop();
  });

  it('is ready while Redis answers and unready while it is down', async () => {
    const waitFor = async (status: number) => {
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${igql.base}/readyz`);
        if (res.status === status) return res.json();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`readyz never answered ${status}`);
    };
    expect(await waitFor(200)).toEqual({ status: 'ok', checks: { redis: 'ok' } });
    await redis.stop();
    expect(await waitFor(503)).toEqual({ status: 'unavailable', checks: { redis: 'unreachable' } });
    expect((await fetch(`${igql.base}/healthz`)).status).toBe(200);
    await redis.restart();
    expect(await waitFor(200)).toEqual({ status: 'ok', checks: { redis: 'ok' } });
  });
});

describe('igql in production mode', () => {
  const production = PRODUCTION_ENV;
  const introspect = (url: string) => post(url, { query: '{ __schema { queryType { name } } }' });

  it('serves neither GraphiQL nor introspection unless told to', async () => {
    const igql = await startApp(production);
    try {
      const page = await fetch(igql.url, { headers: { accept: 'text/html' } });
      // No page: Yoga answers 406, naming what /graphql serves.
      expect(page.status).toBe(406);
      expect(page.headers.get('accept')).toContain('application/graphql-response+json');
      expect(await page.text()).toBe('');
      expect((await fetch(`${igql.base}/graphiql/igql.000000000000.js`)).status).toBe(404);
      const refused = await introspect(igql.url);
      expect(refused.body.errors[0].message).toBe(
        'GraphQL introspection has been disabled, but the requested query contained the field "__schema".',
      );
      expect(refused.body.data).toBeUndefined();
    } finally {
      await igql.stop();
    }
  });

  it('serves both with GRAPHIQL=on, and introspection alone with INTROSPECTION=on', async () => {
    for (const [env, graphiql] of [
      [{ GRAPHIQL: 'on' }, true],
      [{ INTROSPECTION: 'on' }, false],
    ] as const) {
      const igql = await startApp({ ...production, ...env });
      try {
        const page = await fetch(igql.url, { headers: { accept: 'text/html' } });
        expect((await page.text()).includes('igql-graphiql')).toBe(graphiql);
        expect(await introspect(igql.url)).toEqual({
          status: 200,
          body: { data: { __schema: { queryType: { name: 'Query' } } } },
        });
      } finally {
        await igql.stop();
      }
    }
  });
});
