/**
 * Ingestion: signed webhooks POSTed to one igql instance with Redis, offered open-loop at a fixed
 * rate (each request sent on schedule, whether or not earlier ones were answered), with `perDelivery`
 * events in each. Measures events acknowledged per second and the acknowledgement latency of each
 * request (from its send to igql's 200), then counts the events in the per-account logs in Redis:
 * every acknowledged event must be stored. The same deliveries are then offered the same way to
 * the ingestion floor (a bare `node:http` server that only checks each signature), in its own
 * process: what any Node server can acknowledge on this machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { Pool } from 'undici';
import { signatureHeaders, toMetaJson } from '../src/sandbox/webhooks.ts';
import { cpuMs, type ServerProcess, type Stats, stats } from './lib.ts';
import { APP_SECRET } from './live.ts';
import type { Stack } from './stack.ts';

export interface IngestOptions {
  /** Events offered per second. */
  readonly rate: number;
  readonly seconds: number;
  readonly perDelivery: number;
}

/** What one open-loop offer of the deliveries measured, whichever server answered it. */
export interface Offered {
  /** Events sent, per second of the sending (what was actually offered). */
  readonly offeredPerSecond: number;
  /** Events acknowledged (200), per second from the first send to the last answer. */
  readonly acceptedPerSecond: number;
  readonly events: number;
  readonly acknowledged: number;
  /** Requests answered otherwise (status, or the failure), and how many. */
  readonly refused: Readonly<Record<string, number>>;
  /** Per request: ms from its send to the 200. */
  readonly ack: Stats;
}

/**
 * The same deliveries offered the same way to the ingestion floor (`bench/server.ts
 * ingest-floor`: a bare `node:http` server that checks each body's signature and answers 200,
 * nothing else), right after igql: what any Node server acknowledges at least on this machine.
 */
export interface FloorIngest extends Offered {
  /** CPU ms per event of the floor's process, and of this process (the load generator). */
  readonly cpuPerEvent: { readonly server: number; readonly client: number };
}

export interface IngestResult extends IngestOptions, Offered {
  /** Events found in the logs in Redis after the run. */
  readonly stored: number;
  /** CPU ms per event of igql, Redis, and this process (the load generator). */
  readonly cpuPerEvent: { readonly igql: number; readonly redis: number; readonly client: number };
  readonly floor: FloorIngest;
}

export interface Delivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

let run = 0;

/** The accounts the deliveries go to, round robin. */
const ACCOUNTS = 20;

/**
 * One rate: the logs emptied first, the deliveries sent on schedule to igql, the logs counted;
 * then the same deliveries, on the same schedule, to the ingestion floor `floor`.
 */
export async function ingest(
  stack: Stack,
  floor: ServerProcess,
  options: IngestOptions,
): Promise<IngestResult> {
  const { rate, seconds, perDelivery } = options;
  if (!stack.redis) throw new Error('ingestion is measured with Redis');
  const tag = `${Date.now().toString(36)}-${run++}`;
  // Twenty accounts, as bench/ingest-probe.ts: each log keeps its newest 10,000 events, and a
  // run of 31,500 over the stack's three accounts would trim them, not lose them.
  const igIds = Array.from(
    { length: ACCOUNTS },
    (_, i) => `17841499000${String(i).padStart(5, '0')}`,
  );
  const deliveries = Math.round((rate * seconds) / perDelivery);
  // Built ahead: the sending loop only sends.
  const bodies: Delivery[] = Array.from({ length: deliveries }, (_, d) => {
    const igId = igIds[d % igIds.length] as string;
    const now = Date.now();
    const raw = toMetaJson({
      object: 'instagram',
      entry: Array.from({ length: perDelivery }, (_, e) => ({
        time: now,
        id: igId,
        messaging: [
          {
            sender: { id: `90000000000${String(e).padStart(5, '0')}` },
            recipient: { id: igId },
            timestamp: now,
            message: { mid: `ingest-${tag}-${d}-${e}`, text: `event ${e} of delivery ${d}` },
          },
        ],
      })),
    });
    return {
      body: raw,
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, APP_SECRET) },
    };
  });

  const redis = createClient({ url: stack.redis.url });
  await redis.connect();
  const logs = async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: '*:events:*', COUNT: 1000 })) {
      keys.push(...batch);
    }
    return keys;
  };
  const before = await logs();
  if (before.length > 0) await redis.del(before);

  const redisPort = stack.redis.port;
  const cpu0 = { redis: redisCpu(redisPort), client: cpuMs(process.pid) };
  const igql = await offer(stack.igql, bodies, options);
  const cpu = { redis: redisCpu(redisPort) - cpu0.redis, client: cpuMs(process.pid) - cpu0.client };

  let stored = 0;
  for (const key of await logs()) stored += await redis.xLen(key);
  await redis.quit();

  const client0 = cpuMs(process.pid);
  const onFloor = await offer(floor, bodies, options);
  const floorClient = cpuMs(process.pid) - client0;
  const { serverCpu: floorCpu, acked: _f, maxMs: _fm, ...floorFigures } = onFloor;
  const { serverCpu: igqlCpu, acked: _i, maxMs: _im, ...igqlFigures } = igql;
  return {
    ...options,
    ...igqlFigures,
    stored,
    cpuPerEvent: {
      igql: igqlCpu / igql.events,
      redis: cpu.redis / igql.events,
      client: cpu.client / igql.events,
    },
    floor: {
      ...floorFigures,
      cpuPerEvent: { server: floorCpu / onFloor.events, client: floorClient / onFloor.events },
    },
  };
}

