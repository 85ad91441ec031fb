import { builder } from './builder.ts';
import type { Context } from './context.ts';

/**
 * Instagram's own inbox app (the Instagram app's human inbox), as conversation routing names it.
 * UNCONFIRMED: the id comes from third-party documentation of Meta's handover, not from Meta.
 */
export const INSTAGRAM_INBOX_APP_ID = '1217981644879628';

/** The app that owns a thread, by Meta app id. */
export interface ThreadOwnerShape {
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

export const kindOf = (appId: string, ctx: Context) =>
  ctx.appId !== '' && appId === ctx.appId
    ? ('THIS_APP' as const)
    : appId === INSTAGRAM_INBOX_APP_ID
      ? ('INSTAGRAM_INBOX' as const)
      : ('OTHER_APP' as const);

export const ThreadOwner = builder.objectRef<ThreadOwnerShape>('ThreadOwner').implement({
  description: 'The app that owns a conversation: only it may send in it.',
  fields: (t) => ({
    kind: t.field({
      type: ThreadOwnerKind,
      description: 'igql’s app, another app, or Instagram’s inbox.',
      resolve: (o, _args, ctx) => kindOf(o.appId, ctx),
    }),
    appId: t.string({ description: 'The owner’s Meta app id.', resolve: (o) => o.appId }),
  }),
});

/** A thread owner from an app id, or null when none is known. */
export const ownerOf = (appId: string | null | undefined): ThreadOwnerShape | null =>
  appId ? { appId } : null;
