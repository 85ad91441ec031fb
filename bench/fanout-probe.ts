/**
 * Fan-out probe (a script, not a test, not part of `npm run bench`): webhook → every subscriber
 * latency and resident memory per idle subscriber, for igql and for the machine's floor, a bare
 * `ws` server sending one prebuilt frame to every client, side by side in one run.
 *
 *   node_modules/.bin/node --expose-gc bench/fanout-probe.ts [N ...]   (default: 2000 10000)
 *
 * For each N, the floor then igql, each in a fresh process of its own (`serve`), so that one's
 * heap does not weigh on the other's memory figure. igql runs in that process (sandbox mode,
 * in-memory event log and bus unless REDIS_URL is set); its N subscribers are graphql-ws
 * sockets of one session on one account, in a child process (`clients`) so that their CPU and
 * memory are not the server's. 20 signed webhooks are posted one after the other, each timed
 * from the POST until every subscriber has its frame; the floor's events are a POST /publish.
 * Memory: RSS with N idle subscribers (3.5 s after the last subscribed) minus RSS before, each
 * after a full GC, divided by N.
 *
 * Prints one JSON line per measurement, then a table with igql's ratios to the floor.
 * PROBE_DEBUG=1 also prints the heap's growth per subscriber; PROBE_SNAPSHOT=1 with it writes a
 * heap snapshot of each server with its idle subscribers to /tmp.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { subscribe as listen } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';

const EVENTS = 20;
const EVENT_TIMEOUT_MS = 30_000;
const SECRET = 'fanout-probe-secret';
const SELF = fileURLToPath(import.meta.url);
const QUERY =
  'subscription ($a: ID!) { inboxEvents(accountId: $a) { cursor type ... on MessageReceivedEvent { message { mid text } } } }';

interface Measured {
  readonly server: 'floor' | 'igql';
  readonly subscribers: number;
  readonly delivered: number;
  readonly p50: number;
  readonly p99: number;
  readonly rssPerSubscriberKiB: number;
  readonly executions?: number;
}

type ClientCommand =
  | {
      readonly cmd: 'open';
      readonly url: string;
      readonly n: number;
      readonly graphqlWs?: { readonly token: string; readonly accountId: string };
    }
  | {
      readonly cmd: 'events';
      readonly count: number;
      readonly trigger:
        | { readonly kind: 'webhook'; readonly url: string; readonly igId: string }
        | { readonly kind: 'publish'; readonly url: string };
    };

type ClientReply =
  | { readonly type: 'opened'; readonly open: number; readonly error?: string }
  | { readonly type: 'events'; readonly samples: number[]; readonly delivered: number };

const percentile = (samples: number[], q: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---- clients: N sockets, in a process of their own --------------------------------------------

async function clients(): Promise<void> {
  const { signatureHeaders, toMetaJson } = await import('../src/sandbox/webhooks.ts');
  const run = Date.now().toString(36);
  const sockets: { last: number }[] = [];
  let waiting: { n: number; left: number; resolve: () => void } | undefined;

  const received = (state: { last: number }, text: string) => {
    const at = text.indexOf(`probe-${run}-`);
    if (at < 0) return;
    const n = Number.parseInt(text.slice(at + run.length + 7), 10);
    if (state.last >= n) return;
    state.last = n;
    if (waiting?.n === n && --waiting.left === 0) waiting.resolve();
  };

  const openOne = (command: Extract<ClientCommand, { cmd: 'open' }>) =>
    new Promise<void>((resolve, reject) => {
      const ws = command.graphqlWs;
      const socket = new WebSocket(command.url, ws ? 'graphql-transport-ws' : [], {
        perMessageDeflate: false,
      });
      const state = { last: -1 };
      socket.on('open', () => {
        if (!ws) {
          sockets.push(state);
          resolve();
          return;
        }
        socket.send(
          JSON.stringify({
            type: 'connection_init',
            payload: { authorization: `Bearer ${ws.token}` },
          }),
        );
      });
      socket.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('{"id"')) return received(state, text);
        if (!ws) return received(state, text);
        const type = (JSON.parse(text) as { type: string }).type;
        if (type === 'connection_ack') {
          socket.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: QUERY, variables: { a: ws.accountId } },
            }),
          );
          sockets.push(state);
          resolve();
        } else if (type === 'ping') socket.send('{"type":"pong"}');
      });
      socket.on('error', reject);
      socket.on('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
    });

  const trigger = async (spec: Extract<ClientCommand, { cmd: 'events' }>['trigger'], n: number) => {
    const mid = `probe-${run}-${n}`;
    if (spec.kind === 'publish') {
      await fetch(spec.url, { method: 'POST', body: mid });
      return;
    }
    const now = Date.now();
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: now,
          id: spec.igId,
          messaging: [
            {
              sender: { id: '9000000000000001' },
              recipient: { id: spec.igId },
              timestamp: now,
              message: { mid, text: `event ${n} of the fan-out probe` },
            },
          ],
        },
      ],
    });
    const res = await fetch(spec.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, SECRET) },
      body: raw,
    });
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  };

  process.on('message', async (command: ClientCommand) => {
    if (command.cmd === 'open') {
      let error: string | undefined;
      let started = 0;
      const worker = async () => {
        while (started < command.n) {
          started++;
          await openOne(command).catch((err: Error) => {
            error ??= err.message;
          });
        }
      };
      await Promise.all(Array.from({ length: 50 }, worker));
      process.send?.({ type: 'opened', open: sockets.length, error } satisfies ClientReply);
      return;
    }
    const samples: number[] = [];
    let delivered = 0;
    // Event 0 warms up (JIT, first allocations): not counted.
    for (let n = 0; n <= command.count; n++) {
      const all = new Promise<void>((resolve) => {
        waiting = { n, left: sockets.length, resolve };
      });
      const t0 = performance.now();
      await trigger(command.trigger, n);
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(resolve, EVENT_TIMEOUT_MS, true)),
      ]);
      if (timedOut || n === 0) continue;
      samples.push(performance.now() - t0);
      delivered++;
    }
    process.send?.({ type: 'events', samples, delivered } satisfies ClientReply);
  });
}

// ---- serve: one server and its subscribers, measured --------------------------------------------

function ask(child: ChildProcess, command: ClientCommand): Promise<ClientReply> {
  const reply = once(child, 'message').then(([message]) => message as ClientReply);
  child.send(command);
  return reply;
}

const rss = () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().rss;
};

async function serve(server: 'floor' | 'igql', n: number): Promise<Measured> {
  const child = fork(SELF, ['clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let url: string;
  let trigger: Extract<ClientCommand, { cmd: 'events' }>['trigger'];
  let graphqlWs: Extract<ClientCommand, { cmd: 'open' }>['graphqlWs'];
  let established: () => Promise<void>;
  let executions = 0;
  let stop: () => Promise<void>;

  if (server === 'floor') {
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        // One frame, built once, sent to every client: what igql's frame carries, about.
        const frame = JSON.stringify({
          id: '1',
          type: 'next',
          payload: {
            data: {
              inboxEvents: {
                cursor: '1764374400000-0',
                type: 'MESSAGE_RECEIVED',
                message: { mid: body, text: 'event of the fan-out probe' },
              },
            },
          },
        });
        for (const client of wss.clients) client.send(frame);
        res.end();
      });
    });
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { port } = http.address() as AddressInfo;
    url = `ws://127.0.0.1:${port}`;
    trigger = { kind: 'publish', url: `http://127.0.0.1:${port}/publish` };
    established = async () => {};
    stop = async () => {
      for (const client of wss.clients) client.terminate();
      http.close();
    };
  } else {
    const { createApp } = await import('../src/app.ts');
    const { loadConfig } = await import('../src/config.ts');
    const { startSandbox } = await import('../src/sandbox/index.ts');
    const { SUBSCRIBED_CHANNEL } = await import('../src/pubsub/live.ts');
    const { EXECUTED_CHANNEL } = await import('../src/pubsub/groups.ts');
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      INSTAGRAM_APP_SECRET: SECRET,
      MAX_CONNECTIONS: String(n + 100),
      MAX_STREAMS_PER_SESSION: String(n + 100),
      MAX_STREAMS_PER_ADDRESS: String(n + 100),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    });
    const sandbox = await startSandbox({ config });
    const app = createApp({
      config,
      sandbox,
      reconcileIntervalMs: 0,
      refreshIntervalMs: 0,
      instagram: { paceReads: false },
    });
    const base = (await app.start()).replace('localhost', '127.0.0.1').replace(/\/graphql$/, '');
    const { accounts } = (await (await fetch(`${base}/sandbox`)).json()) as {
      accounts: { id: string; igId: string; token: string }[];
    };
    const account = accounts[0];
    if (!account) throw new Error('no sandbox account');
    url = `${base.replace(/^http/, 'ws')}/graphql`;
    trigger = { kind: 'webhook', url: `${base}/webhooks/instagram`, igId: account.igId };
    graphqlWs = { token: account.token, accountId: account.id };
    let subscribed = 0;
    let wake = () => {};
    listen(SUBSCRIBED_CHANNEL, () => {
      subscribed++;
      wake();
    });
    listen(EXECUTED_CHANNEL, () => {
      executions++;
    });
    established = async () => {
      while (subscribed < n)
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
    };
    stop = async () => {
      await app.stop();
      await sandbox.stop();
    };
  }

  const before = rss();
  const heapBefore = process.memoryUsage();
  const opened = await ask(child, { cmd: 'open', url, n, graphqlWs });
  if (opened.type !== 'opened' || opened.open !== n)
    throw new Error(`opened ${JSON.stringify(opened)}`);
  await established();
  // Idle: past graphql-ws's wait for `connection_init` (3 s), which holds a timer per socket.
  await new Promise((resolve) => setTimeout(resolve, 3500));
  const after = rss();
  if (process.env.PROBE_DEBUG) {
    const heapAfter = process.memoryUsage();
    const per = (k: 'heapUsed' | 'external' | 'arrayBuffers' | 'heapTotal') =>
      round((heapAfter[k] - heapBefore[k]) / n / 1024, 2);
    console.error(server, n, {
      heapUsed: per('heapUsed'),
      heapTotal: per('heapTotal'),
      external: per('external'),
      arrayBuffers: per('arrayBuffers'),
    });
    if (process.env.PROBE_SNAPSHOT) {
      const { writeHeapSnapshot } = await import('node:v8');
      console.error(writeHeapSnapshot(`/tmp/fanout-${server}-${n}.heapsnapshot`));
    }
  }
  const events = await ask(child, { cmd: 'events', count: EVENTS, trigger });
  if (events.type !== 'events') throw new Error('no events');
  child.kill();
  await stop();
  return {
    server,
    subscribers: n,
    delivered: events.delivered,
    p50: round(percentile(events.samples, 0.5)),
    p99: round(percentile(events.samples, 0.99)),
    rssPerSubscriberKiB: round((after - before) / n / 1024),
    ...(server === 'igql' ? { executions } : {}),
  };
}

// ---- driver ---------------------------------------------------------------------------------

async function drive(counts: number[]): Promise<void> {
  const results: Measured[] = [];
  for (const n of counts) {
    for (const server of ['floor', 'igql'] as const) {
      const child = fork(SELF, ['serve', server, String(n)], {
        execArgv: ['--expose-gc'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const [result] = (await once(child, 'message')) as [Measured];
      await once(child, 'exit');
      console.log(JSON.stringify(result));
      results.push(result);
    }
  }
  console.log(
    '\nsubscribers | server | delivered | p50 ms | p99 ms | RSS KiB/subscriber | p99 / floor',
  );
  for (const r of results) {
    const floor = results.find((f) => f.server === 'floor' && f.subscribers === r.subscribers);
    const ratio = floor && r.server === 'igql' ? `${round(r.p99 / floor.p99, 2)} x` : '';
    console.log(
      `${r.subscribers} | ${r.server} | ${r.delivered}/${EVENTS} | ${r.p50} | ${r.p99} | ${r.rssPerSubscriberKiB} | ${ratio}`,
    );
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'clients') await clients();
else if (mode === 'serve') {
  const result = await serve(rest[0] === 'igql' ? 'igql' : 'floor', Number(rest[1]));
  process.send?.(result);
  process.exit(0);
} else await drive(mode ? [mode, ...rest].map(Number) : [2000, 10_000]);
