import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientOfflineError } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../src/logger.ts';
import { type GraphqlWsOptions, serveGraphqlWs } from '../src/ws-server.ts';

/**
 * igql's graphql-transport-ws server on its own (`serveGraphqlWs`), with hooks of the test's:
 * the keep-alive and the wait for `connection_init`, at short intervals.
 */

const servers: { http: Server; dispose(): Promise<void> }[] = [];

afterEach(async () => {
  for (const { http, dispose } of servers.splice(0)) {
    await dispose();
    http.close();
  }
});

async function serve(options: Partial<GraphqlWsOptions>): Promise<string> {
  const server = serveGraphqlWs({
    connect: async () => true,
    operate: async () => ({ data: { ok: true } }),
    logger: createLogger('silent'),
    maxPayload: 64 * 1024,
    ...options,
  });
  const http = createServer();
  http.on('upgrade', (req, socket, head) =>
    server.wss.handleUpgrade(req, socket, head, (ws) => server.wss.emit('connection', ws, req)),
  );
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  servers.push({ http, dispose: server.dispose });
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

/** A socket that has its `connection_ack`; `autoPong: false` leaves the server's pings unanswered. */
async function acknowledged(url: string, autoPong = true): Promise<WebSocket> {
  const ws = new WebSocket(url, 'graphql-transport-ws', { autoPong });
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'connection_init' }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  expect(JSON.parse(String(data))).toEqual({ type: 'connection_ack' });
  return ws;
}

describe('serveGraphqlWs', () => {
  it('drops a socket whose pong does not come back by its next ping; one that answers stays', async () => {
    const url = await serve({ keepAliveMs: 120 });
    const silent = await acknowledged(url, false);
    const answering = await acknowledged(url);
    let pinged = 0;
    silent.on('ping', () => pinged++);
    const [code] = (await once(silent, 'close')) as [number];
    // Terminated (no close frame) after one unanswered ping.
    expect({ code, pinged }).toEqual({ code: 1006, pinged: 1 });
    // The other was pinged as often, and is open: it answers a ping of the protocol's.
    answering.send(JSON.stringify({ type: 'ping' }));
    const [pong] = (await once(answering, 'message')) as [Buffer];
    expect(JSON.parse(String(pong))).toEqual({ type: 'pong' });
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });

  it('closes each socket that sends no connection_init within the wait, on one schedule', async () => {
    const url = await serve({ connectionInitWaitMs: 50 });
    const silent = await Promise.all(
      [1, 2, 3].map(async () => {
        const ws = new WebSocket(url, 'graphql-transport-ws');
        await once(ws, 'open');
        return ws;
      }),
    );
    const initialised = await acknowledged(url);
    const closes = await Promise.all(
      silent.map(async (ws) => {
        const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
        return { code, reason: String(reason) };
      }),
    );
    expect(closes).toEqual(
      Array(3).fill({ code: 4408, reason: 'Connection initialisation timeout' }),
    );
    expect(initialised.readyState).toBe(WebSocket.OPEN);
    initialised.close();
  });

  it('logs a failing hook and closes with 4500 "Internal server error", sending nothing of it', async () => {
    const url = await serve({
      operate: async () => {
        throw new Error('secret detail');
      },
    });
    const ws = await acknowledged(url);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(String(data)));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ ok }' } }));
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    expect({ code, reason: String(reason), frames }).toEqual({
      code: 4500,
      reason: 'Internal server error',
      frames: [],
    });
  });

  it('ends an operation whose results throw with a masked error, and Redis away with SERVICE_UNAVAILABLE', async () => {
    const failing = (error: Error) =>
      (async function* () {
        yield { data: { ok: true } };
        throw error;
      })();
    const thrown = [
      new Error('connect ECONNREFUSED redis://:s3cret@10.0.0.7:6379'),
      new ClientOfflineError(),
    ];
    const url = await serve({ operate: async () => failing(thrown.shift() as Error) });
    const ws = await acknowledged(url);
    const frames: unknown[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    for (const id of ['a', 'b']) {
      ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { ok }' } }));
      while (
        !frames.some(
          (f) =>
            (f as { id?: string; type: string }).id === id &&
            (f as { type: string }).type === 'error',
        )
      ) {
        await once(ws, 'message');
      }
    }
    expect(frames).toEqual([
      { id: 'a', type: 'next', payload: { data: { ok: true } } },
      { id: 'a', type: 'error', payload: [{ message: 'Unexpected error.' }] },
      { id: 'b', type: 'next', payload: { data: { ok: true } } },
      {
        id: 'b',
        type: 'error',
        payload: [
          {
            message: 'igql is briefly unavailable; retry later',
            extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 },
          },
        ],
      },
    ]);
    ws.close();
  });
});
