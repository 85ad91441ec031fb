import { randomBytes } from 'node:crypto';
import { InstagramError } from '../instagram/errors.ts';
import {
  type Auth,
  authOf,
  type InstagramApi,
  type LoginKind,
  NO_PAGE,
  parseGraphTime,
  reachable,
} from '../instagram/graph.ts';
import type { AccountLock } from '../lock.ts';
import type { Logger } from '../logger.ts';
import type { ContainerParams, PublishingApi } from './api.ts';
import {
  isFinal,
  type PublishJob,
  type PublishJobError,
  type PublishJobStore,
  type PublishRequest,
} from './jobs.ts';

/** Instagram's window for the publishing limit, when `content_publishing_limit` names none. */
export const PUBLISHING_WINDOW_MS = 24 * 3_600_000;
/**
 * Instagram's limit when `content_publishing_limit` names none: 100 posts in 24 hours (Content
 * Publishing guide; older pages said 25 and 50, UNCONFIRMED).
 */
export const DEFAULT_PUBLISHING_LIMIT = 100;
/** First wait between status reads of a processing container; it doubles up to `MAX_BACKOFF_MS`. */
export const FIRST_BACKOFF_MS = 2_000;
/** Meta's guide: read a container's status about once a minute. */
export const MAX_BACKOFF_MS = 60_000;
/**
 * How long one instance may hold a job while it works on it: longer than its longest step (a
 * carousel of 10: 13 calls, each up to `INSTAGRAM_TIMEOUT_MS`, 10 s by default), so that no
 * other instance takes it mid-step and publishes it too. An instance that dies holding one
 * delays that job by this much.
 */
const JOB_LOCK_MS = 600_000;
/** Jobs looked at per round. */
const ROUND_SIZE = 50;

/** The publishing limit refused a job before any container was made. */
export class PublishingLimitReached extends Error {
  override readonly name = 'PublishingLimitReached';
  readonly used: number;
  readonly total: number;
  /** Until the oldest post igql knows of leaves the window; the whole window when none. */
  readonly retryAfterMs: number;

  constructor(used: number, total: number, retryAfterMs: number) {
    super(`The account published ${used} of its ${total} posts of the last 24 hours`);
    this.used = used;
    this.total = total;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The inbox event a job's change raises (`PublishJobChangedEvent` of inbox/events.ts, which
 * builds on this room rather than the other way round).
 */
export interface PublishJobEvent {
  readonly kind: 'PUBLISH_JOB_CHANGED';
  readonly igId: string;
  readonly igsid: null;
  readonly occurredAt: number;
  readonly identity: string;
  readonly standby: false;
  readonly job: PublishJob;
}

/** The account's stored token, as the token store answers it. */
export interface PublishingTokens {
  get(igId: string): Promise<
    | {
        readonly accessToken: string;
        readonly status: string;
        readonly loginKind?: LoginKind;
        readonly pageId?: string;
      }
    | null
    | undefined
  >;
}

export interface PublishingServiceOptions {
  readonly jobs: PublishJobStore;
  /** One holder per job across instances (keyed by job id). */
  readonly lock: AccountLock;
  readonly api: PublishingApi;
  readonly graph: InstagramApi;
  readonly tokens: PublishingTokens;
  /** The event pipeline's `ingest`: `PUBLISH_JOB_CHANGED` events reach `inboxEvents`. */
  readonly publish: (events: PublishJobEvent[]) => Promise<unknown>;
  readonly logger: Logger;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * `publishMedia`'s jobs: accepted after the publishing limit is checked, then worked on by a
 * background poller (containers made, their `status_code` read with backoff, the post
 * published), never within a request. Jobs live in the store, so any instance, including one
 * started after a restart, carries them on; one instance works on a job at a time (the lock).
 */
export class PublishingService {
  readonly #o: PublishingServiceOptions;
  readonly #now: () => number;
  /** Rounds run one after another in this process; across processes the lock keeps jobs apart. */
  #rounds: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #active = false;

