import type { Counter } from 'prom-client';
import type { InboxEventData } from '../inbox/events.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from '../pubsub/bus.ts';
import type { EventLog, LogEntry } from '../pubsub/log.ts';
import type { Deduper } from './dedupe.ts';

export interface PipelineOptions {
  readonly deduper: Deduper;
  readonly log: EventLog;
  readonly bus: EventBus;
  readonly logger: Logger;
  /** `igql_inbox_events_total{kind,outcome}`: new or duplicate. */
  readonly counter: Counter<'kind' | 'outcome'>;
}

/**
 * What every event goes through, from a webhook or from reconciliation: dedupe on its identity,
 * the account's log (durable: the cursor subscribers resume from), then the bus.
 */
export class EventPipeline {
  readonly #o: PipelineOptions;
  readonly #stored = new Set<(event: InboxEventData) => void>();

  constructor(options: PipelineOptions) {
    this.#o = options;
  }

  /** Calls `listener` with every event stored from now on (reconciliation keeps the newest). */
  onStored(listener: (event: InboxEventData) => void): void {
    this.#stored.add(listener);
  }

  /**
   * Stores the events not seen before, in order; resolves with what to publish. Rejects when
   * the log cannot store them: the webhook then answers 5xx and Meta delivers again.
   */
  async store(events: readonly InboxEventData[]): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for (const event of events) {
      if (event.igId === '') {
        this.#o.logger.warn({ event }, 'webhook event names no account; dropped');
        this.#o.counter.inc({ kind: event.kind, outcome: 'no_account' });
        continue;
      }
      if (!(await this.#o.deduper.firstSeen(event.identity))) {
        this.#o.counter.inc({ kind: event.kind, outcome: 'duplicate' });
        continue;
      }
      try {
        entries.push({ cursor: await this.#o.log.append(event.igId, event), event });
      } catch (error) {
        // Not stored: forget it, so that Meta's redelivery is not taken for a duplicate.
        await this.#o.deduper.forget(event.identity).catch(() => {});
        throw error;
      }
      this.#o.counter.inc({ kind: event.kind, outcome: 'new' });
      for (const listener of this.#stored) listener(event);
    }
    return entries;
  }

  /** Publishes stored events; a failure only delays them (subscribers catch up from the log). */
  async publish(entries: readonly LogEntry[]): Promise<void> {
    for (const entry of entries) {
      try {
        await this.#o.bus.publish(entry.event.igId, entry);
      } catch (error) {
        this.#o.logger.warn(
          { err: error, igId: entry.event.igId },
          'could not publish an inbox event',
        );
      }
    }
  }

  /** Stores then publishes at once (reconciliation, igql's own events). */
  async ingest(events: readonly InboxEventData[]): Promise<LogEntry[]> {
    const entries = await this.store(events);
    await this.publish(entries);
    return entries;
  }
}
