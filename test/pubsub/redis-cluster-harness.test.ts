import { existsSync } from 'node:fs';
import { createClient } from 'redis';
import { describe, expect, it, vi } from 'vitest';
import { useRedisCluster } from '../helpers/redis-cluster.ts';

/**
 * The Redis Cluster harness itself: six `redis-server` nodes of the file's own form a cluster
 * that node-redis's cluster client uses, sharded pub/sub included, and a primary killed is
 * replaced by its replica with the data it had.
 */

const redis = useRedisCluster();
/** Every node's process, the killed one's included: none may outlive the file. */
const pids: number[] = [];

/** Waits for the first message `count` messages in, recording every one. */
function inbox() {
  const messages: string[] = [];
  const listeners: (() => void)[] = [];
  return {
    messages,
    listener: (message: string) => {
      messages.push(message);
      for (const listener of listeners.splice(0)) listener();
    },
    /** Resolves once `message` has arrived. */
    async received(message: string) {
      while (!messages.includes(message)) await new Promise<void>((r) => listeners.push(r));
    },
  };
}

describe('a Redis Cluster of the test file’s own', () => {
  it('has three primaries and three replicas, serving all 16384 slots', async () => {
    const cluster = redis.cluster();
    pids.push(...cluster.nodes.map((node) => node.pid));
    expect(cluster.nodes.map((node) => node.role).sort()).toEqual([
      'primary',
      'primary',
      'primary',
      'replica',
      'replica',
      'replica',
    ]);
    const client = await redis.connect();
    expect(client.masters).toHaveLength(3);
    const info = await client.sendCommand(undefined, true, ['CLUSTER', 'INFO']);
    expect(String(info)).toContain('cluster_state:ok');
    expect(String(info)).toContain('cluster_slots_assigned:16384');
    expect(String(info)).toContain('cluster_known_nodes:6');

    // redis-cli gives each primary a third of the slots; these tags fall in each third.
    const keys = ['{b}key', '{c}key', '{a}key'];
    expect(await Promise.all(keys.map((key) => client.clusterKeySlot(key)))).toEqual([
      3300, 7365, 15495,
    ]);
    const primaries = await Promise.all(keys.map((key) => cluster.primaryOf(key)));
    expect(new Set(primaries.map((node) => node.port)).size).toBe(3);
    expect(primaries.map((node) => node.role)).toEqual(['primary', 'primary', 'primary']);

    for (const key of keys) await client.set(key, `value of ${key}`);
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual([
      'value of {b}key',
      'value of {c}key',
      'value of {a}key',
    ]);
    // Each primary holds its own key: asked directly, not through the cluster client.
    for (const [i, key] of keys.entries()) {
      const node = createClient({ url: primaries[i]?.url });
      await node.connect();
      try {
        expect(await node.get(key)).toBe(`value of ${key}`);
        expect(await node.dbSize()).toBe(1);
      } finally {
        node.destroy();
      }
    }
  });

  it('delivers a sharded pub/sub message exactly once', async () => {
    const client = await redis.connect();
    const news = inbox();
    await client.sSubscribe('{c}news', news.listener);
    // SPUBLISH answers how many subscribers the shard delivered to.
    expect(await client.sPublish('{c}news', 'first')).toBe(1);
    expect(await client.sPublish('{c}news', 'second')).toBe(1);
    // One connection delivers in order: a duplicate of the first would be in before the second.
    await news.received('second');
    expect(news.messages).toEqual(['first', 'second']);
  });

  it('fails over to the replica when the primary holding a key is killed', async () => {
    const cluster = redis.cluster();
    const client = await redis.connect();
    const key = '{a}survivor';
    const dead = await cluster.primaryOf(key);
    const news = inbox();
    await client.sSubscribe('{a}news', news.listener);
    expect(await client.sPublish('{a}news', 'before')).toBe(1);
    await client.set(key, 'kept');
    // No persistence: the value survives only if the replica has it before the primary dies.
    const primary = await client.getNodeClientForKey(key);
    expect(await primary.sendCommand(['WAIT', '1', '1000'])).toBe(1);

    await cluster.kill(dead.port);
    const successor = await cluster.waitForFailover(dead.port);
    expect(successor.role).toBe('primary');
    expect(successor.port).not.toBe(dead.port);
    expect(cluster.nodes.map((node) => node.role).sort()).toEqual([
      'primary',
      'primary',
      'primary',
      'replica',
      'replica',
    ]);
    expect(await cluster.primaryOf(key)).toEqual(successor);

    // The client finds the new primary on its own: retried until it does, within the deadline.
    expect(await vi.waitFor(() => client.get(key), { timeout: 10_000, interval: 50 })).toBe('kept');
    expect(await client.set(key, 'written after')).toBe('OK');
    expect(await client.get(key)).toBe('written after');

    // The sharded subscription moved to the new primary too: SPUBLISH reaches it again.
    await vi.waitFor(
      async () => {
        expect(await client.sPublish('{a}news', 'after')).toBe(1);
      },
      { timeout: 10_000, interval: 50 },
    );
    await news.received('after');
    expect(news.messages).toEqual(['before', 'after']);
  });

  it('leaves no process and no directory behind once stopped', async () => {
    const cluster = redis.cluster();
    expect(pids).toHaveLength(6);
    await cluster.stop();
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
