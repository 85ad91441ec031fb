import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
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

describe('npm start at the door', () => {
  const npmStart = (port: number) =>
    spawn('npm', ['start'], {
      env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that the test can kill what it leaves behind.
      detached: true,
    });

  it('names PORT in one line and exits 1 when the port is taken', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const child = npmStart(port);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    taken.close();
    expect(code).toBe(1);
    const ours = stderr.split('\n').filter((line) => line.startsWith('igql:'));
    expect(ours).toEqual([
      `igql: PORT ${port} is already in use on 127.0.0.1: stop what listens there or set PORT to a free port`,
    ]);
    expect(stderr).not.toContain('    at ');
  });

  it('stops serving when npm’s own process is signalled', async () => {
    const port = await freePort();
    const child = npmStart(port);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await new Promise<void>((resolve) => {
      child.stdout.on('data', () => {
        if (stdout.includes('igql is ready')) resolve();
      });
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    try {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      // npm has gone; node, its child, must have gone too: nothing answers on the port.
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      expect(stdout).toContain('igql is ready');
    } finally {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {}
    }
  });
});
