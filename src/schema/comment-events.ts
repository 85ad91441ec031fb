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
        toComment(e.igId, {
          id: e.commentId,
          ...(e.text === null ? {} : { text: e.text }),
          ...(e.fromId === null
            ? {}
            : { from: { id: e.fromId, ...(e.fromUsername ? { username: e.fromUsername } : {}) } }),
          media: { id: e.mediaId, ...MediaProductTypeOf(e.mediaProductType) },
          // What the webhook said of its parent, '' for none (a top-level comment): neither
          // `parent` nor `replies` reads Instagram to learn it.
          parent_id: e.parentId ?? '',
        }),
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

builder.objectRef<EventOf<'MENTION_RECEIVED'>>('MentionReceivedEvent').implement({
  description:
    'Someone @mentioned the account in a caption or a comment. The mentioned media or comment resolves on demand.',
  interfaces: [InboxEvent],
  fields: (t) => ({
    mentionedMedia: t.field({
      type: Media,
      // Another account's media cannot be read by id; Instagram Login's way to read it
      // (`mentioned_media`, documented for Facebook Login) is UNCONFIRMED: fields that fail
      // null this field, not the event.
      nullable: true,
      description:
        'The media whose caption or comment mentions the account. Its fields read from Instagram: null when they cannot be read (a media of another account).',
      resolve: ({ event: e }) => toMedia(e.igId, { id: e.mediaId }),
    }),
    mentionedComment: t.field({
      type: Comment,
      nullable: true,
      description:
        'The comment that mentions the account; null when the caption does, or when it cannot be read.',
      resolve: ({ event: e }) =>
        e.commentId === null ? null : toComment(e.igId, { id: e.commentId }),
    }),
  }),
});
