import { createHmac } from 'node:crypto';
import type { Clock, Store } from './store.ts';
import type { WebhookSink } from './webhook-sink.ts';

export interface WebhookDispatcherOptions {
  /** Read for subscriptions: an event goes out only if its account's `subscribedFields` has its field. */
  readonly store: Store;
  /** Signs every body: the Instagram app secret (instagram-api.md §9). */
  readonly appSecret: string;
  /**
   * Signs the bodies of accounts of Facebook Login (linked to a Page), which go out apart from
   * Instagram Login's: the Facebook app secret. Default `appSecret`.
   */
  readonly facebookAppSecret?: string;
  /**
   * The app's callback URL, read at every attempt. `undefined` (no URL configured) fails the
   * attempt, which is then retried like any other failure.
   */
  readonly callbackUrl: () => string | undefined;
  /** Gives `entry[].time` and the `at` of the log. Default: `store.clock`. */
  readonly clock?: Clock;
  /**
   * How long the first queued event waits for others to join its delivery. Default 0: the events
   * raised in the same tick go out together.
   */
  readonly batchWindowMs?: number;
  /**
   * Waits before each retry, in real time: after the first failed attempt the delivery is sent
   * again after `retryScheduleMs[0]` ms, after the second failure after `[1]`, and so on; a
   * failure past the end drops it. Meta retries "immediately, then … a few more times with
   * decreasing frequency over the next 36 hours" (instagram-api.md §4); its exact schedule is
   * unknown. Default `[0, 1_000, 5_000, 30_000, 120_000, 600_000]`; tests compress it.
   */
  readonly retryScheduleMs?: readonly number[];
  /** A response must arrive within this many ms. Default 20 000 (Messenger FAQ: "A webhook call will timeout after 20 seconds"). */
  readonly timeoutMs?: number;
  /** Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

/** One `entry[]` item of a messaging delivery: always exactly one event in `messaging`. */
export interface MessagingEntry {
  readonly time: number;
  readonly id: string;
  readonly messaging: readonly Record<string, unknown>[];
}

/** One `entry[]` item of a changes delivery (`comments`, `mentions`). */
export interface ChangesEntry {
  readonly id: string;
  readonly time: number;
  readonly changes: readonly { readonly value: Record<string, unknown>; readonly field: string }[];
}

/** One `entry[]` item of the thread of another app (conversation routing): `standby[]`. */
export interface StandbyEntry {
  readonly time: number;
  readonly id: string;
  readonly standby: readonly Record<string, unknown>[];
}

/** A delivery as the callback receives it: messaging and changes entries are never mixed. */
export interface WebhookBody {
  readonly object: 'instagram';
  readonly entry: readonly (MessagingEntry | ChangesEntry | StandbyEntry)[];
}

export interface DeliveryAttempt {
  /** The exact bytes sent (ASCII only); every attempt of one delivery sends the same. */
  readonly body: string;
  readonly parsed: WebhookBody;
  /** The HTTP status, `'error'` (no URL, refused connection, …) or `'timeout'`. */
  readonly status: number | 'error' | 'timeout';
  /** 1 for the first send, 2 for the first retry, … */
  readonly attempt: number;
  /** Clock time when the attempt started. */
  readonly at: number;
}

export interface DroppedDelivery {
  readonly body: string;
  readonly parsed: WebhookBody;
  /** `withheld` by `withhold()`, or `exhausted`: the last retry failed too. */
  readonly reason: 'withheld' | 'exhausted';
  readonly at: number;
}

type Predicate = (body: WebhookBody) => boolean;

interface QueuedEvent {
  readonly kind: 'messaging' | 'changes';
  /** The account is of Facebook Login: its deliveries are signed with the Facebook app secret. */
  readonly facebook?: boolean;
  readonly igId: string;
  readonly field: string;
  readonly item: Record<string, unknown>;
  /** Sent in `entry[].standby[]`: another app owns the thread (conversation routing). */
  readonly standby?: boolean;
}

interface Delivery {
  readonly body: string;
  /** The secret that signs it. */
  readonly secret: string;
  readonly entries: number;
  attempts: number;
}

/**
 * Meta's JSON: compact, forward slashes escaped (`https:\/\/lookaside.fbsbx.com\/…` in captured
 * deliveries) and everything outside ASCII as `\uXXXX`, surrogate pairs as two escapes (the
 * escaped-unicode form the Messenger doc says is signed; lower-case hex as PHP's json_encode).
 */
export function toMetaJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('/', '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The two signature headers Meta sends, over the exact body bytes. */
export function signatureHeaders(body: string, appSecret: string): Record<string, string> {
  const hex = (algorithm: string) => createHmac(algorithm, appSecret).update(body).digest('hex');
  return {
    'X-Hub-Signature-256': `sha256=${hex('sha256')}`,
    'X-Hub-Signature': `sha1=${hex('sha1')}`,
  };
}

/**
 * Delivers the simulator's webhook events to the app's callback URL as Meta does
 * (instagram-api.md §4): batched into `entry[]`, signed, retried on failure, then dropped.
 * Tests steer it with `withhold`, `duplicate`, `hold`/`release` and await it with `idle()`.
 */
export class WebhookDispatcher implements WebhookSink {
  /** Every attempt, in the order they finished. */
  readonly deliveries: DeliveryAttempt[] = [];
  /** Deliveries that will never arrive: withheld, or out of retries. */
  readonly dropped: DroppedDelivery[] = [];

  private readonly store: Store;
  private readonly appSecret: string;
  private readonly facebookAppSecret: string;
  private readonly callbackUrl: () => string | undefined;
  private readonly clock: Clock;
  private readonly batchWindowMs: number;
  private readonly retryScheduleMs: readonly number[];
  private readonly timeoutMs: number;
  private readonly fetch: typeof globalThis.fetch;

  /**
   * Whether a messaging item goes out as `standby` (another app owns its thread): set by the
   * simulator's conversation routing (`routing.ts`). Default: never.
   */
  standbyOf: ((igId: string, field: string, item: Record<string, unknown>) => boolean) | undefined;

  private queue: QueuedEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private held = false;
  private closed = false;
  /** Deliveries in flight or waiting for a retry. */
  private readonly active = new Set<Delivery>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Map<AbortController, NodeJS.Timeout>();
  private controls: { kind: 'withhold' | 'duplicate'; matches: Predicate }[] = [];
  private waiters: (() => void)[] = [];

  constructor(options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.appSecret = options.appSecret;
    this.facebookAppSecret = options.facebookAppSecret ?? options.appSecret;
    this.callbackUrl = options.callbackUrl;
    this.clock = options.clock ?? options.store.clock;
    this.batchWindowMs = options.batchWindowMs ?? 0;
    this.retryScheduleMs = options.retryScheduleMs ?? [0, 1_000, 5_000, 30_000, 120_000, 600_000];
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  messaging(igId: string, field: string, event: Record<string, unknown>): void {
    this.enqueue({ kind: 'messaging', igId, field, item: event });
  }

  change(igId: string, field: string, value: Record<string, unknown>): void {
    this.enqueue({ kind: 'changes', igId, field, item: value });
  }

  /** The next delivery (matching `predicate`, if given) is never sent: a missed webhook. */
  withhold(predicate: Predicate = () => true): void {
    this.controls.push({ kind: 'withhold', matches: predicate });
  }

  /** The next delivery (matching `predicate`, if given) is sent twice, with the same bytes. */
  duplicate(predicate: Predicate = () => true): void {
    this.controls.push({ kind: 'duplicate', matches: predicate });
  }

  /** Queue new events without sending them until `release()`. Retries already due go on. */
  hold(): void {
    this.held = true;
    this.cancelFlush();
    this.settle();
  }

  /**
   * Sends everything held as one delivery (one per kind, messaging and changes never mix, and one
   * per configuration: each app signs its own).
   */
  release(): void {
    this.held = false;
    this.flush();
  }

  /**
   * Events not yet acknowledged: queued or held, in flight, or waiting for a retry (the entries
   * of a duplicated delivery count twice).
   */
  pending(): number {
    let entries = this.queue.length;
    for (const delivery of this.active) entries += delivery.entries;
    return entries;
  }

  /**
   * Resolves when nothing is queued, in flight or waiting for a retry. Events held by `hold()`
   * do not count: they wait for `release()`, which a test awaiting this could never reach.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.settle();
    });
  }

  /** Cancels every timer and request and forgets what is queued; later events are ignored. */
  close(): void {
    this.closed = true;
    this.cancelFlush();
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    for (const [controller, timer] of this.inFlight) {
      clearTimeout(timer);
      controller.abort();
    }
    this.inFlight.clear();
    this.queue = [];
    this.active.clear();
    this.settle();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private enqueue(event: QueuedEvent): void {
    if (this.closed) return;
    // Another app owns the thread: the item comes on `standby`, which must be subscribed
    // (instagram-api.md §11; whether its own field must be too is UNCONFIRMED: not required).
    const standby =
      event.kind === 'messaging' && this.standbyOf?.(event.igId, event.field, event.item) === true;
    // Facebook Login: the app's Instagram fields reach the account while its Page has the app
    // subscribed (to any Page field), and `mentions` is a field of its own (Webhooks for
    // Instagram). With Instagram Login, mentions are "included in the comments webhook
    // notification" (instagram-api.md §4): they come to a `comments` subscription.
    const page = this.store.pageOf(event.igId);
    const facebook = page !== undefined;
    const field = standby
      ? 'standby'
      : event.field === 'mentions' && !facebook
        ? 'comments'
        : event.field;
    // Meta sends nothing for a field the app did not subscribe to on that account.
    if (!this.store.accounts.get(event.igId)?.subscribedFields.has(field)) return;
    if (page !== undefined && page.subscribedFields.size === 0) return;
    this.queue.push({ ...event, item: structuredClone(event.item), standby, facebook });
    if (this.held || this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), this.batchWindowMs);
    this.flushTimer.unref();
  }

  private cancelFlush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private flush(): void {
    this.cancelFlush();
    const events = this.queue;
    this.queue = [];
    // One delivery per kind and configuration: each configuration's app signs its own.
    for (const facebook of [false, true]) {
      const own = events.filter((e) => (e.facebook ?? false) === facebook);
      const kinds = [...new Set(own.map((event) => event.kind))];
      const secret = facebook ? this.facebookAppSecret : this.appSecret;
      for (const kind of kinds)
        this.dispatch(
          build(
            own.filter((e) => e.kind === kind),
            this.clock.now(),
          ),
          secret,
        );
    }
    this.settle();
  }

  private dispatch(parsed: WebhookBody, secret: string): void {
    const body = toMetaJson(parsed);
    const control = (kind: 'withhold' | 'duplicate') => {
      const at = this.controls.findIndex((c) => c.kind === kind && c.matches(parse(body)));
      if (at === -1) return false;
      this.controls.splice(at, 1);
      return true;
    };
    if (control('withhold')) {
      this.dropped.push({ body, parsed: parse(body), reason: 'withheld', at: this.clock.now() });
      return;
    }
    const copies = control('duplicate') ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delivery: Delivery = { body, secret, entries: parsed.entry.length, attempts: 0 };
      this.active.add(delivery);
      void this.attempt(delivery);
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    delivery.attempts++;
    const at = this.clock.now();
    const status = await this.post(delivery.body, delivery.secret);
    if (this.closed) return;
    const { body, attempts: attempt } = delivery;
    this.deliveries.push({ body, parsed: parse(body), status, attempt, at });
    const wait = this.retryScheduleMs[attempt - 1];
    if (typeof status === 'number' && status >= 200 && status < 300) {
      this.active.delete(delivery);
    } else if (wait === undefined) {
      this.active.delete(delivery);
      this.dropped.push({ body, parsed: parse(body), reason: 'exhausted', at: this.clock.now() });
    } else {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        void this.attempt(delivery);
      }, wait);
      timer.unref();
      this.retryTimers.add(timer);
    }
    this.settle();
  }

  private async post(body: string, secret: string): Promise<DeliveryAttempt['status']> {
    const url = this.callbackUrl();
    if (url === undefined) return 'error';
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    timer.unref();
    this.inFlight.set(controller, timer);
    try {
      const response = await this.fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...signatureHeaders(body, secret) },
        body,
        signal: controller.signal,
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return timedOut ? 'timeout' : 'error';
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  private settle(): void {
    const idle =
      (this.held || this.queue.length === 0) && !this.flushTimer && this.active.size === 0;
    if (!idle) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Key order as in real bodies (instagram-api.md §4). */
function build(events: QueuedEvent[], now: number): WebhookBody {
  const first = events[0];
  if (first?.kind === 'changes') {
    // entry.time is SECONDS for changes but milliseconds for messaging: real payloads
    // (restfb wh-comments-2021.json: 1519399307; messaging-seen.json: 1668022334834).
    const time = Math.floor(now / 1000);
    return {
      entry: events.map((e) => ({
        id: e.igId,
        time,
        changes: [{ value: e.item, field: e.field }],
      })),
      object: 'instagram',
    };
  }
  // One event per entry: Messenger's `messaging` "will only contain one messaging object";
  // batching happens across `entry` items.
  return {
    object: 'instagram',
    entry: events.map((e) =>
      // Standby items: `entry[].standby[]` in place of `messaging` (instagram-api.md §4, §11).
      e.standby
        ? { time: now, id: e.igId, standby: [e.item] }
        : { time: now, id: e.igId, messaging: [e.item] },
    ),
  };
}

const parse = (body: string) => JSON.parse(body) as WebhookBody;
