import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type GraphiQLOptions, maskError, type Plugin } from 'graphql-yoga';
import { AccountStatusService } from './auth/account-status.ts';
import { TokenRefresher } from './auth/refresh.ts';
import { authRoutes } from './auth/routes.ts';
import { createSessions } from './auth/sessions.ts';
import type { Config } from './config.ts';
import { createGraphiQL, type GraphiQL } from './graphiql/index.ts';
import { compressResponses, json, type Route } from './http.ts';
import { InstagramClient, type InstagramClientOptions } from './instagram/client.ts';
import { InstagramApi } from './instagram/graph.ts';
import { OAuthClient } from './instagram/oauth.ts';
import { RequestLoaders } from './loaders/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { LiveEvents } from './pubsub/live.ts';
import { createRedis, type Redis } from './redis.ts';
import type { Sandbox } from './sandbox/index.ts';
import type { Simulator } from './sandbox/simulator.ts';
import type { Context } from './schema/context.ts';
import { schema } from './schema/index.ts';
import { SendService } from './sends/service.ts';
import { createSharedState } from './state.ts';
import { EventPipeline } from './webhooks/pipeline.ts';
import { Reconciler } from './webhooks/reconcile.ts';
import { webhookRoutes } from './webhooks/routes.ts';
import { attachWebsockets, type ServerContext } from './websocket.ts';

/** `http://localhost:PORT`, `http://127.0.0.1:PORT` or `http://[::1]:PORT`, on this port. */
const isLoopbackOrigin = (origin: string, port: number): boolean =>
  new RegExp(`^http://(localhost|127\\.0\\.0\\.1|\\[::1\\]):${port}$`).test(origin);

/** Refuses introspection queries (`__schema`, `__type`) where `INTROSPECTION` is off. */
const useNoIntrospection = (): Plugin => ({
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
});

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
  /**
   * Instagram client tuning (tests, benchmarks): time-out, retries, pacing. Default: the client's
   * defaults, with conversation reads paced unless the sandbox lifted its limits.
   */
  readonly instagram?: Pick<
    InstagramClientOptions,
    'timeoutMs' | 'readRetries' | 'retryBaseMs' | 'paceReads'
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

