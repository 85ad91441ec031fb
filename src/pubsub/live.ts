import { channel } from 'node:diagnostics_channel';
import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';
import type { EventLog, LogEntry } from './log.ts';

type Listener = (entry: LogEntry) => void;

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

/**
 * One tail per account and instance: the bus only wakes it, the log says what happened, in log
 * order. Publishes that reach this instance out of order (two instances appending at once) or
 * that pub/sub lost (at-most-once) are still delivered, read from the log.
 */
class AccountTail {
  readonly listeners = new Set<Listener>();
  #last: string | null = null;
  #reading: Promise<void> | null = null;
  #again = false;
  readonly #igId: string;
  readonly #log: EventLog;
  readonly #logger: Logger;

  constructor(igId: string, log: EventLog, logger: Logger) {
    this.#igId = igId;
    this.#log = log;
    this.#logger = logger;
  }

  wake(entry: LogEntry): void {
    if (this.#last === null) {
      // The first event this instance hears of for the account: the tail starts there.
      this.#dispatch([entry]);
      return;
    }
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#catchUp(entry).finally(() => {
      this.#reading = null;
      if (this.#again) {
        this.#again = false;
        this.wake(entry);
      }
    });
  }

  async #catchUp(entry: LogEntry): Promise<void> {
    try {
      this.#dispatch(await this.#log.readAfter(this.#igId, this.#last ?? entry.cursor));
    } catch (error) {
      // The log is unreachable: deliver what the bus carried, in the order it came.
      this.#logger.warn(
        { err: error, igId: this.#igId },
        'event log unreadable; delivering from the bus',
      );
      this.#dispatch([entry]);
    }
  }

  #dispatch(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (this.#last !== null && !this.#log.isAfter(entry.cursor, this.#last)) continue;
      this.#last = entry.cursor;
      for (const listener of this.listeners) listener(entry);
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
   */
  stream(igId: string, after: string | undefined): AsyncIterableIterator<LogEntry> {
    const ready: LogEntry[] = [];
    const held: LogEntry[] = [];
    let waiting: ((result: IteratorResult<LogEntry>) => void) | null = null;
    let backlogRead = false;
    let done = false;
    let last = after;
    const push = (entry: LogEntry) => {
      if (done || (last !== undefined && !this.#log.isAfter(entry.cursor, last))) return;
      last = entry.cursor;
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: entry, done: false });
      } else ready.push(entry);
    };
    // Live events that come while the backlog is read wait behind it.
    const listener: Listener = (entry) => (backlogRead ? push(entry) : held.push(entry));
    const started = (async () => {
      await this.#attach(igId, listener);
      if (!done && subscribedChannel.hasSubscribers)
        subscribedChannel.publish({ igId } satisfies Subscribed);
      if (after !== undefined)
        for (const entry of await this.#log.readAfter(igId, after)) push(entry);
      backlogRead = true;
      for (const entry of held.splice(0)) push(entry);
    })();
    const end = async (): Promise<IteratorResult<LogEntry>> => {
      if (!done) {
        done = true;
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
        } catch (error) {
          await end();
          throw error;
        }
        const entry = ready.shift();
        if (entry) return { value: entry, done: false };
        if (done) return { value: undefined, done: true };
        return new Promise<IteratorResult<LogEntry>>((resolve) => {
          waiting = resolve;
        });
      },
      return: end,
    };
  }

  async #attach(igId: string, listener: Listener): Promise<void> {
    let entry = this.#tails.get(igId);
    if (!entry) {
      const tail = new AccountTail(igId, this.#log, this.#logger);
      entry = { tail, unsubscribe: this.#bus.subscribe(igId, (e) => tail.wake(e)) };
      this.#tails.set(igId, entry);
    }
    entry.tail.listeners.add(listener);
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
    for (const { tail } of this.#tails.values()) count += tail.listeners.size;
    return count;
  }
}
