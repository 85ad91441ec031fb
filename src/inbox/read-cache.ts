import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoundedCache } from '../document-cache.ts';
import {
  type Keyspace,
  keyspace,
  readCacheGenerationsKey,
  readCacheKey,
  readCacheLockKey,
} from '../keys.ts';
import type { Logger } from '../logger.ts';
import {
  isCluster,
  isRedisOutage,
  perTick,
  type RedisClient,
  replicated,
  Script,
  slotGroup,
} from '../redis.ts';

/**
 * The shared cache of Instagram reads (conversation lists and pages, messages, profiles): the
 * Graph JSON of each upstream request, per account, answered again until an event says it
 * changed or its TTL ends, so that many viewers of one inbox cost Instagram one call per change.
 * In Redis, shared by every instance, or in memory, one instance's own.
 *
 * **Generations, not deletes.** Each scope of an account (the caller's names: `conversations`,
 * `thread:<igsid>`…) has a generation token, a random value. An entry keeps the tokens its scopes
 * had when its load *started*, and is fresh only while every one of them is still current.
 * Invalidating a scope gives it a new token: every entry naming it becomes a miss, including the
 * one a load in flight at that moment is about to keep. A scope without a token (never read, or
 * its account's tokens expired or were dropped) gets a new random one: no entry can match it.
 *
 * **Coalescing.** Concurrent reads of one request under the same tokens share one load on an
 * instance; across instances, the first takes a short lock (`LOCK_MS`) and the others wait for
 * its entry: they take the lock in turn when the holder gives it up without keeping one, and
 * past the lock's life load themselves and keep nothing. A load keeps its answer only while its
 * lock is still its own, so a slow load never replaces a newer answer with an older one.
 *
 * **What is kept.** The JSON of what `load()` answers, never media bytes; nothing over
 * `MAX_VALUE_BYTES`; never past the earliest Instagram CDN URL in it (`oe=`) less
 * `MEDIA_URL_MARGIN_MS`, and not at all when that is already past. Every caller gets the value
 * as parsed from that JSON, hit or not, so that none sees another shape on a miss.
 *
 * A cache that fails (Redis unreachable) answers `load()` directly: the outcome says `bypass`.
 */

/** What an entry depends on: invalidating a scope makes every entry that names it a miss. */
export type Scope = string;

/**
 * What a change of a conversation invalidates, whoever tells it (a webhook, a send through igql):
 * the account's conversation lists and pages, the thread of customer `igsid`, and the message
 * `mid` when the change names one (an edit, a reaction, a deletion, seen).
 */
export const conversationScopes = (igsid: string | null, mid: string | null): Scope[] => [
  'conversations',
  ...(igsid ? [`thread:${igsid}`] : []),
  ...(mid ? [`message:${mid}`] : []),
];

export interface CacheRead<T> {
  readonly igId: string;
  /** The exact upstream request (method, path, query without token), the entry's identity. */
  readonly key: string;
  readonly scopes: readonly Scope[];
  /** How long the entry may live at most (the TTL that covers what no event announces). */
  readonly ttlMs: number;
  /** Loads it from Instagram on a miss. Its JSON is what is kept. */
  readonly load: () => Promise<T>;
}

/**
 * `hit`: a fresh entry; `miss`: loaded here; `coalesced`: another read's load, on this instance
 * or another; `bypass`: loaded here, the cache having failed.
 */
export type ReadOutcome = 'hit' | 'miss' | 'coalesced' | 'bypass';

export interface ReadCache {
  /**
   * The entry when fresh; otherwise `load()` once — across concurrent callers on this instance
   * AND across instances (a short lock in Redis) — keeps its result and answers it. Never throws
   * for the cache's own failures: a cache that is down degrades to calling load() directly.
   * load()'s own errors propagate and are not cached.
   */
  read<T>(read: CacheRead<T>): Promise<{ value: T; outcome: ReadOutcome }>;
  /**
   * Every entry of `igId` naming one of `scopes`, read after this resolves, is loaded again.
   * Rejects when Redis cannot record it (the caller's to report or retry: a webhook answered
   * with an error is delivered again).
   */
  invalidate(igId: string, scopes: readonly Scope[]): Promise<void>;
}

/** The longest an entry lives, whatever its read asks: 24 hours. */
export const MAX_ENTRY_TTL_MS = 24 * 3_600_000;
/**
 * How long an account's generation tokens live after their last write (an entry kept, a token
 * made): longer than any entry, whose tokens must stay known for as long as it lives. Their
 * expiry only makes entries miss, so it bounds the memory of an idle account, nothing more.
 */
