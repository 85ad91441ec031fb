import { expect, it } from 'vitest';
import { RedisPublishJobStore } from '../../src/publishing/jobs.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { offlineService, publishJob } from './fixtures.ts';

const redis = useRedisServer();
const NOW = 1_000_000;

it('drops from the due jobs one whose record expired, and makes no call for it', async () => {
  const client = await redis.connect();
  const prefix = 'test-expired';
  const jobs = new RedisPublishJobStore(client, prefix);
  const { service, calls } = offlineService({
    jobs,
    tokens: { get: async () => ({ accessToken: 'IGAA', status: 'ACTIVE' }) },
    now: NOW,
  });
  await jobs.put({ ...publishJob('gone', '17841400000000001', NOW, NOW), container: 'c1' });
  // Kept past JOB_TTL_MS: Redis expired the record, the due index still names it.
  await client.del(`${prefix}:publish-job:gone`);
  expect(await jobs.due(NOW, 10)).toEqual(['gone']);
  await service.poll();
  expect(await jobs.due(NOW, 10)).toEqual([]);
  expect(calls).toEqual([]);
});

it('drops from the due jobs one that is final, keeping it, and makes no call for it', async () => {
  const client = await redis.connect();
  const prefix = 'test-final';
  const jobs = new RedisPublishJobStore(client, prefix);
  const { service, calls, told } = offlineService({
    jobs,
    tokens: { get: async () => ({ accessToken: 'IGAA', status: 'ACTIVE' }) },
    now: NOW,
  });
  const published = {
    ...publishJob('done', '17841400000000001', NOW, null),
    container: 'c1',
    mediaId: 'm1',
  };
  await jobs.put(published);
  // On a cluster `put` is not atomic: the job was stored final, its removal from the due index
  // failed.
  await client.zAdd(`${prefix}:publish-jobs:due`, { score: NOW, value: 'done' });
  expect(await jobs.due(NOW, 10)).toEqual(['done']);
  await service.poll();
  expect(await jobs.due(NOW, 10)).toEqual([]);
  expect(await jobs.get('done')).toEqual(published);
  expect(await jobs.ofAccount('17841400000000001', 10)).toEqual([published]);
  expect(calls).toEqual([]);
  expect(told).toEqual([]);
});