export function createApp(deps: AppDeps): App {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const redis: Redis | undefined = config.redis.url
    ? createRedis(config.redis.url, logger)
    : undefined;

  const state = createSharedState(config, redis, logger);
  const { tokens, log, bus } = state;
  const upstream: Upstream = {
    graphUrl: config.instagram.graphUrl,
    oauthUrl: config.instagram.oauthUrl,
    tokenUrl: config.instagram.tokenUrl,
  };
  const client = new InstagramClient({
    graphUrl: () => upstream.graphUrl,
    tokenUrl: () => upstream.tokenUrl,
    apiVersion: config.instagram.apiVersion,
    metrics,
    logger,
    // Conversation reads are paced as Instagram limits them, across instances (the shared
    // limiter), unless the sandbox lifted its limits.
    limiter: state.limiter,
    paceReads: !(config.sandbox && !config.sandboxOptions.rateLimits),
    // The one reaction to a refused token, whoever made the call.
    onTokenRejected: (igId, reason) => accountStatus.tokenRejected(igId, reason),
    ...deps.instagram,
  });
  const api = new InstagramApi(client);
  const sends = new SendService({
    api,
    tokens,
    idempotency: state.idempotency,
    limiter: state.limiter,
    logger,
    now: deps.now,
  });

  const sessions = createSessions(config, state.revocations);

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    healthCheckEndpoint: '/healthz',
    // GraphiQL's files are served by igql itself (no CDN: it works offline), hashed, cached and
    // compressed. In sandbox mode it opens ready to use: the demo session in the headers, and
    // example tabs.
    graphiql: config.graphiql
      ? () => ({ title: 'igql', subscriptionsProtocol: 'WS', ...sandboxGraphiQLOptions })
      : false,
    renderGraphiQL: async (options) => (await graphiqlPage()).render(options),
    // GETs and simple bodies need this header: a browser cannot send it cross-site without CORS.
    plugins: [
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
      ...(config.introspection ? [] : [useNoIntrospection()]),
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
      const session = socketSession ?? (await sessions.fromRequest(req));
      return {
        requestId: request?.headers.get('x-request-id') ?? randomUUID(),
        logger,
        apiVersion: config.instagram.apiVersion,
        session,
        loaders: new RequestLoaders(api, tokens, session),
        now: deps.now ?? Date.now,
        sends,
        live,
        stillValid: () => sessions.stillValid(session),
      };
    },
  });

  const pipeline = new EventPipeline({
    deduper: state.deduper,
    log,
    bus,
    logger,
    counter: metrics.inboxEvents,
    onStored: (event) => reconciler.seen(event.igId, event.occurredAt),
  });
  const live = new LiveEvents(log, bus, logger);
  const accountStatus = new AccountStatusService(
    tokens,
    (events) => pipeline.ingest(events),
    logger,
  );
  const refresher = new TokenRefresher({
    tokens,
    client,
    logger,
    lock: state.refreshLock,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const reconcileEvery = deps.reconcileIntervalMs ?? 60_000;
  const reconciler = new Reconciler({
    api,
    tokens,
    pipeline,
    logger,
    lock: state.reconcileLock,
    // Held for most of an interval: across instances an account is reconciled about once per run.
    lockTtlMs: reconcileEvery > 0 ? reconcileEvery * 0.9 : 1,
    metrics: {
      reconciled: metrics.reconciled,
      resubscriptions: metrics.resubscriptions,
      lastRun: metrics.reconcileLastRun,
    },
  });
  let sandbox: Sandbox | undefined;
  let sandboxGraphiQLOptions: GraphiQLOptions = {};
  let graphiql: Promise<GraphiQL> | undefined;
  const graphiqlPage = () => {
    graphiql ??= createGraphiQL();
    return graphiql;
  };
  let baseUrl = '';
  let boundPort = 0;

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

  const oauthApp = () => ({
    appId: config.instagram.appId ?? sandbox?.simulator.appId ?? '',
    appSecret: config.instagram.appSecret,
  });
  Object.assign(
    routes,
    authRoutes({
      secret: config.sessionSecret,
      publicBase: (req) => {
        // Sandbox: a login comes back to the loopback origin it started on (localhost or
        // 127.0.0.1), where its cookie lives.
        const origin = `http://${req.headers.host}`;
        if (config.sandbox && isLoopbackOrigin(origin, boundPort)) return origin;
        // Tests listen on port 0: the redirect URI is then the address actually bound.
        return config.port === 0 ? baseUrl : config.publicUrl;
      },
      allowedOrigins: config.allowedOrigins,
      hosts: () => ({ oauthUrl: upstream.oauthUrl }),
      app: oauthApp,
      oauth: new OAuthClient(client, oauthApp),
      api,
      tokens,
      revocations: state.revocations,
      sessions,
      logger,
      now: deps.now,
    }),
  );

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const route = routes[`${req.method} ${new URL(req.url ?? '/', 'http://igql').pathname}`];
    try {
      if (route) await route(req, res);
      else await yoga.handle(req, res, { req });
    } catch (err) {
      logger.error({ err, path: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  };
  const compress = compressResponses();
  const server = createServer((req, res) => compress(req, res, () => void handle(req, res)));

  const ws = attachWebsockets({
    server,
    yoga,
    sessions,
    allowedOrigins: config.allowedOrigins,
    checkMs: deps.socketCheckMs ?? 10_000,
  });

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
      if (reconcileEvery > 0) reconciler.start(reconcileEvery);
      const refreshEvery = deps.refreshIntervalMs ?? 3_600_000;
      if (refreshEvery > 0) refresher.start(refreshEvery);
      const { port } = server.address() as AddressInfo;
      boundPort = port;
      if (config.graphiql) Object.assign(routes, (await graphiqlPage()).routes);
      if (sandbox && config.graphiql) {
        const { sandboxGraphiQL } = await import('./sandbox/graphiql.ts');
        const { sandboxSessionToken } = await import('./sandbox/index.ts');
        const [first] = sandbox.accounts();
        sandboxGraphiQLOptions = sandboxGraphiQL({
          store: sandbox.simulator.store,
          // The same all day and across restarts: a tab GraphiQL saved keeps working.
          session: await sandboxSessionToken(
            config.sessionSecret,
            'sandbox:graphiql',
            sandbox.accounts().map((a) => a.igId),
          ),
          igId: first?.igId ?? '',
          customer: 'ana.costa',
          port,
        });
      }
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
