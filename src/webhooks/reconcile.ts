import type { Counter, Gauge } from 'prom-client';
import type { StoredAccount, TokenStore } from '../auth/token-store.ts';
import type { InboxEventData } from '../inbox/events.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import { InstagramError } from '../instagram/errors.ts';
import { type GraphMessage, type InstagramApi, parseGraphTime } from '../instagram/graph.ts';
import type { AccountLock } from '../lock.ts';
import type { Logger } from '../logger.ts';
import { messageIdentity } from './normalise.ts';
import type { EventPipeline } from './pipeline.ts';

/** The webhook fields igql needs for every account (WH, IG-Login column). */
export const REQUIRED_FIELDS = [
  'messages',
  'message_echoes',
  'message_edit',
  'message_reactions',
  'messaging_optins',
  'messaging_postbacks',
  'messaging_referral',
  'messaging_seen',
] as const;

export interface ReconcilerOptions {
  readonly api: InstagramApi;
  readonly tokens: TokenStore;
  readonly pipeline: EventPipeline;
  readonly logger: Logger;
  readonly metrics: {
    /** `igql_reconciled_events_total`: events webhooks never delivered, found by reconciliation. */
    readonly reconciled: Counter;
    /** `igql_webhook_resubscriptions_total`: accounts Meta had dropped, subscribed again. */
    readonly resubscriptions: Counter;
    /** `igql_reconcile_last_run_timestamp_seconds`. */
    readonly lastRun: Gauge;
  };
  /** Conversations read per account and run (one Conversations API call). Default 10. */
  readonly conversations?: number;
  /** Newest messages read per conversation. Default 5. */
  readonly messages?: number;
  /** Taken per account and run, so that one instance reconciles an account at a time. */
  readonly lock: Pick<AccountLock, 'acquire'>;
  /** How long one run holds an account's lock. Default 50 s. */
  readonly lockTtlMs?: number;
  /** On the first run, how far back to look. Default 10 minutes. */
  readonly firstLookbackMs?: number;
  readonly now?: () => number;
}

/**
 * Meta misses webhooks and drops subscriptions (REFERENCE.md). Each run, per account: one
 * Conversations API call compares `updated_time` with the last event seen and turns the newer
 * messages into the same events a webhook would have given (dedupe drops those that did come);
 * and `subscribed_apps` is checked, re-subscribing an account Meta dropped.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #lastSeen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    // Every event stored, from webhooks or a run, moves the account's newest time seen.
    options.pipeline.onStored((event) => this.seen(event.igId, event.occurredAt));
  }

  /** Records the newest event time seen for an account (from webhooks or a run). */
  seen(igId: string, at: number): void {
    if (at > (this.#lastSeen.get(igId) ?? 0)) this.#lastSeen.set(igId, at);
  }

  /** Every account, one after the other; one account's failure never stops the others. */
  async runOnce(): Promise<void> {
    this.#running ??= (async () => {
      for (const account of await this.#o.tokens.list()) {
        if (account.status !== 'ACTIVE') continue;
        // Another instance is on it this round.
        if (!(await this.#o.lock.acquire(account.igId, this.#o.lockTtlMs ?? 50_000))) continue;
        for (const [step, what] of [
          [() => this.#watch(account), 'subscription check'],
          [() => this.#reconcile(account), 'reconciliation'],
        ] as const) {
          try {
            await step();
          } catch (error) {
            this.#o.logger.warn({ err: error, igId: account.igId }, `${what} failed`);
            // A refused token (reported by the client, which marked the account) ends its run.
            if (error instanceof InstagramError && error.kind === 'token') break;
          }
        }
      }
      this.#o.metrics.lastRun.set(this.#now() / 1000);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.runOnce(), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #watch(account: StoredAccount): Promise<void> {
    const auth = { igId: account.igId, token: account.accessToken };
    const fields = new Set(await this.#o.api.subscribedFields(auth));
    const missing = REQUIRED_FIELDS.filter((f) => !fields.has(f));
    if (missing.length === 0) return;
    this.#o.logger.warn(
      { igId: account.igId, missing },
      'webhook subscription incomplete; subscribing again',
    );
    await this.#o.api.subscribe(auth, [...new Set([...fields, ...REQUIRED_FIELDS])]);
    this.#o.metrics.resubscriptions.inc();
  }

  async #reconcile(account: StoredAccount): Promise<void> {
    const { igId } = account;
    const now = this.#now();
    const since = this.#lastSeen.get(igId) ?? now - (this.#o.firstLookbackMs ?? 600_000);
    const page = await this.#o.api.conversations(
      { igId, token: account.accessToken },
      {
        limit: this.#o.conversations ?? 10,
        fields: `id,updated_time,participants,messages.limit(${this.#o.messages ?? 5}){id,created_time,from,to,message,attachments,shares{link,name},story,reply_to,is_unsupported}`,
      },
    );
    const events: InboxEventData[] = [];
    for (const conversation of page.data) {
      // Graph times have whole seconds: compare with a second of slack.
      if (
        conversation.updated_time &&
        parseGraphTime(conversation.updated_time).getTime() < since - 1000
      )
        continue;
      const customer = conversation.participants?.data.find((p) => p.id !== igId)?.id ?? null;
      for (const message of conversation.messages?.data ?? []) {
        // Without `from` (past the 20 newest), Graph gives nothing to tell.
        if (!message.from) continue;
        const event = eventOf(igId, customer, message);
        if (event.occurredAt >= since - 1000) events.push(event);
      }
    }
    events.sort((a, b) => a.occurredAt - b.occurredAt);
    const stored = await this.#o.pipeline.ingest(events);
    this.#o.metrics.reconciled.inc(stored.length);
    if (stored.length > 0)
      this.#o.logger.info({ igId, events: stored.length }, 'reconciled missed webhooks');
    this.seen(igId, Math.max(since, ...events.map((e) => e.occurredAt)));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

/**
 * The event of a message read from the Conversations API, with the identity its webhook would
 * have had (so that dedupe drops it when the webhook did come); only a webhook carries quick
 * replies, referrals and self tests.
 */
function eventOf(igId: string, customer: string | null, m: GraphMessage): InboxEventData {
  const message = fromGraph(m);
  const sent = message.from?.igsid === igId;
  const kind = sent ? 'MESSAGE_SENT' : 'MESSAGE_RECEIVED';
  return {
    kind,
    igId,
    igsid: (sent ? message.to[0]?.igsid : message.from?.igsid) ?? customer,
    occurredAt: message.createdTime,
    identity: messageIdentity(igId, kind, m.id),
    standby: false,
    message,
    quickReplyPayload: null,
    referral: null,
    isSelf: false,
  };
}
