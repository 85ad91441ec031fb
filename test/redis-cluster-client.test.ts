import {
  DisconnectsClientError,
  ErrorReply,
  MaxCommandRedirectionsError,
  RootNodesUnavailableError,
} from 'redis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createRedisCluster, isRedisOutage, type Redis, replicated } from '../src/redis.ts';
import { useRedisCluster } from './helpers/redis-cluster.ts';

const PASSWORD = 'cluster p@ss/word';
const cluster = useRedisCluster({ password: PASSWORD });
const silent = createLogger('silent');

async function closing<T>(redis: Redis, use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } finally {
    await redis.close();
  }
}

describe("createRedisCluster: igql's cluster client", () => {
  it("carries the seeds' credentials to every node it discovers", async () => {
    // One seed: the other five nodes are known only from the topology it answers.
    const [seed] = cluster.cluster().rootNodes;
    expect(seed?.url).toContain(encodeURIComponent(PASSWORD));
    const redis = createRedisCluster([seed?.url ?? ''], silent);
    await closing(redis, async () => {
      redis.connect();
      await redis.ready(10_000);
      expect(redis.client.isReady).toBe(true);
      expect(await redis.ping()).toBe(true);
      const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((tag) => `auth:{${tag}}`);
      const shards = new Set(
        await Promise.all(keys.map(async (key) => (await cluster.cluster().primaryOf(key)).port)),
      );
      expect(shards.size).toBe(3);
      for (const key of keys) await redis.client.set(key, key);
      expect(await Promise.all(keys.map((key) => redis.client.get(key)))).toEqual(keys);
      expect(await replicated(redis.client, keys[0] ?? '')).toBe(1);
    });
  });

  it('connects while a primary is dead and its replica not yet promoted: it asks the topology again', async () => {
    const running = cluster.cluster();
    const dead = await running.primaryOf('auth:{a}');
    await running.kill(dead.port);
    // Started at once: the seeds still name the dead primary as the slot's.
    const redis = createRedisCluster(
      running.rootNodes.map((node) => node.url),
      silent,
    );
    await closing(redis, async () => {
      redis.connect();
      await running.waitForFailover(dead.port);
      // Ready once an attempt meets the promoted replica (the first may wait on the dead node).
      for (let tries = 0; !redis.client.isReady; tries++) {
        if (tries > 300) throw new Error('not ready 15 s after the failover');
        await redis.ready(50);
      }
      expect(await redis.client.get('auth:{a}')).toBe('auth:{a}');
      expect(await redis.ping()).toBe(true);
    });
  });
});

describe('isRedisOutage on a cluster', () => {
  it("takes a cluster's passing troubles for an outage (SERVICE_UNAVAILABLE), not a bug", () => {
    expect(
      [
        new DisconnectsClientError(),
        new RootNodesUnavailableError(),
        new MaxCommandRedirectionsError(new ErrorReply('MOVED 3999 127.0.0.1:7001')),
        new ErrorReply('MOVED 3999 127.0.0.1:7001'),
        new ErrorReply('ASK 3999 127.0.0.1:7001'),
        new ErrorReply('TRYAGAIN Multiple keys request during rehashing of slot'),
        new ErrorReply('CLUSTERDOWN The cluster is down'),
        new Error('Cannot find node 127.0.0.1:7009'),
        new Error('wrapped', { cause: new RootNodesUnavailableError() }),
      ].map(isRedisOutage),
    ).toEqual(Array(9).fill(true));
    expect(
      [
        new ErrorReply("CROSSSLOT Keys in request don't hash to the same slot"),
        new ErrorReply('ERR unknown command'),
        new Error('expected 2 results, got 1'),
      ].map(isRedisOutage),
    ).toEqual([false, false, false]);
  });
});
