import type { IncomingMessage, Server } from 'node:http';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  getOperationAST,
  Kind,
  type ValueNode,
} from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { mayUse } from './auth/access.ts';
import type { Session } from './auth/jwt.ts';
import { SESSION_COOKIE, type Sessions } from './auth/sessions.ts';
import type { Limits } from './config.ts';
import { decodeId } from './global-id.ts';
import { bearerToken, cookies } from './http.ts';
import type { Logger } from './logger.ts';
import { GroupMember, type GroupSource, markShared, SubscriptionGroups } from './pubsub/groups.ts';
import {
  boundSends,
  CLOSE_TOO_MANY_STREAMS,
  StreamRefused,
  sessionKey,
  streamCounts,
  tooManySubscriptions,
} from './pubsub/streams.ts';
import type { Context } from './schema/context.ts';
import { subscriptionEnded } from './schema/events.ts';
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
  /** The root of a subscription that shares its group's execution (see `SubscriptionGroups`). */
  interface SharedRoot {
    readonly shared: {
      readonly key: string;
      readonly igId: string;
      readonly member: GroupMember;
      /** Starts the group when there is none: this subscriber's context and subscribe. */
      readonly start: () => Promise<StartedGroup>;
    };
  }
  interface StartedGroup {
    readonly context: Context;
    readonly subscribe: (context: Context) => Promise<GroupSource<ExecutionResult>>;
  }
  const groups = new SubscriptionGroups<ExecutionResult>({
    stillValid: (session) => o.sessions.stillValid(session),
    serialise: (result) =>
      JSON.stringify(
        result.errors ? { ...result, errors: result.errors.map(withoutHttp) } : result,
      ),
    sessionEnded: subscriptionEnded,
  });
  /** A shared subscriber joins its group, started with its own context when there is none. */
  const joinGroup = async (args: ExecutionArgs, { shared }: SharedRoot) => {
    // Nothing of the subscriber's context stays once it joined: graphql-ws keeps `args`.
    Object.assign(args, { rootValue: null, contextValue: null });
    const { key, igId, member } = shared;
    const running = groups.join(key, igId, member);
    if (running) return running;
    let started: StartedGroup;
    try {
      started = await shared.start();
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [error] };
      throw error;
    }
    const { context, subscribe } = started;
    return groups.join(key, igId, member, {
      live: context.live,
      start: (execution) => {
        markShared(context, execution);
        return subscribe(context);
      },
    });
  };
  return serveGraphqlWs(
    {
      execute: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args: ExecutionArgs) => {
        const root = args.rootValue as EnvelopedRoot | SharedRoot;
        return 'shared' in root ? joinGroup(args, root) : root.subscribe(args);
      },
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        if (!request) return false;
        const session = await o.sessions.fromSocket(ctx.connectionParams ?? {}, request);
        if (!session) return false;
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
        const session = sessions.get(ctx);
        const igId = session && sharedAccount(document, params, session);
        const subscribe = (contextValue: Context) =>
          enveloped.subscribe({
            schema: enveloped.schema,
            document,
            operationName: params.operationName,
            variableValues: params.variables,
            contextValue,
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          }) as Promise<GroupSource<ExecutionResult>>;
        let start: (() => Promise<StartedGroup>) | undefined;
        if (session && igId && groups.has(groupKey(params, session))) {
          // Its group runs: a context is made only if it ended meanwhile.
          start = async () => ({ context: await enveloped.contextFactory(), subscribe });
        }
        // The context reads shared state (a session check, a store): when that fails with a
        // typed error (Redis away), it is this operation's error, not the socket's end.
        let contextValue: Context | undefined;
        if (!start) {
          try {
            contextValue = await enveloped.contextFactory();
          } catch (error) {
            if (error instanceof GraphQLError) return [error];
            throw error;
          }
        }
        const args = {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
        };
        if (session && igId) {
          const context = contextValue;
          const root: SharedRoot = {
            shared: {
              key: groupKey(params, session),
              igId,
              member: new GroupMember(ctx.extra.socket, id, session),
              start: start ?? (async () => ({ context: context as Context, subscribe })),
            },
          };
          return { ...args, contextValue: null, rootValue: root };
        }
        return {
          ...args,
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

/** The subscription fields whose subscribers can share one execution per event. */
const SHAREABLE_FIELDS = new Set(['messageReceived', 'inboxEvents']);

/**
 * The account (IG_ID) a subscription shares its group's execution for: a `messageReceived` or
 * `inboxEvents` of an account the session may use, live from now on (no `after`, which replays
 * from the log on its own). Null when it runs alone: another operation, another field, a
 * fragment at the root, a resumption, or an account the session lacks (refused as before).
 */
function sharedAccount(
  document: DocumentNode,
  params: { readonly operationName?: string | null; readonly variables?: unknown },
  session: Session,
): string | null {
  const operation = getOperationAST(document, params.operationName);
  if (operation?.operation !== 'subscription') return null;
  const [field, ...others] = operation.selectionSet.selections;
  if (field?.kind !== Kind.FIELD || others.length > 0 || !SHAREABLE_FIELDS.has(field.name.value))
    return null;
  const variables = (params.variables ?? {}) as Record<string, unknown>;
  /** An argument's value: a string, null when absent or null, undefined when anything else. */
  const argument = (name: string): string | null | undefined => {
    let value: ValueNode | undefined = field.arguments?.find((a) => a.name.value === name)?.value;
    if (value?.kind === Kind.VARIABLE) {
      const variable = value.name.value;
      if (variable in variables) {
        const given = variables[variable];
        return given == null ? null : typeof given === 'string' ? given : undefined;
      }
      value = operation.variableDefinitions?.find(
        (d) => d.variable.name.value === variable,
      )?.defaultValue;
    }
    if (value === undefined || value.kind === Kind.NULL) return null;
    return value.kind === Kind.STRING ? value.value : undefined;
  };
  if (argument('after') !== null) return null;
  const accountId = argument('accountId');
  const decoded = typeof accountId === 'string' ? decodeId(accountId) : null;
  return decoded?.typename === 'Account' && mayUse(session, decoded.igId) ? decoded.igId : null;
}

/**
 * What a shared subscription's result depends on besides the event: the document, the
 * operation, the variables and the session's accounts (what its reads may see).
 */
const groupKey = (
  params: {
    readonly query?: unknown;
    readonly operationName?: string | null;
    readonly variables?: unknown;
  },
  session: Session,
): string =>
  JSON.stringify([
    params.query,
    params.operationName ?? null,
    params.variables ?? null,
    [...session.accounts].sort(),
  ]);
