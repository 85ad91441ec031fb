import { subscribe as listen, unsubscribe as unlisten } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { type EventBus, MemoryEventBus, RedisEventBus } from '../../src/pubsub/bus.ts';
import { LiveEvents, SUBSCRIBED_CHANNEL } from '../../src/pubsub/live.ts';
import {
  type EventLog,
  LOG_START,
  type LogEntry,
  MemoryEventLog,
  READ_PAGE,
  RedisEventLog,
} from '../../src/pubsub/log.ts';
import {
  CLOSE_TOO_MANY_STREAMS,
  CLOSE_TOO_SLOW,
  streamCounts,
  TOO_SLOW_CHANNEL,
  type TooSlow,
} from '../../src/pubsub/streams.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { messageReceived } from '../helpers/inbox-events.ts';
import { useRedisServer } from '../helpers/redis.ts';

const logger = createLogger('silent');

/** Resolves once `n` more subscribers are established in this process. */
function subscribers(n: number): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const onMessage = () => {
      if (--left > 0) return;
      unlisten(SUBSCRIBED_CHANNEL, onMessage);
      resolve();
    };
    listen(SUBSCRIBED_CHANNEL, onMessage);
  });
}

/** The next subscriber closed for being too slow, and a way to stop waiting. */
function nextTooSlow(): { readonly closed: Promise<TooSlow>; cancel(): void } {
  let onMessage: (message: unknown) => void = () => {};
  const closed = new Promise<TooSlow>((resolve) => {
    onMessage = (message) => {
      unlisten(TOO_SLOW_CHANNEL, onMessage);
      resolve(message as TooSlow);
    };
    listen(TOO_SLOW_CHANNEL, onMessage);
  });
  return { closed, cancel: () => unlisten(TOO_SLOW_CHANNEL, onMessage) };
}

// ---- Paged replay -------------------------------------------------------------------------

const IG = '17841400000000001';

const received = (n: number): InboxEventData =>
  messageReceived(n, { igId: IG, text: `hello ${n}` });

/** A log that records the cursor of every `readAfter` and how many events it returned. */
function recorded(log: EventLog) {
  const reads: { after: string; count: number }[] = [];
  const spy: EventLog = {
    append: (igId, event) => log.append(igId, event),
    readAfter: async (igId, cursor, limit) => {
      const page = await log.readAfter(igId, cursor, limit);
      reads.push({ after: cursor, count: page.length });
      return page;
    },
    isAfter: (a, b) => log.isAfter(a, b),
    close: () => log.close(),
  };
  return { log: spy, reads };
}

const redis = useRedisServer();
let prefixes = 0;

const backends: {
  readonly name: string;
  make(): Promise<{ log: EventLog; bus: EventBus; close(): Promise<void> }>;
}[] = [
  {
    name: 'memory',
    async make() {
      const bus = new MemoryEventBus(logger);
      return { log: new MemoryEventLog(), bus, close: () => bus.close() };
    },
  },
  {
    name: 'Redis',
    async make() {
      const prefix = `igql-live-limits-${++prefixes}`;
      const bus = new RedisEventBus(await redis.connect(), prefix, logger);
      return {
        log: new RedisEventLog(await redis.connect(), prefix),
        bus,
        close: () => bus.close(),
      };
    },
  },
];