export const GENERATIONS_TTL_MS = MAX_ENTRY_TTL_MS + 60_000;
/**
 * The most scopes one account keeps tokens for. `thread:` and `message:` scopes accumulate with
 * the conversations read; past this, the account's tokens are dropped whole (every entry of it
 * then misses once) rather than grow without end.
 */
export const MAX_SCOPES = 10_000;
/** The largest value kept, in bytes of its JSON: a larger one is answered, not kept. */
export const MAX_VALUE_BYTES = 512 * 1024;
/** How long before its earliest media URL expires an entry is read again. */
export const MEDIA_URL_MARGIN_MS = 60_000;
/**
 * How long one instance's load holds the others' off, at most: they then load themselves, and
 * keep nothing. Longer than an Instagram call may take (`INSTAGRAM_TIMEOUT_MS`, 10 s by default,
 * paced waits included): a load that outlives its lock keeps nothing either.
 */
export const LOCK_MS = 12_000;
/** How often an instance waiting for another's load looks for its entry. */
export const POLL_MS = 25;

/** An Instagram CDN URL's expiry: `oe`, hex seconds since the epoch. */
const URL_EXPIRY = /[?&]oe=([0-9a-fA-F]{1,12})(?![0-9a-zA-Z])/g;

/** When the earliest media URL in `json` expires (ms since the epoch); undefined when none does. */
export function mediaUrlsExpireAt(json: string): number | undefined {
  let earliest: number | undefined;
  for (const match of json.matchAll(URL_EXPIRY)) {
    const at = Number.parseInt(match[1] ?? '', 16) * 1000;
    if (earliest === undefined || at < earliest) earliest = at;
  }
  return earliest;
}

/**
 * How long `json` may be kept, in ms: the read's TTL within `MAX_ENTRY_TTL_MS`, cut to its
 * earliest media URL's expiry less the margin; 0 for not at all.
 */
export function keepFor(json: string, ttlMs: number, now: number): number {
  if (Buffer.byteLength(json) > MAX_VALUE_BYTES) return 0;
  const urlsExpireAt = mediaUrlsExpireAt(json) ?? Number.POSITIVE_INFINITY;
  const ms = Math.min(ttlMs, MAX_ENTRY_TTL_MS, urlsExpireAt - MEDIA_URL_MARGIN_MS - now);
  return Math.max(0, Math.floor(ms));
}

/** What a lookup finds: the entry's value (JSON), or the scopes' current tokens. */
type Lookup = { readonly hit: string } | { readonly tokens: readonly string[] };
/**
 * The right to load and keep one request: `release` gives it up (never rejects; an unreleased
 * lock ends with its TTL); `lock`, in Redis, names the lock and our value in it, which `keep`
 * checks: a load whose lock lapsed meanwhile (another instance then loaded a newer answer and kept
 * it) must not overwrite that answer with its older one.
 */
interface Claim {
  readonly release: () => Promise<void>;
  readonly lock?: { readonly key: string; readonly holder: string };
}
/** A load's result: its JSON (undefined when it has none), as loaded, and how it came. */
interface Loaded {
  readonly json: string | undefined;
  readonly raw: unknown;
  readonly outcome: Exclude<ReadOutcome, 'hit'>;
}

/** A new generation token: random, base64url (characters JSON and LOOKUP take as they are). */
const newToken = (): string => randomBytes(12).toString('base64url');

const serialize = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
};

const answer = ({ json, raw }: Loaded): unknown => (json === undefined ? raw : JSON.parse(json));

export interface ReadCacheOptions {
  /** Logs the cache's failures that are not an outage (a bug), each time; outages are silent. */
  readonly logger?: Logger;
  /** How long a load holds other instances off. Default `LOCK_MS`. */
  readonly lockMs?: number;
}

/** The coalescing and the rules of what is kept, over a memory or Redis keeping of entries. */
abstract class CoalescingReadCache implements ReadCache {
  readonly #flights = new Map<string, Promise<Loaded>>();
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  protected readonly lockMs: number;

  constructor(now: () => number, options: ReadCacheOptions) {
    this.#now = now;
    this.#logger = options.logger;
    this.lockMs = options.lockMs ?? LOCK_MS;
  }

