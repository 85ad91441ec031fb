/**
 * Live fan-out and idle memory, side by side in one run: a bare `ws` server sending one prebuilt
 * frame (the floor), a plain Yoga + graphql-ws server (the baseline), igql on one instance, and
 * igql across two instances (webhook to A, subscribers on B) through one Redis, then through a
 * Redis Cluster of three primaries with a replica each. Each server runs in its own process, one
 * at a time; the subscribers run in another (bench/subscribers.ts), over real sockets, so that
 * their CPU is not the server's.
 *
 * For each server, the subscribers grow through `levels` (1, 1,000, 10,000): at each, `events`
 * events, each timed from the webhook (or publish) until the last subscriber has it, and counted
 * (every subscriber must have every event). Memory: the server's resident set after a full GC,
 * at the first level (after its events) and at the last (idle, before its events).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { startRedis } from '../test/helpers/redis.ts';
import { startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { cpuMs, ROOT, type ServerProcess, type Stats, startServer, stats } from './lib.ts';
import type { Command, Reply, Trigger } from './subscribers.ts';

export const APP_SECRET = 'bench-app-secret';
export const SESSION_SECRET = 'bench-session-secret-of-at-least-32-bytes';

/** What igql needs raised for one address to hold 10,000 sockets; everything else as shipped. */
export const IGQL_ENV = {
  INSTAGRAM_APP_SECRET: APP_SECRET,
  SESSION_SECRET,
  MAX_CONNECTIONS: '100000',
  MAX_STREAMS_PER_ADDRESS: '100000',
} as const;

const IGQL_QUERY =
  'subscription($a: ID!) { messageReceived(accountId: $a) { message { mid text } } }';

export interface FanoutOptions {
  /** Subscriber counts, growing: default 1, 1,000, 10,000. */
  readonly levels: readonly number[];
  /** Timed events per level. Default 20. */
  readonly events: number;
  /** How long one event may take to reach everyone. */
  readonly timeoutMs: number;
  /** Which servers; default all five. */
  readonly servers?: readonly ServerName[];
  /** The Redis Cluster of `igql-cluster`; default `CLUSTER`. */
  readonly cluster?: ClusterShape;
}

export interface ClusterShape {
  readonly primaries: number;
  readonly replicasPerPrimary: number;
}

export type ServerName = 'floor' | 'yoga' | 'igql' | 'igql-redis' | 'igql-cluster';

/** The Redis Cluster of `igql-cluster`: three primaries, each with a replica, as issue 14 runs it. */
export const CLUSTER: ClusterShape = { primaries: 3, replicasPerPrimary: 1 };

export const SERVER_LABELS: Record<ServerName, string> = {
  floor: 'bare ws, one prebuilt frame (floor)',
  yoga: 'plain Yoga + graphql-ws',
  igql: 'igql, one instance (no Redis)',
  'igql-redis': 'igql, webhook to A, subscribers on B (Redis)',
  'igql-cluster': 'igql, webhook to A, subscribers on B (Redis Cluster)',
};

export interface LevelResult {
  readonly subscribers: number;
  /** Per event delivered to every subscriber: ms from the trigger to the last one's frame. */
  readonly latency: Stats;
  /** Events sent, and subscriber deliveries counted against events × subscribers. */
  readonly events: number;
  readonly delivered: number;
  readonly expected: number;
  readonly duplicates: number;
  /** Sockets the server closed, or that failed, during the level. */
  readonly lost: number;
  readonly firstError?: string | undefined;
  /**
   * CPU ms per event (warm-ups included) of the server the subscribers are on, and of the
   * subscribers' process: when the subscribers' is near the latency, they are what is measured.
   */
  readonly cpuPerEvent: { readonly server: number; readonly subscribers: number };
}

export interface ServerResult {
  readonly server: ServerName;
  readonly label: string;
  readonly levels: LevelResult[];
  /** Subscribers that could not connect or subscribe, and the first reason. */
  readonly failedToOpen: number;
  readonly firstOpenError?: string | undefined;
  readonly memory: {
    readonly fromSubscribers: number;
    readonly toSubscribers: number;
    readonly rssFromBytes: number;
    readonly rssToBytes: number;
    /** (rssTo − rssFrom) / (to − from), in KB (1,000 bytes). */
    readonly perSubscriberKB: number;
  };
}

interface Setup {
  readonly url: string;
  readonly protocol: 'graphql-ws' | 'raw';
  readonly query?: string;
  readonly variables?: Record<string, unknown>;
  readonly session?: { readonly secret: string; readonly igIds: readonly string[] };
  readonly trigger: Trigger;
  /** The server whose memory counts: the one the subscribers are on. */
  readonly server: ServerProcess;
  stop(): Promise<void>;
}

/** The sandbox's first demo account, as igql lists it. */
export async function sandboxAccount(base: string): Promise<{ id: string; igId: string }> {
  const res = await fetch(`${base}/sandbox`);
  const { accounts } = (await res.json()) as { accounts: { id: string; igId: string }[] };
  const account = accounts[0];
  if (!account) throw new Error('the sandbox lists no account');
  return account;
}