describe.each(backends)('LiveEvents over the $name log: paged replay', (backend) => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function setUp() {
    const made = await backend.make();
    closers.push(made.close);
    const { log, reads } = recorded(made.log);
    const live = new LiveEvents(log, made.bus, logger);
    /** As the webhook pipeline does: logged first, then published. */
    const publish = async (n: number) => {
      const cursor = await made.log.append(IG, received(n));
      await made.bus.publish(IG, { cursor, event: received(n) });
      return cursor;
    };
    return { live, log: made.log, reads, publish };
  }

  const take = async (stream: AsyncIterator<LogEntry>, n: number) => {
    const cursors: string[] = [];
    for (let i = 0; i < n; i++) {
      const next = await stream.next();
      if (next.done) throw new Error('the stream ended');
      cursors.push(next.value.cursor);
    }
    return cursors;
  };

  it('replays from LOG_START a page at a time, as the consumer pulls', async () => {
    const { live, log, reads, publish } = await setUp();
    const cursors: string[] = [];
    for (let n = 1; n <= 250; n++) cursors.push(await log.append(IG, received(n)));
    const established = subscribers(1);
    const stream = live.stream(IG, LOG_START);
    const got = await take(stream, 1);
    await established;
    expect(reads).toEqual([{ after: LOG_START, count: READ_PAGE }]);
    got.push(...(await take(stream, 99)));
    expect(reads).toHaveLength(1);
    got.push(...(await take(stream, 1)));
    expect(reads).toEqual([
      { after: LOG_START, count: 100 },
      { after: cursors[99], count: 100 },
    ]);
    got.push(...(await take(stream, 149)));
    expect(reads).toEqual([
      { after: LOG_START, count: 100 },
      { after: cursors[99], count: 100 },
      { after: cursors[199], count: 50 },
    ]);
    expect(got).toEqual(cursors);
    // Caught up: live from then on.
    const next = stream.next();
    const cursor = await publish(251);
    expect((await next).value?.cursor).toBe(cursor);
    await stream.return?.();
  });

  it('holds at most a page for a consumer that stops pulling; the rest comes from the log, once each', async () => {
    const { live, reads, publish } = await setUp();
    const established = subscribers(2);
    const fast = live.stream(IG, undefined);
    const slowly = live.stream(IG, undefined);
    // Pulling attaches them: the slow consumer takes one event, then stops pulling.
    const fastGot = take(fast, 350);
    const first = slowly.next();
    await established;
    const cursors: string[] = [];
    for (let n = 1; n <= 350; n++) cursors.push(await publish(n));
    // The fast consumer has every event: the account's tail dispatched all of them.
    expect(await fastGot).toEqual(cursors);
    const before = reads.length;
    const got = [(await first).value?.cursor ?? '', ...(await take(slowly, 349))];
    expect(got).toEqual(cursors);
    // It held the first event and a page after it; everything after came from the log.
    expect(reads.slice(before)[0]).toEqual({ after: cursors[READ_PAGE], count: READ_PAGE });
    expect(reads.slice(before).reduce((sum, read) => sum + read.count, 0)).toBe(
      350 - 1 - READ_PAGE,
    );
    await slowly.return?.();
    await fast.return?.();
  });
});

// ---- Through the app ----------------------------------------------------------------------

interface Igql {
  readonly app: App;
  readonly config: Config;
  readonly url: string;
  readonly base: string;
  readonly igId: string;
}

const running: Igql[] = [];

async function startIgql(env: Record<string, string>): Promise<Igql> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', ...env });
  const app = createApp({
    config,
    sandbox: await startSandbox({ config }),
    drainTimeoutMs: 500,
    reconcileIntervalMs: 0,
    instagram: { paceReads: false },
  });
  const url = (await app.start()).replace('localhost', '127.0.0.1');
  const base = url.replace(/\/graphql$/, '');
  const { accounts } = (await (await fetch(`${base}/sandbox`)).json()) as {
    accounts: { igId: string }[];
  };
  const igql = { app, config, url, base, igId: accounts[0]?.igId ?? '' };
  running.push(igql);
  return igql;
}

afterAll(async () => {
  for (const { app } of running) {
    await app.stop();
    await app.sandbox?.stop();
  }
});

/** A new session (its own `sid`) for the account. */
const newSession = (igql: Igql) =>
  signSession(igql.config.sessionSecret, { sub: 'agent', accounts: [igql.igId] }, 3600);

const EVENTS = `subscription ($a: ID!, $after: String) {
  inboxEvents(accountId: $a, after: $after) { cursor ... on MessageReceivedEvent { message { mid } } }
}`;

/** Large frames, so that a few hundred events fill the kernel's socket buffers. */
const BIG_EVENTS = `subscription ($a: ID!, $after: String) {
  inboxEvents(accountId: $a, after: $after) {
    cursor
    ... on MessageReceivedEvent {
      message { mid t1: text t2: text t3: text t4: text t5: text t6: text t7: text t8: text }
    }
  }
}`;

/** A graphql-ws client by hand, with its underlying TCP socket at hand. */
async function rawSocket(igql: Igql, token: string) {
  const ws = new WebSocket(igql.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const frames: Record<string, unknown>[] = [];
  let wake = () => {};
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      wake();
    }),
  );
  await once(ws, 'open');
  ws.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  /** Resolves with the first frame `match` accepts, or null once the socket closed. */
  const frame = async (match: (f: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = frames.find(match);
      if (found) return found;
      if (ws.readyState === ws.CLOSED) return null;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  const outcome = await Promise.race([
    closed,
    frame((f) => f.type === 'connection_ack').then(() => 'ack' as const),
  ]);
  const subscribe = (id: string, query: string, variables: Record<string, unknown>) =>
    ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  return { ws, frames, closed, outcome, frame, subscribe };
}

/** Signed webhook deliveries of `count` messages to the account, 100 to a POST. */
async function deliver(igql: Igql, mids: string[], text = 'hello') {
  for (let i = 0; i < mids.length; i += 100) {
    const now = Date.now();
    const raw = toMetaJson({
      object: 'instagram',
      entry: mids.slice(i, i + 100).map((mid) => ({
        time: now,
        id: igql.igId,
        messaging: [
          {
            sender: { id: '5614879045272581' },
            recipient: { id: igql.igId },
            timestamp: now,
            message: { mid, text },
          },
        ],
      })),
    });
    const res = await fetch(`${igql.base}/webhooks/instagram`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signatureHeaders(raw, igql.config.instagram.appSecret),
      },
      body: raw,
    });
    expect(res.status).toBe(200);
  }
}

