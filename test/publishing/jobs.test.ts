import { describe, expect, it } from 'vitest';
import {
  MemoryPublishJobStore,
  type PublishJobStore,
  RedisPublishJobStore,
} from '../../src/publishing/jobs.ts';
import { replicated } from '../../src/redis.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { clusterKeys, lastCommandTo, useSharedRedisCluster } from '../helpers/redis-cluster.ts';
import { publishJob } from './fixtures.ts';

const redis = useRedisServer();
const cluster = useSharedRedisCluster();

const stores: [string, () => Promise<PublishJobStore>][] = [
  ['memory', async () => new MemoryPublishJobStore()],
  ['redis', async () => new RedisPublishJobStore(await redis.connect(), `test-${Math.random()}`)],
  [
    'redis cluster',
    async () => new RedisPublishJobStore(await cluster.connect(), cluster.prefix()),
  ],
];

describe.each(stores)('PublishJobStore (%s)', (_name, make) => {
  it('keeps jobs, lists an account’s newest first, and answers the due ones in order', async () => {
    const store = await make();
    await store.put(publishJob('0001', '1', 1000, 5000));
    await store.put(publishJob('0002', '1', 2000, 3000));
    await store.put(publishJob('0003', '2', 3000, null));
    await store.put(publishJob('0004', '1', 2000, 9000));
    expect((await store.get('0002'))?.nextPollAt).toBe(3000);
    expect(await store.get('nope')).toBeUndefined();
    expect((await store.ofAccount('1', 10)).map((j) => j.id)).toEqual(['0004', '0002', '0001']);
    expect((await store.ofAccount('1', 1)).map((j) => j.id)).toEqual(['0004']);
    expect(await store.due(5000, 10)).toEqual(['0002', '0001']);
    expect(await store.due(5000, 1)).toEqual(['0002']);
    // Final: no longer due.
    await store.put({ ...publishJob('0002', '1', 2000, null), status: 'FAILED' });
    expect(await store.due(10_000, 10)).toEqual(['0001', '0004']);
    expect((await store.get('0002'))?.status).toBe('FAILED');
  });
});

describe('RedisPublishJobStore on a Redis Cluster', () => {
  it("keeps a job and the due index untagged, the account's index under its hash tag", async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const store = new RedisPublishJobStore(client, prefix);
    await store.put(publishJob('0001', '17841400000000001', 1000, 5000));
    expect((await clusterKeys(client, `${prefix}:*`)).sort()).toEqual([
      `${prefix}:publish-job:0001`,
      `${prefix}:publish-jobs:due`,
      `${prefix}:publish-jobs:{17841400000000001}`,
    ]);
    expect(await client.clusterKeySlot(`${prefix}:publish-jobs:{17841400000000001}`)).toBe(
      await client.clusterKeySlot(`${prefix}:events:{17841400000000001}`),
    );
  });
});

describe('RedisPublishJobStore on a Redis Cluster, final jobs', () => {
  it('waits for a replica to hold a final job (what Instagram did), not a job still due', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const store = new RedisPublishJobStore(client, prefix);
    const key = `${prefix}:publish-job:0001`;
    const last = await lastCommandTo(client, await cluster.connect(), key);
    // The job's shard has a replica: WAIT is what `replicated` sends there.
    expect(await replicated(client, key)).toBe(1);
    await store.put(publishJob('0001', '17841400000000001', 1000, 5000));
    expect(await last()).not.toBe('wait');
    await store.put(publishJob('0001', '17841400000000001', 1000, null));
    expect(await last()).toBe('wait');
  });
});
