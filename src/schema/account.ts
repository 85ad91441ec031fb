import type { GraphQLResolveInfo } from 'graphql';
import { mayUse } from '../auth/access.ts';
import { badUserInput, fromUpstream } from '../errors.ts';
import { decodeId, decodeMessageRest } from '../global-id.ts';
import { fromGraph } from '../inbox/from-graph.ts';
import { ACCOUNT_FIELDS, conversationFields, messageFields } from '../instagram/fields.ts';
import type { GraphAccount, GraphConversation } from '../instagram/graph.ts';
import { builder } from './builder.ts';
import { graphPage, toConnection } from './connection.ts';
import type { Context } from './context.ts';
import {
  Conversation,
  type ConversationShape,
  conversationPlan,
  toConversation,
} from './conversation.ts';
import { requireSession } from './errors.ts';
import { type CommentShape, loadMediaNode, type MediaShape } from './media.ts';
import { type MessageShape, messageNeeds, toMessage } from './message.ts';
import { loadPublishJob, type PublishJobShape } from './publish-job.ts';
import { connectionNodes, selectionOf } from './selection.ts';

export interface AccountShape {
  readonly kind: 'Account';
  readonly igId: string;
}

const toAccount = (igId: string): AccountShape => ({ kind: 'Account', igId });

const AccountStatusEnum = builder.enumType('AccountStatus', {
  description: 'Whether igql can act for an account.',
  values: {
    ACTIVE: { description: 'igql can read and send for this account.' },
    REAUTH_REQUIRED: {
      description:
        'Instagram refused the account’s token: someone must log in again (with Instagram, or with Facebook for an account of Facebook Login).',
    },
  } as const,
});

const LoginKindEnum = builder.enumType('LoginKind', {
  description:
    'How an account logged in, which decides how igql reaches it. Every query, mutation and subscription works for both.',
  values: {
    INSTAGRAM: {
      description:
        'Business Login for Instagram (Instagram API with Instagram Login): graph.instagram.com, with the account’s Instagram token.',
    },
    FACEBOOK: {
      description:
        'Facebook Login for Business (Instagram API with Facebook Login): graph.facebook.com, with the token of the Facebook Page the account is linked to; messaging goes through that Page.',
    },
  } as const,
});

const ConversationFolderEnum = builder.enumType('ConversationFolder', {
  description:
    'A folder of the inbox of the Facebook Page an account of Facebook Login is linked to. Instagram Login documents no folders.',
  values: {
    INBOX: { value: 'inbox', description: 'The main inbox: what a list without `folder` gives.' },
    OTHER: { value: 'other', description: 'The “Other” folder.' },
    PAGE_DONE: { value: 'page_done', description: 'Conversations marked done.' },
    PENDING: { value: 'pending', description: 'Message requests not yet accepted.' },
    SPAM: { value: 'spam', description: 'Conversations marked as spam.' },
  } as const,
});

async function accountField<K extends keyof typeof ACCOUNT_FIELDS>(
  a: AccountShape,
  field: K,
  ctx: Context,
): Promise<GraphAccount[(typeof ACCOUNT_FIELDS)[K]]> {
  const graphField = ACCOUNT_FIELDS[field];
  try {
    return (await ctx.loaders.account(a.igId, [graphField]))[graphField];
  } catch (error) {
    throw fromUpstream(error, 'Account');
  }
}

export const Account = builder.objectRef<AccountShape>('Account');

