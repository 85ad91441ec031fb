/**
 * Ingestion probe (issue 13, "Fast ingestion"): `node bench/ingest-probe.ts [options]`.
 *
 * Starts a redis-server of its own on a free port (test/helpers/redis.ts) and igql in a child
 * process (`src/main.ts`, sandbox mode, `REDIS_URL` set), then offers signed webhook deliveries
 * open-loop at a fixed rate (each sent on schedule, whether or not earlier ones were answered),
 * once with `--per` events in each delivery for every value given. For each it prints the events
 * acknowledged per second, the p50/p99 acknowledgement latency (send → 200), the CPU that igql,
 * Redis and this process used (and the machine: what other processes took of its cores), igql's
 * socket system calls per event, the Redis commands run per event (INFO commandstats, a script's
 * own commands included), and reads every account's log back to check that each acknowledged
 * event is stored exactly once. The sender paces itself with a 1 ms timer, not a spinning loop,
 * so as not to take the CPU igql needs.
 *
 * Options: `--rate N` events offered per second (default 5,000); `--seconds S` per measure
 * (default 5); `--per 10,1` events per delivery; `--accounts N` accounts the deliveries go to
 * (default 20, so that no log trims); `--prof DIR` writes igql's CPU profile there
 * (`node --cpu-prof`) when it stops; `--trees A,B` runs igql from each of these checkouts
 * (default this one), one after the other within each measure, side by side in one run;
 * `--rounds N` repeats every measure and prints the medians (the machine's other work varies).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { toMetaJson } from '../src/sandbox/webhooks.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { offer } from './ingest.ts';
import { cpuMs, ROOT } from './lib.ts';

const APP_SECRET = 'ingest-probe-app-secret';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '5' },
    per: { type: 'string', default: '10,1' },
    accounts: { type: 'string', default: '20' },
    prof: { type: 'string' },
    trees: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const perDeliveries = values.per.split(',').map(Number);
const igIds = Array.from(
  { length: Number(values.accounts) },
  (_, i) => `17841400000${String(i).padStart(5, '0')}`,
);

async function startIgql(
  tree: string,
  redisUrl: string,
): Promise<{ child: ChildProcess; base: string }> {
  const flags = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${values.prof}`] : [];
  const child = spawn(process.execPath, [...flags, 'src/main.ts'], {
    cwd: tree,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      INSTAGRAM_APP_SECRET: APP_SECRET,
      SESSION_SECRET: 'ingest-probe-session-secret-of-32-bytes!',
      REDIS_URL: redisUrl,
      MAX_CONNECTIONS: '100000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /igql is ready: GraphiQL at (https?:\/\/[^\s/]+)/.exec(out);
      if (found?.[1]) resolve(found[1].replace('localhost', '127.0.0.1'));
    });
    child.once('exit', (code) => reject(new Error(`igql exited with ${code}:\n${out}`)));
  });
  return { child, base };
}

interface Measure {
  readonly per: number;
  readonly offered: number;
  readonly accepted: number;
  readonly acknowledged: number;
  readonly events: number;
  readonly refused: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly stored: number;
  /** Acknowledged events not found in any log. */
  readonly missing: number;
  readonly duplicated: number;
  readonly cpu: { readonly igql: number; readonly redis: number; readonly probe: number };
  /** CPU ms per event offered. */
  readonly cpuPerEvent: { readonly igql: number; readonly redis: number };
  /** The machine's 1-minute load average after the measure: other work shares its 2 cores. */
  readonly load: number;
  /** igql's read and write system calls per event (sockets: HTTP and Redis). */
  readonly syscallsPerEvent: { readonly reads: number; readonly writes: number };
  /** The whole machine's CPU during the measure, % of one core (200 % on 2 cores), and the share of processes other than igql, Redis and the probe. */
  readonly machine: { readonly busy: number; readonly others: number };
  readonly commands: Record<string, number>;
}

let runs = 0;

/** Read and write system calls a process has made so far (Linux: `/proc/<pid>/io`). */
function syscalls(pid: number): { readonly reads: number; readonly writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(io)?.[1]);
  return { reads: field('syscr'), writes: field('syscw') };
}

