import { z } from 'zod';
import { fromUpstream } from '../errors.ts';
import { InstagramError } from '../instagram/errors.ts';
import type {
  Auth,
  GraphWelcomeFlow,
  GraphWelcomeMessage,
  InstagramApi,
} from '../instagram/graph.ts';
import { parseGraphTime } from '../instagram/graph.ts';
import { CheckFailed, Refusal, type SendOutcome, validationErrors } from '../sends/service.ts';
import { Account } from './account.ts';
import { builder } from './builder.ts';
import { DESCRIBE, failedOutcome, sender } from './send.ts';
import { UserError } from './user-error.ts';

/**
 * Welcome message flows of Click-to-Instagram-Direct ads (instagram-api.md §12): what a customer
 * who taps such an ad is sent first. Read and written through `/<IG_ID>/welcome_message_flows`,
 * or for Facebook Login the Page's, whose flows for Messenger are not the account's: only those
 * eligible on Instagram are listed (graph.ts), and changed (`requireInstagramFlow`).
 */

/**
 * Checked before any call. Meta documents none of them: each is the simulator's strict choice
 * (src/sandbox/welcome-flows.ts, UNCONFIRMED): a name of at most 100 characters; one message (as
 * in every documented sample); its text at most 1000 UTF-8 bytes and up to 13 text quick replies
 * of titles at most 20 characters and payloads at most 1000 (the Send API's limits).
 */
export const WELCOME_FLOW_LIMITS = {
  name: 100,
  messages: 1,
  textBytes: 1000,
  quickReplies: 13,
  quickReplyTitle: 20,
  payload: 1000,
} as const;

interface FlowShape {
  readonly flowId: string;
  readonly name: string;
  readonly messages: readonly GraphWelcomeMessage[];
  readonly usedInAd: boolean;
  readonly updatedTime: Date | null;
}

/** Instagram gives a flow's messages as a JSON string; anything unreadable is no message. */
function messagesOf(raw: string | undefined): GraphWelcomeMessage[] {
  try {
    const parsed: unknown = JSON.parse(raw ?? '[]');
    return Array.isArray(parsed)
      ? parsed.filter((m): m is GraphWelcomeMessage => typeof m?.message?.text === 'string')
      : [];
  } catch {
    return [];
  }
}

const toFlow = (f: GraphWelcomeFlow): FlowShape => ({
  flowId: f.id,
  name: f.name ?? '',
  messages: messagesOf(f.welcome_message_flow),
  usedInAd: f.is_used_in_ad === true,
  updatedTime: f.last_update_time ? parseGraphTime(f.last_update_time) : null,
});

const WelcomeQuickReply = builder
  .objectRef<{ title: string; payload: string }>('WelcomeQuickReply')
  .implement({
    description: 'A quick reply under a welcome message.',
    fields: (t) => ({
      title: t.exposeString('title', { description: 'What the customer sees.' }),
      payload: t.exposeString('payload', {
        description: 'Sent back as the message’s `quickReply.payload` when tapped.',
      }),
    }),
  });

const WelcomeMessage = builder.objectRef<GraphWelcomeMessage>('WelcomeMessage').implement({
  description: 'One message of a welcome message flow.',
  fields: (t) => ({
    text: t.string({ description: 'The message’s text.', resolve: (m) => m.message.text }),
    quickReplies: t.field({
      type: [WelcomeQuickReply],
      description: 'Its quick replies, in order; empty when none.',
      resolve: (m) =>
        (m.message.quick_replies ?? []).map(({ title, payload }) => ({ title, payload })),
    }),
  }),
});

const WelcomeMessageFlow = builder.objectRef<FlowShape>('WelcomeMessageFlow').implement({
  description:
    'What a customer who taps a Click-to-Instagram-Direct ad is sent first, as the ad connects it.',
  fields: (t) => ({
    flowId: t.exposeString('flowId', {
      description: 'Instagram’s id of the flow: what an ad connects, and what updates name.',
    }),
    name: t.exposeString('name', { description: 'The flow’s name (for the business).' }),
    messages: t.field({
      type: [WelcomeMessage],
      description: 'The messages, in order.',
      resolve: (f) => [...f.messages],
    }),
    usedInAd: t.exposeBoolean('usedInAd', {
      description: 'An ad uses it: Instagram then refuses to change or delete it.',
    }),
    updatedTime: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it last changed; null when Instagram does not say.',
      resolve: (f) => f.updatedTime,
    }),
  }),
});

builder.objectField(Account, 'welcomeMessageFlows', (t) =>
  t.field({
    type: [WelcomeMessageFlow],
    description:
      'The welcome message flows of Click-to-Instagram-Direct ads (one read). For an account of Facebook Login, the flows of its Facebook Page eligible on Instagram: the Page’s flows for Messenger only are not listed.',
    resolve: async (a, _args, ctx) => {
      try {
        return (await ctx.loaders.welcomeFlows(a.igId)).data.map(toFlow);
      } catch (error) {
        throw fromUpstream(error, 'Account');
      }
    },
  }),
);