  /** The entry when its tokens are current; else the current tokens, made for scopes with none. */
  protected abstract lookup(igId: string, key: string, scopes: readonly Scope[]): Promise<Lookup>;
  /** The right to load `key` under `tokens`, or undefined while another instance has it. */
  protected abstract claim(
    igId: string,
    key: string,
    tokens: readonly string[],
  ): Promise<Claim | undefined>;
  /**
   * Keeps `json` for `ttlMs`, unless a token changed since the load started, or the load's lock
   * (`claim.lock`) is no longer its own.
   */
  protected abstract keep(
    igId: string,
    key: string,
    scopes: readonly Scope[],
    tokens: readonly string[],
    json: string,
    ttlMs: number,
    claim: Claim,
  ): Promise<void>;
  abstract invalidate(igId: string, scopes: readonly Scope[]): Promise<void>;

  async read<T>(read: CacheRead<T>): Promise<{ value: T; outcome: ReadOutcome }> {
    // One order for one set: a read naming [b, a] shares the entry of one naming [a, b].
    const scopes = [...new Set(read.scopes)].sort();
    let found: Lookup;
    try {
      found = await this.lookup(read.igId, read.key, scopes);
      if ('hit' in found) return { value: JSON.parse(found.hit) as T, outcome: 'hit' };
    } catch (error) {
      return { value: answer(await this.#bypass(read, error)) as T, outcome: 'bypass' };
    }
    // Keyed by the tokens too: a read after an invalidation never joins a load from before it.
    const flight = JSON.stringify([read.igId, read.key, found.tokens]);
    const joined = this.#flights.get(flight);
    if (joined) return { value: answer(await joined) as T, outcome: 'coalesced' };
    const filling = this.#fill(read, scopes, found.tokens).finally(() =>
      this.#flights.delete(flight),
    );
    this.#flights.set(flight, filling);
    const loaded = await filling;
    return { value: answer(loaded) as T, outcome: loaded.outcome };
  }

  /** Loads under the lock, or waits for the holder's entry up to the lock's life. */
  async #fill(
    read: CacheRead<unknown>,
    scopes: readonly Scope[],
    tokens: readonly string[],
  ): Promise<Loaded> {
    const deadline = Date.now() + this.lockMs;
    for (let current = tokens; ; ) {
      // Past the deadline the holder is taken for lost: load, but keep nothing (no lock of ours).
      if (Date.now() >= deadline) return this.#load(read, scopes, current, undefined);
      let claim: Claim | undefined;
      try {
        claim = await this.claim(read.igId, read.key, current);
      } catch (error) {
        return this.#bypass(read, error);
      }
      if (claim) return this.#load(read, scopes, current, claim);
      await sleep(POLL_MS);
      try {
        const found = await this.lookup(read.igId, read.key, scopes);
        if ('hit' in found) return { json: found.hit, raw: undefined, outcome: 'coalesced' };
        // An invalidation meanwhile: the holder's load will not be kept; take the new one's lock.
        current = found.tokens;
      } catch (error) {
        return this.#bypass(read, error);
      }
    }
  }

  /** Loads, keeps what may be kept, then releases the lock (after keeping: waiters then hit). */
  async #load(
    read: CacheRead<unknown>,
    scopes: readonly Scope[],
    tokens: readonly string[],
    claim: Claim | undefined,
  ): Promise<Loaded> {
    let raw: unknown;
    try {
      raw = await read.load();
    } catch (error) {
      await claim?.release();
      throw error;
    }
    const json = serialize(raw);
    let outcome: Loaded['outcome'] = 'miss';
    const ttlMs = json === undefined ? 0 : keepFor(json, read.ttlMs, this.#now());
    if (claim && json !== undefined && ttlMs > 0) {
      try {
        await this.keep(read.igId, read.key, scopes, tokens, json, ttlMs, claim);
      } catch (error) {
        this.#failed(error);
        outcome = 'bypass';
      }
    }
    await claim?.release();
    return { json, raw, outcome };
  }

  /** Loads without the cache, which failed with `error`. */
  async #bypass(read: CacheRead<unknown>, error: unknown): Promise<Loaded> {
    this.#failed(error);
    const raw = await read.load();
    return { json: serialize(raw), raw, outcome: 'bypass' };
  }

  #failed(error: unknown): void {
    if (!isRedisOutage(error)) this.#logger?.warn({ err: error }, 'read cache failed');
  }
}

interface MemoryEntry {
  /** The tokens it was loaded under, joined by spaces (tokens hold none). */
  readonly tokens: string;
  readonly json: string;
  readonly expiresAt: number;
}

/**
 * One instance's own, for a deployment without Redis: bounded by its entries' count and size,
 * least recently used first out.
 */
export class MemoryReadCache extends CoalescingReadCache {
  readonly #entries: BoundedCache<MemoryEntry>;
  readonly #generations = new Map<string, Map<Scope, string>>();
  readonly #clock: () => number;

