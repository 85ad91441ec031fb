import { type Keyspace, keyspace, originKey, threadOwnerKey } from '../keys.ts';
import type { Logger } from '../logger.ts';
import { isCluster, type RedisClient, Script } from '../redis.ts';
import type { InboxEventData } from './events.ts';
import { type Referral, referralOfEvent } from './referral.ts';

/**
 * What igql remembers of a conversation between requests, shared by every instance (in Redis
 * when configured), one small key per conversation and fact:
 *
 * - its **thread owner** (conversation routing): the last owner read from Instagram or told by a
 *   `messaging_handover` webhook, so that `Conversation.threadOwner` answers a handover at once,
 *   without a new read. Kept `THREAD_OWNER_TTL_SECONDS`: a webhook lost for good is then
 *   corrected by the next read.
 * - its **origin**: the first referral (ad or ig.me link) it was reached by. Instagram's
 *   Conversations API never returns referrals, and the event log is trimmed
 *   (`EVENT_LOG_LENGTH` per account), so the origin is kept apart, without expiry: it is as small
 *   as a referral, and exactly what a conversation's origin must survive.
 *
 * Each write carries the time of what it records: a later owner replaces an earlier one, an
 * earlier referral replaces a later one, whatever order the deliveries arrive in.
 */
export interface ConversationStateStore {
  /** The owner's Meta app id; undefined when none is known (never read, forgotten, expired). */
  threadOwner(igId: string, igsid: string): Promise<string | undefined>;
  /**
   * Records the owner as of `at` (ms) unless a later one is known; `null` forgets it (the
   * change named no new owner: the next read asks Instagram).
   */
  setThreadOwner(igId: string, igsid: string, appId: string | null, at: number): Promise<void>;
  /** The first referral of the conversation; null when none was received. */
  origin(igId: string, igsid: string): Promise<Referral | null>;
  /** Keeps `referral` received at `at` (ms) unless an earlier one is kept. */
  keepOrigin(igId: string, igsid: string, referral: Referral, at: number): Promise<void>;
}

/** How long a thread owner is believed without a read. Default 1 hour. */
export const THREAD_OWNER_TTL_SECONDS = 3600;

interface Entry<T> {
  readonly at: number;
  readonly value: T;
  readonly expiresAt?: number;
}

export class MemoryConversationState implements ConversationStateStore {
  readonly #owners = new Map<string, Entry<string>>();
  readonly #origins = new Map<string, Entry<Referral>>();
  readonly #now: () => number;
  readonly #ttlMs: number;

