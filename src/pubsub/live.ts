import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';
import { type EventLog, LOG_START, type LogEntry, READ_PAGE } from './log.ts';

type Listener = (entry: LogEntry) => void;

/** How a stream that serves many subscribers at once (a subscription group) is told apart. */
export interface SharedStream {
  /**
   * Called once the stream is established, instead of publishing one `Subscribed`: its owner
   * publishes one per subscriber it serves (`announceSubscribed`).
   */
  readonly onEstablished: () => void;
  /** How many subscribers it serves now, for `LiveEvents.subscribers`. */
  readonly subscribers: () => number;
}

/**
 * The `node:diagnostics_channel` on which `LiveEvents` publishes a `Subscribed` each time it
 * establishes a subscriber: its listener attached and the bus subscription confirmed (for Redis,
 * SUBSCRIBE acknowledged), so that every event published from then on reaches it. Tests await
 * it instead of sleeping before they post an event; nothing is published while nobody listens.
 */
export const SUBSCRIBED_CHANNEL = 'igql:live:subscribed';

/** The message on `SUBSCRIBED_CHANNEL`. */
export interface Subscribed {
  readonly igId: string;
}

const subscribedChannel = channel(SUBSCRIBED_CHANNEL);

/** Publishes a `Subscribed` for a subscriber of the account, when anyone listens. */
export function announceSubscribed(igId: string): void {
  if (subscribedChannel.hasSubscribers) subscribedChannel.publish({ igId } satisfies Subscribed);
}

/** A log read that failed is tried again after `LOG_RETRY_MS`, `LOG_RETRIES` times (5 s). */
const LOG_RETRY_MS = 250;
const LOG_RETRIES = 20;

/**
 * One tail per account and instance: the bus only wakes it, the log says what happened, in log
 * order. Publishes that reach this instance out of order (two instances appending at once) or
 * that pub/sub lost (at-most-once) are still delivered, read from the log.
 */
class AccountTail {
  /** Each listener, with how many subscribers it serves (null: one). */
  readonly listeners = new Map<Listener, (() => number) | null>();
  #last: string | null = null;
  #reading: Promise<void> | null = null;
  #again = false;
  /** Log reads that failed in a row. */
  #failures = 0;
  /** What the bus carried since the last read of the log (which may have lost it since). */
  readonly #carried: LogEntry[] = [];
  readonly #igId: string;
  readonly #log: EventLog;
  readonly #logger: Logger;

  constructor(igId: string, log: EventLog, logger: Logger) {
    this.#igId = igId;
    this.#log = log;
    this.#logger = logger;
  }

  /** The cursor of the last event dispatched to the listeners; null before the first. */
  get last(): string | null {
    return this.#last;
  }

  /**
   * Starts the tail after `cursor` (the log's newest event when it was created, `LOG_START` for
   * an empty log): every event appended after it is dispatched, in log order, whatever order the
   * bus brings them in.
   */
  begin(cursor: string): void {
    this.#last ??= cursor;
  }

  wake(entry: LogEntry): void {
    if (this.#last === null) {
      // Not begun (the log could not say where it ends): the first event this instance hears
      // of for the account is where the tail starts.
      this.#dispatch([entry]);
      return;
    }
    this.#carried.push(entry);
    this.recheck();
  }