  constructor(options: PublishingServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get(id: string): Promise<PublishJob | undefined> {
    return this.#o.jobs.get(id);
  }

  ofAccount(igId: string, limit: number): Promise<PublishJob[]> {
    return this.#o.jobs.ofAccount(igId, limit);
  }

  /**
   * Checks the limit (one read: Instagram's count, plus this account's jobs not yet published),
   * then queues the job and wakes the poller. Throws `PublishingLimitReached`, or the read's
   * `InstagramError`.
   */
  async enqueue(auth: Auth, request: PublishRequest): Promise<PublishJob> {
    const limit = await this.#o.graph.publishingLimit(auth);
    const total = limit.config?.quota_total ?? DEFAULT_PUBLISHING_LIMIT;
    const windowMs = (limit.config?.quota_duration ?? PUBLISHING_WINDOW_MS / 1000) * 1000;
    const now = this.#now();
    const recent = await this.#o.jobs.ofAccount(auth.igId, 2 * total);
    const pending = recent.filter((job) => !isFinal(job.status)).length;
    const used = (limit.quota_usage ?? 0) + pending;
    if (used >= total) {
      const oldest = recent
        .map((job) => job.publishedAt)
        .filter((at): at is number => at !== null && at > now - windowMs)
        .sort((a, b) => a - b)[0];
      throw new PublishingLimitReached(
        used,
        total,
        oldest === undefined ? windowMs : oldest + windowMs - now,
      );
    }
    const job: PublishJob = {
      id: newJobId(now),
      igId: auth.igId,
      status: 'QUEUED',
      request,
      itemContainers: [],
      container: null,
      mediaId: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      publishedAt: null,
      polls: 0,
      nextPollAt: now,
    };
    await this.#o.jobs.put(job);
    // Stored, so it will be published: a failed announcement must not answer an error (the
    // idempotency key would be released, and a retry would publish twice).
    await this.#changed(job).catch((err: unknown) => {
      this.#o.logger.warn({ err, jobId: job.id }, 'could not announce a queued publish job');
    });
    this.#wake();
    return job;
  }

