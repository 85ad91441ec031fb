/**
 * The read path: upstream requests per query (igql against a naive resolver tree), and the inbox
 * page (25 conversations × 20 messages) through igql against the same data straight from the
 * simulator, with the simulator in its own process and `clients` concurrent clients, each
 * sending its next request when the last answer has been read. Throughput at 0 ms simulated
 * latency, latency p50/p99 at 50 ms; the two paths take turns in rounds (the order alternating),
 * so the machine's drift falls on both alike.
 */
import { performance } from 'node:perf_hooks';
import { type Dispatcher, Pool } from 'undici';
import { cpuMs, PAGE, type Stats, stats } from './lib.ts';
import { type Stack, startStack } from './stack.ts';

const INBOX = `{ viewer { conversations(first: ${PAGE.conversations}) { nodes { participants { username } messages(first: ${PAGE.messages}) { nodes { text from { username } createdTime } } } } } }`;
const CONVERSATION = `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: ${PAGE.messages}) { nodes { text from { username } createdTime } } } } }`;
/** What igql asks the simulator for the inbox query (its `fields=`), asked directly. */
const DIRECT_FIELDS = `id,participants,messages.limit(${PAGE.messages}){id,created_time,from,message}`;

export interface ReadPathOptions {
  readonly clients: number;
  /** Seconds of each turn, and turns per path. */
  readonly seconds: number;
  readonly rounds: number;
  /** The simulated latency of the latency measure. Default 50. */
  readonly latencyMs?: number;
}

export interface PathFigures {
  readonly requests: number;
  readonly perSecond: number;
  readonly latency: Stats;
  /** CPU ms per request by process: the simulator's, and igql's (on igql's path). */
  readonly cpuPerRequest: { readonly simulator: number; readonly igql?: number };
}

export interface ReadPathResult extends ReadPathOptions {
  /** [query, upstream requests through igql, what a naive resolver tree would make]. */
  readonly rows: readonly (readonly [string, number, number])[];
  readonly throughput: { readonly igql: PathFigures; readonly direct: PathFigures };
  readonly latency: {
    readonly latencyMs: number;
    readonly igql: PathFigures;
    readonly direct: PathFigures;
  };
}

interface Path {
  readonly pool: Pool;
  readonly options: Dispatcher.RequestOptions;
}

function paths(stack: Stack, session: string, clients: number) {
  const igql: Path = {
    pool: new Pool(stack.igql.base, { connections: clients, keepAliveTimeout: 60_000 }),
    options: {
      method: 'POST',
      path: '/graphql',
      headers: {
        'content-type': 'application/json',
        // Like for like with the direct path: compression is for the network, not loopback.
        'accept-encoding': 'identity',
        authorization: `Bearer ${session}`,
      },
      body: JSON.stringify({ query: INBOX }),
    },
  };
  const direct: Path = {
    pool: new Pool(stack.simulator.base, { connections: clients, keepAliveTimeout: 60_000 }),
    options: {
      method: 'GET',
      path: `/v25.0/me/conversations?platform=instagram&limit=${PAGE.conversations}&fields=${encodeURIComponent(DIRECT_FIELDS)}`,
      headers: { authorization: `Bearer ${stack.bench.instagramAccessToken}` },
    },
  };
  return { igql, direct };
}

interface Samples {
  ms: number;
  readonly latencies: number[];
  cpu: { simulator: number; igql: number };
}

/** `clients` loops for `seconds`, each sending its next request when the last was read. */
async function load(path: Path, clients: number, seconds: number, into?: Samples): Promise<void> {
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await path.pool.request(path.options);
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) throw new Error(`${path.options.path}: HTTP ${res.statusCode}`);
        into?.latencies.push(performance.now() - t0);
      }
    }),
  );
  if (into) into.ms += performance.now() - started;
}

