import type { Referral as ReferralData } from '../inbox/referral.ts';
import { builder } from './builder.ts';
import { Conversation } from './conversation.ts';

/** How customers reach the account: ads (Click to Instagram Direct) and ig.me links. */

export const Referral = builder.objectRef<ReferralData>('Referral').implement({
  description:
    'How a customer reached the account: an ad (Click to Instagram Direct) or an ig.me link.',
  fields: (t) => ({
    ref: t.string({
      nullable: true,
      description: 'The `ref` parameter of the link or ad; null when it has none.',
      resolve: (r) => r.ref,
    }),
    source: t.string({
      nullable: true,
      description: 'Where the customer came from, as Instagram names it: `ADS`, `IGME`, …',
      resolve: (r) => r.source,
    }),
    referralType: t.string({
      nullable: true,
      description: 'Instagram’s referral `type`, such as `OPEN_THREAD`.',
      resolve: (r) => r.type,
    }),
    adId: t.string({
      nullable: true,
      description: 'The ad’s id; null for a link.',
      resolve: (r) => r.adId,
    }),
    adTitle: t.string({
      nullable: true,
      description: 'The ad’s title, when Instagram gives it.',
      resolve: (r) => r.adTitle,
    }),
    photoUrl: t.string({
      nullable: true,
      description: 'The ad’s image, when it has one (a CDN URL that expires).',
      resolve: (r) => r.photoUrl,
    }),
    videoUrl: t.string({
      nullable: true,
      description: 'The ad’s video, when it has one (a CDN URL that expires).',
      resolve: (r) => r.videoUrl,
    }),
    postId: t.string({
      nullable: true,
      description: 'The Instagram post the ad promotes, when Instagram names it.',
      resolve: (r) => r.postId,
    }),
  }),
});

builder.objectField(Conversation, 'origin', (t) =>
  t.field({
    type: Referral,
    nullable: true,
    description:
      'The first ad or ig.me link that brought the customer to this conversation, as igql received it (kept for good, shared by every igql instance); null when the conversation came otherwise, or before igql was connected.',
    resolve: (c, _args, ctx) => {
      const igsid = c.data.participants?.data.find((p) => p.id !== c.igId)?.id;
      return igsid ? ctx.loaders.origin(c.igId, igsid) : null;
    },
  }),
);
