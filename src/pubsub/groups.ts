import { channel } from 'node:diagnostics_channel';
import { isAsyncIterable } from 'graphql-yoga';
import type { Session } from '../auth/jwt.ts';
import { announceSubscribed, type LiveEvents, type SharedStream } from './live.ts';

/**
 * Subscription groups: the graphql-ws subscribers of one instance that would compute the same
 * result for every event (the same document, operation, variables and session accounts, live
 * from now on) share one execution of it. A group subscribes once to the account's live tail,
 * executes each event once, serialises the result once, and sends the same bytes to each
 * member in a `next` frame of its own id. Each member's session is checked before anything is
 * sent to it, once per distinct session and event, however many members share it.
 */

/**
 * The `node:diagnostics_channel` on which every execution of a subscription's selection for an
 * event is reported (`Executed`), shared or not: a seam for tests and the benchmark; nothing is
 * published while nobody listens.
 */
export const EXECUTED_CHANNEL = 'igql:live:executed';

/** The message on `EXECUTED_CHANNEL`. */
export interface Executed {
  readonly igId: string;
  readonly cursor: string;
  /** Executed once for a group (true), or for one subscriber alone (false). */
  readonly shared: boolean;
}

const executedChannel = channel(EXECUTED_CHANNEL);

/** Reports an execution on `EXECUTED_CHANNEL`, when anyone listens. */
export function reportExecuted(message: Executed): void {
  if (executedChannel.hasSubscribers) executedChannel.publish(message);
}

/**
 * What a group's subscription resolver is told through its context (`sharedExecution`): its
 * stream serves the group, and which event each result is for. A shared execution checks no
 * session itself: the group checks each member's.
 */
export interface SharedExecution extends SharedStream {
  /** The event whose result comes next. */
  executing(cursor: string): void;
}

const sharedContexts = new WeakMap<object, SharedExecution>();

/** The group a context executes for, if it is a group's. */
export const sharedExecution = (context: object): SharedExecution | undefined =>
  sharedContexts.get(context);

/** Marks a context as a group's (see `sharedExecution`). */
export function markShared(context: object, execution: SharedExecution): void {
  sharedContexts.set(context, execution);
}

/**
 * What a member is on its socket: a graphql-ws operation (`Operation` of `ws-server.ts`), which
 * sends its frames and ends with `complete` or `error`.
 */
export interface MemberOperation {
  readonly id: string;
  readonly socket: { sendFrame(text: string): void };
  end(error?: unknown): void;
}

/**
 * One graphql-ws subscriber of a group: its operation on its socket. The group sends it its
 * `next` frames (`deliver`) and ends it (`end`: `complete`, or `error`); its client's `complete`
 * and its socket's close cancel it (`cancel`), which leaves the group and sends nothing.
 */
export class GroupMember {
  readonly session: Session;
  /** Whose members' validity is the same: one check per key and event. */
  readonly sessionKey: unknown;
  /**
   * The last event dispatched before it joined: it takes only later ones. Null once it took
   * one (every later result is for a later event).
   */
  after: string | null = null;
  /**
   * The cursor a resuming subscriber gave (`after`): it takes the group's results after that
   * one, from the group's recent results (`RESUME_HISTORY`). Null for a subscriber live from now.
   */
  readonly resumeFrom: string | null;
  /** The start of its `next` frames: `{"id":<id>,"type":"next","payload":`. */
  readonly #head: string;
  readonly #operation: MemberOperation;
  #group: { leave(member: GroupMember): void } | null = null;
  #ended = false;

  constructor(operation: MemberOperation, session: Session, resumeFrom: string | null = null) {
    this.#operation = operation;
    this.resumeFrom = resumeFrom;
    this.#head = `{"id":${JSON.stringify(operation.id)},"type":"next","payload":`;
    this.session = session;
    this.sessionKey =
      session.sid === null ? session : `${session.sid} ${session.expiresAt.getTime()}`;
  }

  /** Ended or cancelled: it takes nothing more. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Sends a result the group serialised (nothing once its socket is closing). */
  deliver(payload: string): void {
    this.#operation.socket.sendFrame(`${this.#head}${payload}}`);
  }

