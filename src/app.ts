import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, maskError } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { AccountStatusService } from './auth/account-status.ts';
import { RedisTokenStore } from './auth/redis-token-store.ts';
import { MemoryRefreshLock, RedisRefreshLock, TokenRefresher } from './auth/refresh.ts';
import { MemoryRevocations, RedisRevocations } from './auth/revocation.ts';
import { authRoutes, cookies, SESSION_COOKIE } from './auth/routes.ts';
import { type Session, SessionError, sessionVerifier, signSession } from './auth/session.ts';
import { MemoryTokenStore, type TokenStore } from './auth/token-store.ts';
import type { Config } from './config.ts';
import { json, type Route } from './http.ts';
import { InstagramClient, type InstagramClientOptions } from './instagram/client.ts';
import { InstagramApi } from './instagram/graph.ts';
import { OAuthClient } from './instagram/oauth.ts';
import { RequestLoaders } from './loaders/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { type EventBus, MemoryEventBus, RedisEventBus } from './pubsub/bus.ts';
import { LiveEvents } from './pubsub/live.ts';
import { type EventLog, MemoryEventLog, RedisEventLog } from './pubsub/log.ts';
import { createRedis, type Redis } from './redis.ts';
import type { Sandbox } from './sandbox/index.ts';
import type { Simulator } from './sandbox/simulator.ts';
import type { Context } from './schema/context.ts';
import { unauthenticated } from './schema/errors.ts';
import { schema } from './schema/index.ts';
import { MemoryIdempotencyStore, RedisIdempotencyStore } from './sends/idempotency.ts';
import { MemoryRateLimiter, RedisRateLimiter } from './sends/rate-limit.ts';
import { SendService } from './sends/service.ts';
import { MemoryDeduper, RedisDeduper } from './webhooks/dedupe.ts';
import { EventPipeline } from './webhooks/pipeline.ts';
import { Reconciler } from './webhooks/reconcile.ts';
import { webhookRoutes } from './webhooks/routes.ts';

const SANDBOX_QUERY = `# The sandbox's demo inbox: one call to the simulated Instagram.
{
  viewer {
    username
    conversations(first: 10) {
      nodes {
        participants { username }
        replyWindow { state closesAt }
        messages(first: 5) { nodes { text from { username } createdTime } }
      }
    }
  }
}
`;

export interface AppDeps {
  readonly config: Config;
  /** Default: a pino logger at `config.logLevel` on stdout. */
  readonly logger?: Logger;
  /** How long `stop()` waits for in-flight requests before cutting connections. Default 10 s. */
  readonly drainTimeoutMs?: number;
  /**
   * Sandbox mode only: a simulator the caller built, seeded and started (tests and benchmarks).
   * Default: igql starts its own with demo data.
   */
  readonly simulator?: Simulator;
  /** How often long-lived Instagram tokens due for refresh are refreshed. Default 1 h; 0 disables. */
  readonly refreshIntervalMs?: number;
  /** How often an open websocket's session is checked for revocation. Default 10 000 ms. */
  readonly socketCheckMs?: number;
  /** The clock reply windows are measured with. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * How often reconciliation and the subscription watchdog run. Default 60 000 ms; 0 disables
   * the timer (tests call `app.reconciler.runOnce()`).
   */
  readonly reconcileIntervalMs?: number;
  /** Instagram client tuning (tests, benchmarks): time-out, retries, pacing. */
  readonly instagram?: Pick<
    InstagramClientOptions,
    'timeoutMs' | 'readRetries' | 'retryBaseMs' | 'conversationsPerSecond'
  >;
}

/** Where igql reaches Instagram: the config's hosts, or the simulator's in sandbox mode. */
export interface Upstream {
  graphUrl: string;
  oauthUrl: string;
  tokenUrl: string;
}

export interface App {
  readonly server: ReturnType<typeof createServer>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly upstream: Readonly<Upstream>;
  /** Missed-webhook reconciliation and the subscription watchdog. */
  readonly reconciler: Reconciler;
  /** Refreshes long-lived Instagram tokens ahead of expiry. */
  readonly refresher: TokenRefresher;
  /** Sandbox mode, once started: the simulator igql runs against. */
  readonly sandbox: Sandbox | undefined;
  /** Listens on `config.host:config.port`; resolves with the GraphQL URL. */
  start(): Promise<string>;
  /** Stops accepting, closes websockets with 1001, drains in-flight requests, closes Redis. */
  stop(): Promise<void>;
}

/** What the transports hand to Yoga's context factory besides Yoga's own fields. */
interface ServerContext {
  readonly req?: IncomingMessage;
  /** graphql-ws: the session verified when the socket connected. */
  readonly session?: Session;
}

