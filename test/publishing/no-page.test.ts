import { expect, it } from 'vitest';
import { NO_PAGE } from '../../src/instagram/graph.ts';
import { MemoryPublishJobStore, type PublishJob } from '../../src/publishing/jobs.ts';
import { offlineService, publishJob } from './fixtures.ts';

const NOW = 1_000_000;

it('fails, once, the job of a Facebook Login account stored without its Page: no call, no retry', async () => {
  const jobs = new MemoryPublishJobStore();
  const { service, calls, told } = offlineService({
    jobs,
    tokens: {
      get: async () => ({ accessToken: 'EAApage', status: 'ACTIVE', loginKind: 'FACEBOOK' }),
    },
    now: NOW,
  });
  const job: PublishJob = { ...publishJob('j1', '17841400000000001', NOW, NOW), status: 'QUEUED' };
  await jobs.put(job);
  await service.poll();
  await service.poll();

  const failed: PublishJob = {
    ...job,
    status: 'FAILED',
    error: {
      message: `${NO_PAGE}, then publish again`,
      containerStatus: null,
      code: null,
      subcode: null,
    },
    nextPollAt: null,
  };
  expect(await jobs.get('j1')).toEqual(failed);
  expect(calls).toEqual([]);
  expect(told.map((e) => e.job)).toEqual([failed]);
});
