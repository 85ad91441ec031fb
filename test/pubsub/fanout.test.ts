import { createHook } from 'node:async_hooks';
import { subscribe as listen, unsubscribe as unlisten } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { EXECUTED_CHANNEL, type Executed } from '../../src/pubsub/groups.ts';
import { SUBSCRIBED_CHANNEL } from '../../src/pubsub/live.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { deadlines } from '../../src/timers.ts';

/**
 * Fan-out by sharing: graphql-ws subscribers of one document, operation, variables and session
 * accounts share one execution per event and receive the same bytes; each member's session is
 * still checked before anything is sent to it.
 */

interface Igql {
  readonly app: App;
  readonly config: Config;
  readonly url: string;
  readonly base: string;
  /** northwind.shop and lumen.studio. */
  readonly shop: string;
  readonly studio: string;
}

const running: Igql[] = [];

async function startIgql(socketCheckMs: number): Promise<Igql> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' });
  const app = createApp({
    config,
    sandbox: await startSandbox({ config }),
    drainTimeoutMs: 500,
    reconcileIntervalMs: 0,
    refreshIntervalMs: 0,
    instagram: { paceReads: false },
    socketCheckMs,
  });
  const url = (await app.start()).replace('localhost', '127.0.0.1');
  const base = url.replace(/\/graphql$/, '');
  const { accounts } = (await (await fetch(`${base}/sandbox`)).json()) as {
    accounts: { igId: string }[];
  };
  const igql = {
    app,
    config,
    url,
    base,
    shop: accounts[0]?.igId ?? '',
    studio: accounts[1]?.igId ?? '',
  };
  running.push(igql);
  return igql;
}

afterAll(async () => {
  for (const { app } of running) {
    await app.stop();
    await app.sandbox?.stop();
  }
});

const session = (igql: Igql, accounts: string[]) =>
  signSession(igql.config.sessionSecret, { sub: 'agent', accounts }, 3600);

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

/** Every execution reported from now until `stop()`. */
function executions() {
  const seen: Executed[] = [];
  const onMessage = (message: unknown) => seen.push(message as Executed);
  listen(EXECUTED_CHANNEL, onMessage);
  return { seen, stop: () => unlisten(EXECUTED_CHANNEL, onMessage) };
}

/** A graphql-ws client by hand that keeps every frame as it came (text). */
async function rawSocket(igql: Igql, token: string) {
  const ws = new WebSocket(igql.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const texts: string[] = [];
  let wake = () => {};
  ws.on('message', (data) => {
    texts.push(String(data));
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
  const frames = () => texts.map((text) => JSON.parse(text) as Record<string, unknown>);
  /** Resolves once `match` holds of the frames, or null once the socket closed. */
  const until = async (match: (frames: Record<string, unknown>[]) => boolean) => {
    for (;;) {
      if (match(frames())) return true;
      if (ws.readyState === ws.CLOSED) return null;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  await until((f) => f.some((x) => x.type === 'connection_ack'));
  const subscribe = (id: string, query: string, variables: Record<string, unknown>) =>
    ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  /** The payloads of the `next` frames of `id`, as the text they came in. */
  const payloads = (id: string) => {
    const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    return texts.filter((t) => t.startsWith(head)).map((t) => t.slice(head.length, -1));
  };
  const mids = (id: string) =>
    payloads(id).map(
      (p) =>
        (JSON.parse(p) as { data: { inboxEvents: { message: { mid: string } } } }).data.inboxEvents
          .message.mid,
    );
  const cursors = (id: string) =>
    payloads(id).map(
      (p) =>
        (JSON.parse(p) as { data: { inboxEvents: { cursor: string } } }).data.inboxEvents.cursor,
    );
  return { ws, texts, frames, closed, until, subscribe, payloads, mids, cursors };
}

type Socket = Awaited<ReturnType<typeof rawSocket>>;

/** An SSE subscription of `EVENTS` by hand (a POST accepting `text/event-stream`): its texts. */
async function rawSse(igql: Igql, token: string, variables: Record<string, unknown>) {
  const controller = new AbortController();
  const res = await fetch(igql.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: EVENTS, variables }),
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  /** The `data` of each `next` event, as the text it came in. */
  const payloads: string[] = [];
  let ended = false;
  let wake = () => {};
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          if (lines.includes('event: next'))
            payloads.push(lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '');
          end = buffer.indexOf('\n\n');
        }
        wake();
      }
    } catch {
      // Aborted by close().
    }
    ended = true;
    wake();
  })();
  const until = async (match: () => boolean) => {
    while (!match()) {
      if (ended) return null;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    return true;
  };
  return { payloads, until, close: () => controller.abort() };
}