/** CPU time every core has spent busy so far, in ms (Linux: the `cpu` line of `/proc/stat`). */
function machineCpuMs(): number {
  const fields =
    readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ??
    [];
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  const busy = fields.slice(0, 8).reduce((sum, n, i) => (i === 3 || i === 4 ? sum : sum + n), 0);
  return busy * 10;
}

const connect = async (url: string) => createClient({ url }).connect();
type Client = Awaited<ReturnType<typeof connect>>;

async function measure(
  base: string,
  pid: number,
  redis: Client,
  per: number,
  secs: number,
): Promise<Measure> {
  const tag = `${Date.now().toString(36)}-${runs++}`;
  const deliveries = Math.max(1, Math.round((rate * secs) / per));
  const now = Date.now();
  const mids = new Set<string>();
  const midsOf: string[][] = [];
  const bodies = Array.from({ length: deliveries }, (_, d) => {
    const igId = igIds[d % igIds.length] as string;
    midsOf.push([]);
    const entry = Array.from({ length: per }, (_, e) => {
      const mid = `probe-${tag}-${d}-${e}`;
      mids.add(mid);
      midsOf[d]?.push(mid);
      return {
        time: now,
        id: igId,
        messaging: [
          {
            sender: { id: `90000000000${String(e).padStart(5, '0')}` },
            recipient: { id: igId },
            timestamp: now,
            message: { mid, text: `event ${e} of delivery ${d}` },
          },
        ],
      };
    });
    const raw = toMetaJson({ object: 'instagram', entry });
    const hmac = createHmac('sha256', APP_SECRET).update(raw).digest('hex');
    return {
      body: raw,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hmac}` },
    };
  });

  const keys = async () => {
    const found: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: '*:events:*', COUNT: 1000 })) {
      found.push(...batch);
    }
    return found;
  };
  const old = await keys();
  if (old.length > 0) await redis.del(old);
  await redis.configResetStat();

  const redisCpu = async () => {
    const info = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  };
  const cpu0 = {
    igql: cpuMs(pid),
    redis: await redisCpu(),
    probe: process.cpuUsage(),
    machine: machineCpuMs(),
    syscalls: syscalls(pid),
  };
  // The benchmark's own open-loop sender (bench/ingest.ts).
  const start = performance.now();
  const offered = await offer({ base, pid }, bodies, { rate, perDelivery: per });
  const elapsed = (performance.now() - start) / 1000;
  const probeCpu = process.cpuUsage(cpu0.probe);
  const machineBusy = machineCpuMs() - cpu0.machine;
  const sys = syscalls(pid);
  const cpu = {
    igql: cpuMs(pid) - cpu0.igql,
    redis: (await redisCpu()) - cpu0.redis,
    probe: (probeCpu.user + probeCpu.system) / 1000,
  };

  const commands: Record<string, number> = {};
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const found = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (found?.[1] && found[2]) commands[found[1]] = Number(found[2]);
  }

  // Read every log back: each event sent once, stored once.
  let stored = 0;
  let duplicated = 0;
  const seen = new Set<string>();
  for (const key of await keys()) {
    for (const { message } of (await redis.xRange(key, '-', '+')) ?? []) {
      stored++;
      const mid = (JSON.parse(String(message.event)) as { message?: { mid?: string } }).message
        ?.mid;
      if (mid === undefined || !mids.has(mid)) continue;
      if (seen.has(mid)) duplicated++;
      seen.add(mid);
    }
  }
  let missing = 0;
  for (const d of offered.acked) for (const mid of midsOf[d] ?? []) if (!seen.has(mid)) missing++;
  const { events } = offered;
  return {
    per,
    offered: offered.offeredPerSecond,
    accepted: offered.acceptedPerSecond,
    acknowledged: offered.acknowledged,
    events,
    refused: offered.refused,
    p50: offered.ack.p50,
    p99: offered.ack.p99,
    max: offered.maxMs,
    stored,
    missing,
    duplicated,
    cpuPerEvent: { igql: cpu.igql / events, redis: cpu.redis / events },
    syscallsPerEvent: {
      reads: (sys.reads - cpu0.syscalls.reads) / events,
      writes: (sys.writes - cpu0.syscalls.writes) / events,
    },
    load: loadavg()[0] ?? Number.NaN,
    machine: {
      busy: machineBusy / elapsed / 10,
      others: (machineBusy - cpu.igql - cpu.redis - cpu.probe) / elapsed / 10,
    },
    cpu: {
      igql: cpu.igql / elapsed / 10,
      redis: cpu.redis / elapsed / 10,
      probe: cpu.probe / elapsed / 10,
    },
    commands: Object.fromEntries(
      Object.entries(commands).map(([name, calls]) => [
        name,
        Math.round((calls / events) * 100) / 100,
      ]),
    ),
  };
}

const trees = values.trees?.split(',') ?? [ROOT];
const redisServer = await startRedis();
const servers: { tree: string; child: ChildProcess; base: string }[] = [];
const results: { tree: string; m: Measure }[] = [];
const redis = await connect(redisServer.url);
try {
  for (const tree of trees) servers.push({ tree, ...(await startIgql(tree, redisServer.url)) });
  // Warm-up (not kept): the JIT, the connections, the script cache.
  for (const { base, child } of servers) await measure(base, child.pid ?? -1, redis, 10, 0.5);
  console.log(
    `ingest probe: ${rate} events/s offered for ${seconds} s, ${igIds.length} accounts; redis ${redisServer.url}`,
  );
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const per of perDeliveries) {
      for (const { tree, base, child } of servers) {
        const m = await measure(base, child.pid ?? -1, redis, per, seconds);
        results.push({ tree, m });
        const f = (n: number, d = 1) => n.toFixed(d);
        console.log(
          [
            `[${tree}] per delivery ${m.per}: offered ${f(m.offered, 0)}/s accepted ${f(m.accepted, 0)} events/s`,
            `  ack p50 ${f(m.p50, 2)} ms p99 ${f(m.p99, 2)} ms max ${f(m.max, 1)} ms (${m.acknowledged}/${m.events} events acknowledged; refused ${JSON.stringify(m.refused)})`,
            `  logs: ${m.stored} stored, ${m.missing} acknowledged but missing, ${m.duplicated} duplicated`,
            `  cpu %: igql ${f(m.cpu.igql)} redis ${f(m.cpu.redis)} probe ${f(m.cpu.probe)}; cpu ms per event: igql ${f(m.cpuPerEvent.igql, 3)} redis ${f(m.cpuPerEvent.redis, 3)}; load average ${f(m.load, 2)}`,
            `  igql system calls per event: ${f(m.syscallsPerEvent.reads, 2)} reads, ${f(m.syscallsPerEvent.writes, 2)} writes`,
            `  machine: busy ${f(m.machine.busy)} % of ${cpus().length * 100} %, other processes ${f(m.machine.others)} %`,
            `  redis commands per event: ${JSON.stringify(m.commands)}`,
          ].join('\n'),
        );
      }
    }
  }
  if (Number(values.rounds) > 1) {
    // Medians over the rounds: the machine's other work varies from one measure to the next.
    const median = (xs: number[]) =>
      [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
    console.log(`medians over ${values.rounds} rounds:`);
    for (const per of perDeliveries) {
      for (const { tree } of servers) {
        const ms = results.filter((r) => r.tree === tree && r.m.per === per).map((r) => r.m);
        const stored = ms.every((m) => m.missing === 0 && m.duplicated === 0);
        console.log(
          `  [${tree}] per delivery ${per}: accepted ${median(ms.map((m) => m.accepted)).toFixed(0)} events/s, ack p50 ${median(ms.map((m) => m.p50)).toFixed(2)} ms, p99 ${median(ms.map((m) => m.p99)).toFixed(2)} ms (p99 of each round: ${ms.map((m) => m.p99.toFixed(1)).join(', ')}), igql cpu ms per event ${median(ms.map((m) => m.cpuPerEvent.igql)).toFixed(3)}, redis ${median(ms.map((m) => m.cpuPerEvent.redis)).toFixed(3)}; other processes ${median(ms.map((m) => m.machine.others)).toFixed(0)} % of a core; every acknowledged event stored once: ${stored}`,
        );
      }
    }
  }
} finally {
  await redis.quit();
  for (const { child } of servers) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await redisServer.stop();
}
