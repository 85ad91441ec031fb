import { describe, expect, it } from 'vitest';
import {
  MemoryPublishJobStore,
  type PublishJobStore,
  RedisPublishJobStore,
} from '../../src/publishing/jobs.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { publishJob } from './fixtures.ts';

const redis = useRedisServer();

const stores: [string, () => Promise<PublishJobStore>][] = [
  ['memory', async () => new MemoryPublishJobStore()],
  ['redis', async () => new RedisPublishJobStore(await redis.connect(), `test-${Math.random()}`)],
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
