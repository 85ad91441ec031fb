/**
 * The subscribers of the fan-out benchmark, in a process of their own so that their CPU is not
 * the server's: `node bench/subscribers.ts`, driven by its parent over IPC (`Command`, answered
 * by one `Reply` each). It opens real websockets, makes the events happen (a signed webhook, or
 * a `POST /publish`) and times each one until every subscriber has it.
 *
 * Subscribers speak graphql-ws directly on `ws` sockets (connection_init, subscribe, next), the
 * same for Yoga and igql; the floor's sockets only receive. A frame is matched to its event by
 * the event's number in its `mid` (`bench-<run>-<n>`), without parsing the JSON.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { signSession } from '../src/auth/jwt.ts';
import { signatureHeaders, toMetaJson } from '../src/sandbox/webhooks.ts';

/** How an event is made to happen. */
export type Trigger =
  | {
      readonly kind: 'webhook';
      readonly url: string;
      readonly appSecret: string;
      readonly igId: string;
    }
  | { readonly kind: 'publish'; readonly url: string; readonly accountId: string };

export type Command =
  | {
      readonly cmd: 'open';
      /** Opens sockets until `total` are subscribed. */
      readonly total: number;
      readonly url: string;
      readonly protocol: 'graphql-ws' | 'raw';
      readonly query?: string;
      readonly variables?: Record<string, unknown>;
      /** igql: each subscriber gets a session of its own for these accounts. */
      readonly session?: { readonly secret: string; readonly igIds: readonly string[] };
    }
  | {
      readonly cmd: 'events';
      readonly trigger: Trigger;
      readonly count: number;
      /** How long one event may take to reach everyone before it counts as not delivered. */
      readonly timeoutMs: number;
    }
  | { readonly cmd: 'close' };

export type Reply =
  | {
      readonly type: 'opened';
      readonly open: number;
      readonly failed: number;
      readonly firstError?: string;
    }
  | {
      readonly type: 'events';
      /** Milliseconds from the trigger to the last subscriber's frame, per event delivered to all. */
      readonly samples: number[];
      /** Per event: how many subscribers had it (when it was timed, or when it timed out). */
      readonly delivered: number[];
      readonly subscribers: number;
      /** Events made to happen, warm-ups included. */
      readonly triggered: number;
      /** Frames a subscriber received for an event it already had. */
      readonly duplicates: number;
      /** Sockets closed or errored that the benchmark did not close, and the first reason. */
      readonly lost: number;
      readonly firstError?: string;
    }
  | { readonly type: 'closed' };

const RUN = Date.now().toString(36);
const MID = new RegExp(`bench-${RUN}-(\\d+)`);
const OPENING = 100;
/** A warm-up event that reached some subscribers but no more for this long is given up. */
const WARM_QUIET_MS = 300;

interface Subscriber {
  readonly socket: WebSocket;
  last: number;
}

const subscribers: Subscriber[] = [];
const counts = new Map<number, number>();
let duplicates = 0;
let lost = 0;
let closing = false;
let firstError: string | undefined;
let waiting: { n: number; resolve: () => void } | undefined;
let next = 0;
let sessions = 0;

const noteError = (what: string) => {
  firstError ??= what;
};

function received(subscriber: Subscriber, text: string): void {
  const n = Number(MID.exec(text)?.[1] ?? -1);
  if (n < 0) return;
  if (subscriber.last === n) {
    duplicates++;
    return;
  }
  subscriber.last = n;
  const count = (counts.get(n) ?? 0) + 1;
  counts.set(n, count);
  if (waiting?.n === n && count === subscribers.length) waiting.resolve();
}

async function openOne(command: Extract<Command, { cmd: 'open' }>): Promise<void> {
  const graphqlWs = command.protocol === 'graphql-ws';
  const authorization = command.session
    ? `Bearer ${await signSession(new TextEncoder().encode(command.session.secret), {
        sub: `bench-subscriber-${sessions++}`,
        accounts: command.session.igIds,
      })}`
    : undefined;
  // Listeners go on before anything is awaited: `open` must not pass unheard.
  const socket = new WebSocket(command.url, graphqlWs ? 'graphql-transport-ws' : [], {
    perMessageDeflate: false,
  });
  const subscriber: Subscriber = { socket, last: -1 };
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    socket.on('open', () => {
      if (!graphqlWs) {
        ready = true;
        resolve();
        return;
      }
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    });
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.includes('"next"')) return received(subscriber, text);
      const message = JSON.parse(text) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: command.query, variables: command.variables },
          }),
        );
        ready = true;
        resolve();
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'error' || message.type === 'complete') {
        noteError(`${message.type}: ${JSON.stringify(message.payload ?? '')}`);
      }
    });
    socket.on('error', (err) => {
      noteError(err.message);
      if (!ready) reject(err);
    });
    socket.on('close', (code, reason) => {
      if (!ready) reject(new Error(`closed ${code} ${reason}`));
      else if (!closing) {
        lost++;
        noteError(`closed ${code} ${reason}`);
      }
    });
  });
  subscribers.push(subscriber);
}

