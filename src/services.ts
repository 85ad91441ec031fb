import { AccountStatusService } from './auth/account-status.ts';
import { TokenRefresher } from './auth/refresh.ts';
import { createSessions, type Sessions } from './auth/sessions.ts';
import type { TokenStore } from './auth/token-store.ts';
import type { Config } from './config.ts';
import { recordConversationState, tellsConversationState } from './inbox/conversation-state.ts';
import type { ReadCache } from './inbox/read-cache.ts';
import { InstagramClient, type InstagramClientOptions } from './instagram/client.ts';
import { type AppIds, InstagramApi } from './instagram/graph.ts';
import { keyspace, publishLockKey } from './keys.ts';
import { MemoryAccountLock, RedisAccountLock } from './lock.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { PublishingApi } from './publishing/api.ts';
import { MemoryPublishJobStore, RedisPublishJobStore } from './publishing/jobs.ts';
import { PublishingService } from './publishing/service.ts';
import { LiveEvents } from './pubsub/live.ts';
import { createRedis, createRedisCluster, isCluster, type Redis } from './redis.ts';
import { SendService } from './sends/service.ts';
import { createSharedState, type SharedState } from './state.ts';
import { eventCompleter, needsCompletion } from './webhooks/enrich.ts';
import { EventPipeline } from './webhooks/pipeline.ts';
import { Reconciler } from './webhooks/reconcile.ts';

/** Where igql reaches Instagram: the config's hosts, or the simulator's in sandbox mode. */
export interface Upstream {
  /** Graph API base, without version. */
  readonly graphUrl: string;
  /** Authorize page host. */
  readonly oauthUrl: string;
  /** Code-exchange host. */
  readonly tokenUrl: string;
  /** graph.facebook.com's base, without version (Facebook Login accounts and its OAuth). */
  readonly facebookGraphUrl: string;
  /** Facebook Login dialog host (`https://www.facebook.com`). */
  readonly facebookOauthUrl: string;
}

export interface ServicesOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Default: the config's hosts (`INSTAGRAM_GRAPH_URL`, `_OAUTH_URL`, `_TOKEN_URL`). */
  readonly upstream?: Upstream;
  /**
   * The clock that decides: reply windows, token ages, session expiry, reconciliation's look-back,
   * the time of status events. Default `Date.now`.
   */
  readonly now?: () => number;
  /**
   * Instagram client tuning (tests, benchmarks): time-out, retries, pacing. Default: the client's
   * defaults, with conversation reads paced unless the sandbox lifted its limits.
   */
  readonly instagram?: Pick<
    InstagramClientOptions,
    'timeoutMs' | 'readRetries' | 'retryBaseMs' | 'paceReads'
  >;
  /** Redis key and channel prefix. Default `REDIS_PREFIX`; a sandbox's own (`Sandbox.redisPrefix`). */
  readonly redisPrefix?: string;
  /**
   * igql's app of each configuration: the owner of its threads, its entry of a Page's
   * subscriptions. Default: the config's app ids ('' when unset).
   */
  readonly appIds?: AppIds;
  /** How often reconciliation runs: its lock is held for most of an interval. Default 60 000 ms. */
  readonly reconcileIntervalMs?: number;
}

/** igql's parts, built in dependency order: each one is built from those above it. */
export interface Services {
  readonly metrics: Metrics;
  /** Absent without `REDIS_URL`: shared state then lives in memory. */
  readonly redis: Redis | undefined;
  /** Its token store invalidates an account's read cache entries when a login stores it. */
  readonly state: SharedState;
  /**
   * `state.readCache`, counted (`igql_read_cache_total`, `igql_read_cache_invalidations_total`):
   * what the request loaders of `api` read through.
   */
  readonly readCache: ReadCache;
  readonly upstream: Upstream;
  /** Every event, from a webhook or from reconciliation: dedupe, the account's log, the bus. */
  readonly pipeline: EventPipeline;
  /** Inbox events for subscriptions: resumable, in order. */
  readonly live: LiveEvents;
  /** A token Instagram refused: the account needs a new login. */
  readonly accountStatus: AccountStatusService;
  /** The one way to Instagram. */
  readonly client: InstagramClient;
  readonly api: InstagramApi;
  readonly sends: SendService;
  /** `publishMedia`'s jobs and their background poller (started by the app). */
  readonly publishing: PublishingService;
  readonly sessions: Sessions;
  /** Refreshes long-lived Instagram tokens ahead of expiry. */
  readonly refresher: TokenRefresher;
  /** Missed-webhook reconciliation and the subscription watchdog. */
  readonly reconciler: Reconciler;
  /** Stops the timers, then closes the client, the bus, the log and Redis. */
  close(): Promise<void>;
}

