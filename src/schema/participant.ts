import { fromUpstream } from '../errors.ts';
import { globalId } from '../global-id.ts';
import { InstagramError } from '../instagram/errors.ts';
import { ACCOUNT_FIELDS, PROFILE_FIELDS } from '../instagram/fields.ts';
import type { GraphAccount, GraphUserProfile } from '../instagram/graph.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';

export interface ParticipantShape {
  /** The account whose inbox this participant appears in. */
  readonly igId: string;
  /** Instagram-scoped id; for the account itself, its IG_ID. */
  readonly igsid: string;
  readonly username?: string | undefined;
}

export const Participant = builder.objectRef<ParticipantShape>('Participant');

type ProfileField = keyof typeof PROFILE_FIELDS;

/** A profile field may cost its own Instagram call (one per participant, combined per request). */
const PROFILE_COST = 5;

/** The business's own profile fields, read from `/me` when a participant is the account itself. */
const ACCOUNT_EQUIVALENT: Partial<Record<ProfileField, keyof typeof ACCOUNT_FIELDS>> = {
  name: 'name',
  username: 'username',
  profilePicture: 'profilePictureUrl',
  followerCount: 'followersCount',
};

/**
 * A profile field, loaded only when asked: `GET /<IGSID>?fields=…` (combined per participant in a
 * request). Null where the user never wrote to the account (no consent) or for the account itself
 * where the field has no meaning.
 */
async function profileField(
  p: ParticipantShape,
  field: ProfileField,
  ctx: Context,
): Promise<unknown> {
  try {
    if (p.igsid === p.igId) {
      const accountField = ACCOUNT_EQUIVALENT[field];
      if (!accountField) return null;
      const graphField = ACCOUNT_FIELDS[accountField];
      const account = await ctx.loaders.account(p.igId, [graphField]);
      return account[graphField as keyof GraphAccount] ?? null;
    }
    const graphField = PROFILE_FIELDS[field];
    const profile = await ctx.loaders.profile<GraphUserProfile>(p.igId, p.igsid, graphField);
    return profile[graphField as keyof GraphUserProfile] ?? null;
  } catch (error) {
    if (error instanceof InstagramError && error.kind === 'consent_required') return null;
    throw fromUpstream(error, 'Participant');
  }
}

builder.objectType(Participant, {
  description:
    'Someone in a conversation: a customer (by their Instagram-scoped id) or the account itself.',
  fields: (t) => ({
    id: t.id({
      description: 'Opaque id; pass it as `recipientId` or `withUser`.',
      resolve: (p) => globalId.participant(p.igId, p.igsid),
    }),
    igsid: t.exposeString('igsid', {
      description: 'The Instagram-scoped id (IGSID) Instagram gives this user for the account.',
    }),
    username: t.string({
      nullable: true,
      description: 'Instagram username.',
      // Not async: a username the read carried resolves at once.
      resolve: (p, _args, ctx) =>
        p.username ?? (profileField(p, 'username', ctx) as Promise<string | null>),
    }),
    name: t.string({
      nullable: true,
      complexity: PROFILE_COST,
      description: 'Display name. Null without the user’s consent (they never wrote).',
      resolve: (p, _args, ctx) => profileField(p, 'name', ctx) as Promise<string | null>,
    }),
    profilePicture: t.string({
      nullable: true,
      complexity: PROFILE_COST,
      description: 'Profile picture URL. It expires within days: show it, never store it.',
      resolve: (p, _args, ctx) => profileField(p, 'profilePicture', ctx) as Promise<string | null>,
    }),
    followerCount: t.int({
      nullable: true,
      complexity: PROFILE_COST,
      description: 'How many follow this user.',
      resolve: (p, _args, ctx) => profileField(p, 'followerCount', ctx) as Promise<number | null>,
    }),
    followsAccount: t.boolean({
      nullable: true,
      complexity: PROFILE_COST,
      description: 'The user follows the account.',
      resolve: (p, _args, ctx) => profileField(p, 'followsAccount', ctx) as Promise<boolean | null>,
    }),
    followedByAccount: t.boolean({
      nullable: true,
      complexity: PROFILE_COST,
      description: 'The account follows the user.',
      resolve: (p, _args, ctx) =>
        profileField(p, 'followedByAccount', ctx) as Promise<boolean | null>,
    }),
    isVerified: t.boolean({
      nullable: true,
      complexity: PROFILE_COST,
      description: 'The user has a verified badge.',
      resolve: (p, _args, ctx) => profileField(p, 'isVerified', ctx) as Promise<boolean | null>,
    }),
  }),
});