async function open(command: Extract<Command, { cmd: 'open' }>): Promise<Reply> {
  let failed = 0;
  let error: string | undefined;
  const wanted = command.total - subscribers.length;
  let started = 0;
  const worker = async () => {
    while (started < wanted) {
      started++;
      await openOne(command).catch((err: Error) => {
        failed++;
        error ??= err.message;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPENING, wanted) }, worker));
  return { type: 'opened', open: subscribers.length, failed, firstError: error };
}

async function trigger(spec: Trigger, n: number): Promise<void> {
  const mid = `bench-${RUN}-${n}`;
  const text = `event ${n} of the fan-out benchmark`;
  let res: Response;
  if (spec.kind === 'publish') {
    res = await fetch(spec.url, {
      method: 'POST',
      body: JSON.stringify({ accountId: spec.accountId, mid, text }),
    });
  } else {
    const now = Date.now();
    const raw = toMetaJson({
      object: 'instagram',
      entry: [
        {
          time: now,
          id: spec.igId,
          messaging: [
            {
              sender: { id: '9000000000000001' },
              recipient: { id: spec.igId },
              timestamp: now,
              message: { mid, text },
            },
          ],
        },
      ],
    });
    res = await fetch(spec.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(raw, spec.appSecret) },
      body: raw,
    });
  }
  await res.arrayBuffer();
  if (res.status !== 200) noteError(`event ${n}: ${spec.url} answered ${res.status}`);
}

/**
 * Makes event `n` happen; resolves with the time until every subscriber had it, or undefined
 * when it took longer than `timeoutMs`, or (`quietMs`) when some subscribers got it but no more
 * did for that long.
 */
async function one(
  spec: Trigger,
  n: number,
  timeoutMs: number,
  quietMs = timeoutMs,
): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let quiet: NodeJS.Timeout | undefined;
  const all = new Promise<boolean>((resolve) => {
    waiting = { n, resolve: () => resolve(true) };
    timer = setTimeout(() => resolve(false), timeoutMs);
    let seen = -1;
    quiet = setInterval(() => {
      const count = counts.get(n) ?? 0;
      if (count > 0 && count === seen) resolve(false);
      seen = count;
    }, quietMs);
  });
  const start = performance.now();
  const posted = trigger(spec, n);
  const complete = subscribers.length === 0 || (await all);
  const elapsed = performance.now() - start;
  clearTimeout(timer);
  clearInterval(quiet);
  waiting = undefined;
  await posted;
  return complete ? elapsed : undefined;
}

async function events(command: Extract<Command, { cmd: 'events' }>): Promise<Reply> {
  const { trigger: spec, count, timeoutMs } = command;
  const first = next;
  // Warm-up: until one event reaches every subscriber (a subscription just sent may not be
  // registered yet), and one more. Neither is counted.
  for (let tries = 0; tries < 20; tries++) {
    if ((await one(spec, next++, Math.min(timeoutMs, 5_000), WARM_QUIET_MS)) !== undefined) break;
  }
  await one(spec, next++, timeoutMs);
  const start = { duplicates, lost };
  const samples: number[] = [];
  const delivered: number[] = [];
  for (let i = 0; i < count; i++) {
    const n = next++;
    const elapsed = await one(spec, n, timeoutMs);
    if (elapsed !== undefined) samples.push(elapsed);
    delivered.push(counts.get(n) ?? 0);
  }
  return {
    type: 'events',
    samples,
    delivered,
    subscribers: subscribers.length,
    triggered: next - first,
    duplicates: duplicates - start.duplicates,
    lost: lost - start.lost,
    firstError,
  };
}

async function close(): Promise<Reply> {
  closing = true;
  await Promise.all(
    subscribers.splice(0).map(({ socket }) => {
      if (socket.readyState === WebSocket.CLOSED) return undefined;
      return new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
        setTimeout(() => {
          socket.terminate();
          resolve();
        }, 5_000).unref();
      });
    }),
  );
  return { type: 'closed' };
}

process.on('message', async (command: Command) => {
  const reply =
    command.cmd === 'open'
      ? await open(command)
      : command.cmd === 'events'
        ? await events(command)
        : await close();
  process.send?.(reply);
});
process.on('disconnect', () => process.exit(0));
