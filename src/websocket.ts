import type { IncomingMessage, Server } from 'node:http';
import { type DocumentNode, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Session } from './auth/jwt.ts';
import { type Sessions, socketToken } from './auth/sessions.ts';
import type { Limits } from './config.ts';
import { requestPath } from './http.ts';
import type { Logger } from './logger.ts';
import {
  GroupMember,
  type GroupSource,
  groupKey,
  markShared,
  operationSink,
  type SubscriptionGroups,
  shareable,
} from './pubsub/groups.ts';
import {
  CLOSE_TOO_MANY_STREAMS,
  StreamRefused,
  sessionKey,
  streamCounts,
  tooManySubscriptions,
} from './pubsub/streams.ts';
import type { Context } from './schema/context.ts';
import {
  type GraphqlWsSocket,
  type Operation,
  type Outcome,
  type SubscribePayload,
  serveGraphqlWs,
} from './ws-server.ts';

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
  /** The subscription groups, shared with SSE (`useSharedStreams`). */
  readonly groups: SubscriptionGroups<ExecutionResult>;
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
  const limits = o.limits;
  const streams = limits && streamCounts(limits);
  const { groups } = o;

  /** `connection_init`: a valid session, within the stream limits of its session and address. */
  const connect = async (
    socket: GraphqlWsSocket,
    request: IncomingMessage,
    params: Record<string, unknown>,
  ): Promise<boolean> => {
    const session = await o.sessions.fromSocket(params, request);
    if (!session || socket.readyState !== socket.OPEN) return false;
    if (limits && streams) {
      const opened = streams.open(
        sessionKey(socketToken(params, request)),
        request.socket.remoteAddress ?? 'unknown',
      );
      if (opened instanceof StreamRefused) {
        // Closed first, so that the 4403 of a refused `connection_init` changes nothing.
        socket.close(CLOSE_TOO_MANY_STREAMS, opened.reason);
        return false;
      }
      socket.counted = opened;
      socket.sendLimit = limits.subscriberBufferBytes;
    }
    socket.session = session;
    o.sessions.watch(socket, session, o.checkMs);
    return true;
  };

  /** `subscribe`: through `yoga.getEnveloped`, shared with its group where it can be. */
  const operate = async (operation: Operation, params: SubscribePayload): Promise<Outcome> => {
    const session = operation.socket.session;
    const enveloped = o.yoga.getEnveloped({ session, params });
    // A document refused by the parser or the validators (limits included) is an `error` for
    // this operation only: the socket and its other operations go on.
    let document: DocumentNode;
    try {
      document = enveloped.parse(params.query);
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length > 0) return errors;
    } catch (error) {
      if (error instanceof GraphQLError) return [error];
      throw error;
    }
    const ast = getOperationAST(document, params.operationName);
    if (!ast) return [new GraphQLError('Unable to identify operation')];
    if (ast.operation === 'subscription' && limits) {
      // Counted at once (before any await), so that a burst of subscribes cannot pass the
      // limit; one ends, however it ends, when its socket forgets its id.
      if (operation.socket.subscriptions >= limits.subscriptionsPerConnection)
        return [tooManySubscriptions(limits.subscriptionsPerConnection)];
      operation.subscription = true;
    }
    const args = {
      schema: enveloped.schema,
      document,
      operationName: params.operationName,
      variableValues: params.variables,
    };
    // The context reads shared state (a session check, a store): when that fails with a typed
    // error (Redis away), it is this operation's error, not the socket's end.
    const newContext = async (): Promise<Context | GraphQLError> => {
      try {
        return await enveloped.contextFactory();
      } catch (error) {
        if (error instanceof GraphQLError) return error;
        throw error;
      }
    };
    const shared = session && shareable(document, params, session);
    if (!session || !shared) {
      const contextValue = await newContext();
      if (contextValue instanceof GraphQLError) return [contextValue];
      const run = ast.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
      return (await run({ ...args, contextValue })) as Outcome;
    }
    // Shared with its group: a context (for the group's execution) is made only when none runs.
    const { igId, resumeFrom } = shared;
    const key = groupKey(params, session, shared.afterVariable);
    const member = new GroupMember(operationSink(operation), session, resumeFrom);
    operation.onCancel(member);
    if (resumeFrom !== null) {
      const resumed = groups.resume(key, member);
      if (resumed) return settled(member, await resumed);
      // Not among its group's recent results: it replays from the log on its own.
      const contextValue = await newContext();
      if (contextValue instanceof GraphQLError) return [contextValue];
      return (await enveloped.subscribe({ ...args, contextValue })) as Outcome;
    }
    for (;;) {
      const joined = groups.join(key, igId, member);
      if (joined) return settled(member, await joined);
      const context = await newContext();
      if (context instanceof GraphQLError) return [context];
      if (!operation.running) return null;
      // Another subscriber may have started it meanwhile.
      if (groups.has(key)) continue;
      const started = groups.join(key, igId, member, {
        live: context.live,
        start: (execution) => {
          markShared(context, execution);
          return enveloped.subscribe({ ...args, contextValue: context }) as Promise<
            GroupSource<ExecutionResult>
          >;
        },
      });
      return settled(member, await (started as Promise<GroupMember | ExecutionResult>));
    }
  };

  const server = serveGraphqlWs({ connect, operate, logger: o.logger, maxPayload: 64 * 1024 });
  o.server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const origin = req.headers.origin;
    const path = requestPath(req);
    if (path !== '/graphql' || (origin !== undefined && !o.allowedOrigins.includes(origin))) {
      socket.end(`HTTP/1.1 ${path === '/graphql' ? '403 Forbidden' : '404 Not Found'}\r\n\r\n`);
      return;
    }
    server.wss.handleUpgrade(req, socket, head, (ws) => server.wss.emit('connection', ws, req));
  });
  return server;
}

/** What a group member's join came to: it runs (null), or the result saying why it could not. */
const settled = (member: GroupMember, joined: GroupMember | ExecutionResult): Outcome =>
  joined === member ? null : (joined as ExecutionResult);
