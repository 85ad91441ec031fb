import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionResult } from 'graphql';
import type { GraphiQLOptions } from 'graphql-yoga';
import type { TokenRefresher } from './auth/refresh.ts';
import type { Config } from './config.ts';
import { createGraphiQL, type GraphiQL } from './graphiql/index.ts';
import {
  BodyTooLargeError,
  bodyLimitOf,
  compressResponses,
  json,
  MAX_UPLOADS_IN_FLIGHT,
  payloadTooLarge,
  readBody,
  requestPath,
} from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { PersistedOptions } from './persisted.ts';
import type { PublishingService } from './publishing/service.ts';
import { SubscriptionGroups } from './pubsub/groups.ts';
import { createRoutes } from './routes.ts';
import type { Sandbox } from './sandbox/index.ts';
import { subscriptionEnded } from './schema/events.ts';
import { createServices, type ServicesOptions, type Upstream } from './services.ts';
import type { Reconciler } from './webhooks/reconcile.ts';
import { attachWebsockets } from './websocket.ts';
import { serialiseResult } from './ws-server.ts';
import { createYogaServer } from './yoga.ts';

/** `http://localhost:PORT`, `http://127.0.0.1:PORT` or `http://[::1]:PORT`, on this port. */
const isLoopbackOrigin = (origin: string, port: number): boolean =>
  new RegExp(`^http://(localhost|127\\.0\\.0\\.1|\\[::1\\]):${port}$`).test(origin);

export interface AppDeps
  extends Pick<ServicesOptions, 'now' | 'instagram' | 'reconcileIntervalMs'> {
  readonly config: Config;
  /** Default: a pino logger at `config.logLevel` on stdout. */
  readonly logger?: Logger;
  /**
   * Sandbox mode: the started simulated Instagram igql runs against (`main.ts` starts it first;
   * tests hand in their own). Its hosts replace the config's, its routes are served, its
   * accounts' tokens stored. Default: none, igql calls `config.instagram`'s hosts.
   */
  readonly sandbox?: Sandbox;
  /** How long `stop()` waits for in-flight requests before cutting connections. Default 10 s. */
  readonly drainTimeoutMs?: number;
  /** How often long-lived Instagram tokens due for refresh are refreshed. Default 1 h; 0 disables. */
  readonly refreshIntervalMs?: number;
  /**
   * How often due publish jobs are looked at (container status reads, with their own backoff);
   * a new job is looked at at once. Default 1000 ms; 0: only when a job is queued.
   */
  readonly publishPollIntervalMs?: number;
  /** How often an open websocket's session is checked for revocation. Default 10 000 ms. */
  readonly socketCheckMs?: number;
  /** Automatic persisted queries and trusted documents (src/persisted.ts). Default: APQ on. */
  readonly persisted?: PersistedOptions;
}

export interface App {
  readonly server: ReturnType<typeof createServer>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly upstream: Upstream;
  /** Missed-webhook reconciliation and the subscription watchdog. */
  readonly reconciler: Reconciler;
  /** Refreshes long-lived Instagram tokens ahead of expiry. */
  readonly refresher: TokenRefresher;
  /** `publishMedia`'s jobs and their poller. */
  readonly publishing: PublishingService;
  /** Sandbox mode: the simulator igql runs against. */
  readonly sandbox: Sandbox | undefined;
  /** Listens on `config.host:config.port`; resolves with the GraphQL URL. */
  start(): Promise<string>;
  /**
   * Stops accepting, closes websockets with 1001, ends SSE streams with `event: complete`,
   * answers the requests in flight (each with `Connection: close`), closes idle connections,
   * then Redis.
   */
  stop(): Promise<void>;
}

/**
 * igql, composed: its services (state, Instagram client, pipelines), the GraphQL server, the
 * routes beside it, one `node:http` server for all of them and graphql-ws on the same port.
 */
