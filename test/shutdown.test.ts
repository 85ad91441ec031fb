import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sandboxAccounts } from './helpers/app.ts';
import { freePort } from './helpers/net.ts';

describe('graceful shutdown', () => {
  it('on SIGTERM closes websockets with 1001 and exits 0', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start:\n${stdout}`)), 10_000);
      child.stdout.on('data', () => {
        if (stdout.includes(`igql is ready: GraphiQL at http://localhost:${port}/graphql`)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });

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
    expect(stdout).toContain('"msg":"shutting down"');
    expect(stdout).toContain('"msg":"stopped"');
  });
});
