import { hash } from 'node:crypto';

/**
 * Every Redis key and channel name igql uses, built here and nowhere else. `prefix` is
 * `REDIS_PREFIX` (default `igql`), or a sandbox's own (`sandboxPrefix`).
 *
 * The names are stored data: deployments hold tokens and origins under them without expiry, so
 * a renamed key loses them. Change none without a migration (test/redis-keys.test.ts
 * pins them).
 *
 * Each key of one account is built from its igId (`ofAccount`), and the functions of the two
 * whose names leave the igId out (dedupe, idempotency) take it all the same: a Redis Cluster hash
 * tag (issue 14) is then added here alone. A publish job's record and lock are the exception:
 * the poller knows a job by its id only (the due index holds ids). Global keys belong to no
 * account.
 */

/** `<prefix>:<family>:<igId>[:<rest>…]`: one account's key. */
const ofAccount = (prefix: string, family: string, igId: string, ...rest: string[]): string =>
  [prefix, family, igId, ...rest].join(':');

/** `<prefix>:<family>[:<rest>…]`: a key of no account (a global key). */
const globalKey = (prefix: string, family: string, ...rest: string[]): string =>
  [prefix, family, ...rest].join(':');

/** A sandbox's prefix, `<prefix>:sandbox:<simulator id>`: sandboxes on one Redis never meet. */
export const sandboxPrefix = (prefix: string, simulatorId: string): string =>
  globalKey(prefix, 'sandbox', simulatorId);

// ---- Accounts and tokens ------------------------------------------------------------------

/**
 * `<prefix>:account:<igId>`, a hash: `token` (sealed), `status`, `issuedAt`, `expiresAt`,
 * `loginKind`, `pageId`. No TTL: the account's token, kept until replaced.
 */
export const accountKey = (prefix: string, igId: string): string =>
  ofAccount(prefix, 'account', igId);

/** `<prefix>:accounts`, a set of every stored igId. No TTL; never shrinks. */
export const accountsKey = (prefix: string): string => globalKey(prefix, 'accounts');

/** `<prefix>:refresh-lock:<igId>`, a string (the holder's random value). PX 60 s. */
export const refreshLockKey = (prefix: string, igId: string): string =>
  ofAccount(prefix, 'refresh-lock', igId);

/** `<prefix>:reconcile-lock:<igId>`, a string (the holder's random value). PX 0.9 × the interval. */
export const reconcileLockKey = (prefix: string, igId: string): string =>
  ofAccount(prefix, 'reconcile-lock', igId);

// ---- Sessions -----------------------------------------------------------------------------

/** `<prefix>:revoked:<sid>`, the string `1`: a logged-out session. PX the session's lifetime (30 d). */
export const revokedKey = (prefix: string, sid: string): string =>
  globalKey(prefix, 'revoked', sid);

/** `<prefix>:once:<id>`, the string `1`: a one-time id used (OAuth `state:<jti>`). PX 600 s. */
export const onceKey = (prefix: string, id: string): string => globalKey(prefix, 'once', id);

// ---- Events -------------------------------------------------------------------------------

/**
 * `<prefix>:events:<igId>`, a stream of entries `event=<json>`: the account's event log. No TTL;
 * trimmed by `XADD MAXLEN ~ 10000` (at least 10,000 entries, up to about a stream node more).
 */
export const eventsKey = (prefix: string, igId: string): string =>
  ofAccount(prefix, 'events', igId);

/** `<prefix>:events:<igId>`, the account's pub/sub channel: the same name as its stream. */
export const eventsChannel = (prefix: string, igId: string): string => eventsKey(prefix, igId);

/**
 * `<prefix>:dedupe:<sha256(identity)>`, a string: `pending` (EX 60 s) from a claim, then `done`
 * (EX 48 h); an older igql wrote `1`. `identity` starts with `<igId>|`; the igId is not in the
 * name (hashed with the rest).
 */
export const dedupeKey = (prefix: string, _igId: string, identity: string): string =>
  globalKey(prefix, 'dedupe', hash('sha256', identity, 'hex'));

// ---- Sends and Instagram's limits ----------------------------------------------------------

/**
 * `<prefix>:idempotency:<key>`, a string, JSON `{f}` while pending (PX 30 s), `{f,r}` with the
 * result (PX 24 h). `key` is the caller's scope, JSON `[sub, igId, idempotency key]`: the igId
 * is in it, not before it.
 */
export const idempotencyKey = (prefix: string, _igId: string, key: string): string =>
  globalKey(prefix, 'idempotency', key);

/**
 * `<prefix>:ratelimit:<igId>:<bucket>`, a sorted set of slot times. PEXPIRE when its last slot
 * leaves the window: about a second, an hour for `privateReplies`.
 */
export const rateLimitKey = (prefix: string, igId: string, bucket: string): string =>
  ofAccount(prefix, 'ratelimit', igId, bucket);

// ---- Conversations ------------------------------------------------------------------------

/** `<prefix>:thread-owner:<igId>:<igsid>`, a string, JSON `{at, appId}`. EX 3600 s. */
export const threadOwnerKey = (prefix: string, igId: string, igsid: string): string =>
  ofAccount(prefix, 'thread-owner', igId, igsid);

/**
 * `<prefix>:origin:<igId>:<igsid>`, a string, JSON `{at, referral}`: the conversation's first
 * referral. No TTL.
 */
export const originKey = (prefix: string, igId: string, igsid: string): string =>
  ofAccount(prefix, 'origin', igId, igsid);

// ---- Publishing ---------------------------------------------------------------------------

/**
 * `<prefix>:publish-job:<jobId>`, a string, the job's JSON (it names its igId). PX 7 d. Keyed by
 * the job alone: the poller finds jobs by the due index's members, which are job ids.
 */
export const publishJobKey = (prefix: string, jobId: string): string =>
  globalKey(prefix, 'publish-job', jobId);

/**
 * `<prefix>:publish-jobs:<igId>`, a sorted set of the account's job ids by creation time. No
 * TTL; entries older than 7 d are trimmed at the account's next job write.
 */
export const publishJobsKey = (prefix: string, igId: string): string =>
  ofAccount(prefix, 'publish-jobs', igId);

/**
 * `<prefix>:publish-jobs:due`, a sorted set of unfinished job ids by next poll time. No TTL; a
 * job leaves it once final, or gone.
 */
export const publishDueKey = (prefix: string): string => globalKey(prefix, 'publish-jobs', 'due');

/**
 * `<prefix>:publish-lock:<jobId>`, a string (the holder's random value): one instance works on a
 * job at a time. PX 600 s. Keyed by the job alone, as its job's record.
 */
export const publishLockKey = (prefix: string, jobId: string): string =>
  globalKey(prefix, 'publish-lock', jobId);