  /** Ends it from the group's side: `complete` (no error), or `error` with `error`'s message. */
  end(error?: unknown): void {
    if (this.#leave()) this.#operation.end(error);
  }

  /** Ends it from its client's side: nothing is sent. */
  cancel(): void {
    this.#leave();
  }

  joined(group: { leave(member: GroupMember): void }): void {
    if (!this.#ended) this.#group = group;
  }

  /** Leaves its group; false when it had ended already. */
  #leave(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    const group = this.#group;
    this.#group = null;
    group?.leave(this);
    return true;
  }
}

/**
 * How many of its latest results a group keeps (at most `RESUME_HISTORY_BYTES` of them, and
 * always the last), so that a subscriber that resumes after one of them (a reconnection, a
 * subscriber closed as too slow) shares the group at once instead of running alone.
 */
export const RESUME_HISTORY = 64;
export const RESUME_HISTORY_BYTES = 64 * 1024;

/** What starts a group: its subscription's results, or the one result saying why not. */
export type GroupSource<R> = AsyncIterable<R> | R;

/** How a group's members are checked and its results serialised. */
export interface GroupOptions<R> {
  /** The session is neither expired nor revoked (may reject: Redis away). */
  readonly stillValid: (session: Session) => Promise<boolean>;
  /** A result as the `payload` of a graphql-ws `next` frame. */
  readonly serialise: (result: R) => string;
  /** The error a member whose session ended is ended with. */
  readonly sessionEnded: () => unknown;
}

type Started<R> = { readonly failure: R } | null;

/** One shared execution and its members. */
class Group<R = unknown> {
  readonly members = new Set<GroupMember>();
  readonly started: Promise<Started<R>>;
  readonly #igId: string;
  readonly #live: LiveEvents;
  readonly #options: GroupOptions<R>;
  readonly #forget: () => void;
  #established = false;
  #closed = false;
  /** The event whose result comes next. */
  #current: string | null = null;
  #iterator: AsyncIterator<R> | null = null;
  /** Its latest results, oldest first, for resuming subscribers (`RESUME_HISTORY`). */
  readonly #history: { readonly cursor: string; readonly payload: string }[] = [];
  #historyBytes = 0;

  constructor(
    igId: string,
    live: LiveEvents,
    options: GroupOptions<R>,
    start: (execution: SharedExecution) => Promise<GroupSource<R>>,
    forget: () => void,
  ) {
    this.#igId = igId;
    this.#live = live;
    this.#options = options;
    this.#forget = forget;
    this.started = this.#start(start);
    // Awaited by each joining member; nobody may be left to when it fails.
    this.started.catch(() => {});
  }

  add(member: GroupMember): void {
    if (member.ended) return;
    member.after = this.#live.position(this.#igId);
    this.#admit(member);
  }

  /**
   * Adds a resuming member when its cursor is one of the group's recent results: it is sent the
   * results after that one at once, then every later one. False (nothing sent) otherwise: it is
   * to run on its own, from the log.
   */
  resume(member: GroupMember): boolean {
    const from = member.resumeFrom;
    const at = this.#history.findIndex((entry) => entry.cursor === from);
    if (at < 0 || member.ended) return false;
    for (const { payload } of this.#history.slice(at + 1)) member.deliver(payload);
    // Not the live position: an event dispatched but not yet executed comes after this one.
    member.after = (this.#history.at(-1) as { cursor: string }).cursor;
    this.#admit(member);
    return true;
  }

  #admit(member: GroupMember): void {
    this.members.add(member);
    member.joined(this);
    if (this.#established) announceSubscribed(this.#igId);
  }

  #remember(cursor: string, payload: string): void {
    this.#history.push({ cursor, payload });
    this.#historyBytes += payload.length;
    while (
      this.#history.length > RESUME_HISTORY ||
      (this.#history.length > 1 && this.#historyBytes > RESUME_HISTORY_BYTES)
    ) {
      this.#historyBytes -= (this.#history.shift() as { payload: string }).payload.length;
    }
  }

  leave(member: GroupMember): void {
    this.members.delete(member);
    if (this.members.size === 0) this.#close();
  }

  async #start(
    start: (execution: SharedExecution) => Promise<GroupSource<R>>,
  ): Promise<Started<R>> {
    let source: GroupSource<R>;
    try {
      source = await start({
        onEstablished: () => {
          this.#established = true;
          for (const _ of this.members) announceSubscribed(this.#igId);
        },
        subscribers: () => this.members.size,
        executing: (cursor) => {
          this.#current = cursor;
        },
      });
    } catch (error) {
      this.#close();
      throw error;
    }
    if (!isAsyncIterable(source)) {
      this.#close();
      return { failure: source };
    }
    this.#iterator = source[Symbol.asyncIterator]();
    if (this.#closed) void this.#iterator.return?.();
    else void this.#run(this.#iterator);
    return null;
  }

  async #run(iterator: AsyncIterator<R>): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || this.#closed) break;
        await this.#fanOut(next.value);
      }
    } catch (error) {
      failure = { error };
    }
    this.#close();
    for (const member of this.members) member.end(failure?.error);
  }

