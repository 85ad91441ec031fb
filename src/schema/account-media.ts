import { Account } from './account.ts';
import { builder } from './builder.ts';
import { Media, mediaConnection } from './media.ts';
import { selectionOf } from './selection.ts';

const MediaConnection = builder.connectionObject(
  {
    type: Media,
    name: 'MediaConnection',
    description: 'A page of media, newest first.',
    edgesField: { description: 'The media of this page, newest first, with cursors.' },
  },
  {
    name: 'MediaEdge',
    description: 'One of the media, with its cursor.',
    nodeField: { description: 'The media.' },
  },
);

builder.objectFields(Account, (t) => ({
  media: t.connection(
    {
      type: Media,
      description:
        'Posts and reels, newest first (stories are in `stories`). `first`/`last` between 1 and 50 (default 25); `last` pages back from `before` and needs it. A page with the first comments of each media costs one call to Instagram.',
      resolve: (a, args, ctx, info) =>
        mediaConnection(a.igId, 'media', args, ctx, selectionOf(info)),
    },
    MediaConnection,
  ),
  stories: t.connection(
    {
      type: Media,
      description:
        'Stories of the last 24 hours, newest first. `first`/`last` between 1 and 50 (default 25).',
      resolve: (a, args, ctx, info) =>
        mediaConnection(a.igId, 'stories', args, ctx, selectionOf(info)),
    },
    MediaConnection,
  ),
}));
