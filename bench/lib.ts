/**
 * What every benchmark shares: percentiles, the servers in their own processes (so that their
 * CPU and resident memory are theirs, not the load's), and the machine's description.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The repository's root: servers run from there, as `npm start` runs igql. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The read path's page (conversations × messages), and the account bench/simulator.ts seeds it in. */
export const PAGE = { conversations: 25, messages: 20 } as const;
export const BENCH_ACCOUNT = 'bench.shop';

/** Each figure its own percentile of its own samples (nearest rank). */
export interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
}

/** p50 and p99 of `samples` by nearest rank: of 20 samples, p99 is the largest. */
export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99) };
}

/** The machine a run measured, written with its figures. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly date: string;
  readonly commit: string;
  /** True when the working tree had changes the commit does not hold. */
  readonly dirty: boolean;
}

export function machine(): Machine {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    date: new Date().toISOString(),
    commit: git('rev-parse', 'HEAD') || 'unknown',
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  };
}

/** A server of the benchmark running in a child process of its own. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly port: number;
  readonly pid: number;
  /** Its resident memory in bytes, after two full garbage collections in it. */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

export type ServerKind =
  | 'igql'
  | 'yoga'
  | 'floor'
  | 'read-floor'
  | 'ingest-floor'
  | 'simulator'
  | 'npm-simulator';

/** Every child a benchmark started and has not stopped: stopped on exit whatever happens. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Starts `bench/server.ts <kind>` (igql is `src/main.ts` itself, as `npm start` runs it) with
 * `env` on a free port of its own choosing, and waits for the line that names its address.
 */
export async function startServer(
  kind: ServerKind,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--expose-gc', 'bench/server.ts', kind], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  children.add(child);
  // BENCH_CHILD_LOG=<file>: every child's output is also appended there (with `--trace-gc` in
  // IGQL_NODE_OPTIONS, say, to see igql's pauses as the benchmark runs it).
  if (process.env.BENCH_CHILD_LOG) {
    const file = createWriteStream(process.env.BENCH_CHILD_LOG, { flags: 'a' });
    file.on('error', (error) => console.error(`BENCH_CHILD_LOG: ${error.message}`));
    child.stdout?.pipe(file);
  }
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} did not start:\n${out}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /(https?:\/\/[^\s/]+)/.exec(out.split('\n').find(isReadyLine) ?? '');
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1].replace('localhost', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited with ${code}:\n${out}`));
    });
  });
  const port = Number(new URL(base).port);
  return {
    base,
    port,
    pid: child.pid ?? -1,
    async rss() {
      const answer = once(child, 'message');
      child.send({ type: 'rss' });
      const [message] = (await answer) as [{ rss: number }];
      return message.rss;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      children.delete(child);
    },
  };
}

const isReadyLine = (line: string) =>
  line.startsWith('igql is ready') ||
  line.startsWith('simulator listening on') ||
  line.startsWith('bench server listening on');

/** `1234.5` → `1,234.5`, `digits` after the point. */
export const num = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';

/** Milliseconds as a table shows them. */
export const ms = (n: number): string => `${num(n, n < 10 ? 2 : 1)} ms`;

/** Multiplies the benchmark's counts (subscribers, durations, requests): `BENCH_SCALE`, default 1. */
export function scale(): number {
  const value = Number(process.env.BENCH_SCALE ?? 1);
  if (!(value > 0)) throw new Error('BENCH_SCALE: expected a number above 0');
  return value;
}

/** CPU time (user + system) a process has used so far, in ms (Linux: `/proc/<pid>/stat`). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}