const nextMids = (frames: Record<string, unknown>[], id: string) =>
  frames
    .filter((f) => f.type === 'next' && f.id === id)
    .map((f) => {
      const event = (f.payload as { data: { inboxEvents: Record<string, unknown> } }).data
        .inboxEvents;
      return { cursor: event.cursor as string, mid: (event.message as { mid: string }).mid };
    });

describe('subscriptions per graphql-ws connection', () => {
  let igql: Igql;
  beforeAll(async () => {
    igql = await startIgql({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' });
  });

  it('refuses the one past the limit with TOO_MANY_SUBSCRIPTIONS; the socket and the others go on', async () => {
    const socket = await rawSocket(igql, await newSession(igql));
    expect(socket.outcome).toBe('ack');
    const variables = { a: globalId.account(igql.igId) };
    const established = subscribers(3);
    // A burst: counted as they come, before any of them is established.
    for (const id of ['s1', 's2', 's3', 's4', 's5']) socket.subscribe(id, EVENTS, variables);
    await established;
    const refused = await socket.frame((f) => f.id === 's5');
    expect(refused).toEqual({
      id: 's5',
      type: 'error',
      payload: [
        {
          message:
            'At most 3 subscriptions per connection: complete one, or open another connection',
          extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 3 },
        },
      ],
    });
    expect(socket.frames.filter((f) => f.type === 'error').map((f) => f.id)).toEqual(['s4', 's5']);

    // Completing one makes room for another.
    socket.ws.send(JSON.stringify({ id: 's1', type: 'complete' }));
    const again = subscribers(1);
    socket.subscribe('s6', EVENTS, variables);
    await again;
    socket.subscribe('s7', EVENTS, variables);
    expect(await socket.frame((f) => f.id === 's7')).toMatchObject({
      type: 'error',
      payload: [{ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }],
    });

    await deliver(igql, ['mid.per-connection']);
    for (const id of ['s2', 's3', 's6'])
      await socket.frame((f) => f.type === 'next' && f.id === id);
    expect(nextMids(socket.frames, 's2').map((e) => e.mid)).toEqual(['mid.per-connection']);
    expect(nextMids(socket.frames, 's6').map((e) => e.mid)).toEqual(['mid.per-connection']);
    expect(nextMids(socket.frames, 's1')).toEqual([]);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    socket.ws.close();
  });
});

describe('streams per session and per client address', () => {
  let igql: Igql;
  beforeAll(async () => {
    igql = await startIgql({ MAX_STREAMS_PER_SESSION: '2', MAX_STREAMS_PER_ADDRESS: '3' });
  });

  /** Opens an SSE subscription; resolves with the response once its headers came. */
  const sse = (token: string, signal?: AbortSignal) =>
    fetch(igql.url, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: EVENTS, variables: { a: globalId.account(igql.igId) } }),
      signal,
    });

  it('closes a websocket past the limit with 4429 and answers an SSE request 429 with Retry-After', async () => {
    const counts = streamCounts(igql.config.limits);
    const token = await newSession(igql);
    const first = await rawSocket(igql, token);
    const second = await rawSocket(igql, token);
    expect([first.outcome, second.outcome]).toEqual(['ack', 'ack']);
    const third = await rawSocket(igql, token);
    expect(third.outcome).toEqual({
      code: CLOSE_TOO_MANY_STREAMS,
      reason: 'Too many streams for this session',
    });

    const refused = await sse(token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({
      errors: [
        {
          message: 'At most 2 websockets and SSE streams per session: close one first',
          extensions: { code: 'TOO_MANY_STREAMS', retryAfter: 5 },
        },
      ],
    });

    // A closed websocket frees its place, which an SSE stream takes.
    first.ws.close();
    await vi.waitFor(() => expect(counts.count('address 127.0.0.1')).toBe(1));
    const aborter = new AbortController();
    const stream = await sse(token, aborter.signal);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect((await rawSocket(igql, token)).outcome).toMatchObject({ code: 4429 });

    // The address's third stream, of another session; a fourth is refused.
    const other = await rawSocket(igql, await newSession(igql));
    expect(other.outcome).toBe('ack');
    expect((await rawSocket(igql, await newSession(igql))).outcome).toEqual({
      code: CLOSE_TOO_MANY_STREAMS,
      reason: 'Too many streams for this address',
    });
    expect((await sse(await newSession(igql))).status).toBe(429);

    // Everything closed: nothing stays counted.
    aborter.abort();
    second.ws.close();
    other.ws.close();
    await vi.waitFor(() => expect(counts.count('address 127.0.0.1')).toBe(0));
  });
});

