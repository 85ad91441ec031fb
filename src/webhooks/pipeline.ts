import type { Counter } from 'prom-client';
import { type InboxEventData, midOf } from '../inbox/events.ts';
import { conversationScopes } from '../inbox/read-cache.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from '../pubsub/bus.ts';
import type { EventLog, LogEntry } from '../pubsub/log.ts';
import type { StoredOrNot } from '../pubsub/store-and-publish.ts';
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
  /**
   * Publishes a stored event and confirms its identity in one step that does both or neither
   * (with Redis, one script: `RedisEventBus.publishAndSet` of `RedisDeduper.confirmation`), so
   * that `accept` takes one round trip fewer. Without it, `accept` publishes, then confirms.
   */
  readonly publishAndConfirm?: (entry: LogEntry) => Promise<void>;
  /**
   * Completes the events about to be stored (`eventCompleter`: an edit's text, a sender-less
   * event's customer), once each: after its claim, before its append. Never rejects.
   */
  readonly complete?: (events: readonly InboxEventData[]) => Promise<InboxEventData[]>;
  /**
   * Claims, appends, publishes and confirms one event in one step (with Redis, one script for
   * every event of a turn of the event loop: src/pubsub/store-and-publish.ts), so that `accept`
   * takes one round trip to Redis instead of three. Used for a delivery none of whose events
   * `needsCompletion`; the others go step by step.
   */
  readonly storeAndPublish?: (event: InboxEventData) => Promise<StoredOrNot>;
  /** Whether `complete` has anything to do for an event. Default: always. */
  readonly needsCompletion?: (event: InboxEventData) => boolean;
  /**
   * Invalidates the shared read cache's entries of an account (`ReadCache.invalidate`) for the
   * scopes its events change (`readScopesOf`), once per account and delivery, before they are
   * stored and published. Its rejection rejects `accept` (the webhook answers 5xx and Meta
   * delivers again).
   */
  readonly invalidate?: (igId: string, scopes: readonly string[]) => Promise<void>;
}

/**
 * The read cache's scopes an event changes (src/loaders/index.ts names them): any messaging
 * event changes the account's conversations and the customer's thread, and the message it names;
 * a status change, everything read with the account's token. Comments, mentions and publish jobs
 * change nothing the cache keeps.
 */
