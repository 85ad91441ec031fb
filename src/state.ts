import { RedisTokenStore } from './auth/redis-token-store.ts';
import {
  CachedRevocations,
  MemoryRevocations,
  RedisRevocations,
  type Revocations,
} from './auth/revocation.ts';
import { MemoryTokenStore, type TokenStore } from './auth/token-store.ts';
import type { Config } from './config.ts';
import {
  type ConversationStateStore,
  MemoryConversationState,
  RedisConversationState,
} from './inbox/conversation-state.ts';
import type { InboxEventData } from './inbox/events.ts';
import { MemoryReadCache, type ReadCache, RedisReadCache } from './inbox/read-cache.ts';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from './instagram/rate-limit.ts';
import { keyspace, reconcileLockKey, refreshLockKey } from './keys.ts';
import { type AccountLock, MemoryAccountLock, RedisAccountLock } from './lock.ts';
import type { Logger } from './logger.ts';
import { type EventBus, MemoryEventBus, RedisEventBus } from './pubsub/bus.ts';
import { type EventLog, type LogEntry, MemoryEventLog, RedisEventLog } from './pubsub/log.ts';
import { type StoredOrNot, storeAndPublish } from './pubsub/store-and-publish.ts';
import { isCluster, type Redis } from './redis.ts';
import {
  type IdempotencyStore,
  MemoryIdempotencyStore,
  RedisIdempotencyStore,
} from './sends/idempotency.ts';
import { type Deduper, MemoryDeduper, RedisDeduper } from './webhooks/dedupe.ts';

/** Events kept per account for resumption (a Redis Stream, or a ring buffer in memory). */
const EVENT_LOG_LENGTH = 10_000;

/** Everything igql shares between instances: in Redis when configured, in memory otherwise. */
export interface SharedState {
  readonly tokens: TokenStore;
  readonly revocations: Revocations;
  readonly idempotency: IdempotencyStore;
  /** Instagram's per-account limits (sends, Conversations API reads), across instances. */
  readonly limiter: RateLimiter;
  readonly deduper: Deduper;
  readonly log: EventLog;
  readonly bus: EventBus;
  /** Each conversation's thread owner (kept fresh by handovers) and origin (first referral). */
  readonly conversations: ConversationStateStore;
  /**
   * Instagram's answers to inbox reads (conversation lists and pages, messages, profiles),
   * answered again until an event invalidates them: shared by every instance with Redis.
   */
  readonly readCache: ReadCache;
  /** `PipelineOptions.publishAndConfirm`, with Redis: the bus and the deduper share one client. */
  readonly publishAndConfirm?: (entry: LogEntry) => Promise<void>;
  /**
   * `PipelineOptions.storeAndPublish`, with Redis: the deduper, the log and the bus in one script
   * (src/pubsub/store-and-publish.ts).
   */
  readonly storeAndPublish?: (event: InboxEventData) => Promise<StoredOrNot>;
  readonly refreshLock: AccountLock;
  /** One instance reconciles an account at a time. */
  readonly reconcileLock: AccountLock;
}

/**
 * `prefix`: the key and channel prefix; default `REDIS_PREFIX`. A sandbox passes its own
 * (`Sandbox.redisPrefix`), so that sandboxes sharing one Redis never read each other's keys.
 */
export function createSharedState(
  config: Config,
  redis: Redis | undefined,
  logger: Logger,
  prefix: string = config.redis.prefix,
): SharedState {
  const keys = config.tokenEncryptionKeys;
  if (!redis) {
    return {
      tokens: new MemoryTokenStore({ keys }),
      revocations: new CachedRevocations(new MemoryRevocations()),
      idempotency: new MemoryIdempotencyStore(),
      limiter: new MemoryRateLimiter(),
      deduper: new MemoryDeduper(),
      log: new MemoryEventLog({ maxLen: EVENT_LOG_LENGTH }),
      bus: new MemoryEventBus(logger),
      conversations: new MemoryConversationState(),
      readCache: new MemoryReadCache({ logger }),
      refreshLock: new MemoryAccountLock(),
      reconcileLock: new MemoryAccountLock(),
    };
  }
  const { client } = redis;
  const ks = keyspace(prefix, isCluster(client));
  const deduper = new RedisDeduper(client, prefix);
  const bus = new RedisEventBus(client, prefix, logger);
  const log = new RedisEventLog(client, prefix, EVENT_LOG_LENGTH);
  return {
    tokens: new RedisTokenStore({ client, prefix, keys, logger }),
    revocations: new CachedRevocations(new RedisRevocations(client, prefix), { logger }),
    idempotency: new RedisIdempotencyStore(client, prefix),
    limiter: new RedisRateLimiter(client, prefix),
    deduper,
    log,
    bus,
    conversations: new RedisConversationState(client, prefix),
    readCache: new RedisReadCache(client, prefix, { logger }),
    publishAndConfirm: (entry) =>
      bus.publishAndSet(
        entry.event.igId,
        entry,
        deduper.confirmation(entry.event.igId, entry.event.identity),
      ),
    // The deduper's keys and TTL, the log's streams and length, and the bus's channels, each
    // from its owner: the script does what the three would.
    storeAndPublish: storeAndPublish(client, {
      dedupeKey: (igId, identity) => deduper.keyOf(igId, identity),
      logKey: (igId) => log.keyOf(igId),
      channel: (igId) => bus.channelOf(igId),
      maxLen: log.maxLen,
      ttlSeconds: deduper.ttlSeconds,
    }),
    refreshLock: new RedisAccountLock(client, (igId) => refreshLockKey(ks, igId)),
    reconcileLock: new RedisAccountLock(client, (igId) => reconcileLockKey(ks, igId)),
  };
}
