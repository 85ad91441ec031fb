import { channel } from 'node:diagnostics_channel';
import { type DocumentNode, getOperationAST, Kind, type ValueNode } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import { mayUse } from '../auth/access.ts';
import type { Session } from '../auth/jwt.ts';
import { decodeId } from '../global-id.ts';
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
 * Where a member's results go, whatever its transport: a graphql-ws operation's `next` frames
 * (`operationSink`), or an SSE stream's results (`StreamSink`, `shared-sse.ts`).
 */
export interface MemberSink {
  /** A result, as the group serialised it once (`payload`) and as it was (`result`). */
  deliver(payload: string, result: unknown): void;
  /** Ends it from the group's side: complete, or with `error`. */
  end(error?: unknown): void;
}

/**
 * A graphql-ws operation (`Operation` of `ws-server.ts`) as a sink: each result a `next` frame
 * of its id (the group's payload, wrapped), the end `complete` or `error`.
 */
export function operationSink(operation: {
  readonly id: string;
  readonly socket: { sendFrame(text: string): void };
  end(error?: unknown): void;
}): MemberSink {
  const head = `{"id":${JSON.stringify(operation.id)},"type":"next","payload":`;
  return {
    deliver: (payload) => operation.socket.sendFrame(`${head}${payload}}`),
    end: (error) => operation.end(error),
  };
}

