import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  createCluster,
  DisconnectsClientError,
  ErrorReply,
  MaxCommandRedirectionsError,
  RootNodesUnavailableError,
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

/**
 * A Redis Cluster client: commands go to the primary of their key's slot, following MOVED and
 * ASK redirections. node-redis learns of a failover only when it asks for the topology again,
 * which it does once a connection to a node has been retrying for
 * `topologyRefreshOnReconnectionAttemptStrategy` ms (5 s by default; 200 here, so that a
 * promoted replica serves within about a second of the cluster's own failover).
 *
 * node-redis uses the seed URLs only to ask for the topology: the nodes it discovers get
 * `defaults` and their address, nothing else. The credentials and TLS of the seeds (one set for
 * all, as config.ts requires) are therefore given as defaults too.
 */
const newCluster = (urls: readonly string[]) => {
  const seed = new URL(urls[0] ?? 'redis://localhost:6379');
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    topologyRefreshOnReconnectionAttemptStrategy: 200,
    defaults: {
      disableOfflineQueue: true,
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: reconnectDelay,
        ...(seed.protocol === 'rediss:' ? { tls: true as const } : {}),
      },
    },
  });
};

/**
 * How long one attempt to reach the cluster may take. node-redis's `connect()` waits for a
 * connection to every primary of the topology it was given, and retries a dead one for ever: a
 * primary killed just before igql started would hold it unready until that node came back, its
 * replica promoted meanwhile. Past this, the attempt is dropped and the topology asked again.
 */
const CLUSTER_CONNECT_MS = 5000;

export type SingleClient = ReturnType<typeof newClient>;
export type ClusterClient = ReturnType<typeof newCluster>;
/** A client of one Redis server, or of a Redis Cluster: every store works with either. */
export type RedisClient = SingleClient | ClusterClient;

/** True when `client` is a Redis Cluster's (keys then take the cluster layout, `src/keys.ts`). */
export const isCluster = (client: RedisClient): client is ClusterClient => 'masters' in client;

