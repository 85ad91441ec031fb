import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createClient, createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import {
  type ClusterClient,
  createRedisCluster,
  keySlot,
  type Redis,
  reconnectDelay,
} from '../../src/redis.ts';
import { freePort } from './net.ts';

/** Small, so that a failover takes a couple of seconds rather than Redis's default 15. */
const NODE_TIMEOUT_MS = 1000;
/** How long the cluster may take to form, and a failover to complete. */
const FORM_DEADLINE_MS = 20_000;
const FAILOVER_DEADLINE_MS = 15_000;

export interface ClusterNode {
  readonly port: number;
  readonly url: string;
  /** As the cluster last reported it: it changes when a failover promotes a replica. */
  readonly role: 'primary' | 'replica';
  readonly pid: number;
}

export interface RedisCluster {
  /** The running nodes (a killed one leaves the list). */
  readonly nodes: readonly ClusterNode[];
  /** The running nodes' URLs, for node-redis: `createCluster({ rootNodes })`. */
  readonly rootNodes: { url: string }[];
  /** The temporary directory holding every node's own one; removed by `stop()`. */
  readonly dir: string;
  /** The primary serving `key`'s slot now (`CLUSTER KEYSLOT`, then `CLUSTER SLOTS`). */
  primaryOf(key: string): Promise<ClusterNode>;
  /** Kills a node (SIGKILL: no goodbye to the cluster) and waits for it to exit. */
  kill(port: number): Promise<void>;
  /**
   * After `kill(port)` of a primary: resolves with the replica promoted in its place once every
   * surviving node sees it as a primary and reports the cluster ok again.
   */
  waitForFailover(port: number): Promise<ClusterNode>;
  /** Stops every node and removes the directory. Calling it again does nothing. */
  stop(): Promise<void>;
}

type Admin = ReturnType<typeof createClient>;

interface Node {
  port: number;
  busPort: number;
  url: string;
  role: 'primary' | 'replica';
  id: string;
  /** The node it replicates, when a replica. */
  primaryId: string;
  child?: ChildProcess;
  output: string;
  /** The harness's own connection, for `CLUSTER INFO` and the like. */
  admin?: Admin;
}

/** `count` distinct free ports (each node needs two: clients and the cluster bus). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function launch(node: Node, dir: string, password?: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(node.port),
      // The bus would otherwise be port + 10000, beyond 65535 for a high ephemeral port.
      '--cluster-port',
      String(node.busPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
      // Redis 7 waits 5 s for more replicas before a diskless full sync: not here.
      '--repl-diskless-sync-delay',
      '0',
      // Every client and replica then authenticates (`AUTH`), as on a managed cluster.
      ...(password ? ['--requirepass', password, '--masterauth', password] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  node.child = child;
  // Kept for the whole run: a cluster that does not form, or fail over, says why in its logs.
  const keep = (chunk: Buffer) => {
    node.output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start:\n${node.output}`)),
      10_000,
    );
    const ready = () => {
      if (!node.output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      child.stdout?.off('data', ready);
      resolve();
    };
    child.stdout?.on('data', ready);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${node.output}`));
    });
    child.once('error', reject);
  });
  node.admin = createClient({ url: node.url, socket: { reconnectStrategy: false } });
  // A killed node's connection errors; the harness stops asking it, nothing to report.
  node.admin.on('error', () => {});
  await node.admin.connect();
}

async function halt(node: Node, signal: NodeJS.Signals): Promise<void> {
  node.admin?.destroy();
  node.admin = undefined;
  const child = node.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** `CLUSTER INFO` or `INFO replication` as a map of its `field:value` lines. */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) map.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return map;
}

/** One `CLUSTER NODES` line: id, address, flags, primary id (`-` for a primary), … */
interface NodesLine {
  id: string;
  port: number;
  flags: string[];
  primaryId: string;
}

function nodesLines(text: string): NodesLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', primaryId = ''] = line.split(' ');
      return { id, port: Number(address.split(/[:@]/)[1]), flags: flags.split(','), primaryId };
    });
}

const ask = async (node: Node, ...args: string[]) => {
  if (!node.admin) throw new Error(`node ${node.port} is not running`);
  return String(await node.admin.sendCommand(args));
};