/** Both paths against one stack, in turns. */
async function compare(
  stack: Stack,
  options: ReadPathOptions,
): Promise<{ igql: PathFigures; direct: PathFigures }> {
  const both = paths(stack, await stack.session(), options.clients);
  // igql answers the whole page, without errors.
  const res = await both.igql.pool.request(both.igql.options);
  const body = (await res.body.json()) as {
    errors?: unknown;
    data?: { viewer: { conversations: { nodes: { messages: { nodes: unknown[] } }[] } } };
  };
  const nodes = body.data?.viewer.conversations.nodes ?? [];
  if (body.errors || nodes.length !== PAGE.conversations) {
    throw new Error(`read path: igql answered ${JSON.stringify(body).slice(0, 300)}`);
  }
  const order = ['igql', 'direct'] as const;
  for (const name of order) await load(both[name], options.clients, Math.min(1, options.seconds)); // warm both
  const samples = {
    igql: { ms: 0, latencies: [], cpu: { simulator: 0, igql: 0 } } as Samples,
    direct: { ms: 0, latencies: [], cpu: { simulator: 0, igql: 0 } } as Samples,
  };
  for (let round = 0; round < options.rounds; round++) {
    for (const name of round % 2 === 0 ? order : [...order].reverse()) {
      const s = samples[name];
      const cpu0 = { simulator: cpuMs(stack.simulator.pid), igql: cpuMs(stack.igql.pid) };
      await load(both[name], options.clients, options.seconds, s);
      s.cpu.simulator += cpuMs(stack.simulator.pid) - cpu0.simulator;
      s.cpu.igql += cpuMs(stack.igql.pid) - cpu0.igql;
    }
  }
  await Promise.all([both.igql.pool.close(), both.direct.pool.close()]);
  const figures = (s: Samples, withIgql: boolean): PathFigures => ({
    requests: s.latencies.length,
    perSecond: (s.latencies.length * 1000) / s.ms,
    latency: stats(s.latencies),
    cpuPerRequest: {
      simulator: s.cpu.simulator / s.latencies.length,
      ...(withIgql ? { igql: s.cpu.igql / s.latencies.length } : {}),
    },
  });
  return { igql: figures(samples.igql, true), direct: figures(samples.direct, false) };
}

/** Upstream requests igql makes for the inbox page and for one conversation's page. */
async function upstreamRows(stack: Stack): Promise<[string, number, number][]> {
  const session = await stack.session();
  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${stack.igql.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as {
      errors?: unknown;
      data?: { viewer?: { conversations: { nodes: { id: string }[] } } };
    };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  const calls = async (run: () => Promise<unknown>) => {
    const before = await stack.upstreamRequests();
    await run();
    return (await stack.upstreamRequests()) - before;
  };
  const first = await post(
    `{ viewer { conversations(first: ${PAGE.conversations}) { nodes { id } } } }`,
  );
  const id = first.data?.viewer?.conversations.nodes[0]?.id;
  return [
    // Naive: the list, then each conversation's messages, then each message's sender.
    [
      `inbox: ${PAGE.conversations} conversations × ${PAGE.messages} messages`,
      await calls(() => post(INBOX)),
      1 + PAGE.conversations + PAGE.conversations * PAGE.messages,
    ],
    [
      `conversation page: ${PAGE.messages} messages`,
      await calls(() => post(CONVERSATION, { id })),
      1 + PAGE.messages,
    ],
  ];
}

export async function readPath(options: ReadPathOptions): Promise<ReadPathResult> {
  const latencyMs = options.latencyMs ?? 50;
  const fast = await startStack();
  let rows: [string, number, number][];
  let throughput: { igql: PathFigures; direct: PathFigures };
  try {
    rows = await upstreamRows(fast);
    throughput = await compare(fast, options);
  } finally {
    await fast.stop();
  }
  const slow = await startStack({ latencyMs });
  try {
    return {
      ...options,
      rows,
      throughput,
      latency: { latencyMs, ...(await compare(slow, options)) },
    };
  } finally {
    await slow.stop();
  }
}
