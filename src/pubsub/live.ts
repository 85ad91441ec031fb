import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';
import type { EventLog, LogEntry } from './log.ts';

type Listener = (entry: LogEntry) => void;

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
   * the consumer stops iterating.
   */
  async *stream(igId: string, after: string | undefined): AsyncGenerator<LogEntry> {
    const queue: LogEntry[] = [];
    let wake: (() => void) | null = null;
    const listener: Listener = (entry) => {
      queue.push(entry);
      wake?.();
    };
    await this.#attach(igId, listener);
    try {
      let last = after;
      if (after !== undefined) {
        for (const entry of await this.#log.readAfter(igId, after)) {
          last = entry.cursor;
          yield entry;
        }
      }
      for (;;) {
        while (queue.length > 0) {
          const entry = queue.shift() as LogEntry;
          if (last !== undefined && !this.#log.isAfter(entry.cursor, last)) continue;
          last = entry.cursor;
          yield entry;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      await this.#detach(igId, listener);
    }
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
