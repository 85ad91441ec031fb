import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startSandbox } from '../../src/sandbox/index.ts';

export interface RunningApp {
  readonly app: App;
  /** `http://localhost:PORT/graphql` */
  readonly url: string;
  /** `http://localhost:PORT` */
  readonly base: string;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/**
 * A production configuration (not sandbox mode) whose Instagram is unreachable (port 9): for
 * what igql does, or refuses, without the sandbox.
 */
export const PRODUCTION_ENV: Readonly<Record<string, string>> = {
  INSTAGRAM_APP_ID: '1234567890',
  INSTAGRAM_APP_SECRET: 'test-app-secret',
  INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'test-verify-token',
  SESSION_SECRET: 'a-session-secret-of-at-least-32-bytes!!',
  TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  INSTAGRAM_GRAPH_URL: 'http://127.0.0.1:9',
};

/** Starts igql on a free port with the given environment (sandbox mode unless it says otherwise). */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', ...env });
  // As main.ts: the simulated Instagram first, in sandbox mode, then igql against it.
  const sandbox = config.sandbox ? await startSandbox({ config }) : undefined;
  const app = createApp({ config, sandbox, drainTimeoutMs: 2000 });
  const url = await app.start();
  const base = url.replace(/\/graphql$/, '');
  const stop = async () => {
    await app.stop();
    await sandbox?.stop();
  };
  return { app, url, base, wsUrl: url.replace(/^http/, 'ws'), stop };
}

export interface SandboxAccount {
  readonly id: string;
  readonly igId: string;
  readonly username: string;
  readonly token: string;
  /** Instagram Login's accounts: the Instagram token (graph.instagram.com). */
  readonly instagramAccessToken?: string;
  /** Facebook Login's accounts: `FACEBOOK`, the Page and its token (graph.facebook.com). */
  readonly loginKind?: 'FACEBOOK';
  readonly pageId?: string;
  readonly pageAccessToken?: string;
}

/** The sandbox's demo accounts with their session JWTs (`GET /sandbox`). */
export async function sandboxAccounts(base: string): Promise<SandboxAccount[]> {
  const res = await fetch(`${base}/sandbox`);
  return ((await res.json()) as { accounts: SandboxAccount[] }).accounts;
}

/** A sandbox customer, `from` (created when new), writes `text` to the account (`POST /sandbox/inbound`). */
export async function customerWrites(
  base: string,
  accountId: string,
  text: string,
  from = 'ana.costa',
): Promise<void> {
  const res = await fetch(`${base}/sandbox/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId, from, text }),
  });
  if (res.status !== 202)
    throw new Error(`POST /sandbox/inbound: ${res.status} ${await res.text()}`);
}
