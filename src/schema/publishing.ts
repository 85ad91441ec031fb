import { badUserInput, fromUpstream } from '../errors.ts';
import { InstagramError } from '../instagram/errors.ts';
import { checkPublishInput } from '../publishing/request.ts';
import { PublishingLimitReached } from '../publishing/service.ts';
import { type SendOutcome, validationErrors } from '../sends/service.ts';
import { Account } from './account.ts';
import { builder } from './builder.ts';
import { type EventOf, InboxEvent } from './events.ts';
import { PublishJob, PublishMediaType, toPublishJob } from './publish-job.ts';
import { DESCRIBE, failedOutcome, sender } from './send.ts';
import { UserError } from './user-error.ts';

interface PublishingLimitShape {
  readonly used: number;
  readonly total: number | null;
  readonly windowSeconds: number | null;
}

const PublishingLimit = builder.objectRef<PublishingLimitShape>('PublishingLimit').implement({
  description:
    'How many posts the account published through the API in the last 24 hours (moving), against Instagram’s limit. A carousel counts as one.',
  fields: (t) => ({
    used: t.int({ description: 'Posts published in the window.', resolve: (l) => l.used }),
    total: t.int({
      nullable: true,
      description: 'Instagram’s limit for the window (100 today); null when it does not say.',
      resolve: (l) => l.total,
    }),
    windowSeconds: t.int({
      nullable: true,
      description: 'The window, in seconds (86,400).',
      resolve: (l) => l.windowSeconds,
    }),
  }),
});

builder.objectField(Account, 'publishingLimit', (t) =>
  t.field({
    type: PublishingLimit,
    description: 'The content publishing quota, as Instagram counts it (one call).',
    resolve: async (a, _args, ctx) => {
      try {
        const limit = await ctx.loaders.publishingLimit(a.igId);
        return {
          used: limit.quota_usage ?? 0,
          total: limit.config?.quota_total ?? null,
          windowSeconds: limit.config?.quota_duration ?? null,
        };
      } catch (error) {
        throw fromUpstream(error, 'Account');
      }
    },
  }),
);

// ---- publishMedia and its jobs ---------------------------------------------------------------

builder.objectField(Account, 'publishJobs', (t) =>
  t.field({
    type: [PublishJob],
    description:
      'The account’s `publishMedia` jobs of the last 7 days, newest first; read from igql, not Instagram.',
    args: {
      first: t.arg.int({ description: 'How many, 1 to 50 (default 20).' }),
    },
    resolve: async (a, args, ctx) => {
      const first = args.first ?? 20;
      if (first < 1 || first > 50) throw badUserInput('`first` must be between 1 and 50', 'first');
      return (await ctx.publishing.ofAccount(a.igId, first)).map(toPublishJob);
    },
  }),
);

const PublishCarouselItemInput = builder.inputType('PublishCarouselItemInput', {
  description: 'One image or video of a carousel: exactly one of `imageUrl` and `videoUrl`.',
  fields: (t) => ({
    imageUrl: t.string({ description: 'A public https URL of a JPEG image.' }),
    videoUrl: t.string({ description: 'A public https URL of a video (MP4 or MOV).' }),
  }),
});

const PublishMediaInput = builder.inputType('PublishMediaInput', {
  description:
    'What to publish. Instagram fetches the media from its URLs: they must be public https URLs.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    type: t.field({ type: PublishMediaType, required: true, description: 'What to publish.' }),
    imageUrl: t.string({
      description: 'IMAGE, and a STORY of an image: a public https URL of a JPEG image.',
    }),
    videoUrl: t.string({
      description: 'VIDEO, REEL, and a STORY of a video: a public https URL of an MP4 or MOV.',
    }),
    caption: t.string({
      description:
        'At most 2,200 characters, 30 hashtags and 20 @mentions (Instagram’s rules). Stories take none.',
    }),
    items: t.field({
      type: [PublishCarouselItemInput],
      description: 'CAROUSEL: its 2 to 10 images and videos, in order.',
    }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const PublishMediaPayload = builder.objectRef<SendOutcome>('PublishMediaPayload').implement({
  description: 'The job publishing the media, or why none was started.',
  fields: (t) => ({
    job: t.field({
      type: PublishJob,
      nullable: true,
      description:
        'The job, as it is now: follow it with `node(id:)` or `PublishJobChangedEvent`. Null when `userErrors` is not empty.',
      resolve: async (o, _args, ctx) => {
        const id = o.userErrors.length === 0 ? o.result?.jobId : undefined;
        if (typeof id !== 'string') return null;
        const job = await ctx.publishing.get(id);
        return job ? toPublishJob(job) : null;
      },
    }),
    userErrors: t.field({
      type: [UserError],
      description:
        'Why no job was started; empty when one was. The publishing limit answers `RateLimitedError`.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

builder.mutationField('publishMedia', (t) =>
  t.field({
    type: PublishMediaPayload,
    description:
      'Publishes an image, video, reel, story or carousel. Answers at once with a `PublishJob`: igql makes the containers, waits for Instagram to process them, and publishes, in the background. Refused with `RateLimitedError`, before anything is made, when the account is at Instagram’s publishing limit for 24 hours (`Account.publishingLimit`, jobs not yet published counted).',
    args: {
      input: t.arg({ type: PublishMediaInput, required: true, description: 'What to publish.' }),
    },
    resolve: async (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const checked = checkPublishInput(input);
      if (!checked.ok) return validationErrors(from.igId, checked.errors);
      let refused: PublishingLimitReached | undefined;
      const outcome = await ctx.sends.write(from.session, {
        igId: from.igId,
        igsid: null,
        idempotencyKey: input.idempotencyKey,
        what: 'media',
        content: JSON.stringify(['publishMedia', checked.request]),
        call: async (auth) => {
          try {
            const job = await ctx.publishing.enqueue(auth, checked.request);
            return { result: { jobId: job.id } };
          } catch (error) {
            if (!(error instanceof PublishingLimitReached)) throw error;
            refused = error;
            // Refused by igql, so neither stored under the idempotency key nor retried here.
            throw new InstagramError({
              kind: 'rate_limited',
              message: error.message,
              retryAfterMs: error.retryAfterMs,
            });
          }
        },
      });
      if (!refused) return outcome;
      const limit = refused;
      return {
        ...outcome,
        userErrors: outcome.userErrors.map((e) =>
          e.type === 'RateLimitedError'
            ? {
                ...e,
                message: `The account reached Instagram’s publishing limit (${limit.used} of ${limit.total} posts in 24 hours, jobs not yet published counted): retry after \`retryAfter\` seconds`,
              }
            : e,
        ),
      };
    },
  }),
);

builder.objectRef<EventOf<'PUBLISH_JOB_CHANGED'>>('PublishJobChangedEvent').implement({
  description:
    'A `publishMedia` job changed status: QUEUED when accepted, PROCESSING once its containers are made, then PUBLISHED, FAILED or EXPIRED.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    job: t.field({
      type: PublishJob,
      description: 'The job as it was when it changed (`node(id:)` reads it as it is now).',
      resolve: ({ event }) => toPublishJob(event.job),
    }),
  }),
});