  /**
   * Works on every job due now, once, after any round already running; resolves when done.
   * The poller calls it on its interval, `enqueue` at once; tests call it to step.
   */
  poll(): Promise<void> {
    const round = this.#rounds.then(() => this.#round());
    this.#rounds = round.catch((err: unknown) => {
      this.#o.logger.error({ err }, 'publishing round failed');
    });
    return this.#rounds;
  }

  /** Polls every `intervalMs` (one unref'd timer, re-armed after each round); 0: only on wake. */
  start(intervalMs: number): void {
    if (this.#active) return;
    this.#active = true;
    if (intervalMs <= 0) return;
    const arm = () => {
      this.#timer = setTimeout(() => {
        void this.poll().then(() => {
          if (this.#active) arm();
        });
      }, intervalMs);
      this.#timer.unref();
    };
    arm();
  }

  /** Stops polling and waits for the round in progress. */
  async stop(): Promise<void> {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#rounds;
  }

  #wake(): void {
    if (this.#active) void this.poll();
  }

  async #round(): Promise<void> {
    const ids = await this.#o.jobs.due(this.#now(), ROUND_SIZE);
    await Promise.all(ids.map((id) => this.#work(id)));
  }

  async #work(id: string): Promise<void> {
    if (!(await this.#o.lock.acquire(id, JOB_LOCK_MS))) return;
    try {
      // Read again under the lock: another instance may have moved it on.
      const job = await this.#o.jobs.get(id);
      // Gone, or final and still indexed (a cluster's `put` that stopped before its last step).
      if (!job || job.nextPollAt === null) {
        await this.#o.jobs.forget(id);
        return;
      }
      if (job.nextPollAt > this.#now()) return;
      const next = await this.#step(job);
      await this.#o.jobs.put(next);
      // PROCESSING was told as the container was made.
      const told = job.container === null && next.container !== null ? 'PROCESSING' : job.status;
      if (next.status !== told) await this.#changed(next);
    } catch (err) {
      this.#o.logger.error({ err, jobId: id }, 'publish job step failed');
    } finally {
      await this.#o.lock.release(id);
    }
  }

  /** One step: make the containers, read the status, publish when finished. */
  async #step(job: PublishJob): Promise<PublishJob> {
    const stored = await this.#o.tokens.get(job.igId);
    // An account of Facebook Login stored without its Page is one to log in again with too:
    // `authOf` would throw for it, outside the handling below, on every round.
    if (!stored || stored.status === 'REAUTH_REQUIRED' || !reachable(stored)) {
      return this.#end(job, 'FAILED', {
        message:
          stored && !reachable(stored)
            ? `${NO_PAGE}, then publish again`
            : 'Instagram refused the account’s token: log in again (with Instagram, or with Facebook for an account of Facebook Login), then publish again',
        containerStatus: null,
        code: null,
        subcode: null,
      });
    }
    const auth = authOf({ ...stored, igId: job.igId });
    let current = job;
    try {
      current = await this.#containers(auth, current);
      const container = current.container as string;
      const status = await this.#o.api.containerStatus(auth, container);
      switch (status.status_code) {
        case 'FINISHED': {
          const mediaId = await this.#o.api.publish(auth, container);
          return { ...this.#end(current, 'PUBLISHED', null), mediaId, publishedAt: this.#now() };
        }
        case 'PUBLISHED': {
          // Published by an earlier attempt whose answer was lost (a time-out, a crash).
          const mediaId = await this.#published(auth, current);
          return { ...this.#end(current, 'PUBLISHED', null), mediaId, publishedAt: this.#now() };
        }
        case 'ERROR':
          return this.#end(current, 'FAILED', {
            message: 'Instagram could not process the media',
            containerStatus: status.status ?? null,
            code: null,
            subcode: null,
          });
        case 'EXPIRED':
          return this.#end(current, 'EXPIRED', {
            message: 'The container was not published within 24 hours',
            containerStatus: status.status ?? null,
            code: null,
            subcode: null,
          });
        default:
          return this.#later(current, { ...current, status: 'PROCESSING' });
      }
    } catch (error) {
      if (!(error instanceof InstagramError)) throw error;
      // What `#containers` stored before it failed (a carousel's items made so far): kept, so
      // that a retry does not make them again.
      current = (await this.#o.jobs.get(job.id)) ?? current;
      // Worth another look later: Instagram busy or throttling, no answer (a publish may have
      // gone out: the next status read says), or "not ready yet" (9007/2207027).
      if (
        error.kind === 'transient' ||
        error.kind === 'timeout' ||
        error.kind === 'rate_limited' ||
        error.code === 9007
      ) {
        return this.#later(current, current, error.retryAfterMs);
      }
      return this.#end(current, 'FAILED', {
        message: failure(error),
        containerStatus: null,
        code: error.code ?? null,
        subcode: error.subcode ?? null,
      });
    }
  }

  /**
   * The media a container became, when `media_publish`'s answer was lost. A container's fields
   * are `id` (its own), `status`, `status_code` and `copyright_check_status` (IG Container
   * reference): none names the media. So it is the account's newest post (or story) of the
   * job's kind and caption, published since the job began, that no other job of the account
   * claims; null when none is (the media is then not known).
   */
  async #published(auth: Auth, job: PublishJob): Promise<string | null> {
    const { type, caption } = job.request;
    const edge = type === 'STORY' ? 'stories' : 'media';
    const [page, jobs] = await Promise.all([
      this.#o.graph.mediaList(auth, edge, {
        limit: 25,
        fields: 'id,caption,media_product_type,timestamp',
      }),
      this.#o.jobs.ofAccount(job.igId, 50),
    ]);
    const claimed = new Set(jobs.filter((j) => j.id !== job.id).map((j) => j.mediaId));
    // Graph's timestamps are in whole seconds.
    const since = Math.floor(job.createdAt / 1000) * 1000;
    const found = page.data.find(
      (m) =>
        !claimed.has(m.id) &&
        m.media_product_type === PRODUCT_TYPE[type] &&
        (m.caption ?? null) === (type === 'STORY' ? null : caption) &&
        m.timestamp !== undefined &&
        parseGraphTime(m.timestamp).getTime() >= since,
    );
    return found?.id ?? null;
  }

  /** Makes what containers are missing, storing each as made (a restart carries on from there). */
  async #containers(auth: Auth, job: PublishJob): Promise<PublishJob> {
    if (job.container !== null) return job;
    const { request } = job;
    let current = job;
    if (request.type === 'CAROUSEL') {
      for (const item of request.items.slice(current.itemContainers.length)) {
        const id = await this.#o.api.createContainer(auth, {
          ...urlOf(item),
          ...(item.videoUrl === null ? {} : { media_type: 'VIDEO' }),
          is_carousel_item: 'true',
        });
        current = { ...current, itemContainers: [...current.itemContainers, id] };
        await this.#o.jobs.put({ ...current, updatedAt: this.#now() });
      }
    }
    const container = await this.#o.api.createContainer(auth, paramsOf(current));
    current = { ...current, container, status: 'PROCESSING', updatedAt: this.#now() };
    await this.#o.jobs.put(current);
    if (job.status !== 'PROCESSING') await this.#changed(current);
    return current;
  }

  /** Due again after a backoff that doubles with each read, or after Instagram's own wait. */
  #later(before: PublishJob, job: PublishJob, waitMs?: number): PublishJob {
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** before.polls);
    const now = this.#now();
    return {
      ...job,
      polls: before.polls + 1,
      updatedAt: now,
      nextPollAt: now + (waitMs ?? backoff),
    };
  }

  #end(job: PublishJob, status: PublishJob['status'], error: PublishJobError | null): PublishJob {
    return { ...job, status, error, updatedAt: this.#now(), nextPollAt: null };
  }

  /** Tells subscribers, once per job and status: the identity names both. */
  async #changed(job: PublishJob): Promise<void> {
    await this.#o.publish([
      {
        kind: 'PUBLISH_JOB_CHANGED',
        igId: job.igId,
        igsid: null,
        occurredAt: job.updatedAt,
        identity: `${job.igId}|PUBLISH_JOB_CHANGED|${job.id}|${job.status}|`,
        standby: false,
        job,
      },
    ]);
  }
}

