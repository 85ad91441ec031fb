import type { IncomingMessage } from 'node:http';
import { type ExecutionResult, GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import WebSocket, { type RawData, WebSocketServer } from 'ws';
import type { Session } from './auth/jwt.ts';
import { fromOutage } from './errors.ts';
import type { Logger } from './logger.ts';
import { type CountedStream, withinSendBuffer } from './pubsub/streams.ts';

/**
 * igql's server side of graphql-ws's protocol, `graphql-transport-ws` (graphql-ws's
 * PROTOCOL.md), over `ws`: what the official client speaks, with little kept per socket. A
 * socket is a `GraphqlWsSocket`: its state (init received, acknowledged), its session and a map of
 * its running operations are fields of it; every listener is one function per server, and the
 * wait for `connection_init` and the keep-alive pings are one schedule each for all sockets.
 */

/** The subprotocol, the only one accepted. */
export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

/** The protocol's close codes (PROTOCOL.md), and the reason sent with each. */
export const CLOSE = {
  /** A message that is not JSON, not one of the protocol's, or one only a server sends. */
  badRequest: [4400, 'Invalid message received'],
  /** `subscribe` before `connection_ack`. */
  unauthorized: [4401, 'Unauthorized'],
  /** `connection_init` refused (no valid session). */
  forbidden: [4403, 'Forbidden'],
  subprotocolNotAcceptable: [4406, 'Subprotocol not acceptable'],
  /** No `connection_init` within the wait (`CONNECTION_INIT_WAIT_MS`). */
  initTimeout: [4408, 'Connection initialisation timeout'],
  /** `subscribe` with the id of a running operation (reason: `Subscriber for <id> already exists`). */
  subscriberExists: [4409, 'Subscriber already exists'],
  /** A second `connection_init`. */
  tooManyInits: [4429, 'Too many initialisation requests'],
  internal: [4500, 'Internal server error'],
} as const;

/** The keep-alive pings a slice of the sockets at a time: each slice once per `keepAliveMs`. */
const KEEP_ALIVE_SLICES = 12;

/** How long a socket may wait before its `connection_init` (graphql-ws's default). */
export const CONNECTION_INIT_WAIT_MS = 3000;

/** A `subscribe` message's payload. */
export interface SubscribePayload {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  readonly extensions?: Record<string, unknown> | null;
}

/** What a running operation stops when its client completes it or its socket closes. */
export interface Cancellable {
  cancel(): void;
}

const WAITING = 0;
const DECIDING = 1;
const ACKNOWLEDGED = 2;

/**
 * A `ws` socket speaking graphql-transport-ws: its state, its session and its running
 * operations, as fields of the socket itself (nothing else is kept per socket by this module).
 */
export class GraphqlWsSocket extends WebSocket {
  /** The upgrade request, until `connect` has answered: an open socket keeps nothing of it. */
  request: IncomingMessage | undefined = undefined;
  /** The session `connect` verified. */
  session: Session | undefined = undefined;
  /** Its running operations by id, from `subscribe` until they end or are completed. */
  readonly operations = new Map<string, Operation>();
  /** WAITING for `connection_init`, DECIDING on it, ACKNOWLEDGED. */
  state: typeof WAITING | typeof DECIDING | typeof ACKNOWLEDGED = WAITING;
  /** Pinged by the keep-alive, its pong not yet back. */
  unanswered = false;
  /** Which of the keep-alive's slices it is pinged in. */
  slice = 0;
  /** Released when it closes: what `connect` counted it under. */
  counted: CountedStream | undefined = undefined;
  /** Its send buffer's bound in bytes (`withinSendBuffer`); unbounded when undefined. */
  sendLimit: number | undefined = undefined;

  /** Its running subscriptions (what `subscriptionsPerConnection` bounds). */
  get subscriptions(): number {
    let count = 0;
    for (const operation of this.operations.values()) if (operation.subscription) count++;
    return count;
  }

  /** Sends a frame, unless it is closing, or it would pass `sendLimit` (which closes it). */
  sendFrame(text: string): void {
    if (this.readyState !== WebSocket.OPEN) return;
    if (this.sendLimit === undefined || withinSendBuffer(this, text, this.sendLimit))
      this.send(text);
  }
}

/**
 * One operation of a socket, from its `subscribe` until it ends (`end`: `complete` or `error`
 * sent) or is cancelled (`cancel`: the client's `complete`, or the socket closed; nothing sent).
 */
export class Operation {
  readonly socket: GraphqlWsSocket;
  readonly id: string;
  /** A subscription: counted against `subscriptionsPerConnection`. */
  subscription = false;
  #target: Cancellable | null = null;

  constructor(socket: GraphqlWsSocket, id: string) {
    this.socket = socket;
    this.id = id;
  }

  /** Neither ended nor cancelled. */
  get running(): boolean {
    return this.socket.operations.get(this.id) === this;
  }

  /** What `cancel` stops; stopped at once when it is no longer running. */
  onCancel(target: Cancellable): void {
    if (this.running) this.#target = target;
    else target.cancel();
  }

  /** Ends it from the server's side: `complete`, or `error` with `error`'s message. */
  end(error?: unknown): void {
    if (!this.running) return;
    this.socket.operations.delete(this.id);
    this.#target = null;
    if (error === undefined) this.socket.sendFrame(completeFrame(this.id));
    else this.socket.sendFrame(errorFrame(this.id, [asGraphqlError(error)]));
  }

  /** Ends it from the client's side: nothing is sent. */
  cancel(): void {
    if (this.running) this.socket.operations.delete(this.id);
    const target = this.#target;
    this.#target = null;
    target?.cancel();
  }
}

/**
 * What an operation came to: errors (sent as `error`), one result (`next`, then `complete`),
 * results (a `next` each, then `complete`; `error` when they throw), or null when it runs on
 * its own and ends itself through `Operation.end` (a subscription group's member).
 */
export type Outcome =
  | readonly GraphQLError[]
  | ExecutionResult
  | AsyncIterable<ExecutionResult>
  | null;

export interface GraphqlWsOptions {
  /**
   * Answers `connection_init`: true acknowledges it (the hook sets `socket.session`), false
   * closes the socket with 4403 (the hook may have closed it itself first, with its own code).
   */
  readonly connect: (
    socket: GraphqlWsSocket,
    request: IncomingMessage,
    params: Record<string, unknown>,
  ) => Promise<boolean>;
  /** Runs a `subscribe`'s operation (it may mark `operation.subscription`). */
  readonly operate: (operation: Operation, payload: SubscribePayload) => Promise<Outcome>;
  /** Where failures while handling a message are logged. */
  readonly logger: Logger;
  /**
   * Each socket is pinged this often (default 12 s), and dropped when its pong does not come
   * back by its next ping.
   */
  readonly keepAliveMs?: number;
  readonly connectionInitWaitMs?: number;
  /** Messages larger than this (bytes) close the socket (ws's 1009). */
  readonly maxPayload: number;
}

/**
 * graphql-transport-ws on a `ws` server of `GraphqlWsSocket`s (`handleUpgrade` it). A client
 * that breaks the protocol is closed with its code (`CLOSE`): a message that is not one of the
 * protocol's, or one only a server sends (`next`, `error`, `connection_ack`), 4400; `subscribe`
 * before `connection_ack`, 4401; a refused `connection_init`, 4403; none within the wait, 4408;
 * a running operation's id again, 4409; a second `connection_init`, 4429. A failure while handling
 * a message is logged as a JSON line, and the client told only 4500 "Internal server error".
 */
export function serveGraphqlWs(options: GraphqlWsOptions): {
  readonly wss: WebSocketServer;
  dispose(): Promise<void>;
} {
  const { connect, operate, logger } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
    WebSocket: GraphqlWsSocket,
    handleProtocols: (protocols) =>
      protocols.has(GRAPHQL_TRANSPORT_WS) ? GRAPHQL_TRANSPORT_WS : false,
  });

  const close = (socket: WebSocket, [code, reason]: readonly [number, string]) =>
    socket.close(code, reason);
  const failed = (socket: WebSocket, err: unknown) => {
    logger.error({ err }, 'graphql-ws message failed');
    close(socket, CLOSE.internal);
  };

  // The wait for `connection_init`: sockets in the order they opened, one timer for the first.
  const initWaitMs = options.connectionInitWaitMs ?? CONNECTION_INIT_WAIT_MS;
  const waiting = new Map<GraphqlWsSocket, number>();
  let initTimer: NodeJS.Timeout | undefined;
  const checkInits = () => {
    initTimer = undefined;
    const now = Date.now();
    for (const [socket, deadline] of waiting) {
      if (deadline > now) {
        initTimer = setTimeout(checkInits, deadline - now).unref();
        return;
      }
      waiting.delete(socket);
      if (socket.state === WAITING) close(socket, CLOSE.initTimeout);
    }
  };

  // Keep-alive: each socket is pinged every `keepAliveMs`, a twelfth of them at a time, so that
  // ten thousand pings (and their pongs) do not all land at once between two events.
  let nextSlice = 0;
  let turn = 0;
  const keepAlive = setInterval(
    () => {
      turn = (turn + 1) % KEEP_ALIVE_SLICES;
      for (const client of wss.clients) {
        const socket = client as GraphqlWsSocket;
        if (socket.slice !== turn || socket.readyState !== WebSocket.OPEN) continue;
        if (socket.unanswered) {
          socket.terminate();
          continue;
        }
        socket.unanswered = true;
        socket.ping();
      }
    },
    (options.keepAliveMs ?? 12_000) / KEEP_ALIVE_SLICES,
  ).unref();

  async function initialise(socket: GraphqlWsSocket, payload: unknown) {
    if (socket.state !== WAITING) return close(socket, CLOSE.tooManyInits);
    socket.state = DECIDING;
    waiting.delete(socket);
    const request = socket.request;
    socket.request = undefined;
    const params = isObject(payload) ? payload : {};
    if (!request || !(await connect(socket, request, params)))
      return close(socket, CLOSE.forbidden);
    socket.state = ACKNOWLEDGED;
    socket.sendFrame('{"type":"connection_ack"}');
  }

  async function subscribe(socket: GraphqlWsSocket, id: string, payload: SubscribePayload) {
    if (socket.state !== ACKNOWLEDGED) return close(socket, CLOSE.unauthorized);
    if (socket.operations.has(id)) {
      const reason = `Subscriber for ${id} already exists`;
      return socket.close(
        CLOSE.subscriberExists[0],
        Buffer.byteLength(reason) <= 123 ? reason : CLOSE.subscriberExists[1],
      );
    }
    const operation = new Operation(socket, id);
    socket.operations.set(id, operation);
    let outcome: Outcome;
    try {
      outcome = await operate(operation, payload);
    } catch (error) {
      operation.cancel();
      throw error;
    }
    if (outcome === null) return;
    if (isAsyncIterable<ExecutionResult>(outcome))
      return stream(operation, outcome[Symbol.asyncIterator]());
    if (!operation.running) return;
    if (Array.isArray(outcome)) {
      socket.operations.delete(id);
      socket.sendFrame(errorFrame(id, outcome as readonly GraphQLError[]));
      return;
    }
    socket.sendFrame(nextFrame(id, outcome as ExecutionResult));
    operation.end();
  }

  /** A `next` for each result, then `complete`; `error` when they throw. */
  async function stream(operation: Operation, results: AsyncIterator<ExecutionResult>) {
    if (!operation.running) {
      void results.return?.();
      return;
    }
    operation.onCancel({ cancel: () => void results.return?.() });
    try {
      for (;;) {
        const next = await results.next();
        if (next.done || !operation.running) break;
        operation.socket.sendFrame(nextFrame(operation.id, next.value));
      }
    } catch (error) {
      return operation.end(error instanceof Error ? error : new Error(String(error)));
    }
    operation.end();
  }

  async function onMessage(this: GraphqlWsSocket, data: RawData) {
    const message = parseMessage(String(data));
    if (!message) return close(this, CLOSE.badRequest);
    try {
      switch (message.type) {
        case 'connection_init':
          return await initialise(this, message.payload);
        case 'ping':
          return this.sendFrame(
            JSON.stringify(message.payload ? { type: 'pong', payload: message.payload } : PONG),
          );
        case 'pong':
          return;
        case 'subscribe':
          return await subscribe(this, message.id, message.payload);
        case 'complete':
          return this.operations.get(message.id)?.cancel();
      }
    } catch (err) {
      failed(this, err);
    }
  }
  function onPong(this: GraphqlWsSocket) {
    this.unanswered = false;
  }
  function onError(this: GraphqlWsSocket, err: Error) {
    logger.warn({ err }, 'websocket error');
    close(this, CLOSE.internal);
  }
  function onClose(this: GraphqlWsSocket) {
    waiting.delete(this);
    for (const operation of [...this.operations.values()]) operation.cancel();
    this.counted?.release();
  }

  wss.on('connection', (socket: GraphqlWsSocket, request: IncomingMessage) => {
    socket.on('close', onClose as () => void);
    socket.on('error', onError as (err: Error) => void);
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS) {
      close(socket, CLOSE.subprotocolNotAcceptable);
      return;
    }
    socket.request = request;
    socket.slice = nextSlice;
    nextSlice = (nextSlice + 1) % KEEP_ALIVE_SLICES;
    socket.on('message', onMessage as (data: RawData) => void);
    socket.on('pong', onPong as () => void);
    waiting.set(socket, Date.now() + initWaitMs);
    initTimer ??= setTimeout(checkInits, initWaitMs).unref();
  });

  return {
    wss,
    async dispose() {
      clearInterval(keepAlive);
      clearTimeout(initTimer);
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wss.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}

const PONG = { type: 'pong' };

/** The `next` frame of a result; its errors without Yoga's `extensions.http` (`withoutHttp`). */
export const nextFrame = (id: string, result: ExecutionResult): string =>
  `{"id":${JSON.stringify(id)},"type":"next","payload":${serialiseResult(result)}}`;

const errorFrame = (id: string, errors: readonly GraphQLError[]): string =>
  JSON.stringify({ id, type: 'error', payload: errors.map(withoutHttp) });

const completeFrame = (id: string): string => `{"id":${JSON.stringify(id)},"type":"complete"}`;

/** A result as the payload of a `next` frame: JSON, its errors without `extensions.http`. */
export const serialiseResult = (result: ExecutionResult): string =>
  JSON.stringify(result.errors ? { ...result, errors: result.errors.map(withoutHttp) } : result);

/** An error as sent to a socket's client: its JSON without Yoga's `extensions.http`. */
export function withoutHttp(error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const json = error instanceof GraphQLError ? error.toJSON() : error;
  if (!json.extensions || !('http' in json.extensions)) return json;
  const { http: _http, ...extensions } = json.extensions;
  return { ...json, extensions };
}

/**
 * A thrown error as an operation's error: a GraphQL error as it is; Redis away as
 * SERVICE_UNAVAILABLE with `retryAfter`; anything else masked, as Yoga masks it over HTTP (its
 * text could say what a client should not see).
 */
const asGraphqlError = (error: unknown): GraphQLError => {
  const outage = fromOutage(error);
  if (outage) return outage;
  if (error instanceof GraphQLError) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError('Unexpected error.', { originalError: original });
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type ClientMessage =
  | { readonly type: 'connection_init' | 'ping' | 'pong'; readonly payload?: unknown }
  | { readonly type: 'subscribe'; readonly id: string; readonly payload: SubscribePayload }
  | { readonly type: 'complete'; readonly id: string };

const optional = (value: unknown, is: (value: unknown) => boolean) => value == null || is(value);
const isString = (value: unknown) => typeof value === 'string';

/**
 * A client's message as the protocol defines it (graphql-ws's own checks), or null for anything
 * else: not JSON, not an object, an unknown type, a field of the wrong kind, or a message only a
 * server sends.
 */
function parseMessage(text: string): ClientMessage | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(message)) return null;
  const { type, id, payload } = message;
  switch (type) {
    case 'connection_init':
    case 'ping':
    case 'pong':
      return optional(payload, isObject) ? (message as ClientMessage) : null;
    case 'subscribe':
      return typeof id === 'string' &&
        id !== '' &&
        isObject(payload) &&
        typeof payload.query === 'string' &&
        optional(payload.variables, isObject) &&
        optional(payload.operationName, isString) &&
        optional(payload.extensions, isObject)
        ? (message as ClientMessage)
        : null;
    case 'complete':
      return typeof id === 'string' && id !== '' ? (message as ClientMessage) : null;
    default:
      return null;
  }
}