export function createServices(o: ServicesOptions): Services {
  const { config, logger } = o;
  const metrics = createMetrics();
  const redis = config.redis.clusterNodes
    ? createRedisCluster(config.redis.clusterNodes, logger)
    : config.redis.url
      ? createRedis(config.redis.url, logger)
      : undefined;
  const shared = createSharedState(config, redis, logger, o.redisPrefix);
  const readCache = countedReadCache(shared.readCache, metrics);
  const state: SharedState = {
    ...shared,
    tokens: invalidatingTokens(shared.tokens, readCache, logger),
  };
  const { tokens } = state;
  const upstream = o.upstream ?? {
    graphUrl: config.instagram.graphUrl,
    oauthUrl: config.instagram.oauthUrl,
    tokenUrl: config.instagram.tokenUrl,
    facebookGraphUrl: config.facebook.graphUrl,
    facebookOauthUrl: config.facebook.oauthUrl,
  };

  const pipeline = new EventPipeline({
    deduper: state.deduper,
    log: state.log,
    bus: state.bus,
    logger,
    counter: metrics.inboxEvents,
    ...(o.now ? { now: o.now } : {}),
    ...(state.publishAndConfirm ? { publishAndConfirm: state.publishAndConfirm } : {}),
    ...(state.storeAndPublish ? { storeAndPublish: state.storeAndPublish } : {}),
    needsCompletion: (event) => needsCompletion(event) || tellsConversationState(event),
    invalidate: (igId, scopes) => readCache.invalidate(igId, scopes, 'webhook'),
    // An edit's text and a sender-less event's customer, read once before it is stored (the
    // client is made below; deliveries only come once the services are up).
    // Then what they tell of their conversations (origin, thread owner) is recorded, once each,
    // by the instance that received them.
    complete: async (events) => {
      const completed = await completeEvents(events);
      await recordConversationState(state.conversations, completed, logger);
      return completed;
    },
  });
  const live = new LiveEvents(state.log, state.bus, logger);
  const accountStatus = new AccountStatusService(
    tokens,
    (events) => pipeline.ingest(events),
    logger,
    o.now,
  );
  const client = new InstagramClient({
    graphUrl: () => upstream.graphUrl,
    tokenUrl: () => upstream.tokenUrl,
    facebookGraphUrl: () => upstream.facebookGraphUrl,
    // appsecret_proof on every graph.facebook.com call, when there is a Facebook app.
    ...(config.facebook.appId !== undefined || config.sandbox
      ? { facebookAppSecret: config.facebook.appSecret }
      : {}),
    apiVersion: config.instagram.apiVersion,
    metrics,
    logger,
    // The whole of each Instagram call, retries included (`INSTAGRAM_TIMEOUT_MS`).
    timeoutMs: config.limits.upstreamTimeoutMs,
    // Conversation reads are paced as Instagram limits them, across instances (the shared
    // limiter), unless the sandbox lifted its limits.
    limiter: state.limiter,
    paceReads: !(config.sandbox && !config.sandboxOptions.rateLimits),
    // The one reaction to a refused token, whoever made the call.
    onTokenRejected: (igId, reason) => accountStatus.tokenRejected(igId, reason),
    ...o.instagram,
  });
  const api = new InstagramApi(
    client,
    o.appIds ?? {
      INSTAGRAM: config.instagram.appId ?? '',
      FACEBOOK: config.facebook.appId ?? '',
    },
  );
  const completeEvents = eventCompleter({ api, tokens, logger });
  const sends = new SendService({
    api,
    tokens,
    idempotency: state.idempotency,
    limiter: state.limiter,
    logger,
    now: o.now,
    invalidate: (igId, scopes) => readCache.invalidate(igId, scopes, 'send'),
  });
  // Jobs shared in Redis (any instance carries them on, one at a time) or kept in memory.
  const prefix = o.redisPrefix ?? config.redis.prefix;
  const publishKeys = keyspace(prefix, redis !== undefined && isCluster(redis.client));
  const publishing = new PublishingService({
    jobs: redis ? new RedisPublishJobStore(redis.client, prefix) : new MemoryPublishJobStore(),
    lock: redis
      ? new RedisAccountLock(redis.client, (jobId) => publishLockKey(publishKeys, jobId))
      : new MemoryAccountLock(),
    api: new PublishingApi(client),
    graph: api,
    tokens,
    publish: (events) => pipeline.ingest(events),
    logger,
    ...(o.now ? { now: o.now } : {}),
  });
  const sessions = createSessions(config, state.revocations, o.now);
  const refresher = new TokenRefresher({
    tokens,
    client,
    logger,
    lock: state.refreshLock,
    ...(o.now ? { now: o.now } : {}),
  });
  const reconcileEvery = o.reconcileIntervalMs ?? 60_000;
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
    ...(o.now ? { now: o.now } : {}),
  });

  return {
    metrics,
    redis,
    state,
    readCache,
    upstream,
    pipeline,
    live,
    accountStatus,
    client,
    api,
    sends,
    publishing,
    sessions,
    refresher,
    reconciler,
    async close() {
      await reconciler.stop();
      await refresher.stop();
      await publishing.stop();
      await client.close();
      await state.bus.close();
      await state.log.close();
      await redis?.close();
    },
  };
}