  /**
   * `now`: the clock entries expire by (default `Date.now`); `maxEntries` (default 10,000) and
   * `maxBytes` (about, 2 a character; default 64 MiB): the bounds of what is kept.
   */
  constructor(
    options: ReadCacheOptions & {
      now?: () => number;
      maxEntries?: number;
      maxBytes?: number;
    } = {},
  ) {
    const now = options.now ?? Date.now;
    super(now, options);
    this.#clock = now;
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#entries = new BoundedCache<MemoryEntry>(
      (name, entry) => 2 * (name.length + entry.tokens.length + entry.json.length),
      { maxEntries: options.maxEntries ?? 10_000, maxWeight: maxBytes, maxEntryWeight: maxBytes },
    );
  }

  protected async lookup(igId: string, key: string, scopes: readonly Scope[]): Promise<Lookup> {
    const known = this.#generations.get(igId);
    const full = known && known.size >= MAX_SCOPES && scopes.some((scope) => !known.has(scope));
    const generations = known && !full ? known : new Map<Scope, string>();
    this.#generations.set(igId, generations);
    const tokens = scopes.map((scope) => {
      const token = generations.get(scope) ?? newToken();
      generations.set(scope, token);
      return token;
    });
    const entry = this.#entries.get(JSON.stringify([igId, key]));
    if (entry && entry.expiresAt > this.#clock() && entry.tokens === tokens.join(' '))
      return { hit: entry.json };
    return { tokens };
  }

  /** One instance: its reads already share one load. */
  protected async claim(): Promise<Claim> {
    return { release: async () => {} };
  }

  protected async keep(
    igId: string,
    key: string,
    scopes: readonly Scope[],
    tokens: readonly string[],
    json: string,
    ttlMs: number,
  ): Promise<void> {
    const generations = this.#generations.get(igId);
    if (!scopes.every((scope, i) => generations?.get(scope) === tokens[i])) return;
    this.#entries.set(JSON.stringify([igId, key]), {
      tokens: tokens.join(' '),
      json,
      expiresAt: this.#clock() + ttlMs,
    });
  }

  async invalidate(igId: string, scopes: readonly Scope[]): Promise<void> {
    const generations = this.#generations.get(igId);
    // A scope without a token has no entry to invalidate: none is made for it.
    for (const scope of scopes) if (generations?.has(scope)) generations.set(scope, newToken());
  }
}

/**
 * Answers the entry `KEYS[2]` when the tokens it starts with are the current ones of the scopes
 * in `KEYS[1]`, as `{1, value}`; else `{0, token…}`, making a token (`ARGV[1]`, a random nonce,
 * `.<n>`) for each scope without one and setting the generations' TTL (`ARGV[2]`, ms). Past
 * `ARGV[3]` scopes, the generations are dropped first. `ARGV[4…]`: the scopes.
 *
 * The entry is `{"tokens":[…],"value":<JSON>}`, written by JSON.stringify: its prefix is compared
 * as a string, so that Redis never decodes a value of up to 512 KiB to answer it.
 */
const LOOKUP = new Script(`
local scopes = {unpack(ARGV, 4)}
local tokens = {}
if #scopes > 0 then tokens = redis.call('HMGET', KEYS[1], unpack(scopes)) end
local complete = true
for i = 1, #scopes do
  if not tokens[i] then complete = false end
end
if complete then
  local entry = redis.call('GET', KEYS[2])
  local listed = ''
  if #scopes > 0 then listed = '"' .. table.concat(tokens, '","') .. '"' end
  local prefix = '{"tokens":[' .. listed .. '],"value":'
  if entry and string.sub(entry, 1, #prefix) == prefix then
    return {1, string.sub(entry, #prefix + 1, -2)}
  end
  return {0, unpack(tokens)}
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  tokens = {}
end
for i = 1, #scopes do
  if not tokens[i] then
    tokens[i] = ARGV[1] .. '.' .. i
    redis.call('HSET', KEYS[1], scopes[i], tokens[i])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0, unpack(tokens)}
`);

/**
 * Sets the entry `KEYS[2]` to `ARGV[2]` for `ARGV[3]` ms when the load's lock `KEYS[3]` still
 * holds its value `ARGV[1]` (a lapsed lock: another instance may have kept a newer answer since)
 * and every scope's token in `KEYS[1]` is still the one it was loaded under (`ARGV[5…]`: scope,
 * token, …); and the generations' TTL to `ARGV[4]` ms: they outlive it. Answers 1 when kept, 0
 * when not.
 */