  /** Sends one result to every member whose session is valid and that it is for. */
  async #fanOut(result: R): Promise<void> {
    const cursor = this.#current;
    const payload = this.#options.serialise(result);
    // Before the checks: a subscriber resuming meanwhile takes it from here.
    if (cursor !== null) this.#remember(cursor, payload);
    const checks = new Map<unknown, Promise<boolean | { error: unknown }>>();
    for (const member of this.members) {
      if (checks.has(member.sessionKey)) continue;
      checks.set(
        member.sessionKey,
        this.#options.stillValid(member.session).catch((error: unknown) => ({ error })),
      );
    }
    const valid = new Map<unknown, boolean | { error: unknown }>();
    for (const [key, check] of checks) valid.set(key, await check);
    const live = this.#live;
    for (const member of this.members) {
      const ok = valid.get(member.sessionKey);
      // Joined during the checks: the event was dispatched before it came.
      if (ok === undefined) continue;
      if (ok !== true) {
        member.end(ok === false ? this.#options.sessionEnded() : ok.error);
        continue;
      }
      if (member.after !== null) {
        if (cursor === null || !live.isAfter(cursor, member.after)) continue;
        member.after = null;
      }
      member.deliver(payload);
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forget();
    void this.#iterator?.return?.();
  }
}

/** The subscription groups of one graphql-ws server, by key. */
export class SubscriptionGroups<R> {
  readonly #groups = new Map<string, Group<R>>();
  readonly #options: GroupOptions<R>;

  constructor(options: GroupOptions<R>) {
    this.#options = options;
  }

  /** True when a group of `key` runs (or starts), for a subscriber to join. */
  has(key: string): boolean {
    return this.#groups.has(key);
  }

  /**
   * Adds `member` to the group of `key` (the same document, operation, variables and session
   * accounts), starting it with `create` when there is none; null when there is none and no
   * `create`. Resolves with the member once the group runs, or with the result saying why it
   * could not start (each of its members is sent it); rejects when starting it threw.
   */
  join(
    key: string,
    igId: string,
    member: GroupMember,
    create?: {
      readonly live: LiveEvents;
      readonly start: (execution: SharedExecution) => Promise<GroupSource<R>>;
    },
  ): Promise<GroupMember | R> | null {
    let group = this.#groups.get(key);
    if (!group) {
      if (!create) return null;
      const created: Group<R> = new Group(igId, create.live, this.#options, create.start, () => {
        if (this.#groups.get(key) === created) this.#groups.delete(key);
      });
      group = created;
      this.#groups.set(key, group);
    }
    group.add(member);
    return this.#joined(group, member);
  }

  /**
   * Adds a resuming `member` (its `resumeFrom` set) to the running group of `key` when its cursor
   * is one of the group's recent results (it is sent those after it at once); null otherwise:
   * it runs on its own.
   */
  resume(key: string, member: GroupMember): Promise<GroupMember | R> | null {
    const group = this.#groups.get(key);
    if (!group?.resume(member)) return null;
    return this.#joined(group, member);
  }

  async #joined(group: Group<R>, member: GroupMember): Promise<GroupMember | R> {
    try {
      const started = await group.started;
      if (started) {
        member.cancel();
        return started.failure;
      }
    } catch (error) {
      member.cancel();
      throw error;
    }
    return member;
  }

  /** Groups running now. */
  get size(): number {
    return this.#groups.size;
  }
}