/**
 * Starts `primaries × (1 + replicasPerPrimary)` `redis-server` nodes of the test's own on free
 * ports, never the shared Redis on 6379, and makes them a cluster (`redis-cli --cluster create`);
 * resolves once every node reports all 16384 slots assigned and the cluster ok, and every
 * replica is in sync with its primary.
 */
export async function startRedisCluster({
  primaries = 3,
  replicasPerPrimary = 1,
  password,
}: {
  primaries?: number;
  replicasPerPrimary?: number;
  /** Required of every client (`requirepass`, `masterauth`); node URLs then carry it. */
  password?: string;
} = {}): Promise<RedisCluster> {
  const count = primaries * (1 + replicasPerPrimary);
  const root = mkdtempSync(join(tmpdir(), 'igql-redis-cluster-'));
  const ports = await freePorts(count * 2);
  const nodes: Node[] = Array.from({ length: count }, (_, i) => {
    const port = ports[i * 2] ?? 0;
    return {
      port,
      busPort: ports[i * 2 + 1] ?? 0,
      url: password
        ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`
        : `redis://127.0.0.1:${port}`,
      role: 'primary',
      id: '',
      primaryId: '',
      output: '',
    };
  });
  let alive = nodes;
  let stopped = false;

  const outputs = () =>
    nodes
      .filter((node) => node.output)
      .map((node) => `--- node ${node.port}:\n${node.output.split('\n').slice(-40).join('\n')}`)
      .join('\n');

  /** Polls `check` until it answers true (errors count as not yet), or fails at the deadline. */
  const until = async (what: string, deadlineMs: number, check: () => Promise<boolean>) => {
    const deadline = Date.now() + deadlineMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        if (await check()) return;
        last = undefined;
      } catch (error) {
        last = error;
      }
      await sleep(50);
    }
    throw new Error(
      `redis cluster: ${what} within ${deadlineMs} ms${last ? ` (${last})` : ''}:\n${outputs()}`,
    );
  };

  /** Reads every node's id, role and primary as the cluster sees them. */
  const refresh = async () => {
    const lines = nodesLines(await ask(alive[0] as Node, 'CLUSTER', 'NODES'));
    for (const node of alive) {
      const line = lines.find((l) => l.port === node.port);
      if (!line) throw new Error(`node ${node.port} is not in CLUSTER NODES`);
      node.id = line.id;
      node.role = line.flags.includes('master') ? 'primary' : 'replica';
      node.primaryId = line.primaryId;
    }
  };

  /** Every node's view: the cluster ok, all slots assigned and served, every node known. */
  const clusterOk = async (among: Node[], known: number) => {
    for (const node of among) {
      const info = fields(await ask(node, 'CLUSTER', 'INFO'));
      if (
        info.get('cluster_state') !== 'ok' ||
        info.get('cluster_slots_assigned') !== '16384' ||
        info.get('cluster_slots_ok') !== '16384' ||
        info.get('cluster_known_nodes') !== String(known)
      )
        return false;
    }
    return true;
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((node) => halt(node, 'SIGTERM')));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map((node) => launch(node, join(root, String(node.port)), password)));
    const create = await promisify(execFile)(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(replicasPerPrimary),
        '--cluster-yes',
        ...(password ? ['-a', password, '--no-auth-warning'] : []),
      ],
      { timeout: FORM_DEADLINE_MS },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${error}\n${error.stdout ?? ''}${error.stderr ?? ''}\n${outputs()}`,
      );
    });
    await until('did not form', FORM_DEADLINE_MS, async () => {
      if (!(await clusterOk(nodes, count))) return false;
      await refresh();
      if (nodes.filter((node) => node.role === 'primary').length !== primaries) return false;
      for (const node of nodes.filter((n) => n.role === 'replica')) {
        const replication = fields(await ask(node, 'INFO', 'replication'));
        const primary = nodes.find((n) => n.id === node.primaryId);
        if (
          replication.get('master_link_status') !== 'up' ||
          replication.get('master_port') !== String(primary?.port)
        )
          return false;
      }
      return true;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- redis-cli:\n${create.stdout}`);
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  const view = (node: Node): ClusterNode => ({
    port: node.port,
    url: node.url,
    role: node.role,
    pid: node.child?.pid ?? 0,
  });

  return {
    get nodes() {
      return alive.map(view);
    },
    get rootNodes() {
      return alive.map((node) => ({ url: node.url }));
    },
    dir: root,
    async primaryOf(key) {
      const node = alive[0];
      if (!node?.admin) throw new Error('no cluster node is running');
      const slot = await node.admin.clusterKeySlot(key);
      const range = (await node.admin.clusterSlots()).find((r) => r.from <= slot && slot <= r.to);
      if (!range) throw new Error(`slot ${slot} of ${key} is not served`);
      return view(byPort(range.master.port));
    },
    async kill(port) {
      const node = byPort(port);
      alive = alive.filter((n) => n !== node);
      await halt(node, 'SIGKILL');
    },
    async waitForFailover(port) {
      const killed = byPort(port);
      const successors = alive.filter((node) => node.primaryId === killed.id);
      if (killed.role !== 'primary' || successors.length === 0)
        throw new Error(`node ${port} was not a primary with a replica`);
      let promoted: Node | undefined;
      await until(`no replica of ${port} took over`, FAILOVER_DEADLINE_MS, async () => {
        // The survivors still know the killed node (as failed): `known` counts it.
        if (!(await clusterOk(alive, nodes.length))) return false;
        for (const node of alive) {
          const lines = nodesLines(await ask(node, 'CLUSTER', 'NODES'));
          const primaries = lines.filter(
            (l) => l.flags.includes('master') && !l.flags.includes('fail'),
          );
          promoted = successors.find((s) => primaries.some((p) => p.id === s.id));
          if (!promoted) return false;
        }
        return true;
      });
      await refresh();
      return view(promoted as Node);
    },
    stop,
  };
}

