import { fromUpstream } from '../errors.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import { type ConversationNeeds, conversationFields, messageFields } from '../instagram/fields.ts';
import {
  type GraphConversation,
  type GraphList,
  type GraphMessage,
  type GraphUser,
  parseGraphTime,
} from '../instagram/graph.ts';
import {
  lastInbound,
  type ReplyWindow as ReplyWindowShape,
  replyWindow,
} from '../instagram/window.ts';
import { builder } from './builder.ts';
import { type ConnectionArgs, graphPage, toConnection } from './connection.ts';
import type { Context } from './context.ts';
import { Message, messageNeeds, toMessage } from './message.ts';
import { Participant } from './participant.ts';
import { connectionNodes, type SelectionMap, selectionOf } from './selection.ts';

export interface ConversationShape {
  readonly kind: 'Conversation';
  readonly igId: string;
  readonly data: GraphConversation;
  /** The `limit` of the messages expansion `data.messages` was read with, if any. */
  readonly messagesLimit: number | undefined;
}

/** Messages a page gives by default. */
export const DEFAULT_MESSAGES = 20;
/** Graph details only the newest 20: reading as many tells the window and completeness. */
const DETAIL_WINDOW = 20;

export interface ConversationPlan {
  readonly needs: ConversationNeeds;
}

/**
 * The Graph read a conversation selection needs, messages included (`messages.limit(N){…}`), so
 * that a page of conversations with their newest messages costs one call.
 */
export function conversationPlan(selection: SelectionMap): ConversationPlan {
  const messages = selection.get('messages');
  const args = messages?.args ?? {};
  // Bad page arguments (`last` without `before` among them) are refused once, before the
  // conversations are read, rather than once per conversation after.
  if (messages) graphPage(args as ConnectionArgs, DEFAULT_MESSAGES);
  const prefetchable = messages && args.after == null && args.before == null && args.last == null;
  const first = typeof args.first === 'number' ? args.first : DEFAULT_MESSAGES;
  const needsWindow = selection.has('replyWindow') || selection.has('historyComplete');
  let limit = prefetchable ? first : 0;
  if (needsWindow) limit = Math.max(limit, DETAIL_WINDOW);
  const fields = prefetchable ? messageNeeds(connectionNodes(messages.children)) : {};
  return {
    needs: {
      updatedTime: selection.has('updatedTime'),
      ...(limit > 0 ? { messages: { limit: Math.min(limit, 100), fields } } : {}),
    },
  };
}

export const toConversation = (
  igId: string,
  data: GraphConversation,
  plan: ConversationPlan,
): ConversationShape => ({
  kind: 'Conversation',
  igId,
  data,
  messagesLimit: plan.needs.messages?.limit,
});

/** The customer: the participant who is not the account. */
const otherParticipant = (c: ConversationShape) =>
  c.data.participants?.data.find((p) => p.id !== c.igId)?.id ?? '';

/** A field the first read did not carry (rare: a conversation reached another way). */
async function reread(
  c: ConversationShape,
  ctx: Context,
  needs: ConversationNeeds,
): Promise<GraphConversation> {
  try {
    return await ctx.loaders.node<GraphConversation>(
      c.igId,
      c.data.id,
      conversationFields(needs),
      true,
    );
  } catch (error) {
    throw fromUpstream(error, 'Conversation');
  }
}

/** The newest messages, enough to find the customer's last one and to know if history is complete. */
async function newest(c: ConversationShape, ctx: Context): Promise<GraphList<GraphMessage>> {
  if (c.data.messages && (c.messagesLimit ?? 0) >= DETAIL_WINDOW) return c.data.messages;
  const data = await reread(c, ctx, { messages: { limit: DETAIL_WINDOW, fields: {} } });
  return data.messages ?? { data: [] };
}

const ReplyWindowState = builder.enumType('ReplyWindowState', {
  description: 'Whether the account may answer now.',
  values: {
    OPEN: {
      description: 'Within 24 hours of the customer’s last message: any message may be sent.',
    },
    HUMAN_AGENT_ONLY: {
      description: 'Within 7 days: only a person may answer, with the `HUMAN_AGENT` tag.',
    },
    CLOSED: { description: 'The customer must write first.' },
  } as const,
});

