import { decodeId, decodeMessageRest } from '../global-id.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import { withoutDetail } from '../inbox/message.ts';
import { messageFields } from '../instagram/fields.ts';
import { notFound, type SendOutcome } from '../sends/service.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { Message, messageNeeds, toMessage } from './message.ts';
import { selectionOf } from './selection.ts';
import { DESCRIBE, failedOutcome, sender } from './send.ts';
import { UserError } from './user-error.ts';

const ReactionPayload = builder.objectRef<SendOutcome>('ReactionPayload').implement({
  description: 'The message reacted to, or why the reaction failed.',
  fields: (t) => ({
    message: t.field({
      type: Message,
      nullable: true,
      description: 'The message reacted to (read from Instagram only for fields beyond its id).',
      resolve: async (o, _args, ctx, info) => {
        if (!o.reactedMid || !o.igsid || o.userErrors.length > 0) return null;
        const selection = selectionOf(info);
        const needsRead = [...selection.keys()].some(
          (f) => !['id', 'mid', '__typename'].includes(f),
        );
        // Only the id asked: nothing to read.
        if (!needsRead) return toMessage(o.igId, o.igsid, withoutDetail(o.reactedMid, 0));
        const fields = messageFields(messageNeeds(selection));
        const data = await ctx.loaders.message(o.igId, o.reactedMid, fields);
        return toMessage(o.igId, o.igsid, fromGraph(data));
      },
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why the reaction failed; empty when it succeeded.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

const ReactToMessageInput = builder.inputType('ReactToMessageInput', {
  description: 'The message to react to, and the reaction.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    messageId: t.id({ required: true, description: 'The `Message.id` to react to.' }),
    reaction: t.string({ description: '`love` (the default) or one emoji.' }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const UnreactToMessageInput = builder.inputType('UnreactToMessageInput', {
  description: 'The message to take the account’s reaction off.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    messageId: t.id({ required: true, description: 'The `Message.id` to take the reaction off.' }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

async function runReaction(
  mutation: 'react' | 'unreact',
  input: {
    accountId: string | number;
    messageId: string | number;
    reaction?: string | null;
    idempotencyKey?: string | null;
  },
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const decoded = decodeId(String(input.messageId));
  const { igsid, mid } = decodeMessageRest(decoded?.rest ?? '');
  if (decoded?.typename !== 'Message' || decoded.igId !== from.igId || !mid) {
    return notFound(from.igId, 'messageId', 'Message');
  }
  return ctx.sends.send(from.session, {
    mutation,
    input: {
      recipientId: igsid,
      messageId: mid,
      ...(mutation === 'react' ? { reaction: input.reaction ?? 'love' } : {}),
    },
    igId: from.igId,
    igsid,
    idempotencyKey: input.idempotencyKey,
  });
}

builder.mutationFields((t) => ({
  reactToMessage: t.field({
    type: ReactionPayload,
    description: 'Reacts to a message (`love` by default, or one emoji).',
    args: {
      input: t.arg({
        type: ReactToMessageInput,
        required: true,
        description: 'The message and the reaction.',
      }),
    },
    resolve: (_root, args, ctx) => runReaction('react', args.input, ctx),
  }),
  unreactToMessage: t.field({
    type: ReactionPayload,
    description: 'Takes the account’s reaction off a message.',
    args: {
      input: t.arg({
        type: UnreactToMessageInput,
        required: true,
        description: 'The message to take the reaction off.',
      }),
    },
    resolve: (_root, args, ctx) => runReaction('unreact', args.input, ctx),
  }),
}));