  /** `now`: the clock of expiry (default `Date.now`); `ttlSeconds`: the owners' (default 1 h). */
  constructor(options: { now?: () => number; ttlSeconds?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#ttlMs = (options.ttlSeconds ?? THREAD_OWNER_TTL_SECONDS) * 1000;
  }

  async threadOwner(igId: string, igsid: string): Promise<string | undefined> {
    const entry = this.#owners.get(`${igId}|${igsid}`);
    if (!entry || (entry.expiresAt ?? Infinity) <= this.#now()) return undefined;
    return entry.value;
  }

  async setThreadOwner(igId: string, igsid: string, appId: string | null, at: number) {
    const key = `${igId}|${igsid}`;
    if (appId === null) {
      this.#owners.delete(key);
      return;
    }
    const known = this.#owners.get(key);
    const live = known && (known.expiresAt ?? Infinity) > this.#now();
    if (live && known.at > at) return;
    this.#owners.set(key, { at, value: appId, expiresAt: this.#now() + this.#ttlMs });
  }

  async origin(igId: string, igsid: string): Promise<Referral | null> {
    return this.#origins.get(`${igId}|${igsid}`)?.value ?? null;
  }

  async keepOrigin(igId: string, igsid: string, referral: Referral, at: number) {
    const key = `${igId}|${igsid}`;
    const known = this.#origins.get(key);
    if (known && known.at <= at) return;
    this.#origins.set(key, { at, value: referral });
  }
}

/**
 * Sets `KEYS[1]` to `ARGV[1]` (JSON with an `at`) unless the value there should win: with
 * `ARGV[3]` `later`, one of a later `at`; with `earlier`, one of an earlier or equal `at`.
 * `ARGV[2]`: the new `at`; `ARGV[4]`: a TTL in seconds, or 0 for none.
 */
const SET_ORDERED = new Script(`
local current = redis.call('GET', KEYS[1])
if current then
  local at = tonumber(cjson.decode(current).at)
  local new = tonumber(ARGV[2])
  if ARGV[3] == 'later' and at > new then return 0 end
  if ARGV[3] == 'earlier' and at <= new then return 0 end
end
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
end
return 1
`);

export class RedisConversationState implements ConversationStateStore {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;
  readonly #ttlSeconds: number;

  /** Keys `<prefix>:thread-owner:<IG_ID>:<IGSID>` and `<prefix>:origin:<IG_ID>:<IGSID>`. */
  constructor(client: RedisClient, prefix: string, ttlSeconds = THREAD_OWNER_TTL_SECONDS) {
    this.#client = client;
    this.#keys = keyspace(prefix, isCluster(client));
    this.#ttlSeconds = ttlSeconds;
  }

  #key(fact: 'thread-owner' | 'origin', igId: string, igsid: string): string {
    return (fact === 'origin' ? originKey : threadOwnerKey)(this.#keys, igId, igsid);
  }

  async threadOwner(igId: string, igsid: string): Promise<string | undefined> {
    const raw = await this.#client.get(this.#key('thread-owner', igId, igsid));
    return raw === null ? undefined : (JSON.parse(raw) as { appId: string }).appId;
  }

  async setThreadOwner(igId: string, igsid: string, appId: string | null, at: number) {
    const key = this.#key('thread-owner', igId, igsid);
    if (appId === null) {
      await this.#client.del(key);
      return;
    }
    const value = JSON.stringify({ at, appId });
    await SET_ORDERED.run(this.#client, [key], [value, String(at), 'later', `${this.#ttlSeconds}`]);
  }

  async origin(igId: string, igsid: string): Promise<Referral | null> {
    const raw = await this.#client.get(this.#key('origin', igId, igsid));
    return raw === null ? null : (JSON.parse(raw) as { referral: Referral }).referral;
  }

  async keepOrigin(igId: string, igsid: string, referral: Referral, at: number) {
    const key = this.#key('origin', igId, igsid);
    const value = JSON.stringify({ at, referral });
    await SET_ORDERED.run(this.#client, [key], [value, String(at), 'earlier', '0']);
  }
}

/** Whether `recordConversationState` writes anything for the event. */
export const tellsConversationState = (event: InboxEventData): boolean =>
  Boolean(event.igsid) &&
  ((event.kind === 'THREAD_CONTROL_CHANGED' && event.action !== 'REQUEST') ||
    referralOfEvent(event) !== null);

/**
 * Records what new events tell of their conversations: a referral as its origin, a handover as
 * its owner (a request changes nothing). Called once per stored event, by the instance that
 * received it; never rejects (a failure is logged: the owner is then read again, the origin of
 * that referral is lost).
 */
export async function recordConversationState(
  store: ConversationStateStore,
  events: readonly InboxEventData[],
  logger: Logger,
): Promise<void> {
  const writes: Promise<void>[] = [];
  for (const event of events) {
    const { igId, igsid, occurredAt } = event;
    if (!igsid) continue;
    const referral = referralOfEvent(event);
    if (referral) writes.push(store.keepOrigin(igId, igsid, referral, occurredAt));
    if (event.kind === 'THREAD_CONTROL_CHANGED' && event.action !== 'REQUEST') {
      writes.push(store.setThreadOwner(igId, igsid, event.newOwnerAppId, occurredAt));
    }
  }
  for (const result of await Promise.allSettled(writes)) {
    if (result.status === 'rejected') {
      logger.warn({ err: result.reason }, 'could not record a conversation’s origin or owner');
    }
  }
}