  /**
   * Reads the log after the last event dispatched, and dispatches what it holds: what the bus
   * carries (`wake`), or what it may have lost (its connection came back: `EventBus.subscribe`'s
   * `onGap`), is read in log order.
   */
  recheck(): void {
    if (this.#last === null) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#catchUp().finally(() => {
      this.#reading = null;
      if (this.#again) {
        this.#again = false;
        this.recheck();
      }
    });
  }

  async #catchUp(): Promise<void> {
    try {
      // A page at a time, however far behind the bus left this instance.
      for (;;) {
        // Carried before this read, so appended before it: what the read lacks of them, the log
        // lost (a Redis that came back empty). What comes during the read waits for the next.
        const known = this.#carried.splice(0);
        let page: LogEntry[];
        try {
          page = await this.#log.readAfter(this.#igId, this.#last ?? LOG_START);
        } catch (error) {
          this.#carried.unshift(...known);
          throw error;
        }
        this.#failures = 0;
        if (page.length >= READ_PAGE) {
          this.#carried.unshift(...known);
          this.#dispatch(page);
          continue;
        }
        this.#dispatch(this.#inOrder([...page, ...known]));
        return;
      }
    } catch (error) {
      // After an outage Redis's connections come back one at a time: while the log is not back
      // yet, read it again shortly, so that what pub/sub lost meanwhile is not skipped.
      if (++this.#failures <= LOG_RETRIES) {
        this.#again = true;
        await sleep(LOG_RETRY_MS);
        return;
      }
      // The log stays unreachable: deliver what the bus carried, in the order it came.
      this.#logger.warn(
        { err: error, igId: this.#igId },
        'event log unreadable; delivering from the bus',
      );
      this.#dispatch(this.#inOrder(this.#carried.splice(0)));
    }
  }

  #inOrder(entries: LogEntry[]): LogEntry[] {
    const log = this.#log;
    return entries.sort((x, y) =>
      log.isAfter(x.cursor, y.cursor) ? 1 : log.isAfter(y.cursor, x.cursor) ? -1 : 0,
    );
  }

  #dispatch(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (this.#last !== null && !this.#log.isAfter(entry.cursor, this.#last)) continue;
      this.#last = entry.cursor;
      for (const listener of this.listeners.keys()) listener(entry);
    }
  }
}

/** Live events for subscriptions: the missed ones from the log first, then live, no gap, no duplicate. */
export class LiveEvents {
  readonly #log: EventLog;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #tails = new Map<
    string,
    { tail: AccountTail; unsubscribe: Promise<() => Promise<void>> }
  >();

  constructor(log: EventLog, bus: EventBus, logger: Logger) {
    this.#log = log;
    this.#bus = bus;
    this.#logger = logger;
  }