const ReplyWindow = builder.objectRef<ReplyWindowShape>('ReplyWindow').implement({
  description: 'When the account may answer, from the customer’s last message.',
  fields: (t) => ({
    state: t.field({
      type: ReplyWindowState,
      description: 'Whether the account may answer now, and who may.',
      resolve: (w) => w.state,
    }),
    closesAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the current state ends; null when closed.',
      resolve: (w) => w.closesAt,
    }),
  }),
});

export const Conversation = builder.objectRef<ConversationShape>('Conversation');

builder.node(Conversation, {
  description: 'A direct-message thread between the account and one customer.',
  id: {
    description: 'Opaque global id; pass it as `conversationId` to `inboxEvents`.',
    resolve: (c) => `${c.igId}:${c.data.id}`,
  },
  isTypeOf: (value) => (value as ConversationShape).kind === 'Conversation',
  fields: (t) => ({
    updatedTime: t.field({
      type: 'DateTime',
      description: 'When the last message was sent or received.',
      resolve: async (c, _args, ctx) => {
        const time =
          c.data.updated_time ?? (await reread(c, ctx, { updatedTime: true })).updated_time;
        return parseGraphTime(time ?? '1970-01-01T00:00:00+0000');
      },
    }),
    participants: t.field({
      type: [Participant],
      description: 'The customer and the account.',
      // Not async: what the page already carries resolves at once (a promise a field costs
      // graphql-js a tick and its object a Promise.all; a page has hundreds of them).
      resolve: (c, _args, ctx) => {
        const shape = (list: GraphList<GraphUser> | undefined) =>
          (list?.data ?? []).map((p) => ({ igId: c.igId, igsid: p.id, username: p.username }));
        return c.data.participants
          ? shape(c.data.participants)
          : reread(c, ctx, {}).then((data) => shape(data.participants));
      },
    }),
    replyWindow: t.field({
      type: ReplyWindow,
      description:
        'From the customer’s last message among the 20 newest; CLOSED when none of them is the customer’s.',
      resolve: async (c, _args, ctx) => {
        const page = await newest(c, ctx);
        return replyWindow(lastInbound(page.data, c.igId), ctx.now());
      },
    }),
    historyComplete: t.boolean({
      description:
        'True when every message of the conversation has its detail: Instagram details only the 20 newest.',
      resolve: async (c, _args, ctx) => {
        const page = await newest(c, ctx);
        return page.paging?.next === undefined && page.data.every((m) => m.from !== undefined);
      },
    }),
    messages: t.connection(
      {
        type: Message,
        description:
          'Newest first. `first`/`last` between 1 and 50 (default 20); `last` pages back from `before` and needs it.',
        // Not async: the page the conversation was read with resolves at once.
        resolve: (c, args, ctx, info) => {
          const request = graphPage(args, DEFAULT_MESSAGES);
          const igsid = otherParticipant(c);
          const prefetched =
            !request.fromCursor &&
            !request.backward &&
            c.data.messages &&
            (c.messagesLimit ?? 0) >= request.size;
          if (prefetched && c.data.messages) {
            return toConnection(c.data.messages, request, (m) =>
              toMessage(c.igId, igsid, fromGraph(m)),
            );
          }
          return (async () => {
            const fields = messageFields(messageNeeds(connectionNodes(selectionOf(info))));
            try {
              const page = await ctx.loaders.messages(c.igId, c.data.id, {
                limit: request.limit,
                after: request.after,
                before: request.before,
                fields,
              });
              ctx.loaders.prime(page.data, fields);
              return toConnection(page, request, (m) => toMessage(c.igId, igsid, fromGraph(m)));
            } catch (error) {
              throw fromUpstream(error, 'Conversation');
            }
          })();
        },
      },
      {
        name: 'MessageConnection',
        description: 'A page of messages, newest first.',
        edgesField: { description: 'The messages of this page, newest first, with cursors.' },
      },
      {
        name: 'MessageEdge',
        description: 'One of the messages, with its cursor.',
        nodeField: { description: 'The message.' },
      },
    ),
  }),
});
