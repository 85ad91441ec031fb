import type { IncomingMessage, Server } from 'node:http';
import {
  type ExecutionArgs,
  GraphQLError,
  type GraphQLFormattedError,
  getOperationAST,
} from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Session } from './auth/jwt.ts';
import { SESSION_COOKIE, type Sessions } from './auth/sessions.ts';
import type { Limits } from './config.ts';
import { bearerToken, cookies } from './http.ts';
import type { Logger } from './logger.ts';
import {
  boundSends,
  CLOSE_TOO_MANY_STREAMS,
  StreamRefused,
  sessionKey,
  streamCounts,
  tooManySubscriptions,
} from './pubsub/streams.ts';
import type { Context } from './schema/context.ts';
import { serveGraphqlWs } from './ws-server.ts';

/** What the transports hand to Yoga's context factory besides Yoga's own fields. */
export interface ServerContext {
  readonly req?: IncomingMessage;
  /** graphql-ws: the session verified when the socket connected. */
  readonly session?: Session;
}

export interface WebsocketOptions {
  readonly server: Server;
  readonly yoga: YogaServerInstance<ServerContext, Context>;
  readonly sessions: Sessions;
  readonly allowedOrigins: readonly string[];
  /** How often an open socket's session is checked for revocation. */
  readonly checkMs: number;
  /** Where failures while handling a socket's messages are logged. */
  readonly logger: Logger;
  /**
   * Subscriptions per socket, streams per session and address (counted with SSE's), and each
   * socket's send buffer. Default: none of them bounded.
   */
  readonly limits?: Limits;
}

/**
 * graphql-ws on the same port and path as HTTP (`/graphql`), through `yoga.getEnveloped`, so
 * that limits, auth and context are those of HTTP. Messages are capped at 64 KiB, compression is
 * off, and a browser's `Origin` must be allowed; a socket without a valid session is closed
 * with 4403, and so is one whose session expires or is revoked. With `limits`: a socket past
 * the streams of its session or address is closed with 4429 (`CLOSE_TOO_MANY_STREAMS`), a
 * subscription past those of its socket is an `error` TOO_MANY_SUBSCRIPTIONS for its id, and a
 * socket whose unsent messages would pass `subscriberBufferBytes` is closed with 4408
 * (`CLOSE_TOO_SLOW`).
 */
export function attachWebsockets(o: WebsocketOptions): { dispose(): void | Promise<void> } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    perMessageDeflate: false,
  });
  o.server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const origin = req.headers.origin;
    const path = new URL(req.url ?? '/', 'http://igql').pathname;
    if (path !== '/graphql' || (origin !== undefined && !o.allowedOrigins.includes(origin))) {
      socket.end(`HTTP/1.1 ${path === '/graphql' ? '403 Forbidden' : '404 Not Found'}\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const limits = o.limits;
  const streams = limits && streamCounts(limits);
  if (limits) wss.on('connection', (ws) => boundSends(ws, limits.subscriberBufferBytes));

  const sessions = new WeakMap<object, Session>();
  /** The ids of each socket's subscriptions, counted as they are subscribed. */
  const subscriptions = new WeakMap<object, Set<string>>();
  type Enveloped = ReturnType<typeof o.yoga.getEnveloped>;
  interface EnvelopedRoot {
    readonly execute: Enveloped['execute'];
    readonly subscribe: Enveloped['subscribe'];
  }
  return serveGraphqlWs(
    {
      execute: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: async (ctx) => {
        const session = await o.sessions.fromSocket(ctx.connectionParams ?? {}, ctx.extra.request);
        if (!session) return false;
        const { socket, request } = ctx.extra;
        if (streams) {
          const params = ctx.connectionParams ?? {};
          const authorization = params.authorization ?? params.Authorization;
          const token =
            typeof authorization === 'string'
              ? bearerToken(authorization)
              : cookies(request)[SESSION_COOKIE];
          const opened = streams.open(sessionKey(token), request.socket.remoteAddress ?? 'unknown');
          if (opened instanceof StreamRefused) {
            // Closed first, so graphql-ws's own close (4403, on `false`) changes nothing.
            socket.close(CLOSE_TOO_MANY_STREAMS, opened.reason);
            return false;
          }
          socket.once('close', opened);
        }
        sessions.set(ctx, session);
        subscriptions.set(ctx, new Set());
        o.sessions.watch(socket, session, o.checkMs);
        return true;
      },
      // `extensions.http` tells Yoga an HTTP status: nothing a socket's client should see.
      onError: (_ctx, _id, _payload, errors) => errors.map(withoutHttp),
      onNext: (_ctx, _id, _payload, _args, result) =>
        'errors' in result && result.errors
          ? { ...result, errors: result.errors.map(withoutHttp) }
          : result,
      onSubscribe: async (ctx, id, params) => {
        const enveloped = o.yoga.getEnveloped({
          req: ctx.extra.request,
          session: sessions.get(ctx),
          params,
        });
        // A document refused by the parser or the validators (limits included) is an `error`
        // for this operation only: the socket and its other operations go on.
        let document: ReturnType<Enveloped['parse']>;
        try {
          document = enveloped.parse(params.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors;
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        // Counted at once (before any await), so that a burst of subscribes cannot pass the
        // limit; one ends, however it ends, when graphql-ws forgets its id (at once for a
        // client's `complete`).
        const running = subscriptions.get(ctx);
        if (
          limits &&
          running &&
          getOperationAST(document, params.operationName)?.operation === 'subscription'
        ) {
          for (const other of running) if (!(other in ctx.subscriptions)) running.delete(other);
          if (running.size >= limits.subscriptionsPerConnection)
            return [tooManySubscriptions(limits.subscriptionsPerConnection)];
          running.add(id);
        }
        // The context reads shared state (a session check, a store): when that fails with a
        // typed error (Redis away), it is this operation's error, not the socket's end.
        let contextValue: Context;
        try {
          contextValue = await enveloped.contextFactory();
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        return {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wss,
    o.logger,
  );
}

/** An error as sent to a socket's client: its JSON without Yoga's `extensions.http`. */
function withoutHttp(error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const json = error instanceof GraphQLError ? error.toJSON() : error;
  if (!json.extensions || !('http' in json.extensions)) return json;
  const { http: _http, ...extensions } = json.extensions;
  return { ...json, extensions };
}