/** Where an invalidation of the read cache comes from, as `igql_read_cache_invalidations_total` counts it. */
type InvalidationSource = 'webhook' | 'send' | 'account';

/** A read cache that counts its reads by outcome and its invalidations by source. */
function countedReadCache(
  cache: ReadCache,
  metrics: Metrics,
): ReadCache & {
  invalidate(igId: string, scopes: readonly string[], source?: InvalidationSource): Promise<void>;
} {
  return {
    async read(read) {
      const answer = await cache.read(read);
      metrics.readCache.inc({ outcome: answer.outcome });
      return answer;
    },
    async invalidate(igId, scopes, source: InvalidationSource = 'webhook') {
      await cache.invalidate(igId, scopes);
      metrics.readCacheInvalidations.inc({ source });
    },
  };
}

/**
 * `tokens`, invalidating everything the read cache holds of an account (scope `account`) once a
 * login stored its token: a new login may come after a REAUTH_REQUIRED spell, or change how the
 * account is read. A refresh (`replaceToken`) reads the same data and invalidates nothing; a
 * status change is an `ACCOUNT_STATUS_CHANGED` event, which the pipeline invalidates for. The
 * login stands when the invalidation fails (logged): the entries' TTL bounds what it missed.
 */
function invalidatingTokens(
  tokens: TokenStore,
  cache: ReturnType<typeof countedReadCache>,
  logger: Logger,
): TokenStore {
  return {
    get: (igId) => tokens.get(igId),
    async put(account) {
      await tokens.put(account);
      await cache.invalidate(account.igId, ['account'], 'account').catch((error: unknown) => {
        logger.warn(
          { err: error, igId: account.igId },
          'could not invalidate the read cache after a login',
        );
      });
    },
    setStatus: (igId, status) => tokens.setStatus(igId, status),
    replaceToken: (igId, accessToken, issuedAt, expiresAt) =>
      tokens.replaceToken(igId, accessToken, issuedAt, expiresAt),
    list: () => tokens.list(),
  };
}