/**
 * One subscriber of a group, on any transport: the group sends it its results (`deliver`) and
 * ends it (`end`: complete, or error); its client's `complete`, its socket's close or its
 * stream's end cancel it (`cancel`), which leaves the group and sends nothing.
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
  readonly #sink: MemberSink;
  #group: { leave(member: GroupMember): void } | null = null;
  #ended = false;

  constructor(sink: MemberSink, session: Session, resumeFrom: string | null = null) {
    this.#sink = sink;
    this.resumeFrom = resumeFrom;
    this.session = session;
    this.sessionKey =
      session.sid === null ? session : `${session.sid} ${session.expiresAt.getTime()}`;
  }

  /** Ended or cancelled: it takes nothing more. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Sends a result the group serialised once. */
  deliver(payload: string, result: unknown): void {
    this.#sink.deliver(payload, result);
  }

  /** Ends it from the group's side: complete (no error), or with `error`. */
  end(error?: unknown): void {
    if (this.#leave()) this.#sink.end(error);
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
/**
 * What every group of an instance keeps at most in all (`HistoryBudget`): past it, the oldest
 * results of any group go first. Ten thousand subscribers each in a group of their own (one
 * conversation each) keep 16 MiB, not 64 KiB each.
 */
export const RESUME_HISTORY_TOTAL_BYTES = 16 * 1024 * 1024;

/** One kept result of a group. */
interface Kept<R> {
  readonly cursor: string;
  readonly payload: string;
  readonly result: R;
  /** Dropped from its group (its bytes no longer counted). */
  dropped: boolean;
}

/** A result `HistoryBudget` counts, and how its group drops it. */
interface Counted {
  readonly kept: Kept<unknown>;
  readonly drop: () => void;
}

/**
 * The bytes the groups of one instance keep for resuming subscribers, oldest first across
 * groups: each result counts from when its group keeps it until it drops it (its own bounds,
 * its close) or the budget takes it back (the oldest of all, once past `maxBytes`).
 */
export class HistoryBudget {
  readonly #maxBytes: number;
  #bytes = 0;
  readonly #order: Counted[] = [];
  #head = 0;

  constructor(maxBytes = RESUME_HISTORY_TOTAL_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes counted now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Counts `kept`; `drop` removes it from its group (the oldest of that group). */
  add(kept: Kept<unknown>, drop: () => void): void {
    this.#bytes += kept.payload.length;
    this.#order.push({ kept, drop });
    while (this.#bytes > this.#maxBytes && this.#head < this.#order.length) {
      const oldest = this.#order[this.#head++] as Counted;
      if (!oldest.kept.dropped) oldest.drop();
    }
    // Compact now and then: the queue holds what is counted, and a little more.
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** `kept` left its group: no longer counted. */
  release(kept: Kept<unknown>): void {
    if (kept.dropped) return;
    kept.dropped = true;
    this.#bytes -= kept.payload.length;
  }
}

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
  readonly #history: Kept<R>[] = [];
  #historyBytes = 0;
  readonly #budget: HistoryBudget;

  constructor(
    igId: string,
    live: LiveEvents,
    options: GroupOptions<R>,
    budget: HistoryBudget,
    start: (execution: SharedExecution) => Promise<GroupSource<R>>,
    forget: () => void,
  ) {
    this.#igId = igId;
    this.#live = live;
    this.#options = options;
    this.#budget = budget;
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
    for (const { payload, result } of this.#history.slice(at + 1)) member.deliver(payload, result);
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

  #remember(cursor: string, payload: string, result: R): void {
    const kept: Kept<R> = { cursor, payload, result, dropped: false };
    this.#history.push(kept);
    this.#historyBytes += payload.length;
    while (
      this.#history.length > RESUME_HISTORY ||
      (this.#history.length > 1 && this.#historyBytes > RESUME_HISTORY_BYTES)
    ) {
      this.#dropOldest();
    }
    this.#budget.add(kept, () => this.#dropOldest());
  }

  #dropOldest(): void {
    const oldest = this.#history.shift();
    if (!oldest) return;
    this.#historyBytes -= oldest.payload.length;
    this.#budget.release(oldest);
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
    if (cursor !== null) this.#remember(cursor, payload, result);
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
      member.deliver(payload, result);
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#history.length > 0) this.#dropOldest();
    this.#forget();
    void this.#iterator?.return?.();
  }
}

/** The subscription groups of one graphql-ws server, by key. */
export class SubscriptionGroups<R> {
  readonly #groups = new Map<string, Group<R>>();
  readonly #options: GroupOptions<R>;
  /** What all its groups keep for resuming subscribers. */
  readonly history: HistoryBudget;

  constructor(options: GroupOptions<R>, history = new HistoryBudget()) {
    this.#options = options;
    this.history = history;
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
      const created: Group<R> = new Group(
        igId,
        create.live,
        this.#options,
        this.history,
        create.start,
        () => {
          if (this.#groups.get(key) === created) this.#groups.delete(key);
        },
      );
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

  /** The error a member whose session ended is ended with (`GroupOptions.sessionEnded`). */
  sessionEnded(): unknown {
    return this.#options.sessionEnded();
  }

  /** Groups running now. */
  get size(): number {
    return this.#groups.size;
  }
}

/** The subscription fields whose subscribers can share one execution per event. */
const SHAREABLE_FIELDS = new Set(['messageReceived', 'inboxEvents']);

/** How a subscription can share a group's execution: `shareable`. */
export interface Shareable {
  /** The account (IG_ID) of the group. */
  readonly igId: string;
  /** Its `after`, when it resumes: it joins a group only from that group's recent results. */
  readonly resumeFrom: string | null;
  /** The variable that gives `after`: left out of the group's key. */
  readonly afterVariable: string | null;
}

/**
 * Whether a subscription can share its group's execution: a `messageReceived` or `inboxEvents`
 * of an account the session may use, live from now on, or resuming with `after` given by a
 * variable (`RESUME_HISTORY`). Null when it runs alone: another operation, another field, a
 * fragment at the root, an `after` written in the document, or an account the session lacks
 * (refused as before).
 */
export function shareable(
  document: DocumentNode,
  params: { readonly operationName?: string | null; readonly variables?: unknown },
  session: Session,
): Shareable | null {
  const operation = getOperationAST(document, params.operationName);
  if (operation?.operation !== 'subscription') return null;
  const [field, ...others] = operation.selectionSet.selections;
  if (field?.kind !== Kind.FIELD || others.length > 0 || !SHAREABLE_FIELDS.has(field.name.value))
    return null;
  const variables = (params.variables ?? {}) as Record<string, unknown>;
  /** An argument's value: a string, null when absent or null, undefined when anything else. */
  const argument = (name: string): string | null | undefined => {
    let value: ValueNode | undefined = field.arguments?.find((a) => a.name.value === name)?.value;
    if (value?.kind === Kind.VARIABLE) {
      const variable = value.name.value;
      if (variable in variables) {
        const given = variables[variable];
        return given == null ? null : typeof given === 'string' ? given : undefined;
      }
      value = operation.variableDefinitions?.find(
        (d) => d.variable.name.value === variable,
      )?.defaultValue;
    }
    if (value === undefined || value.kind === Kind.NULL) return null;
    return value.kind === Kind.STRING ? value.value : undefined;
  };
  const after = argument('after');
  const afterNode = field.arguments?.find((a) => a.name.value === 'after')?.value;
  const afterVariable = afterNode?.kind === Kind.VARIABLE ? afterNode.name.value : null;
  if (after === undefined || (after !== null && afterVariable === null)) return null;
  const accountId = argument('accountId');
  const decoded = typeof accountId === 'string' ? decodeId(accountId) : null;
  if (decoded?.typename !== 'Account' || !mayUse(session, decoded.igId)) return null;
  return { igId: decoded.igId, resumeFrom: after, afterVariable };
}

/**
 * What a shared subscription's result depends on besides the event: the document, the
 * operation, the variables (but the one giving `after`: where a subscriber starts, not what it
 * is sent) and the session's accounts (what its reads may see).
 */
export function groupKey(
  params: {
    readonly query?: unknown;
    readonly operationName?: string | null;
    readonly variables?: unknown;
  },
  session: Session,
  afterVariable: string | null,
): string {
  let variables = (params.variables ?? null) as Record<string, unknown> | null;
  if (variables && afterVariable !== null && afterVariable in variables) {
    const { [afterVariable]: _, ...others } = variables;
    variables = others;
  }
  return JSON.stringify([
    params.query,
    params.operationName ?? null,
    variables,
    [...session.accounts].sort(),
  ]);
}