// ---- Mutations -----------------------------------------------------------------------------

const L = WELCOME_FLOW_LIMITS;
const chars = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => [...s].length <= max, `must be at most ${max} characters`);

const messagesSchema = z
  .array(
    z.object({
      text: z
        .string()
        .min(1, 'must not be empty')
        .refine(
          (s) => Buffer.byteLength(s) <= L.textBytes,
          `must be at most ${L.textBytes} bytes (UTF-8)`,
        ),
      quickReplies: z
        .array(z.object({ title: chars(L.quickReplyTitle), payload: chars(L.payload) }))
        .max(L.quickReplies, `must have at most ${L.quickReplies} quick replies`)
        .nullish(),
    }),
  )
  .min(1, 'must have a message')
  .max(L.messages, `must have at most ${L.messages} message`);

const nameSchema = chars(L.name).refine((s) => s.trim() !== '', 'must not be blank');

const WelcomeQuickReplyInput = builder.inputType('WelcomeQuickReplyInput', {
  description: 'A quick reply under a welcome message.',
  fields: (t) => ({
    title: t.string({
      required: true,
      description: `At most ${L.quickReplyTitle} characters.`,
    }),
    payload: t.string({ required: true, description: `At most ${L.payload} characters.` }),
  }),
});

const WelcomeMessageInput = builder.inputType('WelcomeMessageInput', {
  description: 'One welcome message.',
  fields: (t) => ({
    text: t.string({ required: true, description: `At most ${L.textBytes} bytes (UTF-8).` }),
    quickReplies: t.field({
      type: [WelcomeQuickReplyInput],
      description: `At most ${L.quickReplies}.`,
    }),
  }),
});

