import { builder } from './builder.ts';
import type { Context } from './context.ts';

/**
 * Instagram's own inbox app (the Instagram app's human inbox), as conversation routing names it.
 * UNCONFIRMED: the id comes from third-party documentation of Meta's handover, not from Meta.
 */
export const INSTAGRAM_INBOX_APP_ID = '1217981644879628';

/**
 * The app that owns a thread of the account `igId`, by Meta app id. `igId` undefined: the account
 * is not known (a refusal stored before igql named it), and the owner is never igql's app.
 */
export interface ThreadOwnerShape {
  readonly igId: string | undefined;
  readonly appId: string;
}

const ThreadOwnerKind = builder.enumType('ThreadOwnerKind', {
  description: 'Who owns a conversation under conversation routing.',
  values: {
    THIS_APP: { description: 'igql’s app: it may send.' },
    OTHER_APP: {
      description: 'Another app (a bot, another inbox tool): igql receives on standby.',
    },
    INSTAGRAM_INBOX: {
      description: 'Instagram’s own inbox: a person answers in the Instagram app.',
    },
  } as const,
});

/**
 * igql's app is the one of the account's configuration (`Account.loginKind`): the Instagram app
 * for Instagram Login, the Facebook app for Facebook Login, whose Page token owns the threads it
 * holds.
 */
export const kindOf = async (owner: ThreadOwnerShape, ctx: Context) => {
  const own = owner.igId === undefined ? '' : await ctx.loaders.ownAppId(owner.igId);
  return own !== '' && owner.appId === own
    ? ('THIS_APP' as const)
    : owner.appId === INSTAGRAM_INBOX_APP_ID
      ? ('INSTAGRAM_INBOX' as const)
      : ('OTHER_APP' as const);
};

export const ThreadOwner = builder.objectRef<ThreadOwnerShape>('ThreadOwner').implement({
  description: 'The app that owns a conversation: only it may send in it.',
  fields: (t) => ({
    kind: t.field({
      type: ThreadOwnerKind,
      description:
        'igql’s app (the Meta app of the account’s `loginKind`), another app, or Instagram’s inbox.',
      resolve: (o, _args, ctx) => kindOf(o, ctx),
    }),
    appId: t.string({ description: 'The owner’s Meta app id.', resolve: (o) => o.appId }),
  }),
});

/** A thread owner of the account `igId` from an app id, or null when none is known. */
export const ownerOf = (
  igId: string | undefined,
  appId: string | null | undefined,
): ThreadOwnerShape | null => (appId ? { igId, appId } : null);
