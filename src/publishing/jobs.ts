import { type Keyspace, keyspace, publishDueKey, publishJobKey, publishJobsKey } from '../keys.ts';
import { isCluster, type RedisClient, replicated } from '../redis.ts';

/** Where a publish job is: the values of the GraphQL `PublishJobStatus`. */
export type PublishJobStatus = 'QUEUED' | 'PROCESSING' | 'PUBLISHED' | 'FAILED' | 'EXPIRED';

/** What `publishMedia` was asked to publish: the GraphQL input, checked, ids decoded. */
export interface PublishRequest {
  readonly type: 'IMAGE' | 'VIDEO' | 'REEL' | 'STORY' | 'CAROUSEL';
  readonly imageUrl: string | null;
  readonly videoUrl: string | null;
  readonly caption: string | null;
  /** CAROUSEL: 2 to 10 items, each exactly one URL. */
  readonly items: readonly { readonly imageUrl: string | null; readonly videoUrl: string | null }[];
}

/** Why a job failed: igql's words, and Instagram's status text or error code when it gave one. */
export interface PublishJobError {
  readonly message: string;
  /** The container's `status` text (`Error: Media download has failed…`), when it said one. */
  readonly containerStatus: string | null;
  readonly code: number | null;
  readonly subcode: number | null;
}

/** A publish job, as stored: plain JSON. */
export interface PublishJob {
  readonly id: string;
  readonly igId: string;
  readonly status: PublishJobStatus;
  readonly request: PublishRequest;
  /** Item containers created so far (a carousel's children), in order. */
  readonly itemContainers: readonly string[];
  /** The container to publish, once created. */
  readonly container: string | null;
  readonly mediaId: string | null;
  readonly error: PublishJobError | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When it was published (the publishing limit's window counts from there). */
  readonly publishedAt: number | null;
  /** Status reads made while processing: the backoff grows with them. */
  readonly polls: number;
  /** When the poller next looks at it; null once it is final. */
  readonly nextPollAt: number | null;
}

/** Jobs end here: no more polls. */
export const isFinal = (status: PublishJobStatus): boolean =>
  status === 'PUBLISHED' || status === 'FAILED' || status === 'EXPIRED';

/** How long a job is kept once created: a container expires after 24 hours, a job after 7 days. */
export const JOB_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Publish jobs, durable and shared by every instance (Redis), or in memory for one. Jobs that
 * are not final are indexed by when they are next due.
 */
export interface PublishJobStore {
  get(id: string): Promise<PublishJob | undefined>;
  /** Stores the job (new or changed) and its place among the due ones. */
  put(job: PublishJob): Promise<void>;
  /** Ids of jobs due at `now`, earliest first, at most `limit`. */
  due(now: number, limit: number): Promise<string[]>;
  /**
   * Drops a job from the due ones, leaving the job as it is: one that is gone (kept past
   * `JOB_TTL_MS`), or one that is final yet still indexed (on a Redis Cluster, `put` is not
   * atomic: its last step, taking the job out of the index, may have failed). Its id would
   * otherwise come first in every round, and enough of them would crowd out the jobs that are
   * due.
   */
  forget(id: string): Promise<void>;
  /** The account's jobs, newest first, at most `limit`. */
  ofAccount(igId: string, limit: number): Promise<PublishJob[]>;
}

/** One instance only. */
export class MemoryPublishJobStore implements PublishJobStore {
  readonly #jobs = new Map<string, PublishJob>();

  async get(id: string): Promise<PublishJob | undefined> {
    return this.#jobs.get(id);
  }

  async put(job: PublishJob): Promise<void> {
    this.#jobs.set(job.id, job);
  }