  /**
   * Events of the account after `after` (a cursor a subscriber had), then every new one, until
   * the consumer calls `return()`, which ends it at once, even while it waits for an event (an
   * async generator would wait for the next event first, keeping the listener until then).
   *
   * Paced by the consumer: what it has not taken yet is read from the log a page
   * (`READ_PAGE` events) at a time as it pulls, never the whole log. Live events wait in memory
   * only while the consumer keeps up: past a page, the stream drops them and reads them back
   * from the log when the consumer gets there (from a cursor older than the log's window, what
   * remains of it).
   *
   * `shared`: the stream of a subscription group, which serves many subscribers.
   */
  stream(
    igId: string,
    after: string | undefined,
    shared?: SharedStream,
  ): AsyncIterableIterator<LogEntry> {
    const log = this.#log;
    /** What the consumer takes next, in log order, after every cursor it took. */
    const ready: LogEntry[] = [];
    /** The newest cursor in `ready` or taken. */
    let last = after;
    /** The log holds events after `last` that `ready` lacks: read them before live ones. */
    let behind = after !== undefined;
    /** Live events that came during a log read (null when none runs), and whether some were dropped. */
    let held: LogEntry[] | null = null;
    let heldAll = true;
    let waiting: ((result: IteratorResult<LogEntry>) => void) | null = null;
    let done = false;
    const take = (entry: LogEntry) => {
      if (last !== undefined && !log.isAfter(entry.cursor, last)) return;
      last = entry.cursor;
      ready.push(entry);
    };
    const listener: Listener = (entry) => {
      if (done) return;
      if (held) {
        if (held.length < READ_PAGE) held.push(entry);
        else heldAll = false;
        return;
      }
      // Already in the log: read when the consumer gets there.
      if (behind) return;
      if (ready.length >= READ_PAGE) {
        behind = true;
        return;
      }
      take(entry);
      const next = waiting && ready.shift();
      if (waiting && next) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: next, done: false });
      }
    };
    /** One page after `last`; caught up once it is short, with the live events of meanwhile. */
    const readPage = async () => {
      const came: LogEntry[] = [];
      held = came;
      heldAll = true;
      let page: LogEntry[];
      try {
        page = await log.readAfter(igId, last ?? LOG_START);
      } finally {
        held = null;
      }
      for (const entry of page) take(entry);
      if (page.length < READ_PAGE && heldAll) {
        behind = false;
        for (const entry of came) take(entry);
      }
    };
    const started = (async () => {
      await this.#attach(igId, listener, shared?.subscribers ?? null);
      if (done) return;
      if (shared) shared.onEstablished();
      else announceSubscribed(igId);
    })();
    const end = async (): Promise<IteratorResult<LogEntry>> => {
      if (!done) {
        done = true;
        ready.length = 0;
        waiting?.({ value: undefined, done: true });
        waiting = null;
        await started.catch(() => {});
        await this.#detach(igId, listener);
      }
      return { value: undefined, done: true };
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        try {
          await started;
          for (;;) {
            const entry = ready.shift();
            if (entry) return { value: entry, done: false };
            if (done) return { value: undefined, done: true };
            if (!behind)
              return await new Promise<IteratorResult<LogEntry>>((resolve) => {
                waiting = resolve;
              });
            await readPage();
          }
        } catch (error) {
          await end();
          throw error;
        }
      },
      return: end,
    };
  }

  async #attach(
    igId: string,
    listener: Listener,
    subscribers: (() => number) | null,
  ): Promise<void> {
    let entry = this.#tails.get(igId);
    if (!entry) {
      const tail = new AccountTail(igId, this.#log, this.#logger);
      const log = this.#log;
      // The tail starts at the log's newest event, read before the bus subscription: an event
      // appended before another but published after it (two instances, or the pipeline's two
      // paths on one) is then read from the log in its place, never skipped because the first
      // publish heard came later in the log. A log that cannot say: the first event heard.
      const start = log.newest
        ? log.newest(igId).then(
            (newest) => tail.begin(newest ?? LOG_START),
            () => {},
          )
        : Promise.resolve();
      const unsubscribe = start.then(() =>
        this.#bus.subscribe(
          igId,
          (e) => tail.wake(e),
          () => tail.recheck(),
        ),
      );
      entry = { tail, unsubscribe };
      this.#tails.set(igId, entry);
    }
    entry.tail.listeners.set(listener, subscribers);
    await entry.unsubscribe;
  }

  async #detach(igId: string, listener: Listener): Promise<void> {
    const entry = this.#tails.get(igId);
    if (!entry) return;
    entry.tail.listeners.delete(listener);
    if (entry.tail.listeners.size > 0) return;
    this.#tails.delete(igId);
    await (await entry.unsubscribe)();
  }

  /**
   * The cursor of the last event this instance dispatched for the account, null when none yet:
   * every event a stream receives from now on comes after it.
   */
  position(igId: string): string | null {
    return this.#tails.get(igId)?.tail.last ?? null;
  }

  /** True when the event of cursor `a` came after that of `b` (both the log's). */
  isAfter(a: string, b: string): boolean {
    return this.#log.isAfter(a, b);
  }

  /** True when `cursor` is one of the log's (a client may send anything). */
  isCursor(cursor: string): boolean {
    try {
      this.#log.isAfter(cursor, cursor);
      return true;
    } catch {
      return false;
    }
  }

  /** Subscribers on this instance, for metrics and the benchmark. */
  get subscribers(): number {
    let count = 0;
    for (const { tail } of this.#tails.values())
      for (const served of tail.listeners.values()) count += served ? served() : 1;
    return count;
  }
}