export function createApp(deps: AppDeps): App {
  const { config, sandbox } = deps;
  const logger = deps.logger ?? createLogger(config.logLevel);
  // igql's app of each configuration: the owner of its threads, its entry of a Page's
  // subscriptions. In sandbox mode the simulator's app serves both logins.
  const instagramAppId = config.instagram.appId ?? (config.sandbox ? sandbox?.appId : '') ?? '';
  const services = createServices({
    config,
    logger,
    upstream: sandbox?.upstream,
    redisPrefix: sandbox?.redisPrefix,
    appIds: {
      INSTAGRAM: instagramAppId,
      FACEBOOK: config.facebook.appId ?? (config.sandbox ? sandbox?.appId : '') ?? '',
    },
    now: deps.now,
    instagram: deps.instagram,
    reconcileIntervalMs: deps.reconcileIntervalMs,
  });
  const { redis, reconciler, refresher } = services;
  const { limits } = config;
  /** Aborted at stop: subscriptions end (SSE streams with `event: complete`). */
  const streamsEnd = new AbortController();

  /** Where this process listens, once it does: tests bind port 0. */
  const bound = { port: 0, base: '' };
  let graphiql: Promise<GraphiQL> | undefined;
  const graphiqlPage = () => {
    graphiql ??= createGraphiQL();
    return graphiql;
  };
  let graphiqlDefaults: GraphiQLOptions = {};

  // One execution per event for the subscribers that share a document and scope, over
  // graphql-ws and SSE alike.
  const groups = new SubscriptionGroups<ExecutionResult>({
    stillValid: (session) => services.sessions.stillValid(session),
    serialise: serialiseResult,
    sessionEnded: subscriptionEnded,
  });
  const yoga = createYogaServer({
    groups,
    config,
    appId: instagramAppId,
    logger,
    services,
    now: deps.now,
    graphiql: graphiqlPage,
    graphiqlDefaults: () => graphiqlDefaults,
    streamsEnd: streamsEnd.signal,
    persisted: deps.persisted,
  });
  const routes = {
    ...createRoutes({
      config,
      logger,
      services,
      appId: instagramAppId,
      publicBase: (req) => {
        // Sandbox: a login comes back to the loopback origin it started on (localhost or
        // 127.0.0.1), where its cookie lives.
        const origin = `http://${req.headers.host}`;
        if (sandbox && isLoopbackOrigin(origin, bound.port)) return origin;
        // Tests listen on port 0: the redirect URI is then the address actually bound.
        return config.port === 0 ? bound.base : config.publicUrl;
      },
      now: deps.now,
    }),
    ...sandbox?.routes,
  };

  /**
   * A GraphQL body's limit: `MAX_BODY_BYTES`, or an upload's (`bodyLimitOf`) for a session that
   * may use an account, while fewer than `MAX_UPLOADS_IN_FLIGHT` uploads are being read: nobody
   * anonymous, and nobody at all past that, can make igql hold 26 MB per connection. `release`
   * is to be called once the body is read (or failed).
   */
  let uploadsInFlight = 0;
  const bodyLimit = async (
    req: IncomingMessage,
  ): Promise<{ limit: number; release: () => void }> => {
    const plain = { limit: limits.bodyBytes, release: () => {} };
    const upload = bodyLimitOf(req, limits.bodyBytes);
    if (upload === limits.bodyBytes || uploadsInFlight >= MAX_UPLOADS_IN_FLIGHT) return plain;
    const session = await services.sessions.fromRequest(req).catch(() => null);
    if (!session || session.accounts.length === 0) return plain;
    uploadsInFlight++;
    let released = false;
    return {
      limit: upload,
      release: () => {
        if (!released) uploadsInFlight--;
        released = true;
      },
    };
  };

  /** `path`: the request's, normalised as routes are keyed (`..` and `.` resolved, no query). */
  const handle = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const route = routes[`${req.method} ${path}`];
    try {
      if (route) await route(req, res);
      else {
        if (req.method === 'POST') {
          // Read here, counted as it streams (Yoga's own cap destroys the connection when a
          // chunked body passes it); Yoga gets the bytes as from a body parser.
          const { limit, release } = await bodyLimit(req);
          let body: Buffer;
          try {
            body = await readBody(req, limit);
          } finally {
            release();
          }
          Object.assign(req, { body: Readable.from([body]) });
        }
        await yoga.handle(req, res, { req });
      }
    } catch (err) {
      if (req.destroyed && !req.complete) return; // the client went away mid-body
      if (err instanceof BodyTooLargeError && !res.headersSent) {
        payloadTooLarge(res, err.limit);
        return;
      }
      logger.error({ err, path: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  };
  const compress = compressResponses();
  /** Once stopping: every answer is the last of its connection. */
  let draining = false;
  /** Answers not yet finished. */
  const inFlight = new Set<ServerResponse>();
  // A client has this long to send its headers, and its whole request (a slow body): past
  // either, Node answers 408 and closes. (Node wants the first no longer than the second.)
  const headersTimeout = limits.requestTimeoutMs
    ? Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)
    : limits.headersTimeoutMs;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      // How often Node looks for connections past them (its default, 30 s, would let a 10 s
      // time-out run to 40 s): four times a headers time-out.
      connectionsCheckingInterval: Math.min(30_000, Math.max(10, headersTimeout / 4 || 30_000)),
    },
    (req, res) => {
      const socket = req.socket;
      inFlight.add(res);
      if (draining) res.setHeader('connection', 'close');
      res.once('finish', () => {
        // Also a keep-alive answer that began before the stop (an SSE stream).
        if (draining) socket.end();
      });
      res.once('close', () => inFlight.delete(res));
      // Webhook answers are a few bytes, never worth compressing: their path stays lean (the
      // middleware's wrapping of every write was 2-3 % of a delivery's CPU).
      const path = requestPath(req);
      if (path === undefined) {
        json(res, 400, { error: 'request target is not a URL' });
        return;
      }
      if (path.startsWith('/webhooks/')) void handle(req, res, path);
      else compress(req, res, () => void handle(req, res, path));
    },
  );
  // Past it, Node closes new connections at once.
  server.maxConnections = limits.connections;
  const ws = attachWebsockets({
    server,
    logger,
    yoga,
    sessions: services.sessions,
    allowedOrigins: config.allowedOrigins,
    checkMs: deps.socketCheckMs ?? 10_000,
    limits: config.limits,
    groups,
  });

  let stopping: Promise<void> | undefined;
  return {
    server,
    metrics: services.metrics,
    logger,
    upstream: services.upstream,
    reconciler,
    refresher,
    publishing: services.publishing,
    sandbox,
    async start() {
      redis?.connect();
      // Shared state lives there: give Redis a moment; /readyz reports it if it stays away.
      await redis?.ready(5000);
      for (const account of sandbox?.accounts() ?? []) await services.state.tokens.put(account);
      if (config.graphiql) Object.assign(routes, (await graphiqlPage()).routes);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      bound.port = (server.address() as AddressInfo).port;
      const wildcard = config.host === '0.0.0.0' || config.host === '::';
      bound.base = `http://${wildcard ? '127.0.0.1' : config.host}:${bound.port}`;
      await sandbox?.deliverWebhooksTo(bound.base);
      if (sandbox && config.graphiql) graphiqlDefaults = await sandbox.graphiql(bound.port);
      const reconcileEvery = deps.reconcileIntervalMs ?? 60_000;
      if (reconcileEvery > 0) reconciler.start(reconcileEvery);
      const refreshEvery = deps.refreshIntervalMs ?? 3_600_000;
      if (refreshEvery > 0) refresher.start(refreshEvery);
      services.publishing.start(deps.publishPollIntervalMs ?? 1000);
      const host = ['127.0.0.1', '0.0.0.0', '::'].includes(config.host) ? 'localhost' : config.host;
      return `http://${host}:${bound.port}/graphql`;
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        // Also closes the idle connections.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await ws.dispose();
        streamsEnd.abort();
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
        await yoga.dispose();
        await services.close();
      })();
      return stopping;
    },
  };
}
