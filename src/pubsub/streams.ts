import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { decodeJwt } from 'jose';
import type { WebSocket } from 'ws';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import type { Limits } from '../config.ts';
import type { ErrorCode } from '../errors.ts';
import { bearerToken, cookies } from '../http.ts';

/**
 * The bounds on live streams (websockets and SSE) besides the log's paging: streams per session
 * and per client address, subscriptions per graphql-ws connection, and each subscriber's send
 * buffer. Counts are this instance's (each instance bounds its own memory).
 */

/** graphql-ws close code of a websocket past `streamsPerSession` or `streamsPerAddress`. */
export const CLOSE_TOO_MANY_STREAMS = 4429;
/** graphql-ws close code of a subscriber whose unsent messages passed `subscriberBufferBytes`. */
export const CLOSE_TOO_SLOW = 4408;
/** `retryAfter` (seconds) of a stream refused for a limit: by then another may have closed. */
export const STREAMS_RETRY_AFTER_S = 5;

/**
 * The `node:diagnostics_channel` on which a subscriber closed for being too slow is reported
 * (`TooSlow`): a seam for tests and metrics; nothing is published while nobody listens.
 */
export const TOO_SLOW_CHANNEL = 'igql:live:too-slow';

/** The message on `TOO_SLOW_CHANNEL`. */
export interface TooSlow {
  readonly transport: 'websocket' | 'sse';
  /** Bytes waiting for the subscriber when it was closed: at most `limit`. */
  readonly queuedBytes: number;
  readonly limit: number;
}

const tooSlowChannel = channel(TOO_SLOW_CHANNEL);

function reportTooSlow(message: TooSlow): void {
  if (tooSlowChannel.hasSubscribers) tooSlowChannel.publish(message);
}

