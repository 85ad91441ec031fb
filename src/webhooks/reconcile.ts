import type { Counter, Gauge } from 'prom-client';
import type { StoredAccount, TokenStore } from '../auth/token-store.ts';
import type { InboxEventData } from '../inbox/events.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import { InstagramError } from '../instagram/errors.ts';
import {
  type Auth,
  authOf,
  type ConversationFolder,
  type GraphMessage,
  graphTimeMs,
  type InstagramApi,
} from '../instagram/graph.ts';
import type { AccountLock } from '../lock.ts';
import type { Logger } from '../logger.ts';
import { messageIdentity } from './normalise.ts';
import type { EventPipeline } from './pipeline.ts';

/** The webhook fields igql needs for every account (WH, IG-Login column): the inbox's. */
export const REQUIRED_FIELDS = [
  'messages',
  'message_echoes',
  'message_edit',
  'message_reactions',
  'messaging_optins',
  'messaging_postbacks',
  'messaging_referral',
  'messaging_seen',
  // Conversation routing (instagram-api.md §11): threads other apps own, and handovers.
  'standby',
  'messaging_handover',
] as const;

/**
 * Fields igql subscribes when Instagram lets it, in a call of their own after the required ones:
 * comments (mentions come with them, instagram-api.md §4) need `instagram_business_manage_comments`,
 * which an account that logged in before may not have granted, and fire for public accounts
 * only. A refusal never touches the inbox's subscription.
 */
export const OPTIONAL_FIELDS = ['comments', 'live_comments'] as const;

/**
 * Facebook Login: the subscription is the Page's, not the account's. Its Instagram fields
 * (messages, comments, mentions, …) are the app's own, chosen in the App Dashboard under the
 * Instagram topic; the Page the account is linked to must only have the app subscribed, "to any
 * Page field" (Meta's "Webhooks for Instagram", step 2 "Enable Page Subscriptions", and the same
 * step for Instagram Messaging). igql subscribes `feed`, the field Meta's example uses, which
 * needs only `pages_manage_metadata` (a messaging field such as `messages` would need
 * `pages_messaging`, a permission igql does not ask for).
 */
export const PAGE_FIELDS = ['feed'] as const;

/**
 * The folders of a Page's inbox reconciliation reads for an account of Facebook Login: the
 * default list (the main inbox), then `pending`, the message requests a customer who does not
 * follow the account starts in (the folder webhooks deliver from as well). `other` is not read:
 * which Instagram threads it would hold is undocumented (graph.ts `ConversationFolder`);
 * `page_done` and `spam` hold threads the business moved there itself. Instagram Login's list
 * has no folders: its one read covers every thread (requests included).
 */
export const RECONCILED_FOLDERS = [undefined, 'pending'] as const satisfies readonly (
  | ConversationFolder
  | undefined
)[];

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
  /**
   * Conversations per Conversations API call. Default 25: with 20 messages each, 500 messages,
   * half of what one Graph response may carry (instagram-api.md §9).
   */
  readonly conversations?: number;
  /** Newest messages read per conversation. Default 20: Instagram details no more. */
  readonly messages?: number;
  /**
   * Conversations API calls per account and run, at most, whatever the folders read. Default 4
   * (100 conversations). For Facebook Login each folder read (`RECONCILED_FOLDERS`) keeps one
   * call for the folders after it: the inbox takes at most 3, the message requests what is left.
   * With `pages` 1, only the inbox is read (the message requests never are).
   */
  readonly pages?: number;
  /** Taken per account and run, so that one instance reconciles an account at a time. */
  readonly lock: Pick<AccountLock, 'acquire'>;
  /** How long one run holds an account's lock. Default 50 s. */
  readonly lockTtlMs?: number;
  /** The shortest look-back: every run reads at least this far back. Default 10 minutes. */
  readonly lookbackMs?: number;
  /**
   * Taken off the start of the account's last successful run, when that gives the longer
   * look-back (a run failed, or runs are further apart than `lookbackMs`). Default 1 minute.
   */
  readonly marginMs?: number;
  /**
   * The longest look-back, however long ago the last successful run was. Default 24 hours:
   * inside dedupe's 48 hours, so that a message read again is still known and not published
   * twice.
   */
  readonly maxLookbackMs?: number;
  readonly now?: () => number;
}