export function readScopesOf(event: InboxEventData): string[] {
  switch (event.kind) {
    case 'COMMENT_RECEIVED':
    case 'MENTION_RECEIVED':
    case 'PUBLISH_JOB_CHANGED':
      return [];
    case 'ACCOUNT_STATUS_CHANGED':
      return ['account'];
    default: {
      // UNKNOWN too: a messaging event igql cannot read may still change the inbox.
      return conversationScopes(event.igsid, midOf(event));
    }
  }
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

/** What `EventPipeline.accept` did with a delivery's events. */
export interface Accepted extends Stored {
  /** True when the bus took every stored event (`EventPipeline.publish`). */
  readonly published: boolean;
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
   * from then on a redelivery is a duplicate. Each phase is issued for every event at once, so
   * that it is one round trip to Redis whatever the number of events (the Redis implementations
   * send what one turn of the event loop asks, of any number of deliveries, as one script call:
   * `perTick`): the claims; each account's events in one `EventLog.appendAll` (one `append`
   * after another for a log without it); the confirms. When a claim or an append fails, every
   * claim of the delivery is forgotten (best effort: when that fails too, a claim lapses after
   * `DEDUPE_PENDING_SECONDS`), so that Meta's redelivery stores the events again: those already
   * appended then twice (at least once, never lost). A confirm that fails is logged, not thrown:
   * the event is stored, and at worst a redelivery after its claim lapsed stores it again. An
   * identity that occurs twice in `events` is stored once (the later copy counts as a duplicate).
   */
  async store(events: readonly InboxEventData[]): Promise<Stored> {
    const stored = await this.#claimAndAppend(this.#admit(events));
    await this.#confirm(stored.entries);
    return stored;
  }

  /**
   * A delivery, as the webhook and reconciliation take it: `store`, publish, and confirm only
   * once the bus took every event. When publishing fails the claims are forgotten instead, so
   * that the redelivery (or the next reconciliation) stores and publishes them again: an event
   * acknowledged has reached the bus, never only the log. Rejects as `store` does; `published`
   * is what `publish` answered.
   */
  async accept(events: readonly InboxEventData[]): Promise<Accepted> {
    const admitted = this.#admit(events);
    await this.#invalidate(admitted);
    return this.#store(admitted);
  }

  async #store(admitted: readonly InboxEventData[]): Promise<Accepted> {
    const { storeAndPublish, needsCompletion, complete } = this.#o;
    const atOnce = needsCompletion ? !admitted.some(needsCompletion) : complete === undefined;
    if (storeAndPublish && atOnce) return this.#storeAndPublish(admitted, storeAndPublish);
    const stored = await this.#claimAndAppend(admitted);
    const { publishAndConfirm } = this.#o;
    const published = await this.#publish(stored.entries, publishAndConfirm);
    if (!published) await Promise.all(stored.entries.map((entry) => this.#forget(entry.event)));
    else if (!publishAndConfirm) await this.#confirm(stored.entries);
    return { ...stored, published };
  }

  /**
   * Invalidates what `events` change in the read cache, each account once with the union of its
   * events' scopes. Before they are stored, not after: storing publishes them, and a subscriber
   * that reads the inbox on an event must not be answered the entry from before it. Instagram
   * holds what a webhook announces, so a read between the two loads it. (Should Instagram's reads
   * ever lag its webhooks, a read made in between would keep the entry from before it for its TTL;
   * invalidating once more after storing would close that, at the cost of a second script a
   * delivery: 0.016 ms more of igql's CPU per event with one event per delivery, on top of the
   * 0.033 ms this one costs, in `bench/ingest-probe.ts`.)
   */
  async #invalidate(events: readonly InboxEventData[]): Promise<void> {
    const { invalidate } = this.#o;
    if (!invalidate) return;
    const byAccount = new Map<string, Set<string>>();
    for (const event of events) {
      const scopes = readScopesOf(event);
      if (scopes.length === 0) continue;
      const union = byAccount.get(event.igId) ?? new Set();
      for (const scope of scopes) union.add(scope);
      byAccount.set(event.igId, union);
    }
    await Promise.all([...byAccount].map(([igId, scopes]) => invalidate(igId, [...scopes])));
  }

  /** Confirms stored events; a failure is logged (the claim lapses, a redelivery stores again). */
  async #confirm(entries: readonly LogEntry[]): Promise<void> {
    await Promise.all(
      entries.map(({ event }) =>
        this.#o.deduper.confirm(event.igId, event.identity).catch((error: unknown) => {
          const { igId, kind, identity } = event;
          this.#o.logger.warn(
            { err: error, igId, kind, identity },
            'could not confirm a stored inbox event; a redelivery after its claim lapses stores it again',
          );
        }),
      ),
    );
  }

  /**
   * `accept` in one step for each event: stored, published and confirmed, or found a duplicate or
   * pending. Rejects when any step fails (the webhook answers 5xx; what was stored before the
   * failure is a duplicate on redelivery, the rest is stored then).
   */
  async #storeAndPublish(
    admitted: readonly InboxEventData[],
    storeAndPublish: (event: InboxEventData) => Promise<StoredOrNot>,
  ): Promise<Accepted> {
    const o = this.#o;
    const results = await Promise.allSettled(admitted.map(storeAndPublish));
    const entries: LogEntry[] = [];
    let pending = 0;
    let failure: { readonly error: unknown } | undefined;
    results.forEach((result, i) => {
      const event = admitted[i] as InboxEventData;
      if (result.status === 'rejected') failure ??= { error: result.reason };
      else if (typeof result.value === 'object') {
        entries.push({ cursor: result.value.cursor, event });
        o.counter.inc({ kind: event.kind, outcome: 'new' });
      } else {
        if (result.value === 'pending') pending++;
        o.counter.inc({ kind: event.kind, outcome: result.value });
      }
    });
    if (failure) throw failure.error;
    return { entries, pending, published: true };
  }

  /**
   * The events that pass the door, each identity once: an event naming no account (an igId that
   * is not all digits), or whose time `isSaneEventTime` refuses, is dropped with a warning and
   * counted.
   */
  #admit(events: readonly InboxEventData[]): InboxEventData[] {
    const o = this.#o;
    const now = (o.now ?? Date.now)();
    const admitted: InboxEventData[] = [];
    const identities = new Set<string>();
    for (const event of events) {
      // An Instagram account id is digits. Anything else names no account igql could hold, and
      // would break the key layout of a Redis Cluster (an id beginning `}` leaves the hash tag
      // `{<igId>}` empty: the account's keys would spread over slots no script may span).
      if (!/^\d+$/.test(event.igId)) {
        o.logger.warn(
          { event },
          event.igId === ''
            ? 'webhook event names no account; dropped'
            : 'webhook event names no Instagram account (its id is not all digits); dropped',
        );
        o.counter.inc({ kind: event.kind, outcome: 'no_account' });
        continue;
      }
      if (!isSaneEventTime(event.occurredAt, now)) {
        const { igId, kind, identity, occurredAt } = event;
        o.logger.warn(
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
        o.counter.inc({ kind, outcome: 'bad_time' });
        continue;
      }
      if (identities.has(event.identity)) {
        o.counter.inc({ kind: event.kind, outcome: 'duplicate' });
        continue;
      }
      identities.add(event.identity);
      admitted.push(event);
    }
    return admitted;
  }

  /** Claims and appends admitted events, unconfirmed: see `store`. */
  async #claimAndAppend(admitted: readonly InboxEventData[]): Promise<Stored> {
    const o = this.#o;
    if (admitted.length === 0) return { entries: [], pending: 0 };

    const claims = await Promise.allSettled(
      admitted.map((e) => o.deduper.claim(e.igId, e.identity)),
    );
    const claimed: InboxEventData[] = [];
    let pending = 0;
    let failure: { readonly error: unknown } | undefined;
    claims.forEach((claim, i) => {
      const event = admitted[i] as InboxEventData;
      if (claim.status === 'rejected') failure ??= { error: claim.reason };
      else if (claim.value === 'first') claimed.push(event);
      else {
        if (claim.value === 'pending') pending++;
        o.counter.inc({ kind: event.kind, outcome: claim.value });
      }
    });
    if (failure) {
      await Promise.all(claimed.map((e) => this.#forget(e)));
      throw failure.error;
    }

    const toStore = o.complete ? await o.complete(claimed) : claimed;
    // Each account's events in order; accounts side by side.
    const byAccount = new Map<string, InboxEventData[]>();
    for (const event of toStore) {
      const list = byAccount.get(event.igId);
      if (list) list.push(event);
      else byAccount.set(event.igId, [event]);
    }
    const cursors = new Map<InboxEventData, string>();
    const appends = await Promise.all(
      [...byAccount].map(async ([igId, list]) => {
        const { stored, error } = await this.#append(igId, list);
        stored.forEach((cursor, i) => {
          cursors.set(list[i] as InboxEventData, cursor);
        });
        return error;
      }),
    );
    failure = appends.find((error) => error !== undefined);
    if (failure) {
      await Promise.all(claimed.map((e) => this.#forget(e)));
      throw failure.error;
    }
    const entries: LogEntry[] = [];
    for (const event of toStore) {
      entries.push({ cursor: cursors.get(event) as string, event });
      o.counter.inc({ kind: event.kind, outcome: 'new' });
    }
    return { entries, pending };
  }

  /**
   * Appends one account's events in order: the cursors of those stored (a prefix of `events`:
   * all of them, or none with `appendAll`), and what stopped the rest.
   */
  async #append(
    igId: string,
    events: readonly InboxEventData[],
  ): Promise<{ stored: string[]; error?: { readonly error: unknown } }> {
    const log = this.#o.log;
    if (log.appendAll) {
      try {
        return { stored: await log.appendAll(igId, events) };
      } catch (error) {
        return { stored: [], error: { error } };
      }
    }
    const stored: string[] = [];
    for (const event of events) {
      try {
        stored.push(await log.append(igId, event));
      } catch (error) {
        return { stored, error: { error } };
      }
    }
    return { stored };
  }

  /** Drops a claim whose event was not stored; best effort (else the claim lapses). */
  #forget(event: InboxEventData): Promise<void> {
    return this.#o.deduper.forget(event.igId, event.identity).catch(() => {});
  }

  /**
   * Publishes stored events, all at once (one pipelined round trip to Redis, in order); true
   * when the bus took every one. A failure only delays them (subscribers catch up from the
   * log), unless the log is lost with Redis.
   */
  publish(entries: readonly LogEntry[]): Promise<boolean> {
    return this.#publish(entries);
  }

  /** `publish`, each entry by `send` when given (`PipelineOptions.publishAndConfirm`). */
  async #publish(
    entries: readonly LogEntry[],
    send: (entry: LogEntry) => Promise<void> = (entry) =>
      this.#o.bus.publish(entry.event.igId, entry),
  ): Promise<boolean> {
    const results = await Promise.allSettled(entries.map(send));
    let published = true;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      published = false;
      this.#o.logger.warn(
        { err: result.reason, igId: entries[i]?.event.igId },
        'could not publish an inbox event',
      );
    });
    return published;
  }

  /**
   * Stores then publishes at once (reconciliation, igql's own events). An event another
   * delivery holds a claim on is left to it: that delivery stores it, or Meta's redelivery (or
   * the next reconciliation) does.
   */
  async ingest(events: readonly InboxEventData[]): Promise<LogEntry[]> {
    return (await this.accept(events)).entries;
  }
}
