import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { watchSubscriber } from './subscribers.ts';

/** The fields every test of inbox events reads: the kind, the time, a message's mid and text. */
export const INBOX_EVENTS = `subscription ($a: ID!) {
  inboxEvents(accountId: $a) {
    type
    occurredAt
    ... on MessageReceivedEvent { message { mid text createdTime } }
  }
}`;

/** One event as `INBOX_EVENTS` selects it. */
export interface InboxEventResult {
  readonly type: string;
  readonly occurredAt: string;
  readonly message?: {
    readonly mid: string;
    readonly text: string | null;
    readonly createdTime: string;
  };
}

export interface InboxSubscriber<E = InboxEventResult> {
  /** Every event received, in order. */
  readonly events: E[];
  /** Every result that carried errors, and every error that ended the subscription. */
  readonly errors: unknown[];
  /** Resolves once an event matching `predicate` arrived (or already had). */
  until(predicate: (event: E) => boolean, timeoutMs?: number): Promise<void>;
  /**
   * Resolves with the first `count` events once they arrived, or with what arrived as soon as an
   * error did; rejects after 5 s.
   */
  next(count: number): Promise<E[]>;
  dispose(): Promise<void>;
}

/**
 * Subscribes to `inboxEvents` of `accountId` (its `$a`) over graphql-ws with a session JWT, with
 * `INBOX_EVENTS` or `o.query` and its other `o.variables`; resolves once igql established the
 * subscriber, so that an event raised from then on reaches it.
 */
export async function subscribeInbox<E = InboxEventResult>(
  url: string,
  token: string,
  accountId: string,
  o: { readonly query?: string; readonly variables?: Record<string, unknown> } = {},
): Promise<InboxSubscriber<E>> {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const events: E[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  const watch = watchSubscriber();
  client.subscribe<{ inboxEvents: E }>(
    { query: o.query ?? INBOX_EVENTS, variables: { ...o.variables, a: accountId } },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        if (value.data) events.push(value.data.inboxEvents);
        for (const wake of waiters) wake();
      },
      error: (error) => {
        errors.push(error);
        watch.cancel();
        for (const wake of waiters) wake();
      },
      complete: () => watch.cancel(),
    },
  );
  await watch.established;
  /** Resolves with `done()`'s answer once it has one; rejects with `late()` after `timeoutMs`. */
  const waitFor = <T>(done: () => T | undefined, late: () => string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(late()));
      }, timeoutMs);
      function check() {
        const answer = done();
        if (answer === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(answer);
      }
      waiters.add(check);
      check();
    });
  return {
    events,
    errors,
    until: (predicate, timeoutMs = 5000) =>
      waitFor(
        () => (events.some(predicate) ? null : undefined),
        () => `no matching event within ${timeoutMs} ms: ${JSON.stringify(events)}`,
        timeoutMs,
      ).then(() => {}),
    next: (count) =>
      waitFor(
        () => (events.length >= count || errors.length > 0 ? events.slice(0, count) : undefined),
        () => `only ${events.length} events: ${JSON.stringify({ events, errors })}`,
        5000,
      ),
    dispose: () => client.dispose() as Promise<void>,
  };
}

/**
 * Message `n` of a customer (`igsid`) to an account (`igId`), as the pipeline stores it: mid
 * `mid.<n>`, sent `at` (default 1,700,000,000,000 + n ms), text `text <n>` unless given.
 */
export function messageReceived(
  n: number,
  o: { igId?: string; igsid?: string; at?: number; text?: string } = {},
): InboxEventData {
  const igId = o.igId ?? '17841400000000001';
  const igsid = o.igsid ?? '5614879045272581';
  const at = o.at ?? 1_700_000_000_000 + n;
  return {
    kind: 'MESSAGE_RECEIVED',
    igId,
    igsid,
    occurredAt: at,
    identity: `${igId}|MESSAGE_RECEIVED|mid.${n}||`,
    standby: false,
    message: {
      mid: `mid.${n}`,
      createdTime: at,
      detailAvailable: true,
      from: { igsid, username: null },
      to: [{ igsid: igId, username: null }],
      text: o.text ?? `text ${n}`,
      attachments: [],
      reactions: [],
      replyTo: null,
      isUnsupported: false,
    },
    quickReplyPayload: null,
    referral: null,
    isSelf: false,
  };
}