const KEEP = new Script(`
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
for i = 5, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`);

/**
 * For each account's generations `KEYS[i]`, in ARGV its count of scopes then, per scope, the scope
 * and a new token: gives each scope that has a token a new one. A scope without one has no entry
 * to invalidate: none is made for it (`message:` scopes of messages never read would otherwise
 * fill the hash). The invalidations of one turn of the event loop in one call (`perTick`).
 */
const INVALIDATE = new Script(`
local a = 1
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[a])
  a = a + 1
  for j = 1, n do
    if redis.call('HEXISTS', key, ARGV[a]) == 1 then redis.call('HSET', key, ARGV[a], ARGV[a + 1]) end
    a = a + 2
  end
end
return #KEYS
`);

/** Deletes the lock only if it still holds our value (it may have expired and passed on). */
const RELEASE = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * Shared by every instance: per account, one hash of generation tokens and one string per entry,
 * under the account's hash tag on a Redis Cluster (src/keys.ts). The client stays the caller's to
 * connect and close.
 */
export class RedisReadCache extends CoalescingReadCache {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;

  readonly #invalidations: (item: { key: string; scopes: readonly Scope[] }) => Promise<unknown>;

  constructor(client: RedisClient, prefix: string, options: ReadCacheOptions = {}) {
    super(Date.now, options);
    this.#client = client;
    this.#keys = keyspace(prefix, isCluster(client));
    // Every delivery invalidates before it is stored: one script a turn (one per account's slot on
    // a cluster), not a round trip per delivery.
    this.#invalidations = perTick(
      async (items: { key: string; scopes: readonly Scope[] }[]) => {
        const args: string[] = [];
        for (const { scopes } of items) {
          args.push(String(scopes.length));
          for (const scope of scopes) args.push(scope, newToken());
        }
        const keys = items.map((item) => item.key);
        await INVALIDATE.run(client, keys, args);
        // On a cluster, held by a replica too: a failover must not bring back what was invalidated.
        await replicated(client, keys[0] ?? '');
        return items.map(() => undefined);
      },
      isCluster(client) ? (item) => slotGroup(item.key) : undefined,
    );
  }

  protected async lookup(igId: string, key: string, scopes: readonly Scope[]): Promise<Lookup> {
    const reply = (await LOOKUP.run(
      this.#client,
      [readCacheGenerationsKey(this.#keys, igId), readCacheKey(this.#keys, igId, key)],
      [randomBytes(9).toString('base64url'), `${GENERATIONS_TTL_MS}`, `${MAX_SCOPES}`, ...scopes],
    )) as [number, ...string[]];
    return reply[0] === 1 ? { hit: reply[1] ?? '' } : { tokens: reply.slice(1) as string[] };
  }

  protected async claim(
    igId: string,
    key: string,
    tokens: readonly string[],
  ): Promise<Claim | undefined> {
    const name = readCacheLockKey(this.#keys, igId, JSON.stringify([key, tokens]));
    const holder = randomBytes(16).toString('hex');
    const set = await this.#client.set(name, holder, {
      condition: 'NX',
      expiration: { type: 'PX', value: this.lockMs },
    });
    if (set !== 'OK') return undefined;
    return {
      release: () =>
        RELEASE.run(this.#client, [name], [holder]).then(
          () => {},
          () => {},
        ),
      lock: { key: name, holder },
    };
  }

  protected async keep(
    igId: string,
    key: string,
    scopes: readonly Scope[],
    tokens: readonly string[],
    json: string,
    ttlMs: number,
    claim: Claim,
  ): Promise<void> {
    if (!claim.lock) return;
    // Exactly the prefix LOOKUP compares: tokens hold only [A-Za-z0-9._-], which JSON leaves as is.
    const entry = `{"tokens":${JSON.stringify(tokens)},"value":${json}}`;
    await KEEP.run(
      this.#client,
      [
        readCacheGenerationsKey(this.#keys, igId),
        readCacheKey(this.#keys, igId, key),
        claim.lock?.key ?? '',
      ],
      [
        claim.lock?.holder ?? '',
        entry,
        `${ttlMs}`,
        `${GENERATIONS_TTL_MS}`,
        ...scopes.flatMap((scope, i) => [scope, tokens[i] ?? '']),
      ],
    );
  }

  async invalidate(igId: string, scopes: readonly Scope[]): Promise<void> {
    if (scopes.length === 0) return;
    await this.#invalidations({
      key: readCacheGenerationsKey(this.#keys, igId),
      scopes: [...new Set(scopes)],
    });
  }
}
