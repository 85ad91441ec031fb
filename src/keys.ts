import { hash } from 'node:crypto';

/**
 * Every Redis key and channel name igql uses, built here and nowhere else, in a `Keyspace`: the
 * prefix (`REDIS_PREFIX`, default `igql`, or a sandbox's own, `sandboxPrefix`) and the layout.
 *
 * Two layouts, one per kind of Redis:
 * - **single** (one Redis server, with or without replicas): the names below, unchanged since
 *   the first release. They are stored data: deployments hold tokens and origins under them
 *   without expiry, so a renamed key loses them. Change none without a migration
 *   (test/redis-keys.test.ts pins them).
 * - **cluster** (Redis Cluster): every key of one account carries the account's hash tag,
 *   `{<igId>}`, in place of the igId (`<prefix>:account:{<igId>}`), so that the account's keys
 *   share one slot: its scripts, streams and multi-key commands stay on one shard, and its
 *   sharded pub/sub channel is on the shard of its stream. The dedupe and idempotency keys,
 *   global on one server, are tagged too (`<prefix>:dedupe:{<igId>}:<sha256>`): the ingestion
 *   script claims, stores and publishes an account's events in one call. Global keys
 *   (sessions, the accounts set, publish jobs) carry no tag and spread over the slots. A
 *   cluster is a new deployment: nothing is migrated from a single server's names.
 *
 * A publish job's record and lock are keyed by the job alone: the poller knows a job by its id
 * only (the due index holds ids).
 */
export interface Keyspace {
  readonly prefix: string;
  readonly layout: 'single' | 'cluster';
}

/** The keyspace of `prefix` on one Redis server (`cluster` false) or on a Redis Cluster. */
export const keyspace = (prefix: string, cluster = false): Keyspace => ({
  prefix,
  layout: cluster ? 'cluster' : 'single',
});

/**
 * `<prefix>:<family>:<igId>[:<rest>…]`: one account's key; `{<igId>}` in the cluster layout, the
 * hash tag that puts every key of the account in one slot.
 */
const ofAccount = (ks: Keyspace, family: string, igId: string, ...rest: string[]): string =>
  [ks.prefix, family, ks.layout === 'cluster' ? `{${igId}}` : igId, ...rest].join(':');

/** `<prefix>:<family>[:<rest>…]`: a key of no account (a global key), the same in both layouts. */
const globalKey = (ks: Keyspace, family: string, ...rest: string[]): string =>
  [ks.prefix, family, ...rest].join(':');

/** A sandbox's prefix, `<prefix>:sandbox:<simulator id>`: sandboxes on one Redis never meet. */
export const sandboxPrefix = (prefix: string, simulatorId: string): string =>
  [prefix, 'sandbox', simulatorId].join(':');

// ---- Accounts and tokens ------------------------------------------------------------------

/**
 * `<prefix>:account:<igId>`, a hash: `token` (sealed), `status`, `issuedAt`, `expiresAt`,
 * `loginKind`, `pageId`. No TTL: the account's token, kept until replaced.
 */
export const accountKey = (ks: Keyspace, igId: string): string => ofAccount(ks, 'account', igId);

/** `<prefix>:accounts`, a set of every stored igId. No TTL; never shrinks. */
export const accountsKey = (ks: Keyspace): string => globalKey(ks, 'accounts');

/** `<prefix>:refresh-lock:<igId>`, a string (the holder's random value). PX 60 s. */
export const refreshLockKey = (ks: Keyspace, igId: string): string =>
  ofAccount(ks, 'refresh-lock', igId);

/** `<prefix>:reconcile-lock:<igId>`, a string (the holder's random value). PX 0.9 × the interval. */
export const reconcileLockKey = (ks: Keyspace, igId: string): string =>
  ofAccount(ks, 'reconcile-lock', igId);

// ---- Sessions -----------------------------------------------------------------------------

/** `<prefix>:revoked:<sid>`, the string `1`: a logged-out session. PX the session's lifetime (30 d). */
export const revokedKey = (ks: Keyspace, sid: string): string => globalKey(ks, 'revoked', sid);

/** `<prefix>:once:<id>`, the string `1`: a one-time id used (OAuth `state:<jti>`). PX 600 s. */
export const onceKey = (ks: Keyspace, id: string): string => globalKey(ks, 'once', id);

// ---- Events -------------------------------------------------------------------------------

/**
 * `<prefix>:events:<igId>`, a stream of entries `event=<json>`: the account's event log. No TTL;
 * trimmed by `XADD MAXLEN ~ 10000` (at least 10,000 entries, up to about a stream node more).
 */
export const eventsKey = (ks: Keyspace, igId: string): string => ofAccount(ks, 'events', igId);

/** `<prefix>:events:<igId>`, the account's pub/sub channel: the same name as its stream. */
export const eventsChannel = (ks: Keyspace, igId: string): string => eventsKey(ks, igId);