/**
 * Meta misses webhooks and drops subscriptions (REFERENCE.md). Each run, per account: the
 * Conversations API is read, newest first, for the conversations updated within a look-back
 * window, and every detailed message of the window becomes the event its webhook would have
 * given (dedupe drops those that did come); and `subscribed_apps` is checked, re-subscribing an
 * account Meta dropped.
 *
 * The window is fixed by igql's own clock, never by what webhooks said: it starts
 * `lookbackMs` ago, or `marginMs` before the start of the account's last successful run when
 * that is earlier, and never more than `maxLookbackMs` ago. So a message whose webhook was lost
 * is found even when later ones did arrive, and no webhook time (however far in the future)
 * can move the window. Cost per account and run: one Conversations API call for every
 * `conversations` (25) updated within the window, at least one and at most `pages` (4), paced
 * as every Conversations API read is. For Facebook Login the Page's message requests are read
 * as well (`RECONCILED_FOLDERS`): at least two calls (one when `pages` is 1: the inbox only),
 * still at most `pages` in all. When the message requests' read fails, the inbox's events are
 * still stored, but the run is not a success: the next one reads back to before it.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  /** The start of each account's last successful run (this instance's). */
  readonly #lastRun = new Map<string, number>();
  /** Accounts whose optional fields (`OPTIONAL_FIELDS`) were asked for by this process. */
  readonly #optionalAsked = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
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

  /** Where an account's window starts, in ms, for a run starting at `now`. */
  #windowStart(igId: string, now: number): number {
    const last = this.#lastRun.get(igId);
    const byRun =
      last === undefined ? Number.POSITIVE_INFINITY : last - (this.#o.marginMs ?? 60_000);
    const start = Math.min(now - (this.#o.lookbackMs ?? 600_000), byRun);
    return Math.max(start, now - (this.#o.maxLookbackMs ?? 24 * 3_600_000));
  }

  async #watch(account: StoredAccount): Promise<void> {
    const auth = authOf(account);
    if (auth.pageId !== undefined) {
      await this.#watchPage(auth);
      return;
    }
    const fields = new Set(await this.#o.api.subscribedFields(auth));
    const missing = REQUIRED_FIELDS.filter((f) => !fields.has(f));
    if (missing.length > 0) {
      this.#o.logger.warn(
        { igId: account.igId, missing },
        'webhook subscription incomplete; subscribing again',
      );
      await this.#o.api.subscribe(auth, [...new Set([...fields, ...REQUIRED_FIELDS])]);
      this.#o.metrics.resubscriptions.inc();
      for (const field of REQUIRED_FIELDS) fields.add(field);
    }
    // Once per account and process, and again after a drop: a field Instagram refuses (or never
    // lists back) is not asked for again every run.
    if (missing.length === 0 && this.#optionalAsked.has(account.igId)) return;
    this.#optionalAsked.add(account.igId);
    if (OPTIONAL_FIELDS.every((f) => fields.has(f))) return;
    try {
      await this.#o.api.subscribe(auth, [...new Set([...fields, ...OPTIONAL_FIELDS])]);
    } catch (err) {
      this.#o.logger.info(
        { err, igId: account.igId, fields: OPTIONAL_FIELDS },
        'comment webhooks not subscribed (permission not granted?); the inbox is unaffected',
      );
    }
  }

  /**
   * Facebook Login: igql's app must be subscribed to the account's Page (`PAGE_FIELDS`). The
   * Page lists every app subscribed to it; only igql's entry counts (graph.ts), and only the
   * fields igql needs are posted: another app's are not igql's to ask for (a messaging field
   * would need `pages_messaging`).
   */
  async #watchPage(auth: Auth): Promise<void> {
    const fields = new Set(await this.#o.api.subscribedFields(auth));
    const missing = PAGE_FIELDS.filter((f) => !fields.has(f));
    if (missing.length === 0) return;
    this.#o.logger.warn(
      { igId: auth.igId, missing },
      'Page webhook subscription missing; subscribing again',
    );
    await this.#o.api.subscribe(auth, PAGE_FIELDS);
    this.#o.metrics.resubscriptions.inc();
  }

  async #reconcile(account: StoredAccount): Promise<void> {
    const { igId } = account;
    const auth = authOf(account);
    const started = this.#now();
    // Graph times have whole seconds: a second of slack.
    const since = this.#windowStart(igId, started) - 1000;
    const folders = auth.pageId === undefined ? [undefined] : RECONCILED_FOLDERS;
    const events: InboxEventData[] = [];
    /** The first folder after the default one that failed: the run is then not a success. */
    let failure: unknown;
    let left = this.#o.pages ?? 4;
    for (const [i, folder] of folders.entries()) {
      // Each folder after this one keeps a call of the budget, and none takes more than is left:
      // with fewer calls than folders, the last folders are not read (the default one always is).
      const budget = Math.min(left, Math.max(1, left - (folders.length - 1 - i)));
      if (budget <= 0) break;
      try {
        left -= await this.#readFolder(auth, folder, since, budget, events);
      } catch (error) {
        // The default list failed: nothing was read.
        if (i === 0) throw error;
        // A later folder (message requests) failed: what the ones before it read is still
        // stored below. A refused token makes no further call.
        failure ??= error;
        this.#o.logger.warn({ err: error, igId, folder }, 'reconciliation of a folder failed');
        if (error instanceof InstagramError && error.kind === 'token') break;
      }
    }
    events.sort((a, b) => a.occurredAt - b.occurredAt);
    const stored = await this.#o.pipeline.ingest(events);
    this.#o.metrics.reconciled.inc(stored.length);
    if (stored.length > 0)
      this.#o.logger.info({ igId, events: stored.length }, 'reconciled missed webhooks');
    // Not a success: the next run reads back to before this one, so the failed folder's window
    // is read again (and a refused token ends the account's run, as in `runOnce`).
    if (failure !== undefined) throw failure;
    this.#lastRun.set(igId, started);
  }

  /**
   * Reads the conversations of one folder (`undefined`: the default list) updated since `since`,
   * newest first, in at most `budget` calls, adding the events of their detailed messages to
   * `events`. Answers the calls made.
   */
  async #readFolder(
    auth: Auth,
    folder: ConversationFolder | undefined,
    since: number,
    budget: number,
    events: InboxEventData[],
  ): Promise<number> {
    const { igId } = auth;
    const perPage = this.#o.conversations ?? 25;
    const fields = `id,updated_time,participants,messages.limit(${this.#o.messages ?? 20}){id,created_time,from,to,message,attachments,shares{link,name,template},story,reply_to,is_unsupported}`;
    let after: string | undefined;
    for (let calls = 0; ; ) {
      if (calls === budget) {
        this.#o.logger.warn(
          { igId, folder, conversations: calls * perPage },
          'more conversations changed within the reconciliation window than one run reads; the older ones were not read',
        );
        return calls;
      }
      const page = await this.#o.api.conversations(auth, { limit: perPage, after, fields, folder });
      calls++;
      let older = false;
      for (const conversation of page.data) {
        // Newest first: past the window, the rest of the list is older still.
        if (conversation.updated_time && graphTimeMs(conversation.updated_time) < since) {
          older = true;
          continue;
        }
        const customer = conversation.participants?.data.find((p) => p.id !== igId)?.id ?? null;
        for (const message of conversation.messages?.data ?? []) {
          // Without `from` (past the 20 newest), Graph gives nothing to tell.
          if (!message.from) continue;
          const event = eventOf(igId, customer, message);
          if (event.occurredAt >= since) events.push(event);
        }
      }
      after = page.paging?.next ? page.paging.cursors?.after : undefined;
      if (older || after === undefined) return calls;
    }
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
