/**
 * The read path under load, with the simulator in its own process: the inbox page (25
 * conversations × 20 messages) through igql against the same data straight from the simulator,
 * 10 concurrent clients each. Reports throughput (req/s) at 0 ms simulated latency and latency
 * p50/p99 at 50 ms, each percentile of each path computed on its own samples.
 *
 *   node bench/read-probe.ts [--seconds 4] [--rounds 3] [--latency 0,50]
 *                            [--variant name=DIR[@NODE_ENV] ...] [--cpu-prof DIR] [--node-env production]
 *   node bench/read-probe.ts --cpu-ab 400 --variant a=DIR --variant b=DIR
 *
 * Processes: this one is the load generator; one simulator child per latency; one igql child per
 * variant (`--variant before=/path/to/a/copy` loads `DIR/src/app.ts`; default: this checkout),
 * all against the same simulator (`--variant floor=floor`: a bare Node proxy instead, the floor
 * of any gateway in Node). Rounds interleave the targets (the order rotates each round),
 * so the machine's drift falls on all of them alike. `--cpu-prof DIR` starts the igql children
 * with `node --cpu-prof` (a profile per child and latency, written when it exits).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Dispatcher, Pool } from 'undici';
import { DIRECT_PATH, readFloor } from './read-floor.ts';

const CONVERSATIONS = 25;
const MESSAGES = 20;
const CLIENTS = 10;
const APP_SECRET = 'bench-secret';

/** bench/read-path.ts's inbox query. */
const INBOX = `{ viewer { conversations(first: ${CONVERSATIONS}) { nodes { participants { username } messages(first: ${MESSAGES}) { nodes { text from { username } createdTime } } } } } }`;
/** The direct call: what igql asks the simulator for the inbox. */
const directPath = DIRECT_PATH;

const here = fileURLToPath(import.meta.url);
const root = resolve(here, '../..');

interface SimulatorReady {
  readonly url: string;
  readonly token: string;
  readonly igId: string;
}

/** Child: a simulator seeded as bench/read-path.ts seeds it, at `LATENCY_MS`. */
async function simulatorChild(): Promise<void> {
  const { Simulator } = await import(pathToFileURL(`${root}/src/sandbox/simulator.ts`).href);
  const sim = new Simulator({
    appSecret: APP_SECRET,
    rateLimits: false,
    latencyMs: Number(process.env.LATENCY_MS ?? 0),
  });
  const { account, token } = sim.addAccount({ username: 'bench.shop' });
  for (let i = 0; i < CONVERSATIONS + 5; i++) {
    const user = sim.store.addUser(account.igId, { username: `customer${i}` });
    for (let n = 0; n < MESSAGES + 10; n++) {
      sim.store.addMessage(account.igId, user.igsid, {
        fromId: n % 2 === 0 ? user.igsid : account.igId,
        text: `message ${n} of conversation ${i}`,
        createdTime: Date.now() - i * 3_600_000 - (40 - n) * 60_000,
      });
    }
  }
  await sim.start();
  // The request log would grow by one entry a request for the whole run.
  setInterval(() => {
    sim.requests.length = 0;
  }, 1000).unref();
  process.send?.({ url: sim.url, token: token.token, igId: account.igId } satisfies SimulatorReady);
}

/**
 * Child: igql (from `DIR/src`) in sandbox mode against the simulator child at `SIM_URL`, through
 * a `Sandbox` naming that remote simulator's hosts and its account's token. Sends back its
 * GraphQL URL and a session for the account.
 */
async function igqlChild(): Promise<void> {
  const { app, url, session } = await startIgql(
    process.env.IGQL_DIR ?? root,
    JSON.parse(process.env.SIM ?? '{}') as SimulatorReady,
  );
  process.on('SIGTERM', async () => {
    await app.stop();
    process.exit(0); // writes the --cpu-prof profile
  });
  process.send?.({ url, session });
}

/**
 * Child: the floor of any gateway in Node, for comparison: bench/read-floor.ts against the
 * simulator child at `SIM`.
 */
