import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import {
  BoundedCache,
  createDocumentCaches,
  documentWeight,
  MAX_DOCUMENT_LENGTH,
} from '../../src/document-cache.ts';
import { type RunningApp, type SandboxAccount, sandboxAccounts, startApp } from '../helpers/app.ts';
import { openRaw, type RawConnection } from '../helpers/raw-http.ts';

const portOf = (running: RunningApp) => Number(new URL(running.base).port);

const tooLarge = (limit: number) => ({
  errors: [
    {
      message: `The request body is larger than ${limit} bytes`,
      extensions: { code: 'PAYLOAD_TOO_LARGE', limit },
    },
  ],
});

/** `{ __typename }` with this session, as JSON, on a raw connection. */
const typename = (conn: RawConnection, token: string) =>
  conn.request(
    'POST',
    '/graphql',
    { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    JSON.stringify({ query: '{ __typename }' }),
  );

/** Writes `total` bytes of body in chunked encoding, 64 KiB a chunk. */
function writeChunked(conn: RawConnection, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  for (let sent = 0; sent < total; sent += chunk.length) {
    conn.write(`${chunk.length.toString(16)}\r\n`);
    conn.write(chunk);
    conn.write('\r\n');
  }
  conn.write('0\r\n\r\n');
}

describe('request bodies (MAX_BODY_BYTES)', () => {
  const LIMIT = 100_000;
  let running: RunningApp;
  let account: SandboxAccount;
  beforeAll(async () => {
    running = await startApp({ MAX_BODY_BYTES: String(LIMIT) });
    [account] = (await sandboxAccounts(running.base)) as [SandboxAccount];
  });
  afterAll(() => running.stop());

  it('answers 413 PAYLOAD_TOO_LARGE to a GraphQL body over the limit, and the connection serves the next request', async () => {
    const conn = await openRaw(portOf(running));
    const query = `{ __typename } #${'x'.repeat(LIMIT)}`;
    const refused = await conn.request(
      'POST',
      '/graphql',
      { 'content-type': 'application/json', authorization: `Bearer ${account.token}` },
      JSON.stringify({ query }),
    );
    expect(refused.status).toBe(413);
    expect(refused.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(refused.body)).toEqual(tooLarge(LIMIT));
    const next = await typename(conn, account.token);
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body)).toEqual({ data: { __typename: 'Query' } });
    conn.socket.destroy();
  });

  it('counts a chunked GraphQL body as it streams: 413, and the connection serves the next request', async () => {
    const conn = await openRaw(portOf(running));
    conn.write(
      'POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const refused = conn.response();
    writeChunked(conn, 4 * LIMIT);
    expect((await refused).status).toBe(413);
    expect(JSON.parse((await refused).body)).toEqual(tooLarge(LIMIT));
    const next = await typename(conn, account.token);
    expect(JSON.parse(next.body)).toEqual({ data: { __typename: 'Query' } });
    conn.socket.destroy();
  });

  it('answers 413 on the webhook route too, and the next request on the connection is served', async () => {
    const conn = await openRaw(portOf(running));
    const refused = await conn.request(
      'POST',
      '/webhooks/instagram',
      { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' },
      JSON.stringify({ object: 'instagram', entry: [], pad: 'x'.repeat(LIMIT) }),
    );
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body)).toEqual(tooLarge(LIMIT));
    const health = await conn.request('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    conn.socket.destroy();
  });

  it('answers 413 to a chunked webhook body over the limit, and the next request is served', async () => {
    const conn = await openRaw(portOf(running));
    conn.write(
      'POST /webhooks/instagram HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const refused = conn.response();
    writeChunked(conn, 2 * LIMIT);
    expect((await refused).status).toBe(413);
    const health = await conn.request('GET', '/healthz');
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    conn.socket.destroy();
  });

  it('takes a multipart body past the limit (an upload) from a signed-in session only: 413 anonymous', async () => {
    const body = `--b\r\ncontent-disposition: form-data; name="operations"\r\n\r\n${'x'.repeat(LIMIT)}\r\n--b--\r\n`;
    const post = (headers: Record<string, string>) =>
      fetch(`${running.base}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'multipart/form-data; boundary=b',
          'x-graphql-yoga-csrf': '1',
          ...headers,
        },
        body,
      });
    const anonymous = await post({});
    expect(anonymous.status).toBe(413);
    expect(await anonymous.json()).toEqual(tooLarge(LIMIT));
    const forged = await post({ authorization: 'Bearer not.a.jwt' });
    expect(forged.status).toBe(413);
    // A valid session that may use no account has nothing to upload for.
    const secret = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }).sessionSecret;
    const noAccounts = await signSession(secret, { sub: 'agent', accounts: [] }, 3600);
    const empty = await post({ authorization: `Bearer ${noAccounts}` });
    expect(empty.status).toBe(413);
    // Read whole and handed to Yoga, which finds no valid operations in it: not a 413.
    const signedIn = await post({ authorization: `Bearer ${account.token}` });
    expect(await signedIn.json()).toEqual({
      errors: [{ message: 'Multipart form field "operations" must be a valid JSON string' }],
    });
  });

  it('takes a body up to the limit', async () => {
    const query = `{ __typename } #${'x'.repeat(60_000)}`;
    const res = await fetch(running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${account.token}` },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a document longer than MAX_DOCUMENT_LENGTH before parsing it (400 QUERY_TOO_COMPLEX)', async () => {
    const query = `{ __typename } #${'x'.repeat(MAX_DOCUMENT_LENGTH)}`;
    const res = await fetch(running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${account.token}` },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      errors: [
        {
          message: `The document is longer than ${MAX_DOCUMENT_LENGTH} characters`,
          extensions: { code: 'QUERY_TOO_COMPLEX' },
        },
      ],
    });
  });
});

describe('time-outs (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS)', () => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startApp({ HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600' });
  });
  afterAll(() => running.stop());

  /** Writes `bytes` every 20 ms until the server closes the connection; what it answered. */
  async function trickle(conn: RawConnection, bytes: string): Promise<string> {
    const timer = setInterval(() => conn.write(bytes), 20);
    await conn.closed;
    clearInterval(timer);
    return conn.received();
  }

  it('answers 408 and closes a connection whose body trickles past REQUEST_TIMEOUT_MS', async () => {
    const conn = await openRaw(portOf(running));
    conn.write(
      'POST /webhooks/instagram HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{',
    );
    expect(await trickle(conn, ' ')).toBe(
      'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
    );
  });

  it('answers 408 and closes a connection whose headers trickle past HEADERS_TIMEOUT_MS', async () => {
    const conn = await openRaw(portOf(running));
    conn.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    expect(await trickle(conn, 'x-a: b\r\n')).toBe(
      'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
    );
  });
});

describe('connections (MAX_CONNECTIONS)', () => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startApp({ MAX_CONNECTIONS: '2' });
  });
  afterAll(() => running.stop());

  const open = () => {
    const { server } = running.app;
    return new Promise<number>((resolve, reject) =>
      server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
  };

  it('closes a connection past the limit at once and serves the others', async () => {
    const [a, b] = [await openRaw(portOf(running)), await openRaw(portOf(running))];
    expect((await a.request('GET', '/healthz')).status).toBe(200);
    expect((await b.request('GET', '/healthz')).status).toBe(200);
    const c = await openRaw(portOf(running));
    await c.closed;
    expect(c.received()).toBe('');
    expect((await a.request('GET', '/healthz')).status).toBe(200);
    // Once one has gone, another is taken.
    b.socket.destroy();
    await expect.poll(open).toBe(1);
    const d = await openRaw(portOf(running));
    expect((await d.request('GET', '/healthz')).status).toBe(200);
    a.socket.destroy();
    d.socket.destroy();
  });
});

describe('parsed documents kept (Yoga’s parse and validation caches)', () => {
  it('bounds the entries by count, least recently used first', () => {
    const cache = new BoundedCache<string>(() => 1, { maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) cache.set(key, key);
    expect(cache.get('a')).toBe('a');
    cache.set('d', 'd');
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([
      'a',
      undefined,
      'c',
      'd',
    ]);
    expect(cache.size).toBe(3);
  });

  it('bounds the entries by total weight, and never keeps one heavier than maxEntryWeight', () => {
    const cache = new BoundedCache<string>((_key, value) => value.length, {
      maxWeight: 10,
      maxEntryWeight: 6,
    });
    cache.set('a', 'xxxx');
    cache.set('b', 'xxxx');
    expect([cache.size, cache.weight]).toEqual([2, 8]);
    cache.set('c', 'xxxx');
    expect([cache.get('a'), cache.size, cache.weight]).toEqual([undefined, 2, 8]);
    cache.set('d', 'xxxxxxx');
    expect([cache.get('d'), cache.size, cache.weight]).toEqual([undefined, 2, 8]);
    cache.set('b', 'xx');
    expect([cache.get('b'), cache.size, cache.weight]).toEqual(['xx', 2, 6]);
  });

  it('weighs a document by its tokens, comments included: 64 KiB of comments is never kept', () => {
    const text = `${'#\n'.repeat(32_000)}{ __typename }`;
    const document = parse(text);
    // 32,000 comments, `{`, `__typename`, `}`, <SOF> and <EOF>.
    expect(documentWeight(text, document)).toBe(2 * text.length + 512 * 32_005);
    const { documentCache } = createDocumentCaches();
    documentCache.set(text, document);
    expect([documentCache.get(text), documentCache.size, documentCache.weight]).toEqual([
      undefined,
      0,
      0,
    ]);
  });

  it('keeps at most 32 MiB of weight whatever documents come, the most recent ones', () => {
    const { documentCache } = createDocumentCaches();
    const text = (i: number) =>
      `{ a${String(i).padStart(4, '0')}: __typename ${'b: __typename '.repeat(200)}}`;
    const weight = documentWeight(text(0), parse(text(0)));
    for (let i = 0; i < 3000; i++) documentCache.set(text(i), parse(text(i)));
    const kept = Math.floor((32 * 1024 * 1024) / weight);
    expect([documentCache.size, documentCache.weight]).toEqual([kept, kept * weight]);
    expect(documentCache.get(text(2999))).toBeDefined();
    expect(documentCache.get(text(2999 - kept))).toBeUndefined();
  });
});

/** `gc()`, exposed at run time as Jest's leak detection does. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('with the default limits', () => {
  let running: RunningApp;
  let account: SandboxAccount;
  beforeAll(async () => {
    running = await startApp();
    [account] = (await sandboxAccounts(running.base)) as [SandboxAccount];
  });
  afterAll(() => running.stop());

  it('a webhook over the default limit (1 MiB) answers 413 and the next request on its connection is served', async () => {
    const conn = await openRaw(portOf(running));
    const refused = await conn.request(
      'POST',
      '/webhooks/instagram',
      { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' },
      JSON.stringify({ object: 'instagram', entry: [], pad: 'x'.repeat(2 * 1024 * 1024) }),
    );
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body)).toEqual(tooLarge(1024 * 1024));
    const health = await conn.request('GET', '/healthz');
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    conn.socket.destroy();
  });

  it('answers 400 to request targets no URL can be made of, and goes on serving', async () => {
    // Node's parser lets these through; `new URL` throws on each (it once took the process down).
    for (const target of ['//[', 'http://[/x', 'http://:99999/']) {
      const conn = await openRaw(portOf(running));
      const refused = await conn.request('GET', target);
      expect([refused.status, JSON.parse(refused.body)], target).toEqual([
        400,
        { error: 'request target is not a URL' },
      ]);
      const health = await conn.request('GET', '/healthz');
      expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
      conn.socket.destroy();
    }
    // A websocket upgrade to such a target: not found, and igql goes on.
    const upgrade = await openRaw(portOf(running));
    upgrade.write(
      'GET //[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await upgrade.closed;
    expect(upgrade.received()).toBe('HTTP/1.1 404 Not Found\r\n\r\n');
    expect((await fetch(`${running.base}/healthz`)).status).toBe(200);
  });

  it('120 distinct documents of 60 KiB of comments do not stay in memory: the heap grows by less than 64 MiB', async () => {
    const gc = collector();
    const heap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    // Warm up: the first request builds what every later one shares.
    const ask = async (i: number) => {
      const query = `${'#\n'.repeat(30_000)}{ a${i}: __typename }`;
      const res = await fetch(running.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${account.token}` },
        body: JSON.stringify({ query }),
      });
      expect(await res.json()).toEqual({ data: { [`a${i}`]: 'Query' } });
    };
    await ask(1000);
    const before = heap();
    for (let i = 0; i < 120; i++) await ask(i);
    const grown = heap() - before;
    // Each such document holds about 2.9 MiB parsed: 120 kept would be some 350 MiB.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });
});
