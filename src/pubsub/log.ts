import type { InboxEventData } from '../inbox/events.ts';
import { upgradeEvent } from '../inbox/legacy.ts';
import { eventsKey, type Keyspace, keyspace } from '../keys.ts';
import { isCluster, perTick, type RedisClient, replicated, Script, slotGroup } from '../redis.ts';

/** An event with its place in its account's log. */

const serialised = new WeakMap<InboxEventData, string>();

/**
 * An event as JSON, written once whoever asks (the log appends it, the bus publishes it inside
 * its entry: `entryJson`), for as long as the event object lives.
 */
export function eventJson(event: InboxEventData): string {
  let json = serialised.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    serialised.set(event, json);
  }
  return json;
}

/** `JSON.stringify(entry)`, its event's JSON reused (`eventJson`). */
export const entryJson = (entry: LogEntry): string =>
  `{"cursor":${JSON.stringify(entry.cursor)},"event":${eventJson(entry.event)}}`;

export interface LogEntry {
  /** Opaque; compare two with `EventLog.isAfter`, never as strings. */
  readonly cursor: string;
  readonly event: InboxEventData;
}

/**
 * Each account's recent events in order, for a subscriber resuming `after` a cursor. The window
 * is bounded (the newest `maxLen` events per account, about that many in Redis): from a cursor
 * older than the window, `readAfter` returns what remains, so events between are missed and a
 * client should reconcile with a query.
 */
export interface EventLog {
  /**
   * Appends a copy of the event; resolves to its cursor, after every earlier cursor of the
   * account (cursors of different accounts are not comparable).
   */
  append(igId: string, event: InboxEventData): Promise<string>;
  /**
   * Appends copies of the events, in order, all or none (one round trip to Redis): resolves to
   * their cursors, as `append` would one after the other. Optional: the pipeline appends one
   * event after another to a log without it.
   */
  appendAll?(igId: string, events: readonly InboxEventData[]): Promise<string[]>;
  /**
   * One page of the account's events after `cursor` (exclusive), oldest first: at most `limit`
   * (default `READ_PAGE`), never the whole log; read the next page after the last cursor.
   * `LOG_START` reads from the oldest kept. Rejects with `InvalidCursorError` when `cursor` is
   * not one of this log's cursors (it may come from a client).
   */
  readAfter(igId: string, cursor: string, limit?: number): Promise<LogEntry[]>;
  /** True when cursor `a` is later than `b`. Throws `InvalidCursorError` for a malformed one. */
  isAfter(a: string, b: string): boolean;
  /**
   * The cursor of the account's newest event, null when the log holds none (`LiveEvents` starts
   * an account's tail there). Optional: without it a tail starts at the first event it hears of.
   */
  newest?(igId: string): Promise<string | null>;
  /** Frees what the log owns (not a Redis client passed in). */
  close(): Promise<void>;
}

/** A cursor before every event: `readAfter(igId, LOG_START)` reads from the oldest kept. */
export const LOG_START = '0';

/** Events `readAfter` returns at most by default: the page subscribers replay the log in. */
export const READ_PAGE = 100;

export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    super(`Invalid cursor: ${JSON.stringify(cursor.slice(0, 64))}`);
    this.name = 'InvalidCursorError';
  }
}

export interface MemoryEventLogOptions {
  /** Events kept per account; older ones are dropped. Default 1,000. */
  readonly maxLen?: number;
}

/**
 * One instance's log: a bounded buffer of JSON per account, with cursors from one counter
 * (zero-padded decimals, `"0000000000000001"`), so they are monotonic across the log.
 */
export class MemoryEventLog implements EventLog {
  private readonly logs = new Map<string, { readonly seq: number; readonly json: string }[]>();
  private readonly maxLen: number;
  private seq = 0;

  constructor(options: MemoryEventLogOptions = {}) {
    this.maxLen = options.maxLen ?? 1000;
  }

  async append(igId: string, event: InboxEventData): Promise<string> {
    return this.add(igId, event);
  }

  async appendAll(igId: string, events: readonly InboxEventData[]): Promise<string[]> {
    // At once: appends made meanwhile come before or after the batch, never inside it.
    return events.map((event) => this.add(igId, event));
  }

  private add(igId: string, event: InboxEventData): string {
    const seq = ++this.seq;
    let log = this.logs.get(igId);
    if (!log) {
      log = [];
      this.logs.set(igId, log);
    }
    log.push({ seq, json: eventJson(event) });
    if (log.length > this.maxLen) log.splice(0, log.length - this.maxLen);
    return memoryCursor(seq);
  }

  async newest(igId: string): Promise<string | null> {
    const last = this.logs.get(igId)?.at(-1);
    return last ? memoryCursor(last.seq) : null;
  }

  async readAfter(igId: string, cursor: string, limit = READ_PAGE): Promise<LogEntry[]> {
    const after = memorySeq(cursor);
    const log = this.logs.get(igId) ?? [];
    // The first entry after `after`: sequence numbers increase along the buffer.
    let start = 0;
    for (let end = log.length; start < end; ) {
      const mid = (start + end) >>> 1;
      if ((log[mid]?.seq ?? 0) > after) end = mid;
      else start = mid + 1;
    }
    return log.slice(start, start + limit).map((item) => ({
      cursor: memoryCursor(item.seq),
      event: JSON.parse(item.json) as InboxEventData,
    }));
  }