export function createApp(deps: AppDeps): App {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const redis: Redis | undefined = config.redis.url
    ? createRedis(config.redis.url, logger)
    : undefined;

  const tokens: TokenStore = redis
    ? new RedisTokenStore({
        client: redis.client,
        prefix: config.redis.prefix,
        keys: config.tokenEncryptionKeys,
        logger,
      })
    : new MemoryTokenStore({ keys: config.tokenEncryptionKeys });
  const upstream: Upstream = {
    graphUrl: config.instagram.graphUrl,
    oauthUrl: config.instagram.oauthUrl,
    tokenUrl: config.instagram.tokenUrl,
  };
  const client = new InstagramClient({
    graphUrl: () => upstream.graphUrl,
    apiVersion: config.instagram.apiVersion,
    metrics,
    logger,
    // Pace conversation reads as Instagram limits them, unless the sandbox lifted its limits.
    conversationsPerSecond: config.sandbox && !config.sandboxOptions.rateLimits ? 0 : 2,
    ...deps.instagram,
  });
  const api = new InstagramApi(client);
  const sends = new SendService({
    api,
    tokens,
    idempotency: redis
      ? new RedisIdempotencyStore(redis.client, config.redis.prefix)
      : new MemoryIdempotencyStore(),
    limiter: redis
      ? new RedisRateLimiter(redis.client, config.redis.prefix)
      : new MemoryRateLimiter(),
    logger,
    now: deps.now,
    onTokenRejected: (igId, reason) => accountStatus.tokenRejected(igId, reason),
  });

  const revocations = redis
    ? new RedisRevocations(redis.client, config.redis.prefix)
    : new MemoryRevocations();
  const verify = sessionVerifier(
    config.sessionSecret,
    config.jwt.jwksUrl && config.jwt.issuer && config.jwt.audience
      ? {
          jwksUrl: config.jwt.jwksUrl,
          issuer: config.jwt.issuer,
          audience: config.jwt.audience,
          accountsClaim: config.jwt.accountsClaim,
        }
      : undefined,
  );

  /** A verified session that was not revoked; UNAUTHENTICATED otherwise. */
  const sessionFrom = async (token: string): Promise<Session> => {
    try {
      const session = await verify(token);
      if (session.sid && (await revocations.isRevoked(session.sid))) {
        throw new SessionError('the session was revoked');
      }
      return session;
    } catch (error) {
      if (error instanceof SessionError) throw unauthenticated(`Invalid session: ${error.message}`);
      throw error;
    }
  };

  /** The `Authorization: Bearer` token, else the `igql_session` cookie; null without either. */
  const sessionOf = async (req: IncomingMessage | undefined): Promise<Session | null> => {
    const authorization = req?.headers.authorization;
    if (authorization) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (!token) throw unauthenticated('Authorization must be `Bearer <session JWT>`');
      return sessionFrom(token);
    }
    const cookie = req ? cookies(req)[SESSION_COOKIE] : undefined;
    return cookie ? sessionFrom(cookie) : null;
  };

  /** Still valid: not expired and not revoked (checked for every event of a subscription). */
  const stillValid = async (session: Session | null): Promise<boolean> =>
    session !== null &&
    session.expiresAt.getTime() > Date.now() &&
    !(session.sid && (await revocations.isRevoked(session.sid)));

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    healthCheckEndpoint: '/healthz',
    // In sandbox mode GraphiQL opens ready to use: the first demo account's session in the
    // headers and an inbox query in the editor.
    // GraphiQL's assets are served by igql itself, not a CDN: it works offline too.
    renderGraphiQL,
    graphiql: () => ({
      title: 'igql',
      subscriptionsProtocol: 'WS',
      ...(sandboxSession
        ? {
            headers: JSON.stringify({ authorization: `Bearer ${sandboxSession}` }),
            defaultQuery: SANDBOX_QUERY,
          }
        : {}),
    }),
    // GETs and simple bodies need this header: a browser cannot send it cross-site without CORS.
    plugins: [
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
      // Depth and cost are the schema's (Pothos complexity, aware of page sizes); armor bounds
      // the rest and hides field suggestions.
      EnvelopArmorPlugin({
        maxDepth: { enabled: false },
        costLimit: { enabled: false },
        maxAliases: { n: 15, exposeLimits: true },
        maxDirectives: { n: 50, exposeLimits: true },
        maxTokens: { n: 2000, exposeLimits: true },
        blockFieldSuggestion: { enabled: true },
      }),
    ],
    cors: { origin: [...config.allowedOrigins], credentials: true },
    logging: {
      debug: (...args) => logger.debug({ yoga: args }),
      info: (...args) => logger.info({ yoga: args }),
      warn: (...args) => logger.warn({ yoga: args }),
      error: (...args) => logger.error({ yoga: args }),
    },
    maskedErrors: {
      isDev: false,
      maskError: (error, message) => {
        const masked = maskError(error, message, false);
        if (masked.message === message) logger.error({ err: error }, 'unexpected error');
        return masked;
      },
    },
    context: async ({ request, req, session: socketSession }): Promise<Context> => {
      const session = socketSession ?? (await sessionOf(req));
      return {
        requestId: request?.headers.get('x-request-id') ?? randomUUID(),
        logger,
        apiVersion: config.instagram.apiVersion,
        session,
        loaders: new RequestLoaders(api, tokens, session, (igId, reason) =>
          accountStatus.tokenRejected(igId, reason),
        ),
        now: deps.now ?? Date.now,
        sends,
        live,
        stillValid: () => stillValid(session),
      };
    },
  });

  const sockets = new WeakMap<object, Session>();
  const socketCheckMs = deps.socketCheckMs ?? 10_000;
  /** Closes the socket with 4403 when its session expires or is revoked. */
  const watchSocket = (socket: WebSocket, session: Session) => {
    const close = (reason: string) => {
      if (socket.readyState === socket.OPEN) socket.close(4403, reason);
    };
    const expiry = setTimeout(
      () => close('Session expired'),
      Math.max(0, session.expiresAt.getTime() - Date.now()),
    );
    const revoked = setInterval(async () => {
      if (session.sid && (await revocations.isRevoked(session.sid).catch(() => false)))
        close('Session revoked');
    }, socketCheckMs);
    expiry.unref();
    revoked.unref();
    socket.once('close', () => {
      clearTimeout(expiry);
      clearInterval(revoked);
    });
  };
  const prefix = config.redis.prefix;
  const log: EventLog = redis
    ? new RedisEventLog(redis.client, prefix, 10_000)
    : new MemoryEventLog();
  const bus: EventBus = redis
    ? new RedisEventBus(redis.client, prefix, logger)
    : new MemoryEventBus(logger);
  const pipeline = new EventPipeline({
    deduper: redis ? new RedisDeduper(redis.client, prefix) : new MemoryDeduper(),
    log,
    bus,
    logger,
    counter: metrics.inboxEvents,
    onStored: (event) => reconciler.seen(event.igId, event.occurredAt),
  });
  const live = new LiveEvents(log, bus, logger);
  const accountStatus = new AccountStatusService(tokens, pipeline, logger);
  const refresher = new TokenRefresher({
    tokens,
    graphUrl: () => upstream.graphUrl,
    logger,
    metrics,
    lock: redis ? new RedisRefreshLock(redis.client, config.redis.prefix) : new MemoryRefreshLock(),
    onRejected: (igId, reason) => accountStatus.tokenRejected(igId, reason),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const reconciler = new Reconciler({
    api,
    tokens,
    pipeline,
    logger,
    metrics: {
      reconciled: metrics.reconciled,
      resubscriptions: metrics.resubscriptions,
      lastRun: metrics.reconcileLastRun,
    },
  });
  let sandbox: Sandbox | undefined;
  let sandboxSession: string | undefined;
  let baseUrl = '';

  const routes: Record<string, Route> = {
    'GET /healthz': (_req, res) => json(res, 200, { status: 'ok' }),
    'GET /readyz': async (_req, res) => {
      const checks: Record<string, string> = {};
      if (redis) checks.redis = (await redis.ping()) ? 'ok' : 'unreachable';
      const ready = Object.values(checks).every((state) => state === 'ok');
      json(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks });
    },
    ...webhookRoutes({
      appSecret: config.instagram.appSecret,
      verifyToken: config.instagram.webhookVerifyToken,
      pipeline,
      logger,
      deliveries: metrics.webhookDeliveries,
    }),
    'GET /metrics': async (_req, res) => {
      metrics.subscribers.set(live.subscribers);
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
    },
  };

  const oauthHosts = () => ({
    oauthUrl: upstream.oauthUrl,
    tokenUrl: upstream.tokenUrl,
    graphUrl: upstream.graphUrl,
  });
  const oauthApp = () => ({
    appId: config.instagram.appId ?? sandbox?.simulator.appId ?? '',
    appSecret: config.instagram.appSecret,
  });
  Object.assign(
    routes,
    authRoutes({
      secret: config.sessionSecret,
      // Tests listen on port 0: the redirect URI is then the address actually bound.
      publicBase: () => (config.port === 0 ? baseUrl : config.publicUrl),
      allowedOrigins: config.allowedOrigins,
      hosts: oauthHosts,
      app: oauthApp,
      oauth: new OAuthClient(oauthHosts, oauthApp, metrics),
      api,
      tokens,
      revocations,
      verify,
      logger,
      now: deps.now,
    }),
  );

  const server = createServer(async (req, res) => {
    const route = routes[`${req.method} ${new URL(req.url ?? '/', 'http://igql').pathname}`];
    try {
      if (route) await route(req, res);
      else await yoga.handle(req, res, { req });
    } catch (err) {
      logger.error({ err, path: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    perMessageDeflate: false,
  });
  server.on('upgrade', (req, socket, head) => {
    const origin = req.headers.origin;
    const path = new URL(req.url ?? '/', 'http://igql').pathname;
    if (path !== '/graphql' || (origin !== undefined && !config.allowedOrigins.includes(origin))) {
      socket.end(`HTTP/1.1 ${path === '/graphql' ? '403 Forbidden' : '404 Not Found'}\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  type Enveloped = ReturnType<typeof yoga.getEnveloped>;
  interface EnvelopedRoot {
    readonly execute: Enveloped['execute'];
    readonly subscribe: Enveloped['subscribe'];
  }
  const ws = useServer(
    {
      execute: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).subscribe(args),
      // A socket without a valid session is closed with 4403 (Forbidden); so is one whose
      // session expires or is revoked while it is open.
      onConnect: async (ctx) => {
        // GraphiQL sends its headers as connection params, in whatever case they were typed.
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        const request = ctx.extra.request;
        try {
          let session: Session | null;
          if (typeof authorization === 'string') {
            const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
            session = token ? await sessionFrom(token) : null;
          } else {
            // A cookie alone only from a browser page of an allowed origin (checked on upgrade).
            const cookie = cookies(request)[SESSION_COOKIE];
            session = cookie && request.headers.origin ? await sessionFrom(cookie) : null;
          }
          if (!session) return false;
          sockets.set(ctx, session);
          watchSocket(ctx.extra.socket, session);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({
          req: ctx.extra.request,
          session: sockets.get(ctx),
          params,
        });
        let document: ReturnType<Enveloped['parse']>;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
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

  let stopping: Promise<void> | undefined;
  return {
    server,
    metrics,
    logger,
    upstream,
    reconciler,
    refresher,
    get sandbox() {
      return sandbox;
    },
    async start() {
      redis?.connect();
      // Shared state lives there: give Redis a moment; /readyz reports it if it stays away.
      await redis?.ready(5000);
      if (config.sandbox) {
        // Only sandbox mode loads the simulator: nothing on the production path imports it.
        const { startSandbox } = await import('./sandbox/index.ts');
        sandbox = await startSandbox({
          config,
          logger,
          igqlUrl: () => baseUrl,
          ...(deps.simulator ? { simulator: deps.simulator } : {}),
        });
        for (const account of sandbox.accounts()) await tokens.put(account);
        sandboxSession = await signSession(
          config.sessionSecret,
          { sub: 'sandbox:graphiql', accounts: sandbox.accounts().map((a) => a.igId) },
          24 * 3600,
        );
        upstream.graphUrl = sandbox.simulator.url;
        upstream.oauthUrl = sandbox.simulator.url;
        upstream.tokenUrl = sandbox.simulator.url;
        Object.assign(routes, sandbox.routes);
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const interval = deps.reconcileIntervalMs ?? 60_000;
      if (interval > 0) reconciler.start(interval);
      const refreshEvery = deps.refreshIntervalMs ?? 3_600_000;
      if (refreshEvery > 0) refresher.start(refreshEvery);
      const { port } = server.address() as AddressInfo;
      const host = ['127.0.0.1', '0.0.0.0', '::'].includes(config.host) ? 'localhost' : config.host;
      baseUrl = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      return `http://${host}:${port}/graphql`;
    },
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await ws.dispose();
        server.closeIdleConnections();
        const drained = await Promise.race([
          closed.then(() => true),
          sleep(deps.drainTimeoutMs ?? 10_000).then(() => false),
        ]);
        if (!drained) {
          logger.warn('drain time-out: closing the remaining connections');
          server.closeAllConnections();
          await closed;
        }
        await reconciler.stop();
        await refresher.stop();
        await yoga.dispose();
        await client.close();
        await sandbox?.stop();
        await bus.close();
        await log.close();
        await redis?.close();
      })();
      return stopping;
    },
  };
}
