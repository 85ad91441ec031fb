import type { IncomingMessage, Server } from 'node:http';
import { type ExecutionArgs, GraphQLError, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Session } from './auth/jwt.ts';
import type { Sessions } from './auth/sessions.ts';
import type { Context } from './schema/context.ts';

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
}

/**
 * graphql-ws on the same port and path as HTTP (`/graphql`), through `yoga.getEnveloped`, so
 * that limits, auth and context are those of HTTP. Messages are capped at 64 KiB, compression is
 * off, and a browser's `Origin` must be allowed; a socket without a valid session is closed
 * with 4403, and so is one whose session expires or is revoked.
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

  const sessions = new WeakMap<object, Session>();
  type Enveloped = ReturnType<typeof o.yoga.getEnveloped>;
  interface EnvelopedRoot {
    readonly execute: Enveloped['execute'];
    readonly subscribe: Enveloped['subscribe'];
  }
  return useServer(
    {
      execute: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: async (ctx) => {
        const session = await o.sessions.fromSocket(ctx.connectionParams ?? {}, ctx.extra.request);
        if (!session) return false;
        sessions.set(ctx, session);
        o.sessions.watch(ctx.extra.socket, session, o.checkMs);
        return true;
      },
      // `extensions.http` tells Yoga an HTTP status: nothing a socket's client should see.
      onError: (_ctx, _id, _payload, errors) => errors.map(withoutHttp),
      onNext: (_ctx, _id, _payload, _args, result) =>
        'errors' in result && result.errors
          ? { ...result, errors: result.errors.map(withoutHttp) }
          : result,
      onSubscribe: async (ctx, _id, params) => {
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
        return {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wss,
  );
}

/** An error as sent to a socket's client: its JSON without Yoga's `extensions.http`. */
function withoutHttp(error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const json = error instanceof GraphQLError ? error.toJSON() : error;
  if (!json.extensions || !('http' in json.extensions)) return json;
  const { http: _http, ...extensions } = json.extensions;
  return { ...json, extensions };
}
