import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createRedis, createRedisCluster, type Redis, replicated } from '../src/redis.ts';
import { useRedisServer } from './helpers/redis.ts';
import { useRedisCluster, useSharedRedisCluster } from './helpers/redis-cluster.ts';

const silent = createLogger('silent');
const shared = useSharedRedisCluster();
const unreplicated = useRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
const server = useRedisServer();
const opened: Redis[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((redis) => redis.close()));
});

describe('replicated: a write igql acknowledges waits for a replica', () => {
  it('answers 1 on a cluster whose shards have a replica: WAIT ran on the shard that took the write', async () => {
    const redis = createRedisCluster(inject('redisClusterNodes'), silent);
    opened.push(redis);
    await redis.client.connect();
    const prefix = shared.prefix('igql-wait');
    for (const igId of ['17841400000000001', '17841400000000002', '17841400000000003']) {
      const key = `${prefix}:events:{${igId}}`;
      await redis.client.set(key, 'x');
      expect(await replicated(redis.client, key)).toBe(1);
    }
  });

  it('answers 0 on shards without a replica, and on one server', async () => {
    const redis = createRedisCluster(
      unreplicated.cluster().rootNodes.map((node) => node.url),
      silent,
    );
    const single = createRedis(server.server().url, silent);
    opened.push(redis, single);
    await redis.client.connect();
    await single.client.connect();
    await redis.client.set('k:{17841400000000001}', 'x');
    expect(await replicated(redis.client, 'k:{17841400000000001}')).toBe(0);
    expect(await replicated(single.client, 'k')).toBe(0);
  });
});