/** A signed webhook delivery of messages to the account, as Meta posts it. */
async function deliver(igql: Igql, igId: string, mids: string[]) {
  const now = Date.now();
  const raw = toMetaJson({
    object: 'instagram',
    entry: mids.map((mid, i) => ({
      time: now + i,
      id: igId,
      messaging: [
        {
          sender: { id: '5614879045272581' },
          recipient: { id: igId },
          timestamp: now + i,
          message: { mid, text: `text of ${mid}` },
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

async function logout(igql: Igql, token: string) {
  const res = await fetch(`${igql.base}/auth/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{}',
  });
  expect(res.status).toBe(204);
}

const EVENTS = `subscription ($a: ID!, $types: [InboxEventType!], $after: String) {
  inboxEvents(accountId: $a, types: $types, after: $after) {
    cursor ... on MessageReceivedEvent { message { mid text } }
  }
}`;

/** Subscribes each socket with `id` and waits until every subscriber is established. */
async function subscribeAll(
  sockets: { socket: Socket; variables: Record<string, unknown> }[],
  id = 'live',
) {
  const established = subscribers(sockets.length);
  for (const { socket, variables } of sockets) socket.subscribe(id, EVENTS, variables);
  await established;
}

const closeAll = (sockets: Socket[]) => {
  for (const socket of sockets) socket.ws.close();
};

describe('fan-out by sharing', () => {
  let igql: Igql;
  beforeAll(async () => {
    // Sockets' sessions are checked for revocation by the shared schedule every minute: the
    // check before each event acts first.
    igql = await startIgql(60_000);
  });

  it('executes once per event for subscribers sharing a document and scope, and sends them the same bytes', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 5 }, async () => rawSocket(igql, await session(igql, [igql.shop]))),
    );
    const a = globalId.account(igql.shop);
    await subscribeAll(sockets.map((socket) => ({ socket, variables: { a } })));
    const executed = executions();
    await deliver(igql, igql.shop, ['mid.shared.1', 'mid.shared.2']);
    for (const socket of sockets) await socket.until(() => socket.payloads('live').length === 2);
    executed.stop();

    const [first] = sockets;
    const cursors = first?.cursors('live') ?? [];
    expect(first?.mids('live')).toEqual(['mid.shared.1', 'mid.shared.2']);
    expect(executed.seen).toEqual(
      cursors.map((cursor) => ({ igId: igql.shop, cursor, shared: true })),
    );
    for (const socket of sockets) expect(socket.payloads('live')).toEqual(first?.payloads('live'));
    // Five subscribers, however few executions serve them.
    const metrics = await (await fetch(`${igql.base}/metrics`)).text();
    expect(metrics).toMatch(/^igql_subscribers 5$/m);
    closeAll(sockets);
  });

  it('executes separately for different variables and for different account scopes', async () => {
    const shopOnly = await session(igql, [igql.shop]);
    const both = await session(igql, [igql.shop, igql.studio]);
    const a = globalId.account(igql.shop);
    const plain = await rawSocket(igql, shopOnly);
    const alike = await rawSocket(igql, await session(igql, [igql.shop]));
    const filtered = await rawSocket(igql, shopOnly);
    const wider = await rawSocket(igql, both);
    await subscribeAll([
      { socket: plain, variables: { a } },
      { socket: alike, variables: { a } },
      { socket: filtered, variables: { a, types: ['MESSAGE_RECEIVED'] } },
      { socket: wider, variables: { a } },
    ]);
    const executed = executions();
    await deliver(igql, igql.shop, ['mid.scopes']);
    const all = [plain, alike, filtered, wider];
    for (const socket of all) await socket.until(() => socket.payloads('live').length === 1);
    executed.stop();

    for (const socket of all) expect(socket.mids('live')).toEqual(['mid.scopes']);
    const [cursor] = plain.cursors('live');
    // One for `plain` and `alike` together, one for the filter, one for the wider session.
    expect(executed.seen).toEqual([
      { igId: igql.shop, cursor, shared: true },
      { igId: igql.shop, cursor, shared: true },
      { igId: igql.shop, cursor, shared: true },
    ]);
    closeAll(all);
  });

  it('never sends an account’s event to a session that lacks the account', async () => {
    const member = await rawSocket(igql, await session(igql, [igql.shop]));
    const outsider = await rawSocket(igql, await session(igql, [igql.studio]));
    await subscribeAll([
      { socket: member, variables: { a: globalId.account(igql.shop) } },
      { socket: outsider, variables: { a: globalId.account(igql.studio) } },
    ]);
    // The same document and variables as the member's, from a session without the account.
    outsider.subscribe('shop', EVENTS, { a: globalId.account(igql.shop) });
    await outsider.until((frames) => frames.some((f) => f.id === 'shop'));
    expect(outsider.frames().find((f) => f.id === 'shop')).toEqual({
      id: 'shop',
      type: 'next',
      payload: {
        errors: [
          {
            message: 'Account not found',
            locations: [{ line: 2, column: 3 }],
            path: ['inboxEvents'],
            extensions: { code: 'NOT_FOUND' },
          },
        ],
      },
    });

    await deliver(igql, igql.shop, ['mid.private']);
    await member.until(() => member.payloads('live').length === 1);
    // A studio event after it: once the outsider has it, it had everything meant for it.
    await deliver(igql, igql.studio, ['mid.studio']);
    await outsider.until(() => outsider.payloads('live').length === 1);
    expect(member.mids('live')).toEqual(['mid.private']);
    expect(outsider.mids('live')).toEqual(['mid.studio']);
    expect(outsider.texts.filter((t) => t.includes('mid.private'))).toEqual([]);
    closeAll([member, outsider]);
  });

  it('ends a member whose session was revoked at the next event; the others still receive it', async () => {
    const revoked = await session(igql, [igql.shop]);
    const kept = await rawSocket(igql, await session(igql, [igql.shop]));
    const gone = await rawSocket(igql, revoked);
    await subscribeAll([
      { socket: kept, variables: { a: globalId.account(igql.shop) } },
      { socket: gone, variables: { a: globalId.account(igql.shop) } },
    ]);
    await logout(igql, revoked);
    const executed = executions();
    await deliver(igql, igql.shop, ['mid.after.logout']);
    await kept.until(() => kept.payloads('live').length === 1);
    await gone.until((frames) => frames.some((f) => f.id === 'live'));
    executed.stop();

    expect(kept.mids('live')).toEqual(['mid.after.logout']);
    expect(gone.frames().filter((f) => f.id === 'live')).toEqual([
      {
        id: 'live',
        type: 'error',
        payload: [
          {
            message: 'The session expired or was revoked: subscribe again with a new one',
            extensions: { code: 'UNAUTHENTICATED' },
          },
        ],
      },
    ]);
    expect(executed.seen).toHaveLength(1);
    closeAll([kept, gone]);
  });

  it('gives a member that joins a running group only the events after it joined; one resuming with `after` shares it from its recent results, or runs alone from the log', async () => {
    const token = await session(igql, [igql.shop]);
    const a = globalId.account(igql.shop);
    // Another group (its variables differ), running before the first event: its cursor is one
    // the next group never had.
    const watcher = await rawSocket(igql, token);
    await subscribeAll([{ socket: watcher, variables: { a, types: ['MESSAGE_RECEIVED'] } }]);
    await deliver(igql, igql.shop, ['mid.join.0']);
    await watcher.until(() => watcher.payloads('live').length === 1);

    const early = await rawSocket(igql, token);
    await subscribeAll([{ socket: early, variables: { a } }]);
    await deliver(igql, igql.shop, ['mid.join.1']);
    await early.until(() => early.payloads('live').length === 1);

    const late = await rawSocket(igql, token);
    await subscribeAll([{ socket: late, variables: { a, after: null } }]);
    await deliver(igql, igql.shop, ['mid.join.2']);
    await late.until(() => late.payloads('live').length === 1);
    await early.until(() => early.payloads('live').length === 2);
    expect(early.mids('live')).toEqual(['mid.join.1', 'mid.join.2']);
    expect(late.mids('live')).toEqual(['mid.join.2']);

    const executed = executions();
    // Resuming after a result of the group: it is sent the group's later ones, as they were.
    const resumed = await rawSocket(igql, token);
    await subscribeAll([{ socket: resumed, variables: { a, after: early.cursors('live')[0] } }]);
    await resumed.until(() => resumed.payloads('live').length === 1);
    expect(resumed.payloads('live')).toEqual([early.payloads('live')[1]]);
    // Resuming from before the group's results: alone, from the log.
    const old = await rawSocket(igql, token);
    await subscribeAll([{ socket: old, variables: { a, after: watcher.cursors('live')[0] } }]);
    await old.until(() => old.payloads('live').length === 2);
    await deliver(igql, igql.shop, ['mid.join.3']);
    for (const socket of [early, late, resumed, old, watcher])
      await socket.until(() => socket.mids('live').includes('mid.join.3'));
    executed.stop();
    expect(resumed.mids('live')).toEqual(['mid.join.2', 'mid.join.3']);
    expect(old.mids('live')).toEqual(['mid.join.1', 'mid.join.2', 'mid.join.3']);
    expect(late.mids('live')).toEqual(['mid.join.2', 'mid.join.3']);
    for (const socket of [late, resumed, old])
      expect(socket.payloads('live').at(-1)).toBe(early.payloads('live')[2]);
    const [one, two, three] = early.cursors('live');
    // The replays ran for old alone; resumed took the group's results and ran nothing.
    expect(executed.seen.filter((e) => e.cursor !== three)).toEqual([
      { igId: igql.shop, cursor: one, shared: false },
      { igId: igql.shop, cursor: two, shared: false },
    ]);
    // Once for the group of early, late and resumed; once for the watcher's; once for old.
    expect(executed.seen.filter((e) => e.cursor === three)).toEqual([
      { igId: igql.shop, cursor: three, shared: true },
      { igId: igql.shop, cursor: three, shared: true },
      { igId: igql.shop, cursor: three, shared: false },
    ]);
    closeAll([early, late, resumed, old, watcher]);
  });

  it('SSE subscribers share the group of graphql-ws subscribers: one execution per event, the same bytes', async () => {
    const token = await session(igql, [igql.shop]);
    const a = globalId.account(igql.shop);
    const socket = await rawSocket(igql, token);
    const established = subscribers(3);
    socket.subscribe('live', EVENTS, { a });
    const streams = [await rawSse(igql, token, { a }), await rawSse(igql, token, { a })];
    await established;
    const executed = executions();
    await deliver(igql, igql.shop, ['mid.sse.1', 'mid.sse.2']);
    await socket.until(() => socket.payloads('live').length === 2);
    for (const stream of streams) await stream.until(() => stream.payloads.length === 2);
    const cursors = socket.cursors('live');
    expect(executed.seen).toEqual(
      cursors.map((cursor) => ({ igId: igql.shop, cursor, shared: true })),
    );
    for (const stream of streams) expect(stream.payloads).toEqual(socket.payloads('live'));

    // Resuming over SSE after the group's first result: its second, as it was, with no execution.
    const resumed = await rawSse(igql, token, { a, after: cursors[0] });
    await resumed.until(() => resumed.payloads.length === 1);
    executed.stop();
    expect(resumed.payloads).toEqual([socket.payloads('live')[1]]);
    expect(executed.seen).toHaveLength(2);
    for (const stream of [...streams, resumed]) stream.close();
    closeAll([socket]);
  });

  it('an SSE stream that resumes alone, or leaves, holds no session deadline after it ends', async () => {
    const token = await session(igql, [igql.shop]);
    const a = globalId.account(igql.shop);
    // A cursor of an event, taken while no group of this document runs.
    const socket = await rawSocket(igql, token);
    await subscribeAll([{ socket, variables: { a, types: ['MESSAGE_RECEIVED'] } }]);
    await deliver(igql, igql.shop, ['mid.deadline.1']);
    await socket.until(() => socket.payloads('live').length === 1);
    const [cursor] = socket.cursors('live');
    const baseline = deadlines.size;
    const established = subscribers(3);
    // No group runs for these variables: each resumes alone, from the log.
    const streams = [
      await rawSse(igql, token, { a, after: cursor }),
      await rawSse(igql, token, { a, after: cursor }),
      await rawSse(igql, token, { a, after: cursor }),
    ];
    await established;
    for (const stream of streams) stream.close();
    await vi.waitFor(() => expect(deadlines.size).toBe(baseline), { timeout: 5000, interval: 10 });
    closeAll([socket]);
  });

  it('holds no timer per socket or subscriber', async () => {
    const a = globalId.account(igql.shop);
    const tokens = await Promise.all(Array.from({ length: 11 }, () => session(igql, [igql.shop])));
    const first = await rawSocket(igql, tokens[0] ?? '');
    await subscribeAll([{ socket: first, variables: { a } }]);
    await deliver(igql, igql.shop, ['mid.timers']);
    await first.until(() => first.payloads('live').length === 1);
    const cursor = first.cursors('live')[0];

    /** Timers created, by whose code called `setTimeout` or `setInterval`. */
    const timers = { igql: 0, graphqlWs: 0 };
    const hook = createHook({
      init(_id, type) {
        if (type !== 'Timeout') return;
        const caller = (new Error().stack ?? '')
          .split('\n')
          .slice(1)
          .find((frame) => !frame.includes('node:') && !frame.includes('fanout.test.ts'));
        if (caller?.includes('/node_modules/graphql-ws/')) timers.graphqlWs++;
        else if (caller?.includes('/src/')) timers.igql++;
      },
    });
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    hook.enable();
    const sockets: Socket[] = [];
    try {
      for (const token of tokens.slice(1)) sockets.push(await rawSocket(igql, token));
      await subscribeAll(sockets.map((socket) => ({ socket, variables: { a } })));
      // Resuming ones run alone: they hold no timer either.
      await subscribeAll(
        sockets.slice(0, 3).map((socket) => ({ socket, variables: { a, after: cursor } })),
        'resumed',
      );
    } finally {
      hook.disable();
      Error.stackTraceLimit = stackTraceLimit;
    }
    // None per socket: at most the one shared wait for `connection_init`, armed when it was not.
    expect(timers.graphqlWs).toBe(0);
    expect(timers.igql).toBeLessThanOrEqual(1);
    closeAll([first, ...sockets]);
  });
});

describe('the shared schedule of session checks', () => {
  let igql: Igql;
  beforeAll(async () => {
    igql = await startIgql(50);
  });

  it('closes every socket of a revoked session with 4403 and leaves the others open', async () => {
    const revoked = await session(igql, [igql.shop]);
    const a = globalId.account(igql.shop);
    const one = await rawSocket(igql, revoked);
    const two = await rawSocket(igql, revoked);
    const other = await rawSocket(igql, await session(igql, [igql.shop]));
    await subscribeAll([one, two, other].map((socket) => ({ socket, variables: { a } })));
    await logout(igql, revoked);
    expect(await one.closed).toEqual({ code: 4403, reason: 'Session revoked' });
    expect(await two.closed).toEqual({ code: 4403, reason: 'Session revoked' });
    await deliver(igql, igql.shop, ['mid.still.open']);
    await other.until(() => other.payloads('live').length === 1);
    expect(other.mids('live')).toEqual(['mid.still.open']);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    other.ws.close();
  });
});