  isAfter(a: string, b: string): boolean {
    return memorySeq(a) > memorySeq(b);
  }

  async close(): Promise<void> {
    this.logs.clear();
  }
}

const memoryCursor = (seq: number): string => String(seq).padStart(16, '0');

function memorySeq(cursor: string): number {
  if (!/^\d{1,16}$/.test(cursor)) throw new InvalidCursorError(cursor);
  return Number(cursor);
}

/**
 * Shared by every instance: one Stream per account, `<prefix>:events:<igId>`, appended with
 * `XADD … MAXLEN ~ maxLen *` (the appends of one turn of the event loop in one script call,
 * `perTick`) and read a page at a time with `XRANGE (<cursor> + COUNT n`. A cursor is the
 * entry's stream id (`<ms>-<seq>`). `~` trims whole stream nodes only, so a stream keeps at least `maxLen`
 * entries and up to about a node more (100 by default). The client stays the caller's to close.
 */
export class RedisEventLog implements EventLog {
  /** The newest events kept per account, about (`MAXLEN ~`). */
  readonly maxLen: number;
  private readonly client: RedisClient;
  private readonly keys: Keyspace;
  private readonly appends: (batch: Appended) => Promise<string[]>;

  /** `prefix`: the deployment's key prefix (no default). `maxLen`: default 1,000. */
  constructor(client: RedisClient, prefix: string, maxLen = 1000) {
    this.client = client;
    this.keys = keyspace(prefix, isCluster(client));
    this.maxLen = maxLen;
    this.appends = perTick(
      async (batches: Appended[]) => {
        const args = [String(maxLen)];
        for (const { events } of batches) {
          args.push(String(events.length));
          for (const json of events) args.push(json);
        }
        const keys = batches.map((b) => b.key);
        const ids = (await APPEND.run(client, keys, args)) as string[][];
        // On a cluster (one account per call), appended once a replica holds them too.
        await replicated(client, keys[0] ?? '');
        return ids;
      },
      isCluster(client) ? (batch) => slotGroup(batch.key) : undefined,
    );
  }

  async append(igId: string, event: InboxEventData): Promise<string> {
    const [cursor] = await this.appends({ key: this.key(igId), events: [eventJson(event)] });
    return cursor as string;
  }

  /** All of them in one script: all or none. */
  async appendAll(igId: string, events: readonly InboxEventData[]): Promise<string[]> {
    return this.appends({ key: this.key(igId), events: events.map(eventJson) });
  }

  async newest(igId: string): Promise<string | null> {
    const last = await this.client.xRevRange(this.key(igId), '+', '-', { COUNT: 1 });
    return last?.[0]?.id ?? null;
  }

  async readAfter(igId: string, cursor: string, limit = READ_PAGE): Promise<LogEntry[]> {
    const [ms, seq] = streamId(cursor);
    // Nothing is after the largest id, and XRANGE refuses an exclusive start there.
    if (ms === U64_MAX && seq === U64_MAX) return [];
    const entries = await this.client.xRange(this.key(igId), `(${cursor}`, '+', {
      COUNT: limit,
    });
    return (entries ?? []).map(({ id, message }) => ({
      cursor: id,
      event: upgradeEvent(JSON.parse(String(message.event)) as InboxEventData),
    }));
  }

  isAfter(a: string, b: string): boolean {
    const [msA, seqA] = streamId(a);
    const [msB, seqB] = streamId(b);
    return msA > msB || (msA === msB && seqA > seqB);
  }

  async close(): Promise<void> {}

  /** The account's stream: also its channel on the bus (`RedisEventBus`). */
  keyOf(igId: string): string {
    return eventsKey(this.keys, igId);
  }

  private key(igId: string): string {
    return this.keyOf(igId);
  }
}

/** Events (JSON) to append to one stream, in order. */
interface Appended {
  readonly key: string;
  readonly events: readonly string[];
}

/**
 * `XADD <key> MAXLEN ~ ARGV[1] * event <json>` for each key in order, each followed in ARGV by
 * its count of events then their JSON: one list of stream ids per key.
 */
const APPEND = new Script(`
local out, a = {}, 2
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[a])
  a = a + 1
  local ids = {}
  for j = 1, n do
    ids[j] = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'event', ARGV[a])
    a = a + 1
  end
  out[i] = ids
end
return out
`);

const U64_MAX = 2n ** 64n - 1n;

/** `<ms>-<seq>` (or `<ms>`, seq 0), both unsigned 64-bit, as Redis reads stream ids. */
function streamId(cursor: string): [bigint, bigint] {
  const match = /^(\d{1,20})(?:-(\d{1,20}))?$/.exec(cursor);
  const ms = match ? BigInt(match[1] ?? '') : -1n;
  const seq = match ? BigInt(match[2] ?? '0') : -1n;
  if (ms < 0n || ms > U64_MAX || seq < 0n || seq > U64_MAX) throw new InvalidCursorError(cursor);
  return [ms, seq];
}