export interface Redis<Client extends RedisClient = RedisClient> {
  readonly client: Client;
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
export function createRedis(url: string, logger: Logger): Redis<SingleClient> {
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

/**
 * A node-redis client of a Redis Cluster, from its seed nodes (`REDIS_CLUSTER_NODES`): as
 * `createRedis`, with the cluster's own ways. `connect()` retries with backoff until one seed
 * node answers (node-redis's cluster client tries once); `ping()` asks every primary; the
 * persistence warning reads every primary's settings.
 */
export function createRedisCluster(nodes: readonly string[], logger: Logger): Redis<ClusterClient> {
  const client = newCluster(nodes);
  let lastError = '';
  const warn = (err: Error, what: string) => {
    if (err.message !== lastError) logger.warn({ err }, what);
    lastError = err.message;
  };
  client.on('error', (err: Error) => warn(err, 'redis cluster error'));
  client.on('node-error', (err: Error) => warn(err, 'redis cluster node connection error'));
  client.on('node-ready', () => {
    if (lastError) logger.info('redis cluster node connection restored');
    lastError = '';
  });
  // A sharded subscription whose slot moved and could not follow it: its listeners are gone,
  // and its subscribers hear nothing more until they subscribe again.
  client.on('sharded-channel-moved-error', (err: Error, channel: string) =>
    logger.error({ err, channel }, 'redis cluster: a sharded subscription was lost'),
  );
  let closed = false;
  let connected: Promise<void> | undefined;
  return {
    client,
    connect() {
      connected ??= (async () => {
        for (let attempt = 0; !closed; attempt++) {
          const attemptDone = client.connect();
          attemptDone.catch(() => {});
          try {
            const outcome = await Promise.race([
              attemptDone.then(() => 'connected' as const),
              // Unreferenced: a connect that succeeds leaves no timer holding the process.
              sleep(CLUSTER_CONNECT_MS, 'too long' as const, { ref: false }),
            ]);
            if (outcome === 'connected') {
              void warnIfNotPersistent(client, logger);
              return;
            }
            if (closed) return;
            client.destroy();
            warn(
              new Error(`no answer from every primary in ${CLUSTER_CONNECT_MS} ms`),
              'redis cluster connect failed',
            );
          } catch (err) {
            if (closed) return;
            warn(err as Error, 'redis cluster connect failed');
          }
          await sleep(reconnectDelay(attempt));
        }
      })();
    },
    async ready(timeoutMs) {
      if (client.isReady) return;
      await Promise.race([connected, sleep(timeoutMs)]);
    },
    async ping() {
      if (!client.isReady) return false;
      const pings = client.masters.map(async (node) => {
        const answer = await (await client.nodeClient(node)).ping();
        return answer === 'PONG';
      });
      return Promise.race([
        Promise.all(pings).then(
          (answers) => answers.every(Boolean),
          () => false,
        ),
        sleep(1000, false),
      ]);
    },
    async close() {
      closed = true;
      if (client.isOpen) await client.close().catch(() => client.destroy());
    },
  };
}

/** Logs each new connection error once, and the reconnection after it. */
export function watchConnection(client: SingleClient, logger: Logger, label: string): void {
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
export async function closeClient(client: SingleClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) await client.close();
  else client.destroy();
}

/**
 * Redis replies that mean "not now" rather than "wrong": loading, busy, a failover; on a
 * cluster, a slot on the move (a redirection node-redis could not follow to the end).
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|MOVED|ASK)\b/;
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
      // A cluster's: a command queued on a node's connection that was then dropped, no node to
      // ask for the topology, redirections that did not settle, a slot with no known node.
      e instanceof DisconnectsClientError ||
      e instanceof RootNodesUnavailableError ||
      e instanceof MaxCommandRedirectionsError ||
      /^Cannot find node\b/.test(e.message) ||
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
  if (isCluster(client)) {
    // Every primary by its own settings: one that would lose its slots' tokens is enough.
    const each: Persistence[] = await Promise.all(
      client.masters.map(async (node) => persistence(await client.nodeClient(node))),
    ).catch(() => ['unknown']);
    return each.includes('lost') ? 'lost' : each.includes('unknown') ? 'unknown' : 'kept';
  }
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

/** How many times, and how far apart, a script meets TRYAGAIN before its caller hears it: 2 s. */
const TRYAGAIN_ATTEMPTS = 40;
const TRYAGAIN_DELAY_MS = 50;

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
    for (let attempt = 1; ; attempt++) {
      try {
        try {
          return await client.evalSha(this.#sha, options);
        } catch (error) {
          if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
          return await client.eval(this.#source, options);
        }
      } catch (error) {
        // A Redis Cluster moving the keys' slot between nodes (resharding) has some of them on
        // each side for a moment: it answers TRYAGAIN and the script runs whole once they meet.
        if (!(error instanceof ErrorReply && error.message.startsWith('TRYAGAIN'))) throw error;
        if (attempt >= TRYAGAIN_ATTEMPTS) throw error;
        await sleep(TRYAGAIN_DELAY_MS);
      }
    }
  }
}

/** Calls `perTick` gathers into one `run` at most: a script's work stays short. */
export const MAX_BATCH = 500;

/** CRC16-CCITT (XMODEM) of `bytes`: Redis Cluster's key hash. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster slot of `key` (0 to 16383), as `CLUSTER KEYSLOT` answers it. */
export const keySlot = (key: string): number => crc16(Buffer.from(slotGroup(key))) % 16384;

/**
 * How long a write waits for a replica to acknowledge it (`WAIT`), at most: past it, the write
 * stands as the primary alone holds it. WAIT blocks the connection it is sent on, the one igql
 * keeps to the shard, so commands behind it wait too: normally a replica acknowledges within a
 * round trip.
 */
export const REPLICATION_WAIT_MS = 500;

/** How long a primary's count of connected replicas (`ROLE`) is trusted before it is read again. */
const REPLICA_COUNT_MS = 1000;
/** How long a shard whose replica did not acknowledge a write in time is written without waiting. */
const UNANSWERED_REPLICA_MS = 5000;

/** What `replicated` knows of one shard primary's connection. */
interface Shard {
  /** Its connected replicas, as it said (`ROLE`), and until when that is trusted. */
  replicas?: { count: Promise<number>; until: number };
  /** The WAIT on the wire, and the one that follows it, shared by every caller meanwhile. */
  inFlight?: Promise<number>;
  next?: Promise<number>;
}
const shards = new WeakMap<object, Shard>();

/** The replicas connected to the primary behind `node`, as it says (`ROLE`), read once a second. */
function connectedReplicas(node: SingleClient, shard: Shard): Promise<number> {
  if (shard.replicas && Date.now() < shard.replicas.until) return shard.replicas.count;
  const count = node
    .sendCommand<[string, number, unknown[]]>(['ROLE'])
    .then(([role, , replicas]) => (role === 'master' ? replicas.length : 0));
  shard.replicas = { count, until: Date.now() + REPLICA_COUNT_MS };
  return count;
}

/**
 * On a Redis Cluster whose shard of `key` has a replica connected: waits until one replica has
 * every write this client sent to that shard so far (`WAIT 1`, on the very connection the writes
 * went through: the shard primary's), or `REPLICATION_WAIT_MS`. Called after the writes igql
 * acknowledges to others (a webhook's 200, a send's idempotency record, a stored token, a
 * logout): Redis replicates asynchronously, and a primary killed before its replica had them
 * would lose them in the failover. Answers the replicas that acknowledged: 0 on one server
 * (igql knows of no replica there), on a shard without one, or when the wait itself failed (the
 * write is done; it stands as the primary holds it). Never rejects.
 *
 * WAIT holds the connection it is sent on, the one igql keeps to the shard, so one WAIT is on the
 * wire per shard at a time: the callers that come meanwhile share the next one (sent after their
 * writes were answered, so it covers them). A replica that lets a WAIT time out (stopped, or behind
 * a partition, while still connected) is not waited for again for `UNANSWERED_REPLICA_MS`: the
 * shard's writes are then held up at most `REPLICATION_WAIT_MS` in that time.
 */
export async function replicated(client: RedisClient, key: string): Promise<number> {
  if (!isCluster(client)) return 0;
  try {
    const master = client.slots[keySlot(key)]?.master;
    if (!master) return 0;
    const node = await client.nodeClient(master);
    const known: Shard = shards.get(node) ?? {};
    shards.set(node, known);
    const wait = async (): Promise<number> => {
      if ((await connectedReplicas(node, known)) === 0) return 0;
      const acknowledged = await node.sendCommand<number>([
        'WAIT',
        '1',
        String(REPLICATION_WAIT_MS),
      ]);
      if (acknowledged === 0) {
        known.replicas = { count: Promise.resolve(0), until: Date.now() + UNANSWERED_REPLICA_MS };
      }
      return acknowledged;
    };
    const send = () => {
      const sent = wait().finally(() => {
        if (known.inFlight === sent) known.inFlight = undefined;
      });
      known.inFlight = sent;
      return sent;
    };
    if (!known.inFlight) return await send();
    if (!known.next) {
      const next = known.inFlight
        .catch(() => 0)
        .then(() => {
          known.next = undefined;
          return send();
        });
      known.next = next;
    }
    return await known.next;
  } catch {
    return 0;
  }
}

/**
 * The part of a key that picks its Redis Cluster slot: the hash tag (between the first `{` and
 * the next `}`, when not empty), else the whole key. Keys of one group share a slot.
 */
export function slotGroup(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/**
 * Gathers the calls made during one turn of the event loop into one call of `run` (flushed by
 * `setImmediate`, at most `MAX_BATCH` items each, in call order), so that concurrent requests
 * share one Redis command instead of sending one each. `run` answers with one result per item,
 * in order; when it rejects, or answers with another count, every call of the batch rejects.
 *
 * `groupOf`: on a Redis Cluster, where one script's keys must share a slot, the item's slot
 * group (`slotGroup` of one of its keys): a turn's calls then make one `run` per group, each in
 * call order.
 */
export function perTick<I, O>(
  run: (items: I[]) => Promise<unknown[]>,
  groupOf?: (item: I) => string,
): (item: I) => Promise<O> {
  type Call = { item: I; resolve: (value: O) => void; reject: (error: unknown) => void };
  let batch: Call[] = [];
  const runPart = (part: Call[]) => {
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
  };
  const flush = () => {
    const all = batch;
    batch = [];
    const groups = groupOf ? Map.groupBy(all, (call) => groupOf(call.item)).values() : [all];
    for (const group of groups)
      for (let start = 0; start < group.length; start += MAX_BATCH)
        runPart(group.slice(start, start + MAX_BATCH));
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (batch.length === 0) setImmediate(flush);
      batch.push({ item, resolve, reject });
    });
}
