import { builder } from './builder.ts';
import { type EventOf, InboxEvent } from './events.ts';
import { Comment, Media, toComment, toMedia } from './media.ts';

/**
 * Comments and mentions as inbox events: built from the webhook alone (its comment and media
 * carry what the webhook said); any other field reads Instagram on demand.
 */

const MediaProductTypeOf = (value: string | null) =>
  value === null ? {} : { media_product_type: value };

builder.objectRef<EventOf<'COMMENT_RECEIVED'>>('CommentReceivedEvent').implement({
  description:
    'Someone commented on one of the account’s media, or replied to a comment (the account’s own comments too, flagged `byAccount`). Answer it publicly with `replyToComment`, privately with `sendPrivateReply`.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    comment: t.field({
      type: Comment,
      description: 'The comment; its text, author and media come from the webhook.',
      resolve: ({ event: e }) =>
        toComment(
          e.igId,
          {
            id: e.commentId,
            ...(e.text === null ? {} : { text: e.text }),
            ...(e.fromId === null
              ? {}
              : {
                  from: { id: e.fromId, ...(e.fromUsername ? { username: e.fromUsername } : {}) },
                }),
            media: { id: e.mediaId, ...MediaProductTypeOf(e.mediaProductType) },
            // What the webhook said of its parent, '' for none (a top-level comment): neither
            // `parent` nor `replies` reads Instagram to learn it.
            parent_id: e.parentId ?? '',
          },
          undefined,
          e.live,
        ),
    }),
    media: t.field({
      type: Media,
      description: 'The media commented on.',
      resolve: ({ event: e }) =>
        toMedia(e.igId, { id: e.mediaId, ...MediaProductTypeOf(e.mediaProductType) }),
    }),
    parentCommentId: t.string({
      nullable: true,
      description: 'Instagram’s id of the comment this one replies to; null for a top-level one.',
      resolve: ({ event: e }) => e.parentId,
    }),
    byAccount: t.boolean({
      description: 'The account wrote it itself (through igql or any other app).',
      resolve: ({ event: e }) => e.byAccount,
    }),
    live: t.boolean({
      description:
        'A comment on a live video (`live_comments`): a private reply is possible only while it is live.',
      resolve: ({ event: e }) => e.live,
    }),
    adId: t.string({
      nullable: true,
      description: 'The ad, for a comment on an ad.',
      resolve: ({ event: e }) => e.adId,
    }),
  }),
});

/*
 * Instagram sends `mentions` when "another Instagram user" @mentions the account in a caption or
 * a comment, on media that is theirs, not the account's (Mentions reference). Such media and
 * comments are read with `mentioned_media.media_id(…)` / `mentioned_comment.comment_id(…)`,
 * documented only for Instagram API with Facebook Login (graph.facebook.com); a read by id
 * covers only the account's own media and comments. Instagram Login documents no way to read
 * them (UNCONFIRMED), so igql makes no call: the fields are null and the ids are given. For an
 * account of Facebook Login igql does not read them either (yet), so that both configurations
 * answer alike.
 */
builder.objectRef<EventOf<'MENTION_RECEIVED'>>('MentionReceivedEvent').implement({
  description:
    'Another Instagram user @mentioned the account in the caption of their media or in a comment on it. igql does not read that media or comment (Instagram Login cannot): the event gives their ids.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mentionedMediaId: t.string({
      description:
        'Instagram’s id of the media whose caption, or one of whose comments, mentions the account.',
      resolve: ({ event: e }) => e.mediaId,
    }),
    mentionedCommentId: t.string({
      nullable: true,
      description: 'Instagram’s id of the comment that mentions the account; null for a caption.',
      resolve: ({ event: e }) => e.commentId,
    }),
    mentionedMedia: t.field({
      type: Media,
      nullable: true,
      description:
        'Always null: the media is another user’s, which Instagram API with Instagram Login cannot read and igql does not read for Facebook Login either (`mentionedMediaId` names it).',
      resolve: () => null,
    }),
    mentionedComment: t.field({
      type: Comment,
      nullable: true,
      description:
        'Always null: the comment is on another user’s media, which Instagram API with Instagram Login cannot read and igql does not read for Facebook Login either (`mentionedCommentId` names it).',
      resolve: () => null,
    }),
  }),
});
