/**
 * Live events: webhook-to-subscriber latency across two igql processes sharing a Redis (the
 * webhook posted to A, the subscriber on B), and fan-out to many subscribers on one process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signatureHeaders, toMetaJson } from '../src/sandbox/webhooks.ts';
import { freePort } from '../test/helpers/net.ts';
import { startRedis } from '../test/helpers/redis.ts';

const SECRET = 'bench-app-secret';
const LATENCY_EVENTS = Number(process.env.BENCH_EVENTS ?? 300);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const FANOUT_EVENTS = 20;

interface Stats {
  readonly p50: number;
  readonly p99: number;
}

export interface LiveResult {
  readonly latency: Stats;
  readonly fanout: Stats & { readonly subscribers: number };
  readonly rssPerSubscriberKiB: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
}

const stats = (samples: number[]): Stats => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
};

async function igql(port: number, redisUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      REDIS_URL: redisUrl,
      INSTAGRAM_APP_SECRET: SECRET,
      SANDBOX_RATE_LIMITS: 'off',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('igql is ready')) resolve();
    });
  });
  return child;
}

async function rssMiB(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const bytes = Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0);
  return bytes / 1024 / 1024;
}

export async function live(): Promise<LiveResult> {
  const redis = await startRedis();
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await igql(portA, redis.url);
  const b = await igql(portB, redis.url);
  const baseA = `http://127.0.0.1:${portA}`;
  const baseB = `http://127.0.0.1:${portB}`;
  const clients: Client[] = [];
  try {
    const sandbox = (await (await fetch(`${baseB}/sandbox`)).json()) as {
      accounts: { id: string; igId: string; token: string }[];
    };
    const account = sandbox.accounts[0];
    if (!account) throw new Error('no sandbox account');

    let next = 0;
    const postWebhook = async () => {
      const n = next++;
      const raw = toMetaJson({
        object: 'instagram',
        entry: [
          {
            time: Date.now(),
            id: account.igId,
            messaging: [
              {
                sender: { id: '9000000000000001' },
                recipient: { id: account.igId },
                timestamp: Date.now(),
                message: { mid: `bench.${n}`, text: `bench ${n}` },
              },
            ],
          },
        ],
      });
      const res = await fetch(`${baseA}/webhooks/instagram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(raw, SECRET) },
        body: raw,
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      return `bench.${n}`;
    };

    /** Opens a subscriber on B; `arrived` gets each mid with the time it came. */
    const subscriber = async (arrived: (mid: string) => void) => {
      const client = createClient({
        url: `ws://127.0.0.1:${portB}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${account.token}` },
        lazy: false,
      });
      clients.push(client);
      await new Promise<void>((resolve) => client.on('connected', () => resolve()));
      client.subscribe<{ messageReceived: { message: { mid: string } } }>(
        {
          query: 'subscription($a: ID!) { messageReceived(accountId: $a) { message { mid } } }',
          variables: { a: account.id },
        },
        {
          next: (v) => v.data && arrived(v.data.messageReceived.message.mid),
          error: () => {},
          complete: () => {},
        },
      );
    };

    // 1. Latency: one subscriber on B, webhooks posted to A one at a time.
    const waiting = new Map<string, () => void>();
    let counted: (mid: string) => void = () => {};
    await subscriber((mid) => {
      waiting.get(mid)?.();
      counted(mid);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const start = performance.now();
      const arrived = new Promise<void>((resolve) => waiting.set(`bench.${next}`, resolve));
      await postWebhook();
      await arrived;
      latencies.push(performance.now() - start);
    }

    // 2. Fan-out: many subscribers on B, each event timed until the last one has it.
    const rssBeforeMiB = await rssMiB(baseB);
    const counts = new Map<string, number>();
    const done = new Map<string, () => void>();
    const total = SUBSCRIBERS + 1;
    counted = (mid: string) => {
      const count = (counts.get(mid) ?? 0) + 1;
      counts.set(mid, count);
      if (count === total) done.get(mid)?.();
    };
    for (let i = 0; i < SUBSCRIBERS; i++) await subscriber((mid) => counted(mid));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rssAfterMiB = await rssMiB(baseB);
    const fanout: number[] = [];
    for (let i = 0; i < FANOUT_EVENTS; i++) {
      const start = performance.now();
      const all = new Promise<void>((resolve) => done.set(`bench.${next}`, resolve));
      await postWebhook();
      await all;
      fanout.push(performance.now() - start);
    }
    return {
      latency: stats(latencies),
      fanout: { ...stats(fanout), subscribers: total },
      rssPerSubscriberKiB: ((rssAfterMiB - rssBeforeMiB) * 1024) / SUBSCRIBERS,
      rssBeforeMiB,
      rssAfterMiB,
    };
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    for (const child of [a, b]) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await redis.stop();
  }
}
