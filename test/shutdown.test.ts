import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sandboxAccounts } from './helpers/app.ts';
import { freePort } from './helpers/net.ts';

/** `npm start` on a free port; resolves once it printed its GraphiQL address. */
async function start(env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${output.stdout}`)), 10_000);
    child.stdout.on('data', () => {
      if (output.stdout.includes(`igql is ready: GraphiQL at http://localhost:${port}/graphql`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { port, child, output };
}

describe('graceful shutdown', () => {
  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    // Every simulated Instagram answer takes 1.5 s: the query is still running at SIGTERM.
    const { port, child } = await start({ SANDBOX_LATENCY_MS: '1500' });
    const [account] = await sandboxAccounts(`http://127.0.0.1:${port}`);
    const answer = fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${account?.token}` },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { username: account?.username } } });
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it('on SIGTERM closes websockets with 1001 and exits 0', async () => {
    const { port, child, output } = await start();

    const [account] = await sandboxAccounts(`http://127.0.0.1:${port}`);
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${account?.token}` },
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe(
        { query: 'subscription { heartbeat(intervalSeconds: 1) }' },
        {
          next: () => child.kill('SIGTERM'),
          error: () => {},
          complete: () => {},
        },
      );
    });

    const [code] = (await once(child, 'exit')) as [number | null];
    expect(await closed).toBe(1001);
    expect(code).toBe(0);
    expect(output.stdout).toContain('"msg":"shutting down"');
    expect(output.stdout).toContain('"msg":"stopped"');
  });
});
