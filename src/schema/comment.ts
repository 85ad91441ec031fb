import type { Session } from '../auth/jwt.ts';
import { globalId } from '../global-id.ts';
import type { GraphComment } from '../instagram/graph.ts';
import { commentTextProblems } from '../media/comment-text.ts';
import { instagramIdOf } from '../media/ids.ts';
import {
  notFound,
  type SendOutcome,
  type SendService,
  validationErrors,
} from '../sends/service.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { Comment, toComment } from './media.ts';
import { DESCRIBE, failedOutcome, sender } from './send.ts';
import { UserError } from './user-error.ts';

/**
 * Comment moderation (instagram-api.md §13): comment on the account's media, reply to a comment,
 * hide, unhide and delete one. Each is one Graph write under the rules of a send: idempotency
 * keys, the account's token and per-account limit, Instagram's refusals as `userErrors`.
 */

const CommentPayload = builder.objectRef<SendOutcome>('CommentPayload').implement({
  description: 'The comment as changed, or why it was not.',
  fields: (t) => ({
    comment: t.field({
      type: Comment,
      nullable: true,
      description: 'The comment; null when `userErrors` is not empty.',
      resolve: (o) =>
        o.result && o.userErrors.length === 0
          ? toComment(o.igId, o.result as unknown as GraphComment)
          : null,
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why nothing changed; empty when it did.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

const DeleteCommentPayload = builder.objectRef<SendOutcome>('DeleteCommentPayload').implement({
  description: 'The deleted comment’s id, or why it was not deleted.',
  fields: (t) => ({
    deletedCommentId: t.id({
      nullable: true,
      description: 'The `Comment.id` deleted (its replies went with it); null on failure.',
      resolve: (o) =>
        o.result && o.userErrors.length === 0
          ? globalId.comment(o.igId, String(o.result.id))
          : null,
    }),
    userErrors: t.field({
      type: [UserError],
      description: 'Why nothing was deleted; empty when it was.',
      resolve: (o) => [...o.userErrors],
    }),
  }),
});

const COMMENT_ID =
  'The `Comment.id` (or Instagram’s comment id) of a comment on the account’s media.';
const TEXT =
  'At most 300 characters, 4 hashtags and 1 URL, not all capital letters (Instagram’s rules).';

const ReplyToCommentInput = builder.inputType('ReplyToCommentInput', {
  description: 'The comment to answer publicly, and the answer.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    commentId: t.id({
      required: true,
      description: `${COMMENT_ID} A reply to a reply goes to its top-level comment.`,
    }),
    text: t.string({ required: true, description: TEXT }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

const CommentOnMediaInput = builder.inputType('CommentOnMediaInput', {
  description: 'The media to comment on, and the comment.',
  fields: (t) => ({
    accountId: t.id({ required: true, description: DESCRIBE.accountId }),
    mediaId: t.id({
      required: true,
      description: 'The `Media.id` (or Instagram’s media id) of a post or reel of the account.',
    }),
    text: t.string({ required: true, description: TEXT }),
    idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
  }),
});

/** hideComment, unhideComment and deleteComment take the same input, each under its own name. */
const moderateInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      accountId: t.id({ required: true, description: DESCRIBE.accountId }),
      commentId: t.id({ required: true, description: COMMENT_ID }),
      idempotencyKey: t.string({ description: DESCRIBE.idempotencyKey }),
    }),
  });

const HideCommentInput = moderateInput('HideCommentInput', 'The comment to hide.');
const UnhideCommentInput = moderateInput('UnhideCommentInput', 'The comment to show again.');
const DeleteCommentInput = moderateInput('DeleteCommentInput', 'The comment to delete.');

const invalidText = (igId: string, problems: readonly string[]): SendOutcome =>
  validationErrors(
    igId,
    problems.map((problem) => ({ message: `input.text ${problem}`, field: ['input', 'text'] })),
  );

/** The account and the Instagram id of the target, or the failure to answer. */
function target(
  ctx: Context,
  accountId: string | number,
  typename: 'Media' | 'Comment',
  id: string | number,
): { session: Session; igId: string; targetId: string } | SendOutcome {
  const from = sender(ctx, accountId);
  if (failedOutcome(from)) return from;
  const found = instagramIdOf(from.igId, typename, String(id));
  const targetId = found !== null && /^\d+$/.test(found) ? found : null;
  const field = typename === 'Media' ? 'mediaId' : 'commentId';
  return targetId === null ? notFound(from.igId, field, typename) : { ...from, targetId };
}

function write(
  ctx: Context,
  to: { session: Session; igId: string; targetId: string },
  mutation: string,
  idempotencyKey: string | null | undefined,
  input: Readonly<Record<string, unknown>>,
  call: Parameters<SendService['write']>[1]['call'],
): Promise<SendOutcome> {
  return ctx.sends.write(to.session, {
    igId: to.igId,
    igsid: null,
    idempotencyKey,
    what: 'comment',
    content: JSON.stringify([mutation, input]),
    call,
  });
}

/**
 * Writes `input.text` as the account: a reply under a comment (`Comment`: its `replies`) or a
 * comment under a media (`Media`: its `comments`), checked before any call.
 */
function writeComment(
  ctx: Context,
  mutation: 'replyToComment' | 'commentOnMedia',
  input: {
    readonly accountId: string | number;
    readonly text: string;
    readonly idempotencyKey?: string | null;
  },
  typename: 'Comment' | 'Media',
  id: string | number,
): SendOutcome | Promise<SendOutcome> {
  const to = target(ctx, input.accountId, typename, id);
  if (failedOutcome(to)) return to;
  const problems = commentTextProblems(input.text);
  if (problems.length > 0) return invalidText(to.igId, problems);
  const { text } = input;
  const fingerprint =
    typename === 'Comment' ? { commentId: to.targetId, text } : { mediaId: to.targetId, text };
  return write(ctx, to, mutation, input.idempotencyKey, fingerprint, async (auth, api) => {
    const edge = typename === 'Comment' ? 'replies' : 'comments';
    const { id: created } = await api.comment(auth, to.targetId, edge, text);
    return { result: { id: created, text, from: { id: to.igId } } };
  });
}

builder.mutationFields((t) => ({
  replyToComment: t.field({
    type: CommentPayload,
    description: 'Answers a comment publicly, as the account.',
    args: {
      input: t.arg({ type: ReplyToCommentInput, required: true, description: 'The answer.' }),
    },
    resolve: (_root, { input }, ctx) =>
      writeComment(ctx, 'replyToComment', input, 'Comment', input.commentId),
  }),
  commentOnMedia: t.field({
    type: CommentPayload,
    description: 'Comments on one of the account’s posts or reels, as the account.',
    args: {
      input: t.arg({ type: CommentOnMediaInput, required: true, description: 'The comment.' }),
    },
    resolve: (_root, { input }, ctx) =>
      writeComment(ctx, 'commentOnMedia', input, 'Media', input.mediaId),
  }),
  ...Object.fromEntries(
    (
      [
        [
          'hideComment',
          'hide',
          HideCommentInput,
          'Hides a comment: only its author and the account still see it.',
        ],
        ['unhideComment', 'unhide', UnhideCommentInput, 'Shows a hidden comment again.'],
      ] as const
    ).map(([name, action, input, description]) => [
      name,
      t.field({
        type: CommentPayload,
        description,
        args: {
          input: t.arg({ type: input, required: true, description: 'The comment.' }),
        },
        resolve: (_root, { input }, ctx) => {
          const to = target(ctx, input.accountId, 'Comment', input.commentId);
          if (failedOutcome(to)) return to;
          return write(
            ctx,
            to,
            name,
            input.idempotencyKey,
            { commentId: to.targetId },
            async (auth, api) => {
              await api.moderateComment(auth, to.targetId, action);
              return { result: { id: to.targetId, hidden: action === 'hide' } };
            },
          );
        },
      }),
    ]),
  ),
  deleteComment: t.field({
    type: DeleteCommentPayload,
    description: 'Deletes a comment on the account’s media, with its replies.',
    args: {
      input: t.arg({ type: DeleteCommentInput, required: true, description: 'The comment.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const to = target(ctx, input.accountId, 'Comment', input.commentId);
      if (failedOutcome(to)) return to;
      return write(
        ctx,
        to,
        'deleteComment',
        input.idempotencyKey,
        { commentId: to.targetId },
        async (auth, api) => {
          await api.moderateComment(auth, to.targetId, 'delete');
          return { result: { id: to.targetId } };
        },
      );
    },
  }),
}));
