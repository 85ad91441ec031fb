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
