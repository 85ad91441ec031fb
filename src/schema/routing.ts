import { fromUpstream } from '../errors.ts';
import type { ThreadControlAction } from '../instagram/graph.ts';
import type { SendOutcome } from '../sends/service.ts';
import { notFound, validationErrors } from '../sends/service.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { Conversation } from './conversation.ts';
import { DESCRIBE, failedOutcome, participantOf, sender } from './send.ts';
import { ownerOf, ThreadOwner } from './thread-owner.ts';
import { UserError } from './user-error.ts';

/** Conversation routing in the graph (instagram-api.md §11): who owns a thread, and handovers. */

/** Metadata handed to the next app: at most 1000 characters (Messenger's limit; UNCONFIRMED). */
export const MAX_METADATA = 1000;

builder.objectField(Conversation, 'threadOwner', (t) =>
  t.field({
    type: ThreadOwner,
    nullable: true,
    description:
      'The app that owns the conversation (only it may send): igql’s app, another app, or Instagram’s inbox. Read from Instagram once, then kept fresh by every handover webhook (`ThreadControlChangedEvent`) and igql’s own thread-control calls, shared by every igql instance (re-read at least hourly). Null when Instagram names none.',
    resolve: async (c, _args, ctx) => {
      const igsid = c.data.participants?.data.find((p) => p.id !== c.igId)?.id;
      if (!igsid) return null;
      try {
        return ownerOf(c.igId, await ctx.loaders.threadOwner(c.igId, igsid));
      } catch (error) {
        throw fromUpstream(error, 'Conversation');
      }
    },
  }),
);

const ThreadControlPayload = builder.objectRef<SendOutcome>('ThreadControlPayload').implement({
  description: 'Whether Instagram made the change of control, or why not.',
  fields: (t) => ({
    ok: t.boolean({ description: 'True when Instagram took the call.', resolve: (o) => o.ok }),
    threadOwner: t.field({
      type: ThreadOwner,
      nullable: true,
      description:
        'Who owns the conversation after the call, when it tells: the target of a pass, igql’s app after a take; null otherwise.',
      resolve: (o) => (o.ok ? ownerOf(o.igId, o.ownerAppId) : null),
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why the call failed; empty when it did not.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

const DESCRIBE_METADATA = `Free-form text for the other apps, in their \`messaging_handover\` webhook (at most ${MAX_METADATA} characters).`;

const PassThreadControlInput = builder.inputType('PassThreadControlInput', {
  description: 'The conversation to hand over, and to which app.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    recipientId: t.id({ required: true, description: DESCRIBE.recipientId }),
    targetAppId: t.string({
      required: true,
      description: 'The Meta app id to pass control to (an app connected to the account).',
    }),
    metadata: t.string({ description: DESCRIBE_METADATA }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const ThreadControlInput = builder.inputType('ThreadControlInput', {
  description: 'The conversation whose control to take, release or request.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    recipientId: t.id({ required: true, description: DESCRIBE.recipientId }),
    metadata: t.string({ description: DESCRIBE_METADATA }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

interface ControlInput {
  readonly accountId: string | number;
  readonly recipientId: string | number;
  readonly targetAppId?: string | null;
  readonly metadata?: string | null;
  readonly idempotencyKey?: string | null;
}

const invalid = (igId: string, field: string, message: string): SendOutcome =>
  validationErrors(igId, [{ field: ['input', field], message }]);

async function control(
  action: ThreadControlAction,
  input: ControlInput,
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const igsid = participantOf(from.igId, input.recipientId);
  if (!igsid) return notFound(from.igId, 'recipientId', 'Participant');
  const target = input.targetAppId ?? undefined;
  if (action === 'pass_thread_control' && !/^\d{1,20}$/.test(target ?? '')) {
    return invalid(from.igId, 'targetAppId', 'input.targetAppId must be a Meta app id (digits)');
  }
  const metadata = input.metadata ?? undefined;
  if (metadata !== undefined && [...metadata].length > MAX_METADATA) {
    return invalid(
      from.igId,
      'metadata',
      `input.metadata must be at most ${MAX_METADATA} characters`,
    );
  }
  const body = {
    recipient: { id: igsid },
    ...(target === undefined ? {} : { target_app_id: target }),
    ...(metadata === undefined ? {} : { metadata }),
  };
  // After a take, igql's app of the account's configuration (the Facebook app's Page token for
  // Facebook Login) owns the thread.
  const after =
    action === 'pass_thread_control'
      ? target
      : action === 'take_thread_control'
        ? await ctx.loaders.ownAppId(from.igId)
        : '';
  return ctx.sends.write(from.session, {
    igId: from.igId,
    igsid,
    idempotencyKey: input.idempotencyKey,
    content: JSON.stringify([action, body]),
    what: 'thread control',
    call: async (auth, api) => {
      await api.threadControl(auth, action, body);
      // Known at once, before the handover webhook says it too: the target of a pass, igql's
      // app after a take; after a release the account's default app, which igql cannot name.
      if (action !== 'request_thread_control') {
        await ctx.loaders.threadOwnerChanged(from.igId, igsid, after || null);
      }
      return { ownerAppId: after || null };
    },
  });
}

builder.mutationFields((t) => ({
  passThreadControl: t.field({
    type: ThreadControlPayload,
    description:
      'Hands the conversation to another app (a bot, another inbox, Instagram’s inbox): igql’s app must own it.',
    args: {
      input: t.arg({
        type: PassThreadControlInput,
        required: true,
        description: 'What and to whom.',
      }),
    },
    resolve: (_root, { input }, ctx) => control('pass_thread_control', input, ctx),
  }),
  takeThreadControl: t.field({
    type: ThreadControlPayload,
    description:
      'Takes the conversation from the app that owns it (igql’s app needs primary behaviour in the account’s conversation routing).',
    args: {
      input: t.arg({
        type: ThreadControlInput,
        required: true,
        description: 'Which conversation.',
      }),
    },
    resolve: (_root, { input }, ctx) => control('take_thread_control', input, ctx),
  }),
  releaseThreadControl: t.field({
    type: ThreadControlPayload,
    description:
      'Gives the conversation back to the account’s default app: igql’s app must own it.',
    args: {
      input: t.arg({
        type: ThreadControlInput,
        required: true,
        description: 'Which conversation.',
      }),
    },
    resolve: (_root, { input }, ctx) => control('release_thread_control', input, ctx),
  }),
  requestThreadControl: t.field({
    type: ThreadControlPayload,
    description:
      'Asks the app that owns the conversation to pass it to igql’s app; nothing changes until it does.',
    args: {
      input: t.arg({
        type: ThreadControlInput,
        required: true,
        description: 'Which conversation.',
      }),
    },
    resolve: (_root, { input }, ctx) => control('request_thread_control', input, ctx),
  }),
}));
