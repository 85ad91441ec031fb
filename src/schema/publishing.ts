import { fromUpstream } from '../errors.ts';
import { Account } from './account.ts';
import { builder } from './builder.ts';

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