async function setup(name: ServerName, shape: ClusterShape = CLUSTER): Promise<Setup> {
  if (name === 'floor' || name === 'yoga') {
    const server = await startServer(name);
    return {
      url: `${server.base.replace('http', 'ws')}${name === 'yoga' ? '/graphql' : '/'}`,
      protocol: name === 'yoga' ? 'graphql-ws' : 'raw',
      query: IGQL_QUERY,
      variables: { a: 'bench' },
      trigger: { kind: 'publish', url: `${server.base}/publish`, accountId: 'bench' },
      server,
      stop: () => server.stop(),
    };
  }
  const redis = name === 'igql-redis' ? await startRedis() : undefined;
  const cluster = name === 'igql-cluster' ? await startRedisCluster(shape) : undefined;
  const simulator = await startServer('npm-simulator', {
    INSTAGRAM_APP_SECRET: APP_SECRET,
    SANDBOX_RATE_LIMITS: 'off',
  });
  const env = {
    ...IGQL_ENV,
    SANDBOX_SIMULATOR_URL: simulator.base,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    ...(cluster ? { REDIS_CLUSTER_NODES: cluster.rootNodes.map((n) => n.url).join(',') } : {}),
    // To profile igql as the benchmark runs it: IGQL_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=…'.
    ...(process.env.IGQL_NODE_OPTIONS ? { NODE_OPTIONS: process.env.IGQL_NODE_OPTIONS } : {}),
  };
  const a = await startServer('igql', env);
  const b = redis || cluster ? await startServer('igql', env) : a;
  const account = await sandboxAccount(b.base);
  return {
    url: `${b.base.replace('http', 'ws')}/graphql`,
    protocol: 'graphql-ws',
    query: IGQL_QUERY,
    variables: { a: account.id },
    session: { secret: SESSION_SECRET, igIds: [account.igId] },
    trigger: {
      kind: 'webhook',
      url: `${a.base}/webhooks/instagram`,
      appSecret: APP_SECRET,
      igId: account.igId,
    },
    server: b,
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      await simulator.stop();
      await redis?.stop();
      await cluster?.stop();
    },
  };
}

/** The subscribers' process, and one command at a time to it. */
function subscribersProcess(): {
  readonly pid: number;
  run(command: Command): Promise<Reply>;
  stop(): Promise<void>;
} {
  const child: ChildProcess = fork('bench/subscribers.ts', [], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    pid: child.pid ?? -1,
    async run(command) {
      const answer = once(child, 'message');
      child.send(command);
      const [reply] = (await answer) as [Reply];
      return reply;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

async function measure(name: ServerName, options: FanoutOptions): Promise<ServerResult> {
  const target = await setup(name, options.cluster);
  const subscribers = subscribersProcess();
  try {
    const levels: LevelResult[] = [];
    let failedToOpen = 0;
    let firstOpenError: string | undefined;
    let rssFrom = 0;
    let rssTo = 0;
    const first = options.levels[0] ?? 1;
    const last = options.levels.at(-1) ?? first;
    for (const total of options.levels) {
      const opened = await subscribers.run({
        cmd: 'open',
        total,
        url: target.url,
        protocol: target.protocol,
        query: target.query,
        variables: target.variables,
        session: target.session,
      });
      if (opened.type !== 'opened') throw new Error(`expected opened, got ${opened.type}`);
      failedToOpen += opened.failed;
      firstOpenError ??= opened.firstError;
      if (total === last) rssTo = await target.server.rss();
      const cpu0 = { server: cpuMs(target.server.pid), subscribers: cpuMs(subscribers.pid) };
      const run = await subscribers.run({
        cmd: 'events',
        trigger: target.trigger,
        count: options.events,
        timeoutMs: options.timeoutMs,
      });
      if (run.type !== 'events') throw new Error(`expected events, got ${run.type}`);
      const cpu = {
        server: (cpuMs(target.server.pid) - cpu0.server) / run.triggered,
        subscribers: (cpuMs(subscribers.pid) - cpu0.subscribers) / run.triggered,
      };
      levels.push({
        subscribers: run.subscribers,
        latency: stats(run.samples),
        events: run.delivered.length,
        delivered: run.delivered.reduce((a, b) => a + b, 0),
        expected: run.delivered.length * run.subscribers,
        duplicates: run.duplicates,
        lost: run.lost,
        firstError: run.firstError,
        cpuPerEvent: cpu,
      });
      if (total === first) rssFrom = await target.server.rss();
    }
    await subscribers.run({ cmd: 'close' });
    return {
      server: name,
      label: SERVER_LABELS[name],
      levels,
      failedToOpen,
      firstOpenError,
      memory: {
        fromSubscribers: first,
        toSubscribers: last,
        rssFromBytes: rssFrom,
        rssToBytes: rssTo,
        perSubscriberKB: last > first ? (rssTo - rssFrom) / (last - first) / 1000 : Number.NaN,
      },
    };
  } finally {
    await subscribers.stop();
    await target.stop();
  }
}

/** Every server of `options.servers`, one after the other. */
export async function fanout(options: FanoutOptions): Promise<ServerResult[]> {
  const results: ServerResult[] = [];
  const all = ['floor', 'yoga', 'igql', 'igql-redis', 'igql-cluster'] as const;
  for (const name of options.servers ?? all) {
    results.push(await measure(name, options));
  }
  return results;
}