/**
 * Sends `bodies` to `server`'s `POST /webhooks/instagram` open-loop at `rate` events a second
 * (each on schedule, answered or not), and waits for every answer. `serverCpu`: the CPU ms the
 * server's process used meanwhile; `acked`: the deliveries answered 200, by index; `maxMs`: the
 * slowest acknowledgement. bench/ingest-probe.ts offers the same way.
 */
export async function offer(
  server: Pick<ServerProcess, 'base' | 'pid'>,
  bodies: readonly Delivery[],
  { rate, perDelivery }: Pick<IngestOptions, 'rate' | 'perDelivery'>,
): Promise<
  Offered & {
    readonly serverCpu: number;
    readonly acked: readonly number[];
    readonly maxMs: number;
  }
> {
  const deliveries = bodies.length;
  const pool = new Pool(server.base, { connections: 256, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  const refused: Record<string, number> = {};
  let acknowledged = 0;
  const acked: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = (i: number) => {
    const { body, headers } = bodies[i] as Delivery;
    const t0 = performance.now();
    const request = pool
      .request({ method: 'POST', path: '/webhooks/instagram', headers, body })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode === 200) {
          latencies.push(performance.now() - t0);
          acknowledged += perDelivery;
          acked.push(i);
        } else refused[res.statusCode] = (refused[res.statusCode] ?? 0) + 1;
      })
      .catch((error: Error) => {
        refused[error.message] = (refused[error.message] ?? 0) + 1;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  const cpu0 = cpuMs(server.pid);
  const start = performance.now();
  const perMs = rate / perDelivery / 1000;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(deliveries, Math.floor((performance.now() - start) * perMs) + 1);
      while (sent < due) send(sent++);
      // A timer, not setImmediate: a spinning sender would take the CPU the server needs
      // (measured with bench/ingest-probe.ts: it doubled igql's p99 at 10 per delivery).
      if (sent < deliveries) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const sendingMs = performance.now() - start;
  while (inFlight.size > 0) await Promise.all(inFlight);
  const elapsedMs = performance.now() - start;
  const serverCpu = cpuMs(server.pid) - cpu0;
  await pool.close();

  const events = deliveries * perDelivery;
  return {
    offeredPerSecond: (events * 1000) / sendingMs,
    acceptedPerSecond: (acknowledged * 1000) / elapsedMs,
    events,
    acknowledged,
    refused,
    ack: stats(latencies),
    serverCpu,
    acked,
    maxMs: latencies.reduce((a, b) => Math.max(a, b), 0),
  };
}

/** The CPU ms of the redis-server listening on `port` (found by its command line). */
function redisCpu(port: number): number {
  const pid = redisPids.get(port) ?? findRedis(port);
  return pid === undefined ? Number.NaN : cpuMs(pid);
}

const redisPids = new Map<number, number>();

function findRedis(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // redis-server names itself `redis-server 127.0.0.1:<port>`.
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.startsWith('redis-server') && cmdline.includes(`:${port}`)) {
        redisPids.set(port, Number(entry));
        return Number(entry);
      }
    } catch {}
  }
  return undefined;
}
