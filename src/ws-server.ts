import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from './logger.ts';

/** What graphql-ws hands to every hook as `ctx.extra`, as its own `ws` adapter does. */
export interface SocketExtra {
  readonly socket: WebSocket;
  /**
   * The upgrade request, until `onConnect` has answered: an open socket keeps nothing of it
   * (nor of `connectionParams`, its token included). Later hooks find it undefined.
   */
  request: IncomingMessage | undefined;
}

/** Message types only a server sends: a client sending one breaks the protocol. */
const SERVER_ONLY = new Set(['connection_ack', 'next', 'error']);

/**
 * graphql-ws over a `ws` server: graphql-ws's own `useServer` adapter, with two differences. A
 * client that sends a server's message (`next`, `error`, `connection_ack`) is closed with 4400
 * "Invalid message received", as the protocol says of any message it does not expect, instead
 * of 4500; and a failure while handling a message is logged as a JSON line, and the client told
 * only "Internal server error", instead of a stack printed to stderr and the error's text sent.
 * Sockets are pinged every `keepAliveMs` and dropped when a pong does not come back by the next
 * ping: one interval for every socket, not a timer each. Once `onConnect` has answered, the
 * upgrade request and `connectionParams` are let go (see `SocketExtra`).
 */
export function serveGraphqlWs<P extends Record<string, unknown> | undefined>(
  options: ServerOptions<P, SocketExtra>,
  wss: WebSocketServer,
  logger: Logger,
  keepAliveMs = 12_000,
): { dispose(): Promise<void> } {
  const onConnect = options.onConnect;
  const server = makeServer<P, SocketExtra>({
    ...options,
    onConnect: async (ctx) => {
      try {
        return await onConnect?.(ctx);
      } finally {
        ctx.extra.request = undefined;
        Object.assign(ctx, { connectionParams: undefined });
      }
    },
  });
  wss.options.handleProtocols = handleProtocols;
  /** Sockets pinged whose pong has not come back yet. */
  const unanswered = new WeakSet<WebSocket>();
  function answered(this: WebSocket) {
    unanswered.delete(this);
  }
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, keepAliveMs);
  keepAlive.unref();
  wss.on('connection', (socket, request) => {
    socket.on('pong', answered);
    socket.once('error', (err) => {
      logger.warn({ err }, 'websocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            const text = String(data);
            if (sentByServer(text)) {
              socket.close(CloseCode.BadRequest, 'Invalid message received');
              return;
            }
            try {
              await handle(text);
            } catch (err) {
              logger.error({ err }, 'graphql-ws message failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => void closed(code, String(reason)));
  });
  return {
    async dispose() {
      clearInterval(keepAlive);
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wss.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}

/** A well-formed message of a type only a server sends. */
function sentByServer(text: string): boolean {
  try {
    const message = JSON.parse(text) as unknown;
    return (
      typeof message === 'object' &&
      message !== null &&
      SERVER_ONLY.has((message as { type?: unknown }).type as string)
    );
  } catch {
    return false; // graphql-ws answers what is not JSON (4400)
  }
}
