import type { IncomingMessage, Server } from 'node:http';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
  Kind,
  type ValueNode,
} from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { mayUse } from './auth/access.ts';
import type { Session } from './auth/jwt.ts';
import { type Sessions, socketToken } from './auth/sessions.ts';
import type { Limits } from './config.ts';
import { decodeId } from './global-id.ts';
import type { Logger } from './logger.ts';
import { GroupMember, type GroupSource, markShared, SubscriptionGroups } from './pubsub/groups.ts';
import {
  CLOSE_TOO_MANY_STREAMS,
  StreamRefused,
  sessionKey,
  streamCounts,
  tooManySubscriptions,
} from './pubsub/streams.ts';
import type { Context } from './schema/context.ts';
import { subscriptionEnded } from './schema/events.ts';
import {
  type GraphqlWsSocket,
  type Operation,
  type Outcome,
  type SubscribePayload,
  serialiseResult,
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
  const groups = new SubscriptionGroups<ExecutionResult>({
    stillValid: (session) => o.sessions.stillValid(session),
    serialise: serialiseResult,
    sessionEnded: subscriptionEnded,
  });

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
    const shared = session && sharedAccount(document, params, session);
    if (!session || !shared) {
      const contextValue = await newContext();
      if (contextValue instanceof GraphQLError) return [contextValue];
      const run = ast.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
      return (await run({ ...args, contextValue })) as Outcome;
    }
    // Shared with its group: a context (for the group's execution) is made only when none runs.
    const { igId, resumeFrom } = shared;
    const key = groupKey(params, session, shared.afterVariable);
    const member = new GroupMember(operation, session, resumeFrom);
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
    const path = new URL(req.url ?? '/', 'http://igql').pathname;
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

/** The subscription fields whose subscribers can share one execution per event. */
const SHAREABLE_FIELDS = new Set(['messageReceived', 'inboxEvents']);

/** How a subscription can share a group's execution: `sharedAccount`. */
interface Shareable {
  /** The account (IG_ID) of the group. */
  readonly igId: string;
  /** Its `after`, when it resumes: it joins a group only from that group's recent results. */
  readonly resumeFrom: string | null;
  /** The variable that gives `after`: left out of the group's key. */
  readonly afterVariable: string | null;
}

/**
 * Whether a subscription can share its group's execution: a `messageReceived` or `inboxEvents`
 * of an account the session may use, live from now on, or resuming with `after` given by a
 * variable (`RESUME_HISTORY`). Null when it runs alone: another operation, another field, a
 * fragment at the root, an `after` written in the document, or an account the session lacks
 * (refused as before).
 */
function sharedAccount(
  document: DocumentNode,
  params: { readonly operationName?: string | null; readonly variables?: unknown },
  session: Session,
): Shareable | null {
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
  const after = argument('after');
  const afterNode = field.arguments?.find((a) => a.name.value === 'after')?.value;
  const afterVariable = afterNode?.kind === Kind.VARIABLE ? afterNode.name.value : null;
  if (after === undefined || (after !== null && afterVariable === null)) return null;
  const accountId = argument('accountId');
  const decoded = typeof accountId === 'string' ? decodeId(accountId) : null;
  if (decoded?.typename !== 'Account' || !mayUse(session, decoded.igId)) return null;
  return { igId: decoded.igId, resumeFrom: after, afterVariable };
}

/**
 * What a shared subscription's result depends on besides the event: the document, the
 * operation, the variables (but the one giving `after`: where a subscriber starts, not what it
 * is sent) and the session's accounts (what its reads may see).
 */
function groupKey(
  params: {
    readonly query?: unknown;
    readonly operationName?: string | null;
    readonly variables?: unknown;
  },
  session: Session,
  afterVariable: string | null,
): string {
  let variables = (params.variables ?? null) as Record<string, unknown> | null;
  if (variables && afterVariable !== null && afterVariable in variables) {
    const { [afterVariable]: _, ...others } = variables;
    variables = others;
  }
  return JSON.stringify([
    params.query,
    params.operationName ?? null,
    variables,
    [...session.accounts].sort(),
  ]);
}
