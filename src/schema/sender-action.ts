import { notFound, type SendOutcome } from '../sends/service.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { DESCRIBE, failedOutcome, participantOf, sender } from './send.ts';
import { UserError } from './user-error.ts';

const SenderActionPayload = builder.objectRef<SendOutcome>('SenderActionPayload').implement({
  description: 'Whether Instagram took the sender action.',
  fields: (t) => ({
    ok: t.boolean({
      description: 'True when Instagram took the action.',
      resolve: (o) => o.ok,
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why Instagram did not take the action; empty when it did.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

const SendTypingIndicatorInput = builder.inputType('SendTypingIndicatorInput', {
  description: 'Whom to show the typing indicator to, or hide it from.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    recipientId: t.id({ required: true, description: DESCRIBE.recipientId }),
    on: t.boolean({
      required: true,
      description: 'On, or off (Instagram turns it off after 20 s or a send).',
    }),
  }),
});

const MarkConversationSeenInput = builder.inputType('MarkConversationSeenInput', {
  description: 'The customer whose messages to mark as seen.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    recipientId: t.id({ required: true, description: DESCRIBE.recipientId }),
  }),
});

async function runSenderAction(
  mutation: 'typing_on' | 'typing_off' | 'mark_seen',
  input: { accountId: string | number; recipientId: string | number },
  ctx: Context,
): Promise<SendOutcome> {
  const from = sender(ctx, input.accountId);
  if (failedOutcome(from)) return from;
  const igsid = participantOf(from.igId, input.recipientId);
  if (!igsid) return notFound(from.igId, 'recipientId', 'Participant');
  return ctx.sends.send(from.session, {
    mutation,
    input: { recipientId: igsid },
    igId: from.igId,
    igsid,
  });
}

builder.mutationFields((t) => ({
  sendTypingIndicator: t.field({
    type: SenderActionPayload,
    description: 'Shows or hides the typing indicator to the customer.',
    args: {
      input: t.arg({
        type: SendTypingIndicatorInput,
        required: true,
        description: 'To whom, and on or off.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runSenderAction(input.on ? 'typing_on' : 'typing_off', input, ctx),
  }),
  markConversationSeen: t.field({
    type: SenderActionPayload,
    description: 'Marks the customer’s messages as seen.',
    args: {
      input: t.arg({
        type: MarkConversationSeenInput,
        required: true,
        description: 'Whose messages.',
      }),
    },
    resolve: (_root, { input }, ctx) => runSenderAction('mark_seen', input, ctx),
  }),
}));