  async due(now: number, limit: number): Promise<string[]> {
    return [...this.#jobs.values()]
      .filter((job) => job.nextPollAt !== null && job.nextPollAt <= now)
      .sort((a, b) => (a.nextPollAt ?? 0) - (b.nextPollAt ?? 0))
      .slice(0, limit)
      .map((job) => job.id);
  }

  async forget(_id: string): Promise<void> {
    // The due ones are read from the jobs themselves: there is no index to drop the job from.
  }

  async ofAccount(igId: string, limit: number): Promise<PublishJob[]> {
    return [...this.#jobs.values()]
      .filter((job) => job.igId === igId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .slice(0, limit);
  }
}

/**
 * Shared: `<prefix>:publish-job:<id>` (JSON, kept `JOB_TTL_MS`), `<prefix>:publish-jobs:due` (a
 * sorted set of unfinished jobs by next poll time) and `<prefix>:publish-jobs:<igId>` (the
 * account's jobs by creation time, trimmed past `JOB_TTL_MS`).
 */
export class RedisPublishJobStore implements PublishJobStore {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;

  /** `prefix`: the key prefix (`REDIS_PREFIX`, or the sandbox's); no default. */
  constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#keys = keyspace(prefix, isCluster(client));
  }

  async get(id: string): Promise<PublishJob | undefined> {
    const raw = await this.#client.get(this.#job(id));
    return raw === null ? undefined : (JSON.parse(raw) as PublishJob);
  }

  async put(job: PublishJob): Promise<void> {
    const client = this.#client;
    if (isCluster(client)) {
      // Three slots (the job, its account's index, the global due index): no MULTI across them.
      // The job first, then what finds it: a crash between leaves an index naming a job that
      // reads as gone (forgotten by the poller), never a job no index finds.
      await client.set(this.#job(job.id), JSON.stringify(job), {
        expiration: { type: 'PX', value: JOB_TTL_MS },
      });
      await client
        .multi()
        .zAdd(this.#account(job.igId), { score: job.createdAt, value: job.id })
        .zRemRangeByScore(this.#account(job.igId), '-inf', job.updatedAt - JOB_TTL_MS)
        .exec();
      if (job.nextPollAt === null) {
        await client.zRem(this.#due(), job.id);
        // A final job records what Instagram did (a post published, its media id): held by a
        // replica too, or a failover would bring the job back a step, and the poller would have
        // to find the post again among the account's media (or miss its id).
        await replicated(client, this.#job(job.id));
      } else await client.zAdd(this.#due(), { score: job.nextPollAt, value: job.id });
      return;
    }
    const multi = client
      .multi()
      .set(this.#job(job.id), JSON.stringify(job), {
        expiration: { type: 'PX', value: JOB_TTL_MS },
      })
      .zAdd(this.#account(job.igId), { score: job.createdAt, value: job.id })
      .zRemRangeByScore(this.#account(job.igId), '-inf', job.updatedAt - JOB_TTL_MS);
    if (job.nextPollAt === null) multi.zRem(this.#due(), job.id);
    else multi.zAdd(this.#due(), { score: job.nextPollAt, value: job.id });
    await multi.exec();
  }

  async due(now: number, limit: number): Promise<string[]> {
    return this.#client.zRangeByScore(this.#due(), '-inf', now, {
      LIMIT: { offset: 0, count: limit },
    });
  }

  async forget(id: string): Promise<void> {
    await this.#client.zRem(this.#due(), id);
  }

  async ofAccount(igId: string, limit: number): Promise<PublishJob[]> {
    const ids = await this.#client.zRange(this.#account(igId), 0, limit - 1, { REV: true });
    if (ids.length === 0) return [];
    const client = this.#client;
    // On a cluster the jobs spread over the slots: one GET each, as MGET needs one slot.
    const raws = isCluster(client)
      ? await Promise.all(ids.map((id) => client.get(this.#job(id))))
      : await client.mGet(ids.map((id) => this.#job(id)));
    return raws.flatMap((raw) => (raw === null ? [] : [JSON.parse(raw) as PublishJob]));
  }

  #job(id: string): string {
    return publishJobKey(this.#keys, id);
  }

  #due(): string {
    return publishDueKey(this.#keys);
  }

  #account(igId: string): string {
    return publishJobsKey(this.#keys, igId);
  }
}