/**
 * `<prefix>:dedupe:<sha256(identity)>`, a string: `pending` (EX 60 s) from a claim, then `done`
 * (EX 48 h); an older igql wrote `1`. `identity` starts with `<igId>|`; the igId is not in the
 * name (hashed with the rest). Cluster: `<prefix>:dedupe:{<igId>}:<sha256(identity)>`.
 */
export const dedupeKey = (ks: Keyspace, igId: string, identity: string): string =>
  ks.layout === 'cluster'
    ? ofAccount(ks, 'dedupe', igId, hash('sha256', identity, 'hex'))
    : globalKey(ks, 'dedupe', hash('sha256', identity, 'hex'));

// ---- Sends and Instagram's limits ----------------------------------------------------------

/**
 * `<prefix>:idempotency:<key>`, a string, JSON `{f}` while pending (PX 30 s), `{f,r}` with the
 * result (PX 24 h). `key` is the caller's scope, JSON `[sub, igId, idempotency key]`: the igId
 * is in it, not before it. Cluster: `<prefix>:idempotency:{<igId>}:<key>`.
 */
export const idempotencyKey = (ks: Keyspace, igId: string, key: string): string =>
  ks.layout === 'cluster'
    ? ofAccount(ks, 'idempotency', igId, key)
    : globalKey(ks, 'idempotency', key);

/**
 * `<prefix>:ratelimit:<igId>:<bucket>`, a sorted set of slot times. PEXPIRE when its last slot
 * leaves the window: about a second, an hour for `privateReplies`.
 */
export const rateLimitKey = (ks: Keyspace, igId: string, bucket: string): string =>
  ofAccount(ks, 'ratelimit', igId, bucket);

// ---- Conversations ------------------------------------------------------------------------

/** `<prefix>:thread-owner:<igId>:<igsid>`, a string, JSON `{at, appId}`. EX 3600 s. */
export const threadOwnerKey = (ks: Keyspace, igId: string, igsid: string): string =>
  ofAccount(ks, 'thread-owner', igId, igsid);

/**
 * `<prefix>:origin:<igId>:<igsid>`, a string, JSON `{at, referral}`: the conversation's first
 * referral. No TTL.
 */
export const originKey = (ks: Keyspace, igId: string, igsid: string): string =>
  ofAccount(ks, 'origin', igId, igsid);

// ---- The read cache (src/inbox/read-cache.ts) ---------------------------------------------

/**
 * `<prefix>:read-cache:<igId>:<sha256(request)>`, a string, `{"tokens":[…],"value":<JSON>}`: one
 * upstream read of the account (`request`: its method, path and query, never the token), kept
 * with the generation tokens its scopes had when it was loaded. PX the entry's TTL: at most
 * 24 h, and never past the earliest media URL it holds.
 */
export const readCacheKey = (ks: Keyspace, igId: string, request: string): string =>
  ofAccount(ks, 'read-cache', igId, hash('sha256', request, 'hex'));

/**
 * `<prefix>:read-cache-generations:<igId>`, a hash: scope → its generation token (random). PX
 * 24 h + 60 s, set again at each entry or token written: it outlives every entry of the
 * account. Deleted whole when it holds 10,000 scopes (every entry of the account then misses
 * once).
 */
export const readCacheGenerationsKey = (ks: Keyspace, igId: string): string =>
  ofAccount(ks, 'read-cache-generations', igId);

/**
 * `<prefix>:read-cache-lock:<igId>:<sha256(identity)>`, a string (the holder's random value):
 * one instance loads a request at a time. `identity` is the request with the tokens it is loaded
 * under, so that a load begun before an invalidation holds up no load after it. PX 12 s.
 */
export const readCacheLockKey = (ks: Keyspace, igId: string, identity: string): string =>
  ofAccount(ks, 'read-cache-lock', igId, hash('sha256', identity, 'hex'));

// ---- Publishing ---------------------------------------------------------------------------

/**
 * `<prefix>:publish-job:<jobId>`, a string, the job's JSON (it names its igId). PX 7 d. Keyed by
 * the job alone: the poller finds jobs by the due index's members, which are job ids.
 */
export const publishJobKey = (ks: Keyspace, jobId: string): string =>
  globalKey(ks, 'publish-job', jobId);

/**
 * `<prefix>:publish-jobs:<igId>`, a sorted set of the account's job ids by creation time. No
 * TTL; entries older than 7 d are trimmed at the account's next job write.
 */
export const publishJobsKey = (ks: Keyspace, igId: string): string =>
  ofAccount(ks, 'publish-jobs', igId);

/**
 * `<prefix>:publish-jobs:due`, a sorted set of unfinished job ids by next poll time. No TTL; a
 * job leaves it once final, or gone.
 */
export const publishDueKey = (ks: Keyspace): string => globalKey(ks, 'publish-jobs', 'due');

/**
 * `<prefix>:publish-lock:<jobId>`, a string (the holder's random value): one instance works on a
 * job at a time. PX 600 s. Keyed by the job alone, as its job's record.
 */
export const publishLockKey = (ks: Keyspace, jobId: string): string =>
  globalKey(ks, 'publish-lock', jobId);
