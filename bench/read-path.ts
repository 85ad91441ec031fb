/**
 * The read path: upstream requests per query (igql against a naive resolver tree), and the inbox
 * page (25 conversations × 20 messages) through igql against the same data straight from the
 * simulator and through a bare Node proxy (bench/read-floor.ts: the floor of any Node gateway),
 * each server in its own process and `clients` concurrent clients, each sending its next request
 * when the last answer has been read. Throughput at 0 ms simulated latency, latency p50/p99 at
 * 50 ms; the three paths take turns in rounds (the order rotating), so the machine's drift falls
 * on all of them alike.
 */
import { performance } from 'node:perf_hooks';
import { type Dispatcher, Pool } from 'undici';
import { cpuMs, PAGE, type ServerProcess, type Stats, startServer, stats } from './lib.ts';
import { DIRECT_PATH } from './read-floor.ts';
import { type Stack, startStack } from './stack.ts';

const INBOX = `{ viewer { conversations(first: ${PAGE.conversations}) { nodes { participants { username } messages(first: ${PAGE.messages}) { nodes { text from { username } createdTime } } } } } }`;
const CONVERSATION = `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: ${PAGE.messages}) { nodes { text from { username } createdTime } } } } }`;

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
  /** CPU ms per request by process: the simulator's, and igql's or the floor's on their paths. */
  readonly cpuPerRequest: {
    readonly simulator: number;
    readonly igql?: number;
    readonly floor?: number;
  };
}

export interface ReadPathResult extends ReadPathOptions {
  /** [query, upstream requests through igql, what a naive resolver tree would make]. */
  readonly rows: readonly (readonly [string, number, number])[];
  readonly throughput: Paths;
  readonly latency: Paths & { readonly latencyMs: number };
}

/** Each path's figures: igql, the Graph API directly, and the bare Node proxy (the floor). */
export interface Paths {
  readonly igql: PathFigures;
  readonly direct: PathFigures;
  readonly floor: PathFigures;
}

interface Path {
  readonly pool: Pool;
  readonly options: Dispatcher.RequestOptions;
}

function paths(stack: Stack, floor: ServerProcess, session: string, clients: number) {
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
      path: DIRECT_PATH,
      headers: { authorization: `Bearer ${stack.bench.instagramAccessToken}` },
    },
  };
  // The floor is asked as igql is (it ignores the query and the session).
  const bare: Path = {
    pool: new Pool(floor.base, { connections: clients, keepAliveTimeout: 60_000 }),
    options: { ...igql.options, headers: { 'content-type': 'application/json' } },
  };
  return { igql, direct, floor: bare };
}

interface Samples {
  ms: number;
  readonly latencies: number[];
  cpu: { simulator: number; gateway: number };
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

/** The three paths against one stack, in turns; the floor started for them, against its simulator. */
async function compare(stack: Stack, options: ReadPathOptions): Promise<Paths> {
  const floor = await startServer('read-floor', {
    READ_FLOOR_UPSTREAM: stack.simulator.base,
    READ_FLOOR_TOKEN: stack.bench.instagramAccessToken,
    READ_FLOOR_CONNECTIONS: String(options.clients),
  });
  try {
    const all = paths(stack, floor, await stack.session(), options.clients);
    // igql and the floor answer the whole page, without errors.
    for (const name of ['igql', 'floor'] as const) {
      const res = await all[name].pool.request(all[name].options);
      const body = (await res.body.json()) as {
        errors?: unknown;
        data?: { viewer: { conversations: { nodes: { messages: { nodes: unknown[] } }[] } } };
      };
      const nodes = body.data?.viewer.conversations.nodes ?? [];
      if (
        body.errors ||
        nodes.length !== PAGE.conversations ||
        nodes[0]?.messages.nodes.length !== PAGE.messages
      ) {
        throw new Error(`read path: ${name} answered ${JSON.stringify(body).slice(0, 300)}`);
      }
    }
    const order = ['direct', 'igql', 'floor'] as const;
    const gateway = { direct: undefined, igql: stack.igql.pid, floor: floor.pid };
    for (const name of order) await load(all[name], options.clients, Math.min(1, options.seconds)); // warm all
    const fresh = (): Samples => ({ ms: 0, latencies: [], cpu: { simulator: 0, gateway: 0 } });
    const samples = { direct: fresh(), igql: fresh(), floor: fresh() };
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < order.length; k++) {
        const name = order[(k + round) % order.length] as (typeof order)[number];
        const s = samples[name];
        const pid = gateway[name];
        const cpu0 = { simulator: cpuMs(stack.simulator.pid), gateway: pid ? cpuMs(pid) : 0 };
        await load(all[name], options.clients, options.seconds, s);
        s.cpu.simulator += cpuMs(stack.simulator.pid) - cpu0.simulator;
        s.cpu.gateway += (pid ? cpuMs(pid) : 0) - cpu0.gateway;
      }
    }
    await Promise.all(order.map((name) => all[name].pool.close()));
    const figures = (s: Samples, gateway?: 'igql' | 'floor'): PathFigures => ({
      requests: s.latencies.length,
      perSecond: (s.latencies.length * 1000) / s.ms,
      latency: stats(s.latencies),
      cpuPerRequest: {
        simulator: s.cpu.simulator / s.latencies.length,
        ...(gateway ? { [gateway]: s.cpu.gateway / s.latencies.length } : {}),
      },
    });
    return {
      direct: figures(samples.direct),
      igql: figures(samples.igql, 'igql'),
      floor: figures(samples.floor, 'floor'),
    };
  } finally {
    await floor.stop();
  }
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
  let throughput: Paths;
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
