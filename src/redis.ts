import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  ErrorReply,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import type { Logger } from './logger.ts';

const newClient = (url: string) =>
  createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
  });

export type RedisClient = ReturnType<typeof newClient>;

export interface Redis {
  readonly client: RedisClient;
  /** Connects in the background, retrying with backoff; never rejects. */
  connect(): void;
  /** Resolves once connected, or after `timeoutMs` (never rejects: callers then see it offline). */
  ready(timeoutMs: number): Promise<void>;
  /** True when Redis answered PING within a second. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Reconnect delay: node-redis's default curve, min(2^n × 50, 2000) ms, plus up to 100 ms of jitter. */
export const reconnectDelay = (retries: number): number =>
  Math.min(2 ** retries * 50, 2000) + Math.floor(Math.random() * 100);

/**
 * A node-redis client for request-path commands: commands fail at once while disconnected
 * (`disableOfflineQueue`) instead of queueing behind an outage.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const client = newClient(url);
  watchConnection(client, logger, 'redis');
  // Once, at the first connection: a Redis that would lose the token store on a restart.
  client.once('ready', () => void warnIfNotPersistent(client, logger));
  return {
    client,
    connect() {
      client.connect().catch((err: unknown) => logger.warn({ err }, 'redis connect failed'));
    },
    async ready(timeoutMs) {
      if (client.isReady) return;
      await Promise.race([
        new Promise<void>((resolve) => client.once('ready', () => resolve())),
        sleep(timeoutMs),
      ]);
    },
    async ping() {
      if (!client.isReady) return false;
      const answer = await Promise.race([client.ping().catch(() => ''), sleep(1000, '')]);
      return answer === 'PONG';
    },
    close: () => closeClient(client),
  };
}

/** Logs each new connection error once, and the reconnection after it. */
export function watchConnection(client: RedisClient, logger: Logger, label: string): void {
  let lastError = '';
  client.on('error', (err: Error) => {
    if (err.message !== lastError) logger.warn({ err }, `${label} connection error`);
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) logger.info(`${label} connection restored`);
    lastError = '';
  });
}

/** Closes a client: gracefully when connected, at once while it is still trying to connect. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) await client.close();
  else client.destroy();
}

/** Redis replies that mean "not now" rather than "wrong": loading, busy, a failover. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;
/** Socket errors of a connection that went away. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * True when `error` says Redis cannot be reached right now (offline client, closed socket,
 * time-out, a reply such as `LOADING`): what a caller answers with SERVICE_UNAVAILABLE, as
 * opposed to a bug. Looks through `cause` and `originalError` wrappers.
 */
export function isRedisOutage(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (
      e instanceof ClientOfflineError ||
      e instanceof ClientClosedError ||
      e instanceof SocketClosedUnexpectedlyError ||
      e instanceof ConnectionTimeoutError ||
      e instanceof SocketTimeoutError ||
      e instanceof TimeoutError ||
      (e instanceof ErrorReply && TRANSIENT_REPLY.test(e.message)) ||
      NETWORK_CODES.has((e as NodeJS.ErrnoException).code ?? '')
    )
      return true;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return false;
}

/**
 * Whether Redis keeps its data across a restart: `kept` (RDB snapshots or the append-only file
 * on), `lost` (`save ""` and `appendonly no`), or `unknown` (CONFIG refused, as managed services
 * do: they persist by their own settings).
 */
export type Persistence = 'kept' | 'lost' | 'unknown';

/** Reads `CONFIG GET save` and `appendonly`. Never rejects. */
export async function persistence(client: RedisClient): Promise<Persistence> {
  try {
    const save = await client.configGet('save');
    const aof = await client.configGet('appendonly');
    if (save.save === undefined || aof.appendonly === undefined) return 'unknown';
    return save.save.trim() === '' && aof.appendonly === 'no' ? 'lost' : 'kept';
  } catch {
    return 'unknown';
  }
}

/**
 * Logs one warning when Redis would not keep igql's state, the encrypted Instagram tokens
 * among it, across its own restart; says nothing when it would, or cannot tell.
 */
export async function warnIfNotPersistent(client: RedisClient, logger: Logger): Promise<void> {
  if ((await persistence(client)) !== 'lost') return;
  logger.warn(
    'redis keeps no data across a restart (save "" and appendonly no): a restart loses every stored Instagram token and every account must log in again; enable appendonly yes (or RDB snapshots) in production',
  );
}

/**
 * A Lua script run by its SHA1 (`EVALSHA`): its source crosses the wire (`EVAL`) only when Redis
 * does not have it yet (the first run, or after a restart or `SCRIPT FLUSH`).
 */
export class Script {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    const options = { keys: [...keys], arguments: [...args] };
    try {
      return await client.evalSha(this.#sha, options);
    } catch (error) {
      if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
      return client.eval(this.#source, options);
    }
  }
}

/** Calls `perTick` gathers into one `run` at most: a script's work stays short. */
export const MAX_BATCH = 500;

/**
 * Gathers the calls made during one turn of the event loop into one call of `run` (flushed by
 * `setImmediate`, at most `MAX_BATCH` items each, in call order), so that concurrent requests
 * share one Redis command instead of sending one each. `run` answers with one result per item,
 * in order; when it rejects, or answers with another count, every call of the batch rejects.
 */
export function perTick<I, O>(run: (items: I[]) => Promise<unknown[]>): (item: I) => Promise<O> {
  let batch: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  const flush = () => {
    const all = batch;
    batch = [];
    for (let start = 0; start < all.length; start += MAX_BATCH) {
      const part = all.slice(start, start + MAX_BATCH);
      let ran: Promise<unknown[]>;
      try {
        ran = run(part.map((call) => call.item));
      } catch (error) {
        ran = Promise.reject(error);
      }
      ran.then(
        (results) => {
          if (results.length !== part.length) {
            const error = new Error(`expected ${part.length} results, got ${results.length}`);
            for (const call of part) call.reject(error);
          } else {
            part.forEach((call, i) => {
              call.resolve(results[i] as O);
            });
          }
        },
        (error: unknown) => {
          for (const call of part) call.reject(error);
        },
      );
    }
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push({ item, resolve, reject });
    });
}
