import { type App, type AppDeps, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock } from '../../src/sandbox/store.ts';

export const T0 = Date.parse('2026-11-20T12:00:00Z');
/** The Instagram app's secret (`INSTAGRAM_APP_SECRET`) the gateway and its simulator share. */
export const APP_SECRET = 'test-app-secret';
/**
 * The Facebook app's secret (`FACEBOOK_APP_SECRET`), another one, as two Meta apps have: a test of
 * Facebook Login that passes only because both configurations share a secret would hide a secret
 * left unwired.
 */
export const FACEBOOK_APP_SECRET = 'test-facebook-app-secret';

export interface Gateway {
  readonly sim: Simulator;
  readonly app: App;
  /** The gateway's configuration (its `sessionSecret` signs the sessions of `session()`). */
  readonly config: Config;
  readonly url: string;
  /** igql's base (`http://127.0.0.1:PORT`), as a login's redirect URI and the webhooks name it. */
  readonly base: string;
  /** A session JWT for these IG_IDs. */
  session(accounts: readonly string[], sub?: string): Promise<string>;
  /** POSTs a GraphQL operation with the session; returns status and body. */
  query<T = Record<string, unknown>>(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; body: { data?: T; errors?: GraphQLErrorBody[] } }>;
  /** Graph requests the simulator served while `run` ran. */
  upstreamCalls(run: () => Promise<unknown>): Promise<number>;
  /** The requests the simulator served since `mark` (a `sim.requests.length`): `GET /me 200`. */
  upstream(mark: number): string[];
  stop(): Promise<void>;
}

export interface GraphQLErrorBody {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: Record<string, unknown>;
}

/**
 * igql in sandbox mode against a simulator the test seeds itself (its clock frozen at T0 unless
 * `runningClock`, limits lifted unless `rateLimits`); igql measures reply windows with that clock.
 * The Instagram app and the Facebook app have secrets of their own (`APP_SECRET`,
 * `FACEBOOK_APP_SECRET`). The simulator has one app id for both logins (`sim.appId`).
 */
export async function startGateway(
  seed: (sim: Simulator) => void,
  options: {
    env?: Record<string, string>;
    rateLimits?: boolean;
    runningClock?: boolean;
    /** Instagram client tuning merged over the pacing default (e.g. a short `timeoutMs`). */
    instagram?: AppDeps['instagram'];
    /** How often open websockets are checked for revocation. Default: the app's (10 s). */
    socketCheckMs?: number;
  } = {},
): Promise<Gateway> {
  let base = '';
  // A test may set either secret (or the Facebook app) in `env`; the simulator's app follows it.
  const facebookAppSecret = options.env?.FACEBOOK_APP_SECRET ?? FACEBOOK_APP_SECRET;
  const sim = new Simulator({
    appSecret: APP_SECRET,
    facebookAppSecret,
    callbackUrl: () => (base ? `${base}/webhooks/instagram` : undefined),
    rateLimits: options.rateLimits ? undefined : false,
    clock: createClock(T0, !options.runningClock),
    retryScheduleMs: [10],
  });
  seed(sim);
  await sim.start();
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: APP_SECRET,
    FACEBOOK_APP_SECRET: facebookAppSecret,
    ...options.env,
  });
  const app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    now: () => sim.clock.now(),
    drainTimeoutMs: 1000,
    instagram: { paceReads: options.rateLimits === true, ...options.instagram },
    socketCheckMs: options.socketCheckMs,
  });
  const url = await app.start();
  base = url.replace(/\/graphql$/, '').replace('localhost', '127.0.0.1');
  return {
    sim,
    app,
    config,
    url,
    base,
    session: (accounts, sub = 'user-1') =>
      signSession(config.sessionSecret, { sub, accounts }, 3600),
    async query(token, query, variables = {}) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: await res.json() };
    },
    async upstreamCalls(run) {
      const before = sim.count();
      await run();
      return sim.count() - before;
    },
    upstream: (mark) =>
      sim.requests.slice(mark).map((r) => `${r.method} ${r.endpoint} ${r.status}`),
    async stop() {
      await app.stop();
      await sim.stop();
    },
  };
}