let sequence = 0;

/**
 * Ids that sort by creation (time, then this process's count) before their random part: the
 * account's jobs list newest first even within one millisecond.
 */
const newJobId = (now: number): string =>
  `${now.toString(16).padStart(12, '0')}${(sequence++ % 0x10000).toString(16).padStart(4, '0')}${randomBytes(6).toString('hex')}`;

const urlOf = (item: {
  readonly imageUrl: string | null;
  readonly videoUrl: string | null;
}): ContainerParams =>
  item.videoUrl === null ? { image_url: item.imageUrl ?? '' } : { video_url: item.videoUrl };

/** The `media_product_type` each kind of job publishes (videos go out as reels). */
const PRODUCT_TYPE: Readonly<Record<PublishRequest['type'], string>> = {
  IMAGE: 'FEED',
  CAROUSEL: 'FEED',
  VIDEO: 'REELS',
  REEL: 'REELS',
  STORY: 'STORY',
};

/** The container to publish, by type (Content Publishing guide). */
function paramsOf(job: PublishJob): ContainerParams {
  const { request } = job;
  const caption = request.caption === null ? {} : { caption: request.caption };
  switch (request.type) {
    case 'IMAGE':
      return { ...urlOf(request), ...caption };
    // Feed videos are published as reels since 2023, shown in the feed too.
    case 'VIDEO':
      return { ...urlOf(request), media_type: 'REELS', share_to_feed: 'true', ...caption };
    case 'REEL':
      return { ...urlOf(request), media_type: 'REELS', ...caption };
    case 'STORY':
      return { ...urlOf(request), media_type: 'STORIES' };
    case 'CAROUSEL':
      return { media_type: 'CAROUSEL', children: job.itemContainers.join(','), ...caption };
  }
}

/** igql's words for a refusal, with Instagram's code for support. */
function failure(error: InstagramError): string {
  const ref = error.reference;
  const code = ref
    ? ` (Graph error ${[ref.code, ref.subcode].filter((c) => c !== null).join('/')})`
    : '';
  switch (error.kind) {
    case 'token':
    case 'permission':
      return `Instagram refused the account’s token or permissions${code}`;
    case 'not_found':
      return `Instagram found no such container${code}`;
    default:
      return error.code === 9 && error.subcode === 2207042
        ? `The account reached Instagram’s publishing limit for 24 hours${code}`
        : `Instagram refused the media${code}`;
  }
}
