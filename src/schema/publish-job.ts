import type { PublishJob as PublishJobData, PublishJobError } from '../publishing/jobs.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { Media, toMedia } from './media.ts';

/**
 * The `PublishJob` node on its own (account.ts's `node` reads it, and schema/publishing.ts builds
 * on it), without the Account type: no import cycle.
 */

export interface PublishJobShape {
  readonly kind: 'PublishJob';
  readonly job: PublishJobData;
}

export const toPublishJob = (job: PublishJobData): PublishJobShape => ({ kind: 'PublishJob', job });

/** `node(id:)`: the job, or null when there is none (another account's answers null before). */
export async function loadPublishJob(
  igId: string,
  jobId: string,
  ctx: Context,
): Promise<PublishJobShape | null> {
  const job = await ctx.publishing.get(jobId);
  return job && job.igId === igId ? toPublishJob(job) : null;
}

export const PublishJobStatus = builder.enumType('PublishJobStatus', {
  description: 'Where a `publishMedia` job is.',
  values: {
    QUEUED: { description: 'Accepted; its containers are not made yet.' },
    PROCESSING: {
      description: 'Instagram is fetching and processing the media (a video takes a while).',
    },
    PUBLISHED: { description: 'Published: `media` is the post, reel or story.' },
    FAILED: { description: 'Instagram refused or could not process the media: see `error`.' },
    EXPIRED: {
      description: 'The container was not published within 24 hours of its making.',
    },
  } as const,
});

export const PublishMediaType = builder.enumType('PublishMediaType', {
  description: 'What `publishMedia` publishes.',
  values: {
    IMAGE: { description: 'A feed post of one image (`imageUrl`, JPEG).' },
    VIDEO: {
      description:
        'A video in the feed (`videoUrl`): Instagram publishes feed videos as reels shown in the feed too.',
    },
    REEL: { description: 'A reel (`videoUrl`).' },
    STORY: { description: 'A story of one image or video (`imageUrl` or `videoUrl`), no caption.' },
    CAROUSEL: { description: 'A feed post of 2 to 10 images and videos (`items`).' },
  } as const,
});

const PublishJobErrorRef = builder.objectRef<PublishJobError>('PublishJobError').implement({
  description: 'Why a job failed or expired.',
  fields: (t) => ({
    message: t.string({ description: 'For a person: what happened.', resolve: (e) => e.message }),
    containerStatus: t.string({
      nullable: true,
      description:
        'Instagram’s own status text of the container (`Error: Media download has failed…`), when it gave one.',
      resolve: (e) => e.containerStatus,
    }),
    code: t.int({
      nullable: true,
      description: 'The Graph error code, when Instagram refused a call.',
      resolve: (e) => e.code,
    }),
    subcode: t.int({
      nullable: true,
      description: 'The Graph error subcode, when Instagram gave one.',
      resolve: (e) => e.subcode,
    }),
  }),
});

export const PublishJob = builder.objectRef<PublishJobShape>('PublishJob');

builder.node(PublishJob, {
  description:
    'A `publishMedia` request, carried on in the background: its containers made, their processing waited for, the media published. Changes arrive as `PublishJobChangedEvent` in `inboxEvents`.',
  id: {
    description: 'Opaque global id; `node(id:)` reads the job again.',
    resolve: (s) => `${s.job.igId}:${s.job.id}`,
  },
  isTypeOf: (value) => (value as PublishJobShape).kind === 'PublishJob',
  fields: (t) => ({
    status: t.field({
      type: PublishJobStatus,
      description: 'Where the job is.',
      resolve: (s) => s.job.status,
    }),
    type: t.field({
      type: PublishMediaType,
      description: 'What it publishes.',
      resolve: (s) => s.job.request.type,
    }),
    caption: t.string({
      nullable: true,
      description: 'The caption asked for.',
      resolve: (s) => s.job.request.caption,
    }),
    media: t.field({
      type: Media,
      nullable: true,
      description: 'The published media, once `PUBLISHED` (null when Instagram’s answer was lost).',
      resolve: (s) => (s.job.mediaId === null ? null : toMedia(s.job.igId, { id: s.job.mediaId })),
    }),
    error: t.field({
      type: PublishJobErrorRef,
      nullable: true,
      description: 'Why it `FAILED` or `EXPIRED`; null otherwise.',
      resolve: (s) => s.job.error,
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When `publishMedia` accepted it.',
      resolve: (s) => new Date(s.job.createdAt),
    }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When it last changed.',
      resolve: (s) => new Date(s.job.updatedAt),
    }),
    publishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it was published; null before.',
      resolve: (s) => (s.job.publishedAt === null ? null : new Date(s.job.publishedAt)),
    }),
  }),
});