builder.node(Account, {
  description: 'An Instagram professional account whose direct messages igql serves.',
  id: {
    description: 'Opaque global id; pass it as `accountId` to mutations and subscriptions.',
    resolve: (a) => a.igId,
  },
  isTypeOf: (value) => (value as AccountShape).kind === 'Account',
  fields: (t) => ({
    igId: t.string({
      description: 'The Instagram professional account id (IG_ID), as webhooks name it.',
      resolve: (a) => a.igId,
    }),
    loginKind: t.field({
      type: LoginKindEnum,
      description:
        'How the account logged in: `INSTAGRAM` (Instagram Login) or `FACEBOOK` (Facebook Login, through a Facebook Page). Read without calling Instagram.',
      resolve: (a, _args, ctx) => ctx.loaders.loginKind(a.igId),
    }),
    status: t.field({
      type: AccountStatusEnum,
      description: 'Whether igql can act for the account now; read without calling Instagram.',
      resolve: async (a, _args, ctx) => ctx.loaders.status(a.igId),
    }),
    username: t.string({
      description: 'The account’s Instagram username.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'username', ctx)) ?? '',
    }),
    name: t.string({
      nullable: true,
      description: 'The account’s display name on Instagram; null when it has none.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'name', ctx)) ?? null,
    }),
    accountType: t.string({
      nullable: true,
      description:
        'As Instagram reports it: `Business` or `Media_Creator`. Always null for an account of Facebook Login (`loginKind: FACEBOOK`): graph.facebook.com has no such field.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'accountType', ctx)) ?? null,
    }),
    profilePictureUrl: t.string({
      nullable: true,
      description: 'Expires: show it, never store it.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'profilePictureUrl', ctx)) ?? null,
    }),
    followersCount: t.int({
      nullable: true,
      description: 'How many Instagram users follow the account; null when Instagram gives none.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'followersCount', ctx)) ?? null,
    }),
    followsCount: t.int({
      nullable: true,
      description: 'How many Instagram users the account follows; null when Instagram gives none.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'followsCount', ctx)) ?? null,
    }),
    mediaCount: t.int({
      nullable: true,
      description: 'How many posts the account has on Instagram; null when Instagram gives none.',
      resolve: async (a, _args, ctx) => (await accountField(a, 'mediaCount', ctx)) ?? null,
    }),
    conversations: t.connection(
      {
        type: Conversation,
        description:
          'Newest first. `first`/`last` between 1 and 50 (default 20); `last` pages back from `before` and needs it. A page with the newest messages of each conversation costs one call to Instagram.',
        args: {
          withUser: t.arg.id({
            description: 'Only the conversation with this participant (`Participant.id`).',
          }),
          folder: t.arg({
            type: ConversationFolderEnum,
            description:
              'Only the conversations of this folder of the linked Facebook Page’s inbox; default `INBOX`. Accounts of Facebook Login only (`loginKind: FACEBOOK`): for an Instagram Login account, which has no folders, it is refused (BAD_USER_INPUT) before any call.',
          }),
        },
        resolve: async (a, args, ctx, info) => {
          const request = graphPage(args, 20);
          let userId: string | undefined;
          if (args.withUser != null) {
            const decoded = decodeId(String(args.withUser));
            if (decoded?.typename !== 'Participant' || decoded.igId !== a.igId) {
              throw badUserInput('`withUser` must be a Participant.id of this account', 'withUser');
            }
            userId = decoded.rest;
          }
          const folder = args.folder ?? undefined;
          // graph.instagram.com documents no folder (instagram-api.md §2): said, never sent.
          if (folder !== undefined && (await ctx.loaders.loginKind(a.igId)) !== 'FACEBOOK') {
            throw badUserInput(
              '`folder` is for accounts of Facebook Login (loginKind FACEBOOK): Instagram Login has no conversation folders',
              'folder',
            );
          }
          const plan = conversationPlan(connectionNodes(selectionOf(info)));
          try {
            const page = await ctx.loaders.conversations(a.igId, {
              limit: request.limit,
              after: request.after,
              before: request.before,
              fields: conversationFields(plan.needs),
              userId,
              folder,
            });
            const messages = plan.needs.messages;
            if (messages) {
              const fields = messageFields(messages.fields);
              for (const c of page.data) if (c.messages) ctx.loaders.prime(c.messages.data, fields);
            }
            return toConnection(page, request, (c) => toConversation(a.igId, c, plan));
          } catch (error) {
            throw fromUpstream(error, 'Account');
          }
        },
      },
      {
        name: 'ConversationConnection',
        description: 'A page of conversations, newest first.',
        edgesField: { description: 'The conversations of this page, newest first, with cursors.' },
      },
      {
        name: 'ConversationEdge',
        description: 'One of the conversations, with its cursor.',
        nodeField: { description: 'The conversation.' },
      },
    ),
  }),
});

// ---- Root fields -----------------------------------------------------------------------------

builder.queryFields((t) => ({
  viewer: t.field({
    type: Account,
    description: 'The session’s default account (the first it may use).',
    resolve: (_root, _args, ctx) => toAccount(requireSession(ctx).accounts[0] ?? ''),
  }),
  accounts: t.field({
    type: [Account],
    description: 'Every account the session may use.',
    resolve: (_root, _args, ctx) => requireSession(ctx).accounts.map(toAccount),
  }),
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description: 'Any object by id; null when it does not exist or belongs to another account.',
    args: {
      id: t.arg.id({
        required: true,
        description:
          'An `Account.id`, `Conversation.id`, `Message.id`, `Media.id`, `Comment.id` or `PublishJob.id`.',
      }),
    },
    resolve: (_root, args, ctx, info) => {
      requireSession(ctx);
      return loadNode(String(args.id), ctx, info);
    },
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    description: 'Objects by id, in order; null for each that does not exist or is not yours.',
    args: {
      ids: t.arg.idList({
        required: true,
        description: 'At most 50 ids, each an `Account.id`, `Conversation.id` or `Message.id`.',
      }),
    },
    resolve: (_root, args, ctx, info) => {
      requireSession(ctx);
      if (args.ids.length > 50) throw badUserInput('At most 50 ids', 'ids');
      // Each id on its own: one refused (a read past the pacing wait) nulls only its item.
      return args.ids.map((id) => loadNode(String(id), ctx, info));
    },
  }),
}));

type NodeShape =
  | AccountShape
  | ConversationShape
  | MessageShape
  | MediaShape
  | CommentShape
  | PublishJobShape;

/** Another tenant's object, a malformed id and a missing object all answer null alike. */
async function loadNode(
  id: string,
  ctx: Context,
  info: GraphQLResolveInfo,
): Promise<NodeShape | null> {
  const decoded = decodeId(id);
  if (!decoded || !mayUse(ctx.session, decoded.igId)) return null;
  const selection = selectionOf(info, decoded.typename);
  try {
    switch (decoded.typename) {
      case 'Account':
        await ctx.loaders.status(decoded.igId);
        return toAccount(decoded.igId);
      case 'Conversation': {
        const plan = conversationPlan(selection);
        const data = await ctx.loaders.node<GraphConversation>(
          decoded.igId,
          decoded.rest,
          conversationFields(plan.needs),
          true,
        );
        return toConversation(decoded.igId, data, plan);
      }
      case 'Message': {
        const { igsid, mid } = decodeMessageRest(decoded.rest);
        const fields = messageFields(messageNeeds(selection));
        const data = await ctx.loaders.message(decoded.igId, mid, fields);
        return toMessage(decoded.igId, igsid, fromGraph(data));
      }
      case 'Media':
      case 'Comment':
        return await loadMediaNode(decoded.typename, decoded.igId, decoded.rest, ctx, selection);
      case 'PublishJob':
        return await loadPublishJob(decoded.igId, decoded.rest, ctx);
      default:
        return null;
    }
  } catch (error) {
    const mapped = fromUpstream(error);
    if (mapped.extensions.code === 'NOT_FOUND') return null;
    throw mapped;
  }
}
