import { describe, expect, it } from 'vitest';
import type { InstagramApi } from '../../src/instagram/graph.ts';
import { MemoryAccountLock } from '../../src/lock.ts';
import { createLogger } from '../../src/logger.ts';
import type { PublishingApi } from '../../src/publishing/api.ts';
import { MemoryPublishJobStore } from '../../src/publishing/jobs.ts';
import { PublishingService } from '../../src/publishing/service.ts';

describe('publishMedia’s queueing', () => {
  it('answers the stored job when announcing it fails: it will be published, so no error (a retry would publish twice)', async () => {
    const jobs = new MemoryPublishJobStore();
    const service = new PublishingService({
      jobs,
      lock: new MemoryAccountLock(),
      api: {} as PublishingApi,
      graph: {
        publishingLimit: async () => ({ quota_usage: 0, config: { quota_total: 100 } }),
      } as unknown as InstagramApi,
      tokens: { get: async () => undefined },
      publish: async () => {
        throw new Error('The client is offline');
      },
      logger: createLogger('silent'),
      now: () => 1_764_000_000_000,
    });
    const request = {
      type: 'IMAGE' as const,
      imageUrl: 'https://cdn.example/a.jpg',
      videoUrl: null,
      caption: null,
      items: [],
    };
    const job = await service.enqueue({ igId: '17841400000000001', token: 't' }, request);
    expect(job).toMatchObject({ status: 'QUEUED', igId: '17841400000000001', request });
    expect(await jobs.get(job.id)).toEqual(job);
    await service.stop();
  });
});
