import { dedupeKey, type Keyspace, keyspace } from '../keys.ts';
import type { KeyToSet } from '../pubsub/bus.ts';
import { isCluster, perTick, type RedisClient, replicated, Script, slotGroup } from '../redis.ts';

/**
 * What `Deduper.claim` found: `first`, the caller is to store the event (then `confirm` it, or
 * `forget` it when the store failed); `duplicate`, it was stored already; `pending`, another
 * delivery claimed it and has not confirmed it yet: it may still fail, so this one must not be
 * acknowledged (the webhook answers 503 and Meta delivers it again).
 */
export type Claim = 'first' | 'duplicate' | 'pending';

/**
 * Remembers event identities (`InboxEventBase.identity`) so a redelivered event is stored and
 * published once, in two phases: a short `pending` claim while the event is stored, then `done`
 * for `DEDUPE_TTL_SECONDS`. A claim whose holder never confirms nor forgets it (its store failed
 * and so did `forget`, or the instance died) lapses after `DEDUPE_PENDING_SECONDS`: a failed
 * store never leaves the event taken for a duplicate for longer. The price, when Redis fails
 * between the store and `confirm`, is an event stored twice (at least once, never lost).
 */
export interface Deduper {
  /**
   * Claims `identity`, an event of account `igId` (the event's own): `first` when nobody holds
   * it (now pending, for the pending TTL); of several concurrent calls for one identity, on any
   * instance, exactly one is `first`. Rejects when the store cannot be reached.
   */
  claim(igId: string, identity: string): Promise<Claim>;
  /** Marks `identity` stored: every later claim within the TTL is `duplicate`. */
  confirm(igId: string, identity: string): Promise<void>;
  /**
   * Drops a pending claim of `identity`, so its next delivery is `first` again: for an event
   * that was claimed but could not be stored. A confirmed identity stays confirmed.
   */
  forget(igId: string, identity: string): Promise<void>;
}

/** 48 hours: longer than Meta's 36 hours of retries. */
export const DEDUPE_TTL_SECONDS = 48 * 60 * 60;

/**
 * 60 seconds: how long a claim stays pending without `confirm` or `forget`. Far above the time
 * a store takes (milliseconds; Meta itself gives up on a delivery after 20 s), and short enough
 * that a redelivery of an event whose store failed is soon `first` again.
 */
export const DEDUPE_PENDING_SECONDS = 60;

export interface MemoryDeduperOptions {
  /** How long a confirmed identity is remembered, in ms. Default 48 h (`DEDUPE_TTL_SECONDS`). */
  readonly ttlMs?: number;
  /** How long a claim stays pending, in ms. Default 60 s (`DEDUPE_PENDING_SECONDS`). */
  readonly pendingTtlMs?: number;
  /**
   * Identities kept at most; past it the oldest is forgotten early (a redelivery of it would
   * then pass again). Default 100,000.
   */
  readonly maxEntries?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

interface Seen {
  readonly done: boolean;
  readonly expiresAt: number;
}

/**
 * One instance's memory: dedupes within this process only. The igId is not needed: an identity
 * names its account already.
 */
export class MemoryDeduper implements Deduper {
  /** identity → state; insertion order (a confirm re-inserts) is nearly expiry order. */
  private readonly seen = new Map<string, Seen>();
  private readonly ttlMs: number;
  private readonly pendingTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryDeduperOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEDUPE_TTL_SECONDS * 1000;
    this.pendingTtlMs = options.pendingTtlMs ?? DEDUPE_PENDING_SECONDS * 1000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  async claim(_igId: string, identity: string): Promise<Claim> {
    const now = this.now();
    // The expired head of the map; one expired behind a live one is caught by `live`.
    for (const [key, { expiresAt }] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(key);
    }
    const seen = this.live(identity, now);
    if (seen) return seen.done ? 'duplicate' : 'pending';
    this.set(identity, { done: false, expiresAt: now + this.pendingTtlMs });
    return 'first';
  }

  async confirm(_igId: string, identity: string): Promise<void> {
    this.set(identity, { done: true, expiresAt: this.now() + this.ttlMs });
  }

  async forget(_igId: string, identity: string): Promise<void> {
    if (this.live(identity, this.now())?.done === false) this.seen.delete(identity);
  }

