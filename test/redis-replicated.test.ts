import { createClient } from 'redis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createRedis, createRedisCluster, type Redis, replicated } from '../src/redis.ts';
import { until } from './cluster/helpers.ts';
import { useRedisServer } from './helpers/redis.ts';
import { useRedisCluster, useSharedRedisCluster } from './helpers/redis-cluster.ts';

const silent = createLogger('silent');
const shared = useSharedRedisCluster();
const own = useRedisCluster();
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

  it('waits no more for a replica that stopped answering, then none for a shard without one', async () => {
    const cluster = own.cluster();
    const redis = createRedisCluster(
      cluster.rootNodes.map((node) => node.url),
      silent,
    );
    const single = createRedis(server.server().url, silent);
    opened.push(redis, single);
    await redis.client.connect();
    await single.client.connect();
    const key = 'igql-wait:events:{17841400000000001}';
    const primary = await cluster.primaryOf(key);
    const admin = createClient({ url: primary.url });
    await admin.connect();
    try {
      const role = (await admin.sendCommand(['ROLE'])) as [string, number, [string, string][]];
      const replica = cluster.nodes.find((node) => node.port === Number(role[2][0]?.[1]));
      if (!replica) throw new Error('the primary names no replica');
      const waits = async () =>
        Number(/cmdstat_wait:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
      await redis.client.set(key, '1');
      expect(await replicated(redis.client, key)).toBe(1);
      // Twenty writers at once share two WAITs: the one on the wire, and the one after it.
      const healthy = await waits();
      await Promise.all(Array.from({ length: 20 }, (_, i) => redis.client.set(key, `w${i}`)));
      expect(
        await Promise.all(Array.from({ length: 20 }, () => replicated(redis.client, key))),
      ).toEqual(Array(20).fill(1));
      expect((await waits()) - healthy).toBe(2);

      // Stopped, still connected (as behind a partition): one WAIT times out, the next is not sent.
      process.kill(replica.pid, 'SIGSTOP');
      try {
        // Twenty writers at once: one WAIT times out, and the others do not send theirs.
        const stopped = await waits();
        await redis.client.set(key, '2');
        expect(
          await Promise.all(Array.from({ length: 20 }, () => replicated(redis.client, key))),
        ).toEqual(Array(20).fill(0));
        expect((await waits()) - stopped).toBe(1);
        const sent = await waits();
        await redis.client.set(key, '3');
        expect(await replicated(redis.client, key)).toBe(0);
        expect(await waits()).toBe(sent);
      } finally {
        process.kill(replica.pid, 'SIGCONT');
      }

      // Gone: the primary counts no replica, and a client that asks it now waits for nothing.
      await cluster.kill(replica.port);
      await until(
        'the primary counts no replica',
        async () => ((await admin.sendCommand(['ROLE'])) as unknown[][])[2]?.length === 0,
        5000,
      );
      const fresh = createRedisCluster(
        cluster.rootNodes.map((node) => node.url),
        silent,
      );
      opened.push(fresh);
      await fresh.client.connect();
      const before = await waits();
      await fresh.client.set(key, '4');
      expect(await replicated(fresh.client, key)).toBe(0);
      expect(await waits()).toBe(before);
      // And on one server, where igql knows of no replica.
      expect(await replicated(single.client, 'k')).toBe(0);
    } finally {
      await admin.close();
    }
  });
});