const newClusterClient = (rootNodes: { url: string }[]) =>
  createCluster({
    rootNodes,
    // node-redis learns of a failover only by asking for the topology again, which it does once
    // its connection to the dead primary has been retrying this long (5 s by default).
    topologyRefreshOnReconnectionAttemptStrategy: 200,
    // As src/redis.ts builds its client: reconnect with backoff, fail fast while offline.
    defaults: {
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
    },
  });

export type RedisClusterClient = ReturnType<typeof newClusterClient>;

export interface RedisClusterForTests {
  /** The cluster, once the file's tests run. */
  cluster(): RedisCluster;
  /** A new node-redis cluster client, connected, closed after the test that made it. */
  connect(): Promise<RedisClusterClient>;
}

/**
 * A Redis Cluster of the test file's own: started before its tests, stopped after them; the
 * clients `connect()` makes are closed after each test.
 */
export function useRedisCluster(options?: {
  primaries?: number;
  replicasPerPrimary?: number;
  password?: string;
}): RedisClusterForTests {
  let cluster: RedisCluster | undefined;
  const clients: RedisClusterClient[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster(options);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  const started = () => {
    if (!cluster) throw new Error('useRedisCluster: the cluster starts in beforeAll');
    return cluster;
  };
  return {
    cluster: started,
    async connect() {
      const client = newClusterClient(started().rootNodes);
      clients.push(client);
      await client.connect();
      return client;
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared Redis Cluster's node URLs, from test/global-setup/redis-cluster.ts. */
    redisClusterNodes: string[];
  }
}

export interface SharedRedisClusterForTests {
  /**
   * A new client of the shared cluster, made as igql makes its own (`createRedisCluster`),
   * connected, closed after the test that made it.
   */
  connect(): Promise<ClusterClient>;
  /** A key prefix no other test of the run uses, on any file: `<label>-<random>`. */
  prefix(label?: string): string;
}

/**
 * The run's shared Redis Cluster (three primaries, a replica each), started once for every test
 * file by test/global-setup/redis-cluster.ts. Files share it, at the same time: each test keeps
 * to a prefix of its own (`prefix()`), and none stops, flushes or kills it (a test that must
 * starts a cluster of its own, `useRedisCluster`).
 */
export function useSharedRedisCluster(): SharedRedisClusterForTests {
  const connections: Redis<ClusterClient>[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((redis) => redis.close()));
  });
  return {
    async connect() {
      const redis = createRedisCluster(inject('redisClusterNodes'), createLogger('silent'));
      connections.push(redis);
      await redis.client.connect();
      return redis.client;
    },
    prefix: (label = 'igql-test') => `${label}-${randomBytes(6).toString('hex')}`,
  };
}