async function floorChild(): Promise<void> {
  const sim = JSON.parse(process.env.SIM ?? '{}') as SimulatorReady;
  const server = readFloor(sim, CLIENTS);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ url: `http://127.0.0.1:${port}/graphql`, session: '' });
}

/** igql from `dir/src`, started against the simulator `sim`, and a session for its account. */
async function startIgql(
  dir: string,
  sim: SimulatorReady,
): Promise<{ app: { stop(): Promise<void> }; url: string; session: string }> {
  const load = (path: string) => import(pathToFileURL(`${dir}/src/${path}`).href);
  const [{ createApp }, { loadConfig }, { signSession }] = await Promise.all([
    load('app.ts'),
    load('config.ts'),
    load('auth/jwt.ts'),
  ]);
  const config = loadConfig({
    PORT: '0',
    INSTAGRAM_APP_SECRET: APP_SECRET,
    GRAPHIQL: 'off',
    SANDBOX_RATE_LIMITS: 'off',
    ...(process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {}),
  });
  const sandbox = {
    simulator: { appId: '1000000000000001' },
    upstream: {
      graphUrl: sim.url,
      oauthUrl: sim.url,
      tokenUrl: sim.url,
      facebookGraphUrl: `${sim.url}/facebook`,
      facebookOauthUrl: `${sim.url}/facebook`,
    },
    redisPrefix: 'igql:bench',
    routes: {},
    accounts: () => [{ igId: sim.igId, accessToken: sim.token, status: 'ACTIVE' }],
    deliverWebhooksTo() {},
    graphiql: async () => ({}),
    stop: async () => {},
  };
  const app = createApp({ config, sandbox, instagram: { paceReads: false } });
  const url: string = await app.start();
  const session: string = await signSession(
    config.sessionSecret,
    { sub: 'bench', accounts: [sim.igId] },
    3600,
  );
  return { app, url, session };
}

// ---- load -----------------------------------------------------------------------------------

interface Target {
  readonly name: string;
  readonly pool: Pool;
  readonly path: string;
  readonly options: Omit<Dispatcher.RequestOptions, 'path'>;
}

interface Samples {
  readonly name: string;
  ms: number;
  readonly latencies: number[];
  /** CPU time (user + system) spent during this target's windows, by process. */
  readonly cpuMs: Record<string, number>;
}

/** CPU time a process has used so far, in ms (Linux: `/proc/<pid>/stat`, 100 ticks a second). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** CPU used by each process while `run` runs, added to `into`. */
async function measuringCpu(
  processes: Readonly<Record<string, number | undefined>>,
  into: Record<string, number>,
  run: () => Promise<void>,
): Promise<void> {
  const before = Object.entries(processes).map(([name, pid]) => [name, cpuMs(pid)] as const);
  await run();
  for (const [name, at] of before) {
    into[name] = (into[name] ?? 0) + cpuMs(processes[name]) - at;
  }
}

/** `CLIENTS` loops, each sending its next request when the last answer has been read. */
async function load(target: Target, seconds: number, into?: Samples): Promise<void> {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const res = await target.pool.request({ ...target.options, path: target.path });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`${target.name}: HTTP ${res.statusCode}`);
      into?.latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  if (into) into.ms += performance.now() - started;
}

const percentile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

export interface ProbeRow {
  readonly name: string;
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU ms per request, by process (`client`, `simulator`, `igql`: the one this target used). */
  readonly cpuPerRequest: Readonly<Record<string, number>>;
}

function summarise(s: Samples): ProbeRow {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  return {
    name: s.name,
    requests: sorted.length,
    rps: (sorted.length * 1000) / s.ms,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuPerRequest: Object.fromEntries(
      Object.entries(s.cpuMs).map(([name, ms]) => [name, ms / sorted.length]),
    ),
  };
}