  private live(identity: string, now: number): Seen | undefined {
    const seen = this.seen.get(identity);
    if (seen && seen.expiresAt <= now) {
      this.seen.delete(identity);
      return undefined;
    }
    return seen;
  }

  private set(identity: string, seen: Seen): void {
    this.seen.delete(identity);
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(identity, seen);
  }
}

/**
 * For each key, in order: `first` after setting it pending (EX `ARGV[1]`); else what it holds
 * (`pending`, or done). One key after another: of two claims of one key, the later one sees the
 * earlier's `pending`.
 */
const CLAIM = new Script(`
local out = {}
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if not held then
    redis.call('SET', key, 'pending', 'EX', ARGV[1])
    out[i] = 'first'
  elseif held == 'pending' then
    out[i] = 'pending'
  else
    out[i] = 'duplicate'
  end
end
return out
`);

/** Sets every key done, EX `ARGV[1]`. */
const CONFIRM = new Script(`
for _, key in ipairs(KEYS) do redis.call('SET', key, 'done', 'EX', ARGV[1]) end
return #KEYS
`);

/** Deletes the key only while it is pending: a confirmed identity stays confirmed. */
const FORGET = new Script(`
if redis.call('GET', KEYS[1]) == 'pending' then redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * Shared by every instance: `<prefix>:dedupe:<sha256(identity)>` holds `pending` (EX
 * `pendingSeconds`) from the claim, a Lua script so that it is atomic in Redis and concurrent
 * deliveries to two instances store once; then `done` (EX `ttlSeconds`) from the confirm. Any
 * other value (an older igql wrote `1`) reads as done. The claims (and the confirms) made during
 * one turn of the event loop, by any number of deliveries, go to Redis as one script call
 * (`perTick`). The client stays the caller's to connect and close.
 */
export class RedisDeduper implements Deduper {
  private readonly client: RedisClient;
  private readonly keys: Keyspace;
  private readonly claims: (key: string) => Promise<Claim>;
  private readonly confirms: (key: string) => Promise<void>;
  /** How long an identity stays `done`. */
  readonly ttlSeconds: number;

  /**
   * `prefix`: the deployment's key prefix (no default). `ttlSeconds`: default 48 h
   * (`DEDUPE_TTL_SECONDS`). `pendingSeconds`: default 60 s (`DEDUPE_PENDING_SECONDS`).
   */
  constructor(
    client: RedisClient,
    prefix: string,
    ttlSeconds = DEDUPE_TTL_SECONDS,
    pendingSeconds = DEDUPE_PENDING_SECONDS,
  ) {
    this.client = client;
    this.keys = keyspace(prefix, isCluster(client));
    this.ttlSeconds = ttlSeconds;
    // On a cluster, one script per account's slot (the keys' hash tag) of a turn.
    const slot = isCluster(client) ? slotGroup : undefined;
    this.claims = perTick(async (keys: string[]) => {
      const replies = (await CLAIM.run(client, keys, [String(pendingSeconds)])) as unknown[];
      return replies.map((reply) => {
        if (reply === 'first' || reply === 'pending' || reply === 'duplicate') return reply;
        throw new Error(`unexpected dedupe claim reply: ${String(reply)}`);
      });
    }, slot);
    this.confirms = perTick(async (keys: string[]) => {
      await CONFIRM.run(client, keys, [String(ttlSeconds)]);
      await replicated(client, keys[0] ?? '');
      return keys.map(() => undefined);
    }, slot);
  }

  claim(igId: string, identity: string): Promise<Claim> {
    return this.claims(this.keyOf(igId, identity));
  }

  confirm(igId: string, identity: string): Promise<void> {
    return this.confirms(this.keyOf(igId, identity));
  }

  async forget(igId: string, identity: string): Promise<void> {
    await FORGET.run(this.client, [this.keyOf(igId, identity)], []);
  }

  /**
   * What `confirm(igId, identity)` sets, for a caller that sets it itself in a script of its own
   * on the same Redis (the pipeline publishes and confirms in one: `RedisEventBus.publishAndSet`).
   */
  confirmation(igId: string, identity: string): KeyToSet {
    return { key: this.keyOf(igId, identity), value: 'done', ttlSeconds: this.ttlSeconds };
  }

  /** The key that holds `identity`'s claim (`dedupeKey`). */
  keyOf(igId: string, identity: string): string {
    return dedupeKey(this.keys, igId, identity);
  }
}