/** Every key matching `pattern` on every primary of the cluster (`KEYS` asks one node only). */
export async function clusterKeys(client: ClusterClient, pattern: string): Promise<string[]> {
  const each = await Promise.all(
    client.masters.map(async (node) => (await client.nodeClient(node)).keys(pattern)),
  );
  return each.flat();
}

/**
 * Moves `slot` and its keys to the primary on `toPort` by the protocol `redis-cli --cluster
 * reshard` follows: the target `IMPORTING` the slot and the source `MIGRATING` it, its keys
 * `MIGRATE`d `batch` at a time (`between` awaited after each batch, with every key moved so far),
 * then the slot given to the target on every primary, the target and the source first. Resolves
 * once every running node maps the slot to the target; answers how many keys moved.
 */
export async function migrateSlot(
  cluster: RedisCluster,
  slot: number,
  toPort: number,
  options: { batch?: number; between?: (moved: readonly string[]) => Promise<void> } = {},
): Promise<number> {
  const { batch = 10, between } = options;
  const clients = new Map<number, Admin>();
  const admin = async (port: number) => {
    let client = clients.get(port);
    if (!client) {
      client = createClient({ url: `redis://127.0.0.1:${port}` });
      clients.set(port, client);
      await client.connect();
    }
    return client;
  };
  const ask = async (port: number, ...args: string[]) =>
    (await admin(port)).sendCommand<unknown>(args);
  /** The primary serving `slot`, as the node on `port` sees it. */
  const ownerOn = async (port: number) =>
    (await (await admin(port)).clusterSlots()).find((r) => r.from <= slot && slot <= r.to)?.master
      .port;
  try {
    const primaries = cluster.nodes.filter((node) => node.role === 'primary').map((n) => n.port);
    const from = await ownerOn(toPort);
    if (from === undefined || !primaries.includes(toPort) || from === toPort)
      throw new Error(`slot ${slot} cannot move from ${from} to ${toPort}`);
    const idOf = async (port: number) => String(await ask(port, 'CLUSTER', 'MYID'));
    const [fromId, toId] = await Promise.all([idOf(from), idOf(toPort)]);
    await ask(toPort, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await ask(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    const moved: string[] = [];
    for (;;) {
      const keys = (await ask(
        from,
        'CLUSTER',
        'GETKEYSINSLOT',
        String(slot),
        String(batch),
      )) as string[];
      if (keys.length === 0) break;
      await ask(from, 'MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys);
      moved.push(...keys);
      await between?.(moved);
    }
    for (const port of [toPort, from, ...primaries.filter((p) => p !== toPort && p !== from)])
      await ask(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    const deadline = Date.now() + FORM_DEADLINE_MS;
    for (const node of cluster.nodes) {
      while ((await ownerOn(node.port)) !== toPort) {
        if (Date.now() > deadline) throw new Error(`node ${node.port} never saw slot ${slot} move`);
        await sleep(50);
      }
    }
    return moved.length;
  } finally {
    for (const client of clients.values()) client.destroy();
  }
}

/**
 * What `client` last sent to the primary serving `key`, as that primary lists the connection
 * (`CLIENT LIST`, asked over another client's): read it after a write, and `wait` says
 * `replicated` ran after it.
 */
export async function lastCommandTo(
  client: ClusterClient,
  other: ClusterClient,
  key: string,
): Promise<() => Promise<string>> {
  const slot = keySlot(key);
  const [mine, theirs] = [client.slots[slot]?.master, other.slots[slot]?.master];
  if (!mine || !theirs) throw new Error(`no primary serves ${key}`);
  const id = await (await client.nodeClient(mine)).clientId();
  const admin = await other.nodeClient(theirs);
  const list = ['CLIENT', 'LIST', 'ID', String(id)];
  return async () => /\bcmd=(\S+)/.exec(await admin.sendCommand<string>(list))?.[1] ?? '';
}