/** The error of an operation past `subscriptionsPerConnection` (its socket stays open). */
export const tooManySubscriptions = (limit: number): GraphQLError =>
  new GraphQLError(
    `At most ${limit} subscriptions per connection: complete one, or open another connection`,
    { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' satisfies ErrorCode, limit } },
  );

/** A stream refused for a limit: the GraphQL error of an SSE 429, the reason of a 4429 close. */
export class StreamRefused {
  readonly reason: string;
  readonly error: GraphQLError;
  constructor(per: 'session' | 'address', limit: number) {
    this.reason = `Too many streams for this ${per}`;
    this.error = new GraphQLError(
      `At most ${limit} websockets and SSE streams per ${per}: close one first`,
      {
        extensions: {
          code: 'TOO_MANY_STREAMS' satisfies ErrorCode,
          retryAfter: STREAMS_RETRY_AFTER_S,
        },
      },
    );
  }
}

/** The streams open under one key (`session <sessionKey>` or `address <ip>`). */
interface Count {
  readonly key: string;
  open: number;
}

/**
 * One counted stream: `release` uncounts it (once). It holds the counts it is under, shared with
 * the other streams of its session and address, and nothing else.
 */
export class CountedStream {
  #counts: readonly Count[] | null;
  readonly #of: StreamCounts;

  constructor(of: StreamCounts, counts: readonly Count[]) {
    this.#of = of;
    this.#counts = counts;
  }

  release(): void {
    const counts = this.#counts;
    this.#counts = null;
    if (counts) for (const count of counts) this.#of.uncount(count);
  }
}

/** Open websockets and SSE streams per session and per client address, on this instance. */
export class StreamCounts {
  readonly #limits: Pick<Limits, 'streamsPerSession' | 'streamsPerAddress'>;
  readonly #open = new Map<string, Count>();

  constructor(limits: Pick<Limits, 'streamsPerSession' | 'streamsPerAddress'>) {
    this.#limits = limits;
  }

  /**
   * Counts a new stream of the session (`sessionKey`; null when it has none) from the address:
   * the stream, to release once it ends, or `StreamRefused` when either is at its limit.
   */
  open(session: string | null, address: string): CountedStream | StreamRefused {
    const keys =
      session === null ? [`address ${address}`] : [`address ${address}`, `session ${session}`];
    if (session !== null && this.count(`session ${session}`) >= this.#limits.streamsPerSession)
      return new StreamRefused('session', this.#limits.streamsPerSession);
    if (this.count(`address ${address}`) >= this.#limits.streamsPerAddress)
      return new StreamRefused('address', this.#limits.streamsPerAddress);
    const counts = keys.map((key) => {
      let count = this.#open.get(key);
      if (!count) {
        count = { key, open: 0 };
        this.#open.set(key, count);
      }
      count.open++;
      return count;
    });
    return new CountedStream(this, counts);
  }

  /** Streams open under a key: `session <sessionKey>` or `address <ip>`. */
  count(key: string): number {
    return this.#open.get(key)?.open ?? 0;
  }

  /** One stream under `count` ended. */
  uncount(count: Count): void {
    if (--count.open > 0) return;
    if (this.#open.get(count.key) === count) this.#open.delete(count.key);
  }
}

const counts = new WeakMap<Limits, StreamCounts>();

/**
 * The stream counts of an app, one per `config.limits` object, so that its websockets
 * (`attachWebsockets`) and its SSE streams (`useStreamLimits`) count together.
 */
export function streamCounts(limits: Limits): StreamCounts {
  let found = counts.get(limits);
  if (!found) {
    found = new StreamCounts(limits);
    counts.set(limits, found);
  }
  return found;
}

/**
 * What a session token's streams are counted under: igql's session id (`sid`, shared by every
 * access token of one login), else the subject with a hash of the token (an identity
 * provider's). Null without a readable JWT. Read without verifying: a forged token is refused
 * when the stream starts, which releases what it counted.
 */
export function sessionKey(token: string | undefined): string | null {
  if (!token) return null;
  try {
    const claims = decodeJwt(token);
    if (typeof claims.sid === 'string') return `sid:${claims.sid}`;
    const hash = createHash('sha256').update(token).digest('base64url').slice(0, 22);
    return `sub:${claims.sub ?? ''}:${hash}`;
  } catch {
    return null;
  }
}

/** The session token of an HTTP or SSE request: `Authorization: Bearer`, else the cookie. */
export const requestToken = (req: IncomingMessage): string | undefined =>
  req.headers.authorization ? bearerToken(req.headers.authorization) : cookies(req)[SESSION_COOKIE];

/**
 * Whether `data` may be sent to a websocket whose send buffer is bounded by `limit`: yes unless
 * what is already buffered (`bufferedAmount`) and it would pass `limit`; the socket is then
 * closed with `CLOSE_TOO_SLOW` ("Subscriber too slow") after what it was sent, and the message
 * is to be dropped. A message is written without waiting for the client to read; a client
 * resumes with `after: <the last cursor it received>`. A message larger than `limit` still goes
 * when nothing waits before it. A client that reads nothing is dropped when the close handshake
 * times out (30 s, ws's).
 */
export function withinSendBuffer(socket: WebSocket, data: string, limit: number): boolean {
  const queued = socket.bufferedAmount;
  if (queued === 0 || queued + Buffer.byteLength(data) <= limit) return true;
  if (socket.readyState === socket.OPEN) {
    reportTooSlow({ transport: 'websocket', queuedBytes: queued, limit });
    socket.close(CLOSE_TOO_SLOW, 'Subscriber too slow');
  }
  return false;
}

/** A result as Yoga writes it: its own `stringify` when it has one (`shared-sse.ts`). */
const serialised = (value: unknown): string => {
  const own = (value as { stringify?: unknown } | null)?.stringify;
  return typeof own === 'function' ? String(own.call(value, value)) : JSON.stringify(value);
};

/**
 * An SSE subscription's results with a bounded send buffer: read from `source` as they come and
 * held while the client's socket is not writable; once more than `limit` bytes would wait, the
 * stream ends and the socket is destroyed (the client resumes with its last cursor). `release`
 * is called once, when it ends either way.
 */
function boundedStream<T>(
  source: AsyncIterable<T>,
  limit: number,
  req: IncomingMessage | undefined,
  release: () => void,
): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: { value: T; size: number }[] = [];
  let queued = 0;
  let finished = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const stop = async () => {
    if (finished) return;
    finished = true;
    notify();
    release();
    await iterator.return?.();
  };
  void (async () => {
    try {
      for (;;) {
        const result = await iterator.next();
        if (result.done || finished) break;
        const size = Buffer.byteLength(serialised(result.value));
        if (queued > 0 && queued + size > limit) {
          reportTooSlow({ transport: 'sse', queuedBytes: queued, limit });
          queue.length = 0;
          req?.socket.destroy();
          break;
        }
        queue.push({ value: result.value, size });
        queued += size;
        notify();
      }
    } catch (error) {
      failure = { error };
    }
    await stop();
  })();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      for (;;) {
        const item = queue.shift();
        if (item) {
          queued -= item.size;
          return { value: item.value, done: false };
        }
        if (failure) throw failure.error;
        if (finished) return { value: undefined, done: true };
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return() {
      queue.length = 0;
      await stop();
      return { value: undefined, done: true };
    },
  };
}

/**
 * SSE streams (`Accept: text/event-stream` on `/graphql`) under the stream limits: one past
 * `streamsPerSession` or `streamsPerAddress` (counted with the app's websockets) answers 429
 * with `Retry-After` and TOO_MANY_STREAMS; an open one's send buffer is bounded by
 * `subscriberBufferBytes`.
 */
export function useStreamLimits(
  limits: Limits,
): Plugin<Record<string, unknown>, { req?: IncomingMessage }> {
  const streams = streamCounts(limits);
  const held = new WeakMap<Request, CountedStream>();
  return {
    onRequest({ request, serverContext, url, endResponse }) {
      if (url.pathname !== '/graphql') return;
      if (!request.headers.get('accept')?.includes('text/event-stream')) return;
      const req = serverContext.req;
      const opened = streams.open(
        req ? sessionKey(requestToken(req)) : null,
        req?.socket.remoteAddress ?? 'unknown',
      );
      if (opened instanceof StreamRefused) {
        endResponse(
          new Response(JSON.stringify({ errors: [opened.error.toJSON()] }), {
            status: 429,
            headers: {
              'content-type': 'application/json; charset=utf-8',
              'retry-after': String(STREAMS_RETRY_AFTER_S),
            },
          }),
        );
        return;
      }
      held.set(request, opened);
    },
    onResultProcess({ request, result, setResult, serverContext }) {
      const stream = held.get(request);
      if (!stream || !isAsyncIterable(result)) return;
      held.delete(request);
      setResult(
        boundedStream(result, limits.subscriberBufferBytes, serverContext.req, () =>
          stream.release(),
        ) as never,
      );
    },
    onResponse({ request }) {
      // Not a stream after all (an error, a query): uncounted as soon as it is answered.
      held.get(request)?.release();
      held.delete(request);
    },
  };
}
