/**
 * igql as deployed for a benchmark: `src/main.ts` in sandbox mode against bench/simulator.ts in
 * a process of its own (SANDBOX_SIMULATOR_URL), optionally with a Redis of the benchmark's own.
 */
import { signSession } from '../src/auth/jwt.ts';
import { type RedisServer, startRedis } from '../test/helpers/redis.ts';
import { BENCH_ACCOUNT, type ServerProcess, startServer } from './lib.ts';
import { APP_SECRET, IGQL_ENV, SESSION_SECRET } from './live.ts';

/** An account as `GET /sandbox` lists it. */
export interface ListedAccount {
  readonly id: string;
  readonly igId: string;
  readonly username: string;
  readonly instagramAccessToken: string;
}

export interface Stack {
  readonly igql: ServerProcess;
  readonly simulator: ServerProcess;
  readonly redis: RedisServer | undefined;
  /** The simulator's accounts: the demo's two, and `bench.shop` with the read path's page. */
  readonly accounts: readonly ListedAccount[];
  readonly bench: ListedAccount;
  /** A session for `igIds` (default: bench.shop), as a login would give. */
  session(igIds?: readonly string[]): Promise<string>;
  /** Graph API requests the simulator has served so far. */
  upstreamRequests(): Promise<number>;
  stop(): Promise<void>;
}

export interface StackOptions {
  readonly redis?: boolean;
  /** The simulator's latency. Default 0. */
  readonly latencyMs?: number;
  /** Instagram's documented limits in the simulator, and igql's pacing of them. Default off. */
  readonly rateLimits?: boolean;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const redis = options.redis ? await startRedis() : undefined;
  const limits = options.rateLimits ? 'on' : 'off';
  const simulator = await startServer('simulator', {
    INSTAGRAM_APP_SECRET: APP_SECRET,
    SANDBOX_LATENCY_MS: String(options.latencyMs ?? 0),
    SANDBOX_RATE_LIMITS: limits,
  });
  const igql = await startServer('igql', {
    ...IGQL_ENV,
    SANDBOX_SIMULATOR_URL: simulator.base,
    SANDBOX_RATE_LIMITS: limits,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    // To profile igql as the benchmark runs it: IGQL_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=…'.
    ...(process.env.IGQL_NODE_OPTIONS ? { NODE_OPTIONS: process.env.IGQL_NODE_OPTIONS } : {}),
  });
  const sandbox = async () =>
    (await (await fetch(`${igql.base}/sandbox`)).json()) as {
      simulator: { requests: number };
      accounts: ListedAccount[];
    };
  const { accounts } = await sandbox();
  const bench = accounts.find((a) => a.username === BENCH_ACCOUNT);
  if (!bench) throw new Error(`the simulator lists no ${BENCH_ACCOUNT}`);
  return {
    igql,
    simulator,
    redis,
    accounts,
    bench,
    session: (igIds = [bench.igId]) =>
      signSession(new TextEncoder().encode(SESSION_SECRET), {
        sub: 'bench',
        accounts: igIds,
      }),
    upstreamRequests: async () => (await sandbox()).simulator.requests,
    async stop() {
      await igql.stop();
      await simulator.stop();
      await redis?.stop();
    },
  };
}
