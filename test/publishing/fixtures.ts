import { MemoryAccountLock } from '../../src/lock.ts';
import { createLogger } from '../../src/logger.ts';
import type { PublishJob, PublishJobStore } from '../../src/publishing/jobs.ts';
import {
  PublishingService,
  type PublishingServiceOptions,
  type PublishJobEvent,
} from '../../src/publishing/service.ts';

/**
 * A publishing service at a frozen `now` whose Graph API records every call it is asked for and
 * answers `{}`: for the cases where no call may be made. `told`: the job changes it announced.
 */
export function offlineService(o: {
  jobs: PublishJobStore;
  tokens: PublishingServiceOptions['tokens'];
  now: number;
}): { service: PublishingService; calls: string[]; told: PublishJobEvent[] } {
  const calls: string[] = [];
  const told: PublishJobEvent[] = [];
  const api = new Proxy(
    {},
    {
      get: (_t, name) => async () => {
        calls.push(String(name));
        return {};
      },
    },
  ) as never;
  const service = new PublishingService({
    jobs: o.jobs,
    lock: new MemoryAccountLock(() => o.now),
    api,
    graph: api,
    tokens: o.tokens,
    publish: async (events) => told.push(...events),
    logger: createLogger('silent'),
    now: () => o.now,
  });
  return { service, calls, told };
}

/**
 * An image job of account `igId`, created at `createdAt`: due at `nextPollAt` (PROCESSING), or
 * final when it is null (PUBLISHED).
 */
export const publishJob = (
  id: string,
  igId: string,
  createdAt: number,
  nextPollAt: number | null,
): PublishJob => ({
  id,
  igId,
  status: nextPollAt === null ? 'PUBLISHED' : 'PROCESSING',
  request: {
    type: 'IMAGE',
    imageUrl: 'https://cdn.example.com/a.jpg',
    videoUrl: null,
    caption: null,
    items: [],
  },
  itemContainers: [],
  container: null,
  mediaId: null,
  error: null,
  createdAt,
  updatedAt: createdAt,
  publishedAt: null,
  polls: 0,
  nextPollAt,
});
