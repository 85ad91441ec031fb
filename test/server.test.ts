import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningApp, sandboxAccounts, startApp } from './helpers/app.ts';
import { type RedisServer, startRedis } from './helpers/redis.ts';

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
      body: { data: { instagramApiVersion: 'v25.0' } },
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

  it('refuses a GET without the CSRF header', async () => {
    const query = encodeURIComponent('{ instagramApiVersion }');
    const res = await fetch(`${igql.url}?query=${query}`, {
      headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(403);
    const ok = await fetch(`${igql.url}?query=${query}`, {
      headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
    });
    expect(await ok.json()).toEqual({ data: { instagramApiVersion: 'v25.0' } });
  });

  it('serves GraphiQL to a browser, set to websockets', async () => {
    const res = await fetch(igql.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>igql</title>');
    expect(html).toContain('"subscriptionsProtocol":"WS"');
    // Sandbox mode: ready to run, with a demo session and an inbox query.
    expect(html).toContain('"defaultQuery":"# The sandbox');
    expect(html).toMatch(
      /"headers":"\{\\"authorization\\":\\"Bearer ey[\w-]+\.[\w-]+\.[\w-]+\\"\}"/,
    );
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
