import { randomBytes } from 'node:crypto';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import { newSimulator } from '../helpers/configurations.ts';
import { APP_SECRET, FACEBOOK_APP_SECRET } from '../helpers/gateway.ts';

/** The two Meta apps of a production-like gateway, with ids of their own. */
export const INSTAGRAM_APP_ID = '1110000000000001';
export const FACEBOOK_APP_ID = '2220000000000002';

export interface TwoAppGateway {
  readonly sim: Simulator;
  readonly app: App;
  readonly config: Config;
  readonly url: string;
  /** POSTs a GraphQL operation with a session for `igId`; the answer's JSON. */
  query(igId: string, text: string, variables?: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * igql configured as in production, with both configurations' apps (`INSTAGRAM_APP_ID`,
 * `FACEBOOK_APP_ID`, each with its secret), over a simulator with the same two apps that `seed`
 * fills before it starts.
 */
export async function startTwoAppGateway(seed: (sim: Simulator) => void): Promise<TwoAppGateway> {
  const sim = newSimulator({ appId: INSTAGRAM_APP_ID, facebookAppId: FACEBOOK_APP_ID });
  seed(sim);
  await sim.start();
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_ID,
    INSTAGRAM_APP_SECRET: APP_SECRET,
    FACEBOOK_APP_ID,
    FACEBOOK_APP_SECRET,
    INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'verify',
    TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SESSION_SECRET: 'x'.repeat(40),
  });
  const app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    now: () => sim.clock.now(),
    drainTimeoutMs: 1000,
    instagram: { paceReads: false },
  });
  const url = await app.start();
  return {
    sim,
    app,
    config,
    url,
    async query(igId, text, variables = {}) {
      const token = await signSession(config.sessionSecret, { sub: 'u', accounts: [igId] }, 3600);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: text, variables }),
      });
      return res.json();
    },
    async stop() {
      await app.stop();
      await sim.stop();
    },
  };
}
