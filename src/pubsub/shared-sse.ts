import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Session } from '../auth/jwt.ts';
import { deadlines } from '../timers.ts';
import {
  GroupMember,
  type GroupSource,
  groupKey,
  type MemberSink,
  markShared,
  type SubscriptionGroups,
  shareable,
  sharedExecution,
} from './groups.ts';
import type { LiveEvents } from './live.ts';

/**
 * SSE subscribers in the subscription groups, beside graphql-ws's (`websocket.ts`): one that
 * shares a group's document and scope (`shareable`) is a member of it, so that one execution per
 * event serves both transports, and Yoga writes the group's serialised result as it is (the
 * result's `stringify`). Over graphql-ws, operations join groups in `websocket.ts`, whose
 * contexts carry no `request`: they pass through here untouched.
 */
export function useSharedStreams(groups: SubscriptionGroups<ExecutionResult>): Plugin {
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const context = args.contextValue as unknown as StreamContext;
      const text = args.document.loc?.source.body;
      if (!context.request || sharedExecution(context) || !context.session || !text) return;
      const session = context.session;
      const params = { operationName: args.operationName, variables: args.variableValues };
      const shared = shareable(args.document, params, session);
      if (!shared) return;
      setSubscribeFn(async (run) => {
        const key = groupKey({ query: text, ...params }, session, shared.afterVariable);
        const stream = new StreamSink();
        const member = new GroupMember(stream, session, shared.resumeFrom);
        stream.cancel = () => member.cancel();
        const joined =
          shared.resumeFrom === null
            ? groups.join(key, shared.igId, member, {
                live: context.live,
                start: (execution) => {
                  // This subscriber's context runs the group's execution: it is a member too.
                  markShared(run.contextValue as object, execution);
                  return subscribeFn(run) as Promise<GroupSource<ExecutionResult>>;
                },
              })
            : groups.resume(key, member);
        // Not among its group's recent results: it replays from the log on its own.
        if (!joined) return subscribeFn(run);
        const outcome = await joined;
        if (outcome !== member) return outcome;
        // A member now: a stream has no other way to learn that its session expired with no
        // event coming (a websocket is closed by its session's watch). One timer for all
        // (`deadlines`), set only for a member, cancelled when its stream ends.
        if (!stream.ended) {
          stream.stopExpiry = deadlines.at(session.expiresAt.getTime(), () =>
            member.end(groups.sessionEnded()),
          );
        }
        return stream;
      });
    },
  };
}

/** What this plugin reads of a request's context (the schema's `Context`, over HTTP). */
interface StreamContext {
  /** Yoga's request: present over HTTP and SSE, absent in a graphql-ws operation's context. */
  readonly request?: unknown;
  readonly session: Session | null;
  readonly live: LiveEvents;
}

/** An SSE member's results, as the async iterator Yoga streams from. */
class StreamSink implements MemberSink, AsyncIterableIterator<unknown> {
  /** Leaves the group: set once the member exists. */
  cancel: () => void = () => {};
  /** Cancels its session's expiry. */
  stopExpiry: () => void = () => {};
  readonly #queue: unknown[] = [];
  #ended: { readonly error?: unknown } | null = null;
  #wake: (() => void) | null = null;

  /** Ended by the group, or returned by its reader. */
  get ended(): boolean {
    return this.#ended !== null;
  }

  deliver(payload: string, result: unknown): void {
    if (this.#ended) return;
    this.#queue.push(serialisedAs(result, payload));
    this.#notify();
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.stopExpiry();
    this.#ended = error === undefined ? {} : { error };
    this.#notify();
  }

  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.#queue.length > 0) return { value: this.#queue.shift(), done: false };
      const ended = this.#ended;
      if (ended) {
        if ('error' in ended) {
          this.#ended = {};
          throw ended.error;
        }
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.#queue.length = 0;
    this.#ended ??= {};
    this.stopExpiry();
    this.cancel();
    this.#notify();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = null;
  }
}

/**
 * The group's result with its serialisation attached (`stringify`, which Yoga's SSE writer and
 * the SSE send buffer call instead of `JSON.stringify`): the same bytes for every SSE member. A
 * result with errors is left to Yoga, which removes its internals from them.
 */
function serialisedAs(result: unknown, payload: string): unknown {
  if (typeof result !== 'object' || result === null) return result;
  if ((result as { errors?: unknown }).errors !== undefined) return result;
  if (!Object.hasOwn(result, 'stringify')) {
    Object.defineProperty(result, 'stringify', { value: () => payload });
  }
  return result;
}