describe('send buffers per subscriber', () => {
  const LIMIT = 65_536;
  let igql: Igql;
  beforeAll(async () => {
    igql = await startIgql({ SUBSCRIBER_BUFFER_BYTES: String(LIMIT) });
  });

  it('closes a websocket that stops reading with 4408; it resumes from its last cursor, each event once', async () => {
    const token = await newSession(igql);
    const socket = await rawSocket(igql, token);
    const variables = { a: globalId.account(igql.igId) };
    const established = subscribers(1);
    socket.subscribe('big', BIG_EVENTS, variables);
    await established;
    (socket.ws as unknown as { _socket: Socket })._socket.pause();

    const tooSlow = nextTooSlow();
    let closedFor: TooSlow | undefined;
    void tooSlow.closed.then((message) => {
      closedFor = message;
    });
    const published: string[] = [];
    const text = 'x'.repeat(1000);
    for (let batch = 0; !closedFor && batch < 60; batch++) {
      const mids = Array.from({ length: 100 }, (_, i) => `mid.slow.${batch}.${i}`);
      await deliver(igql, mids, text);
      published.push(...mids);
    }
    tooSlow.cancel();
    expect(closedFor).toMatchObject({ transport: 'websocket', limit: LIMIT });
    expect(closedFor?.queuedBytes).toBeLessThanOrEqual(LIMIT);
    // A few more while it is closed: they wait in the log.
    const later = ['mid.slow.after.1', 'mid.slow.after.2'];
    await deliver(igql, later);
    published.push(...later);

    (socket.ws as unknown as { _socket: Socket })._socket.resume();
    expect(await socket.closed).toEqual({ code: CLOSE_TOO_SLOW, reason: 'Subscriber too slow' });
    const seen = nextMids(socket.frames, 'big');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.map((e) => e.mid)).toEqual(published.slice(0, seen.length));

    const resumed = await rawSocket(igql, token);
    resumed.subscribe('rest', EVENTS, { ...variables, after: seen.at(-1)?.cursor });
    const rest = published.length - seen.length;
    await resumed.frame(() => nextMids(resumed.frames, 'rest').length >= rest);
    expect([...seen, ...nextMids(resumed.frames, 'rest')].map((e) => e.mid)).toEqual(published);
    // Nothing more came with the last: the rest came exactly once.
    await deliver(igql, ['mid.slow.final']);
    await resumed.frame(() => nextMids(resumed.frames, 'rest').length > rest);
    expect(
      nextMids(resumed.frames, 'rest')
        .map((e) => e.mid)
        .slice(rest),
    ).toEqual(['mid.slow.final']);
    resumed.ws.close();
  });

  it('ends an SSE stream whose socket stays unwritable past the bound', async () => {
    const counts = streamCounts(igql.config.limits);
    const token = await newSession(igql);
    const body = JSON.stringify({
      query: BIG_EVENTS,
      variables: { a: globalId.account(igql.igId) },
    });
    const { port } = new URL(igql.url);
    const client = connect(Number(port), '127.0.0.1');
    await once(client, 'connect');
    // A client that never reads what it is sent.
    client.pause();
    client.on('error', () => {});
    const ended = once(client, 'close');
    const established = subscribers(1);
    client.write(
      [
        'POST /graphql HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Accept: text/event-stream',
        'Content-Type: application/json',
        `Authorization: Bearer ${token}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
    await established;
    expect(counts.count('address 127.0.0.1')).toBe(1);

    const tooSlow = nextTooSlow();
    let closedFor: TooSlow | undefined;
    void tooSlow.closed.then((message) => {
      closedFor = message;
    });
    const text = 'x'.repeat(1000);
    for (let batch = 0; !closedFor && batch < 60; batch++)
      await deliver(
        igql,
        Array.from({ length: 100 }, (_, i) => `mid.sse.${batch}.${i}`),
        text,
      );
    tooSlow.cancel();
    expect(closedFor).toMatchObject({ transport: 'sse', limit: LIMIT });
    expect(closedFor?.queuedBytes).toBeLessThanOrEqual(LIMIT);
    // Reading again, the client finds the connection ended.
    client.resume();
    await ended;
    await vi.waitFor(() => expect(counts.count('address 127.0.0.1')).toBe(0));
  });
});