function start<T>(role: string, env: Record<string, string>, execArgv: string[] = []) {
  const child = fork(here, [role], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return {
    child,
    ready: once(child, 'message').then(([message]) => message as T),
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** One latency: a simulator, igql per variant, the rounds; returns a row per target. */
export async function probe(o: {
  latencyMs: number;
  seconds: number;
  rounds: number;
  /** `nodeEnv`: this variant's NODE_ENV, when not the run's. */
  variants: readonly { name: string; dir: string; nodeEnv?: string | undefined }[];
  cpuProf?: string | undefined;
  nodeEnv: string;
}): Promise<ProbeRow[]> {
  const sim = start<SimulatorReady>('simulator', { LATENCY_MS: String(o.latencyMs) });
  const simReady = await sim.ready;
  const igqls = o.variants.map((v) => ({
    ...v,
    ...start<{ url: string; session: string }>(
      v.dir === 'floor' ? 'floor' : 'igql',
      // As the Dockerfile runs it (graphql-js then skips its development-mode checks).
      { IGQL_DIR: v.dir, SIM: JSON.stringify(simReady), NODE_ENV: v.nodeEnv ?? o.nodeEnv },
      o.cpuProf
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${o.cpuProf}`,
            `--cpu-prof-name=${v.name}-${o.latencyMs}ms.cpuprofile`,
          ]
        : [],
    ),
  }));
  const pools: Pool[] = [];
  const pool = (url: string) => {
    const p = new Pool(new URL(url).origin, { connections: CLIENTS, keepAliveTimeout: 60_000 });
    pools.push(p);
    return p;
  };
  const targets: Target[] = [
    {
      name: 'direct',
      pool: pool(simReady.url),
      path: directPath,
      options: { method: 'GET', headers: { authorization: `Bearer ${simReady.token}` } },
    },
  ];
  for (const v of igqls) {
    const { url, session } = await v.ready;
    targets.push({
      name: v.dir === 'floor' ? v.name : `igql ${v.name}`,
      pool: pool(url),
      path: new URL(url).pathname,
      options: {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'accept-encoding': 'identity',
          authorization: `Bearer ${session}`,
        },
        body: JSON.stringify({ query: INBOX }),
      },
    });
  }
  // Every igql answers the whole page, without errors.
  for (const t of targets.slice(1)) {
    const res = await t.pool.request({ ...t.options, path: t.path });
    const body = (await res.body.json()) as {
      errors?: unknown;
      data?: { viewer: { conversations: { nodes: { messages: { nodes: unknown[] } }[] } } };
    };
    const nodes = body.data?.viewer.conversations.nodes ?? [];
    if (
      body.errors ||
      nodes.length !== CONVERSATIONS ||
      nodes[0]?.messages.nodes.length !== MESSAGES
    )
      throw new Error(`${t.name}: ${JSON.stringify(body).slice(0, 500)}`);
  }
  for (const t of targets) await load(t, 1); // warm every path
  const samples = targets.map((t): Samples => ({ name: t.name, ms: 0, latencies: [], cpuMs: {} }));
  for (let round = 0; round < o.rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      const s = samples[i] as Samples;
      const processes = {
        client: process.pid,
        simulator: sim.child.pid,
        ...(i > 0 ? { igql: igqls[i - 1]?.child.pid } : {}),
      };
      await measuringCpu(processes, s.cpuMs, () => load(targets[i] as Target, o.seconds, s));
    }
  }
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all([...igqls.map((v) => stop(v.child)), stop(sim.child)]);
  return samples.map(summarise);
}

/**
 * Side by side at the grain of one request: every variant's igql in this process, one request
 * at a time, taking turns, each request's CPU time (this process: igql and its client) recorded.
 * The client's share is the same for every variant, so differences are igql's. A loaded machine
 * inflates every variant's figures alike; the median resists the outliers.
 */
export async function cpuPerRequest(o: {
  requests: number;
  variants: readonly { name: string; dir: string }[];
}): Promise<{ name: string; median: number; mean: number }[]> {
  process.env.NODE_ENV ??= 'production'; // before graphql-js loads, as the Dockerfile runs
  const sim = start<SimulatorReady>('simulator', { LATENCY_MS: '0' });
  const ready = await sim.ready;
  const targets: {
    name: string;
    app: { stop(): Promise<void> };
    url: string;
    session: string;
    pool: Pool;
    cpu: number[];
  }[] = [];
  for (const v of o.variants) {
    const igql = await startIgql(v.dir, ready);
    const pool = new Pool(new URL(igql.url).origin, { connections: 1 });
    targets.push({ name: v.name, ...igql, pool, cpu: [] });
  }
  const once = async (t: (typeof targets)[number]) => {
    const res = await t.pool.request({
      method: 'POST',
      path: '/graphql',
      headers: {
        'content-type': 'application/json',
        'accept-encoding': 'identity',
        authorization: `Bearer ${t.session}`,
      },
      body: JSON.stringify({ query: INBOX }),
    });
    const body = await res.body.text();
    if (res.statusCode !== 200 || body.includes('"errors"')) throw new Error(body.slice(0, 300));
  };
  for (let i = 0; i < 100; i++) for (const t of targets) await once(t); // warm
  for (let i = 0; i < o.requests; i++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + i) % targets.length] as (typeof targets)[number];
      const before = process.cpuUsage();
      await once(t);
      const used = process.cpuUsage(before);
      t.cpu.push((used.user + used.system) / 1000);
    }
  }
  for (const t of targets) {
    await t.pool.close();
    await t.app.stop();
  }
  await stop(sim.child);
  return targets.map((t) => {
    const sorted = [...t.cpu].sort((a, b) => a - b);
    return {
      name: t.name,
      median: percentile(sorted, 0.5),
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      latency: { type: 'string', default: '0,50' },
      variant: { type: 'string', multiple: true },
      'cpu-prof': { type: 'string' },
      'node-env': { type: 'string', default: 'production' },
      'cpu-ab': { type: 'string' },
    },
  });
  const variants = (values.variant ?? [`current=${root}`]).map((v) => {
    const [name = '', spec = ''] = v.split('=');
    const [dir = '', nodeEnv] = spec.split('@');
    return { name, dir: dir === 'floor' ? dir : resolve(dir), nodeEnv };
  });
  if (values['cpu-ab']) {
    const rows = await cpuPerRequest({ requests: Number(values['cpu-ab']), variants });
    const first = rows[0] as (typeof rows)[number];
    console.log(
      'variant          CPU ms/request (igql + client, this process): median   mean   median vs first',
    );
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(16)} ${r.median.toFixed(3).padStart(52)} ${r.mean.toFixed(3).padStart(6)} ${`${((100 * r.median) / first.median).toFixed(1)} %`.padStart(17)}`,
      );
    }
    return;
  }
  for (const latencyMs of values.latency.split(',').map(Number)) {
    const rows = await probe({
      latencyMs,
      seconds: Number(values.seconds),
      rounds: Number(values.rounds),
      variants,
      cpuProf: values['cpu-prof'],
      nodeEnv: values['node-env'],
    });
    const direct = rows[0] as ProbeRow;
    console.log(
      `\nsimulator latency ${latencyMs} ms, ${CLIENTS} clients, ${values.rounds} × ${values.seconds} s each`,
    );
    console.log(
      'target            req/s   of direct   p50 ms   p99 ms   p50 − direct p50   p99 − direct p99   CPU ms/req: client  simulator  igql',
    );
    for (const r of rows) {
      console.log(
        [
          r.name.padEnd(16),
          r.rps.toFixed(0).padStart(6),
          `${((100 * r.rps) / direct.rps).toFixed(1)} %`.padStart(11),
          r.p50.toFixed(2).padStart(8),
          r.p99.toFixed(2).padStart(8),
          (r.p50 - direct.p50).toFixed(2).padStart(18),
          (r.p99 - direct.p99).toFixed(2).padStart(18),
          ...['client', 'simulator', 'igql'].map((p) =>
            (r.cpuPerRequest[p]?.toFixed(2) ?? '-').padStart(p === 'client' ? 20 : 10),
          ),
        ].join(' '),
      );
    }
  }
}

const role = process.argv[2];
if (role === 'simulator') await simulatorChild();
else if (role === 'igql') await igqlChild();
else if (role === 'floor') await floorChild();
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