const CreateWelcomeMessageFlowInput = builder.inputType('CreateWelcomeMessageFlowInput', {
  description: 'A new welcome message flow.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    name: t.string({ required: true, description: `At most ${L.name} characters.` }),
    messages: t.field({
      type: [WelcomeMessageInput],
      required: true,
      description: `${L.messages} message (Instagram documents flows of one).`,
    }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const UpdateWelcomeMessageFlowInput = builder.inputType('UpdateWelcomeMessageFlowInput', {
  description: 'What to change of a flow no ad uses; what is left out stays.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    flowId: t.string({ required: true, description: 'The `WelcomeMessageFlow.flowId`.' }),
    name: t.string({ description: `At most ${L.name} characters.` }),
    messages: t.field({
      type: [WelcomeMessageInput],
      description: `${L.messages} message, replacing the flow’s.`,
    }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const DeleteWelcomeMessageFlowInput = builder.inputType('DeleteWelcomeMessageFlowInput', {
  description: 'The flow to delete (no ad may use it).',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    flowId: t.string({ required: true, description: 'The `WelcomeMessageFlow.flowId`.' }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const WelcomeMessageFlowPayload = builder
  .objectRef<SendOutcome>('WelcomeMessageFlowPayload')
  .implement({
    description: 'Whether Instagram took the change, or why not.',
    fields: (t) => ({
      ok: t.boolean({ description: 'True when Instagram took it.', resolve: (o) => o.ok }),
      flowId: t.string({
        nullable: true,
        description: 'The flow’s id (a new flow’s as Instagram gave it); null on failure.',
        resolve: (o) => (o.ok && typeof o.result?.flowId === 'string' ? o.result.flowId : null),
      }),
      userErrors: t.field({
        type: [UserError],
        description: 'Why it failed; empty when it did not.',
        resolve: (o) => [...o.userErrors],
      }),
    }),
  });

/** Zod's issues under `input.<field>`, or the value. */
function check<T>(schema: z.ZodType<T>, value: unknown, field: string) {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true as const, value: result.data };
  const errors = result.error.issues.map((issue) => {
    const path = [field, ...issue.path.map(String)];
    return { field: ['input', ...path], message: `input.${path.join('.')} ${issue.message}` };
  });
  return { ok: false as const, errors };
}

type MessagesInput = z.infer<typeof messagesSchema>;
const toGraph = (messages: MessagesInput): GraphWelcomeMessage[] =>
  messages.map(({ text, quickReplies }) => ({
    message: {
      text,
      ...(quickReplies && quickReplies.length > 0
        ? {
            quick_replies: quickReplies.map(({ title, payload }) => ({
              content_type: 'text' as const,
              title,
              payload,
            })),
          }
        : {}),
    },
  }));

const flowIdSchema = z.string().regex(/^\d{1,20}$/, 'must be a flow id (digits)');

/**
 * Facebook Login: the Page's flow `flowId` must be one of the account's, eligible on Instagram
 * (its Messenger flows are the Page's alone); refused as not found otherwise, before any write.
 * One read of that flow; nothing for Instagram Login, whose flows are all the account's.
 */
async function requireInstagramFlow(auth: Auth, api: InstagramApi, flowId: string) {
  if (auth.pageId === undefined) return;
  let data: readonly GraphWelcomeFlow[];
  try {
    ({ data } = await api.welcomeFlows(auth, flowId));
  } catch (error) {
    // The check failed before any write: answered as not reached, the key left free.
    if (error instanceof InstagramError) throw new CheckFailed(error);
    throw error;
  }
  if (data.some((flow) => flow.id === flowId)) return;
  throw new Refusal({
    type: 'NotFoundError',
    code: 'NOT_FOUND',
    message:
      'The account has no welcome message flow with this flowId (its Facebook Page’s flows for Messenger only are not the account’s)',
    field: ['input', 'flowId'],
  });
}

builder.mutationFields((t) => ({
  createWelcomeMessageFlow: t.field({
    type: WelcomeMessageFlowPayload,
    description: 'Creates a welcome message flow for Click-to-Instagram-Direct ads.',
    args: {
      input: t.arg({ type: CreateWelcomeMessageFlowInput, required: true, description: 'It.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const name = check(nameSchema, input.name, 'name');
      const messages = check(messagesSchema, input.messages, 'messages');
      const errors = [...(name.ok ? [] : name.errors), ...(messages.ok ? [] : messages.errors)];
      if (!name.ok || !messages.ok) return validationErrors(from.igId, errors);
      const body = {
        name: name.value,
        welcome_message_flow: toGraph(messages.value),
        eligible_platforms: ['instagram'] as const,
      };
      return ctx.sends.write(from.session, {
        igId: from.igId,
        igsid: null,
        idempotencyKey: input.idempotencyKey,
        content: JSON.stringify(['createWelcomeMessageFlow', body]),
        what: 'welcome message flow',
        call: async (auth, api) => {
          const { flow_id } = await api.saveWelcomeFlow(auth, body);
          return { result: { flowId: flow_id === undefined ? null : String(flow_id) } };
        },
      });
    },
  }),
  updateWelcomeMessageFlow: t.field({
    type: WelcomeMessageFlowPayload,
    description:
      'Changes a welcome message flow no ad uses. For an account of Facebook Login only a flow of the account (eligible on Instagram) can be changed: another flow of its Page is NOT_FOUND.',
    args: {
      input: t.arg({ type: UpdateWelcomeMessageFlowInput, required: true, description: 'It.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const flowId = check(flowIdSchema, input.flowId, 'flowId');
      const name = input.name == null ? null : check(nameSchema, input.name, 'name');
      const messages =
        input.messages == null ? null : check(messagesSchema, input.messages, 'messages');
      const errors = [flowId, name, messages].flatMap((c) => (c && !c.ok ? c.errors : []));
      if (!name && !messages) {
        errors.push({ field: ['input'], message: 'input needs name or messages to change' });
      }
      if (errors.length > 0 || !flowId.ok || name?.ok === false || messages?.ok === false) {
        return validationErrors(from.igId, errors);
      }
      const body = {
        ...(name ? { name: name.value } : {}),
        ...(messages ? { welcome_message_flow: toGraph(messages.value) } : {}),
      };
      return ctx.sends.write(from.session, {
        igId: from.igId,
        igsid: null,
        idempotencyKey: input.idempotencyKey,
        content: JSON.stringify(['updateWelcomeMessageFlow', flowId.value, body]),
        what: 'welcome message flow',
        call: async (auth, api) => {
          await requireInstagramFlow(auth, api, flowId.value);
          await api.saveWelcomeFlow(auth, body, flowId.value);
          return { result: { flowId: flowId.value } };
        },
      });
    },
  }),
  deleteWelcomeMessageFlow: t.field({
    type: WelcomeMessageFlowPayload,
    description:
      'Deletes a welcome message flow no ad uses. For an account of Facebook Login only a flow of the account (eligible on Instagram) can be deleted: another flow of its Page is NOT_FOUND.',
    args: {
      input: t.arg({ type: DeleteWelcomeMessageFlowInput, required: true, description: 'It.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const from = sender(ctx, input.accountId);
      if (failedOutcome(from)) return from;
      const flowId = check(flowIdSchema, input.flowId, 'flowId');
      if (!flowId.ok) return validationErrors(from.igId, flowId.errors);
      return ctx.sends.write(from.session, {
        igId: from.igId,
        igsid: null,
        idempotencyKey: input.idempotencyKey,
        content: JSON.stringify(['deleteWelcomeMessageFlow', flowId.value]),
        what: 'welcome message flow',
        call: async (auth, api) => {
          await requireInstagramFlow(auth, api, flowId.value);
          await api.deleteWelcomeFlow(auth, flowId.value);
          return { result: { flowId: flowId.value } };
        },
      });
    },
  }),
}));
