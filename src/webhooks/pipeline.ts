import type { Counter } from 'prom-client';
import type { InboxEventData } from '../inbox/events.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from '../pubsub/bus.ts';
import type { EventLog, LogEntry } from '../pubsub/log.ts';
import type { Deduper } from './dedupe.ts';
import { EARLIEST_EVENT_TIME, FUTURE_EVENT_SLACK_MS, isSaneEventTime } from './normalise.ts';

export interface PipelineOptions {
  readonly deduper: Deduper;
  readonly log: EventLog;
  readonly bus: EventBus;
  readonly logger: Logger;
  /**
   * `igql_inbox_events_total{kind,outcome}`: new, duplicate, pending, no_account or bad_time.
   */
  readonly counter: Counter<'kind' | 'outcome'>;
  /** Decides "now" for the latest event time accepted (`isSaneEventTime`). Default `Date.now`. */
  readonly now?: () => number;
}

/** What `EventPipeline.store` did with a delivery's events. */
export interface Stored {
  /** The events stored now, in order: what to publish. */
  readonly entries: LogEntry[];
  /**
   * Events another delivery has claimed and not yet stored (`Deduper.claim` answered
   * `pending`): not stored here; the webhook answers 503 so that Meta delivers them again.
   */
  readonly pending: number;
}

/**
 * What every event goes through, from a webhook or from reconciliation: the door (an account,
 * a sane time), dedupe on its identity, the account's log (durable: the cursor subscribers
 * resume from), then the bus.
 */
export class EventPipeline {
  readonly #o: PipelineOptions;

  constructor(options: PipelineOptions) {
    this.#o = options;
  }

  /**
   * Stores the events not seen before, in order; resolves with what to publish, and how many
   * events another delivery holds a claim on (`pending`: not stored here, and not to be
   * acknowledged, as that delivery may still fail). An event that names no account, or whose
   * time `isSaneEventTime` refuses, is dropped with a warning and counted (`no_account`,
   * `bad_time`): the rest are stored, and the webhook is still answered 200, as Meta would only
   * deliver the same garbage again. Rejects when the log cannot store them: the webhook then
   * answers 5xx and Meta delivers again.
   *
   * Each event is claimed (`Deduper.claim`), appended to its account's log, then confirmed:
   * from then on a redelivery is a duplicate. An event whose append failed is forgotten (best
   * effort: when that fails too, its claim lapses after `DEDUPE_PENDING_SECONDS`), so that
   * Meta's redelivery is not taken for a duplicate. A confirm that fails is logged, not thrown:
   * the event is stored, and at worst a redelivery after the claim lapsed stores it again.
   */
  async store(events: readonly InboxEventData[]): Promise<Stored> {
    const entries: LogEntry[] = [];
    let pending = 0;
    const now = (this.#o.now ?? Date.now)();
    for (const event of events) {
      if (event.igId === '') {
        this.#o.logger.warn({ event }, 'webhook event names no account; dropped');
        this.#o.counter.inc({ kind: event.kind, outcome: 'no_account' });
        continue;
      }
      if (!isSaneEventTime(event.occurredAt, now)) {
        const { igId, kind, identity, occurredAt } = event;
        this.#o.logger.warn(
          {
            igId,
            kind,
            identity,
            occurredAt,
            earliest: EARLIEST_EVENT_TIME,
            latest: now + FUTURE_EVENT_SLACK_MS,
          },
          'inbox event time missing or outside [2010-01-01, now + 1 day]; dropped',
        );
        this.#o.counter.inc({ kind, outcome: 'bad_time' });
        continue;
      }
      const claim = await this.#o.deduper.claim(event.identity);
      if (claim !== 'first') {
        if (claim === 'pending') pending++;
        this.#o.counter.inc({ kind: event.kind, outcome: claim });
        continue;
      }
      let cursor: string;
      try {
        cursor = await this.#o.log.append(event.igId, event);
      } catch (error) {
        // Not stored: forget it, so that Meta's redelivery is not taken for a duplicate.
        await this.#o.deduper.forget(event.identity).catch(() => {});
        throw error;
      }
      entries.push({ cursor, event });
      this.#o.counter.inc({ kind: event.kind, outcome: 'new' });
      await this.#o.deduper.confirm(event.identity).catch((error: unknown) => {
        const { igId, kind, identity } = event;
        this.#o.logger.warn(
          { err: error, igId, kind, identity },
          'could not confirm a stored inbox event; a redelivery after its claim lapses stores it again',
        );
      });
    }
    return { entries, pending };
  }

  /**
   * Publishes stored events; true when the bus took every one. A failure only delays them
   * (subscribers catch up from the log), unless the log is lost with Redis.
   */
  async publish(entries: readonly LogEntry[]): Promise<boolean> {
    let published = true;
    for (const entry of entries) {
      try {
        await this.#o.bus.publish(entry.event.igId, entry);
      } catch (error) {
        published = false;
        this.#o.logger.warn(
          { err: error, igId: entry.event.igId },
          'could not publish an inbox event',
        );
      }
    }
    return published;
  }

  /**
   * Stores then publishes at once (reconciliation, igql's own events). An event another
   * delivery holds a claim on is left to it: that delivery stores it, or Meta's redelivery (or
   * the next reconciliation) does.
   */
  async ingest(events: readonly InboxEventData[]): Promise<LogEntry[]> {
    const { entries } = await this.store(events);
    await this.publish(entries);
    return entries;
  }
}
