import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningApp, type SandboxAccount, sandboxAccounts, startApp } from '../helpers/app.ts';
import { freePort } from '../helpers/net.ts';
import { openRaw } from '../helpers/raw-http.ts';

const portOf = (running: RunningApp) => Number(new URL(running.base).port);

describe('SIGTERM whatever stdout does', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  /** `node src/main.ts`; resolves once it printed its GraphiQL address. */
  async function start(): Promise<ChildProcessWithoutNullStreams> {
    const port = await freePort();
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: 'pipe',
    });
    children.push(child);
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('igql is ready')) resolve();
      });
    });
    return child;
  }

  it('exits 0 on SIGTERM after the reader of its stdout has gone (three at once)', async () => {
    const started = await Promise.all([start(), start(), start()]);
    const codes = started.map(async (child) => {
      const exited = once(child, 'exit');
      // The reader goes: every log line from now on meets a broken pipe.
      child.stdout.destroy();
      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, string | null];
      return code ?? signal;
    });
    expect(await Promise.all(codes)).toEqual([0, 0, 0]);
  });
});

describe('stop()', () => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('answers a keep-alive request in flight, with Connection: close, and closes idle connections', async () => {
    // Every simulated Instagram answer takes 300 ms: the query is in flight at stop.
    running = await startApp({ SANDBOX_LATENCY_MS: '300' });
    const [account] = (await sandboxAccounts(running.base)) as [SandboxAccount];
    const idle = await openRaw(portOf(running));
    expect((await idle.request('GET', '/healthz')).headers.connection).toBe('keep-alive');
    const busy = await openRaw(portOf(running));
    const arrived = once(running.app.server, 'request');
    const answer = busy.request(
      'POST',
      '/graphql',
      { 'content-type': 'application/json', authorization: `Bearer ${account.token}` },
      JSON.stringify({ query: '{ viewer { username } }' }),
    );
    await arrived;
    const stopped = running.stop();
    await idle.closed;
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toEqual({ data: { viewer: { username: account.username } } });
    await busy.closed;
    await stopped;
  });

  it('ends an SSE subscription with a final `event: complete`, then its response', async () => {
    running = await startApp();
    const [account] = (await sandboxAccounts(running.base)) as [SandboxAccount];
    const res = await fetch(running.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${account.token}`,
      },
      body: JSON.stringify({ query: 'subscription { heartbeat(intervalSeconds: 1) }' }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: next')) text += decoder.decode((await reader.read()).value);
    const stopped = running.stop();
    // Read to the end: a cut connection would reject here instead.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value);
    }
    expect(text.endsWith('event: complete\ndata:\n\n')).toBe(true);
    await stopped;
  });
});
