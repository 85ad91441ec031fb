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
 * heap snapshot of each server before its subscribers came and with them idle, to
 * /tmp/fanout-<server>-<N>-before.heapsnapshot and /tmp/fanout-<server>-<N>.heapsnapshot; compare
 * them with `node bench/fanout-probe.ts diff <before> <after> <N>` (the objects the second has
 * that the first lacks, by kind and holder, per subscriber). PROBE_PROFILE=1 writes a CPU profile
 * of each server while its events are delivered to /tmp/fanout-<server>-<N>.cpuprofile.
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

  if (process.env.PROBE_DEBUG && process.env.PROBE_SNAPSHOT) {
    // Before the baseline is read, so that writing it does not count as the subscribers'.
    const { writeHeapSnapshot } = await import('node:v8');
    console.error(writeHeapSnapshot(`/tmp/fanout-${server}-${n}-before.heapsnapshot`));
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
  const profiler = process.env.PROBE_PROFILE ? await profile() : undefined;
  const events = await ask(child, { cmd: 'events', count: EVENTS, trigger });
  if (events.type !== 'events') throw new Error('no events');
  if (profiler) console.error(await profiler.stop(`/tmp/fanout-${server}-${n}.cpuprofile`));
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

/** A CPU profile of this process from now until `stop` writes it to `path` (PROBE_PROFILE=1). */
async function profile(): Promise<{ stop(path: string): Promise<string> }> {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(path) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
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

// ---- diff: what two heap snapshots of one process differ by, per subscriber ------------------

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

/**
 * The objects of `after` that `before` lacks (snapshot ids are stable within a process), by kind
 * (`type:name`, strings and code lumped together), with the kind and edge of the object that
 * holds each: KiB and count per subscriber, largest first.
 */
async function diff(beforePath: string, afterPath: string, n: number): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const load = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Snapshot;
  const before = await load(beforePath);
  const after = await load(afterPath);
  const { meta } = after.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [TYPE, NAME, ID, SIZE, EDGES] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number, number];
  const [ETYPE, ENAME, ETO] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const oldIds = new Set<number>();
  for (let i = 0; i < before.nodes.length; i += before.snapshot.meta.node_fields.length)
    oldIds.add(before.nodes[i + ID] as number);
  const { nodes, edges, strings } = after;
  const kind = (i: number) => {
    const type = meta.node_types[0][nodes[i + TYPE] as number] ?? '?';
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string')
      return '(strings)';
    if (
      type === 'code' ||
      type === 'number' ||
      (type === 'hidden' && strings[nodes[i + NAME] as number]?.startsWith('system /'))
    )
      return `${type}:${strings[nodes[i + NAME] as number]?.slice(0, 40)}`;
    return `${type}:${(strings[nodes[i + NAME] as number] ?? '').slice(0, 60)}`;
  };
  // The first strong holder of each node.
  const holder = new Map<number, string>();
  let edge = 0;
  for (let i = 0; i < nodes.length; i += nf) {
    const count = nodes[i + EDGES] as number;
    for (let e = 0; e < count; e++, edge += ef) {
      const etype = meta.edge_types[0][edges[edge + ETYPE] as number];
      if (etype === 'weak') continue;
      const to = edges[edge + ETO] as number;
      if (holder.has(to)) continue;
      const name =
        etype === 'element' || etype === 'hidden'
          ? `[${etype}]`
          : String(strings[edges[edge + ENAME] as number]).slice(0, 30);
      holder.set(to, `${kind(i)} .${name}`);
    }
  }
  const byKind = new Map<string, { size: number; count: number; holders: Map<string, number> }>();
  for (let i = 0; i < nodes.length; i += nf) {
    if (oldIds.has(nodes[i + ID] as number)) continue;
    const k = kind(i);
    let entry = byKind.get(k);
    if (!entry) {
      entry = { size: 0, count: 0, holders: new Map() };
      byKind.set(k, entry);
    }
    const size = nodes[i + SIZE] as number;
    entry.size += size;
    entry.count++;
    const h = holder.get(i) ?? '(none)';
    entry.holders.set(h, (entry.holders.get(h) ?? 0) + size);
  }
  const rows = [...byKind].sort((a, b) => b[1].size - a[1].size);
  const total = rows.reduce((sum, [, e]) => sum + e.size, 0);
  console.log(`new objects: ${round(total / n / 1024, 2)} KiB per subscriber (self sizes)\n`);
  console.log('KiB/sub | count/sub | kind | held mostly by');
  for (const [k, e] of rows.slice(0, Number(process.env.DIFF_ROWS ?? 40))) {
    const top = [...e.holders]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(process.env.DIFF_HOLDERS ?? 2))
      .map(([h, size]) => `${h} (${Math.round((100 * size) / e.size)}%)`)
      .join('; ');
    console.log(`${round(e.size / n / 1024, 3)} | ${round(e.count / n, 2)} | ${k} | ${top}`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'diff') await diff(rest[0] ?? '', rest[1] ?? '', Number(rest[2] ?? 1));
else if (mode === 'clients') await clients();
else if (mode === 'serve') {
  const result = await serve(rest[0] === 'igql' ? 'igql' : 'floor', Number(rest[1]));
  process.send?.(result);
  process.exit(0);
} else await drive(mode ? [mode, ...rest].map(Number) : [2000, 10_000]);
