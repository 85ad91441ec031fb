import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { GraphQLErrorBody } from './gateway.ts';
import { watchSubscriber } from './subscribers.ts';

/** One GraphQL result as every transport carries it. */
export interface Result<T = Record<string, unknown>> {
  readonly data?: T | null;
  readonly errors?: GraphQLErrorBody[];
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** A graphql-ws socket driven by hand: every frame the server sent, and how the socket ended. */
export interface RawSocket {
  readonly frames: Record<string, unknown>[];
  /** Resolves with the close code and reason once the socket is closed, by either side. */
  readonly closed: Promise<Closed>;
  send(frame: Record<string, unknown>): void;
  /** Resolves once a frame of this type arrived (or rejects when the socket closes first). */
  frame(type: string): Promise<Record<string, unknown>>;
  close(): Promise<Closed>;
}

export const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/**
 * Opens `/graphql` with the graphql-ws subprotocol and sends `connection_init` with these
 * connection params (none with `init: false`). Rejects with the status when the upgrade itself
 * is refused.
 */
export async function openSocket(
  url: string,
  options: {
    connectionParams?: Record<string, unknown>;
    headers?: Record<string, string>;
    init?: boolean;
  } = {},
): Promise<RawSocket> {
  const ws = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers: options.headers ?? {} });
  const frames: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<Closed>((resolve) => {
    ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    });
  });
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(new UpgradeRefused(res.statusCode ?? 0));
    });
    ws.once('error', reject);
  });
  if (options.init !== false)
    ws.send(JSON.stringify({ type: 'connection_init', payload: options.connectionParams ?? {} }));
  let ended = false;
  void closed.then(() => {
    ended = true;
  });
  return {
    frames,
    closed,
    send: (frame) => ws.send(JSON.stringify(frame)),
    frame: (type) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find((f) => f.type === type);
          if (found) {
            waiters.delete(check);
            resolve(found);
          } else if (ended || ws.readyState === ws.CLOSED) {
            waiters.delete(check);
            reject(new Error(`the socket closed before a ${type} frame`));
          }
        };
        waiters.add(check);
        check();
      }),
    async close() {
      if (ws.readyState !== ws.CLOSED) ws.close(1000);
      return closed;
    },
  };
}

export class UpgradeRefused extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`websocket upgrade refused with ${status}`);
    this.status = status;
  }
}

/** The status of a refused upgrade; throws when the upgrade succeeded. */
export async function upgradeRefusal(url: string, headers: Record<string, string>) {
  try {
    const socket = await openSocket(url, { headers });
    await socket.close();
  } catch (error) {
    if (error instanceof UpgradeRefused) return error.status;
    throw error;
  }
  throw new Error('the upgrade was accepted');
}

/** How the server ended a socket opened with this `authorization` connection param. */
export async function socketOutcome(url: string, authorization: string): Promise<Closed> {
  const socket = await openSocket(url, { connectionParams: { authorization } });
  const outcome = await Promise.race([
    socket.closed,
    socket.frame('connection_ack').then(() => ({ code: 0, reason: 'connection_ack' })),
  ]);
  await socket.close();
  return outcome;
}

/** Runs one operation over graphql-ws and answers its first result. */
export async function overWebSocket<T = Record<string, unknown>>(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Result<T>> {
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  try {
    return await new Promise<Result<T>>((resolve, reject) => {
      client.subscribe<T>(
        { query, variables },
        {
          next: (value) => resolve(value as Result<T>),
          error: (error) =>
            Array.isArray(error) ? resolve({ errors: error as GraphQLErrorBody[] }) : reject(error),
          complete: () => reject(new Error('completed without a result')),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

/** Runs one operation as a JSON POST and answers status and result. */
export async function overHttp<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: Result<T> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as Result<T> };
}

/** Runs one operation over SSE (a POST accepting `text/event-stream`): status and every `next`. */
export async function overSse<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; contentType: string | null; results: Result<T>[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type');
  if (!contentType?.startsWith('text/event-stream')) {
    return { status: res.status, contentType, results: [JSON.parse(text) as Result<T>] };
  }
  return { status: res.status, contentType, results: sseNexts<T>(text) };
}

/** The `next` events of an SSE body, parsed. */
export function sseNexts<T>(text: string): Result<T>[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n'))
    .filter((lines) => lines.includes('event: next'))
    .map((lines) =>
      JSON.parse(
        lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n'),
      ),
    ) as Result<T>[];
}

/** A live subscription that queues what it receives, over graphql-ws or SSE. */
export interface LiveSubscription {
  readonly received: Result[];
  /** Waits until `count` results arrived, or `timeoutMs` passed; answers what arrived. */
  next(count: number, timeoutMs?: number): Promise<Result[]>;
  close(): Promise<void>;
}

const waitFor = async (received: Result[], count: number, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return received.slice(0, count);
};

/**
 * Subscribes over graphql-ws; resolves once igql established the subscriber (or the
 * subscription failed: its error is then in `received`).
 */
export async function liveOverWebSocket(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<LiveSubscription> {
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const received: Result[] = [];
  const watch = watchSubscriber();
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (value) => {
        received.push(value as Result);
      },
      error: (error) => {
        received.push({ errors: Array.isArray(error) ? error : [{ message: String(error) }] });
        watch.cancel();
      },
      complete: () => watch.cancel(),
    },
  );
  await watch.established;
  return {
    received,
    next: (count, timeoutMs = 5000) => waitFor(received, count, timeoutMs),
    async close() {
      dispose();
      await client.dispose();
    },
  };
}

/**
 * Subscribes over SSE; resolves once the stream is open and igql established the subscriber (or
 * the stream ended: the subscription failed).
 */
export async function liveOverSse(
  url: string,
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown>,
): Promise<LiveSubscription> {
  const controller = new AbortController();
  const watch = watchSubscriber();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const received: Result[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        const end = buffer.lastIndexOf('\n\n');
        if (end >= 0) {
          received.push(...sseNexts<Record<string, unknown>>(buffer.slice(0, end + 2)));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      watch.cancel();
    }
  })();
  await watch.established;
  return {
    received,
    next: (count, timeoutMs = 5000) => waitFor(received, count, timeoutMs),
    async close() {
      controller.abort();
      await reading;
    },
  };
}
