import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import {
  DAY,
  HOUR,
  type SimAccount,
  type SimMedia,
  type SimUser,
} from '../../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import type { Loose } from './loose.ts';

const MINUTE = 60_000;

// The same for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let token: string;
  let shop: SimAccount;
  let studio: SimAccount;
  let ana: SimUser;
  let posts: SimMedia[];
  let carousel: SimMedia;
  let theirs: SimMedia;

  /** northwind.shop: 30 posts (the newest with 12 comments, one answered), a carousel, a story. */
  function seed(sim: Simulator): void {
    const { store } = sim;
    shop = addAccountOf(sim, kind, { username: 'northwind.shop' }).account;
    studio = addAccountOf(sim, kind, { username: 'lumen.studio' }).account;
    ana = store.addUser(shop.igId, { username: 'ana.costa' });
    posts = Array.from({ length: 30 }, (_, i) =>
      store.addMedia(shop.igId, {
        id: `1800000000000${String(i).padStart(4, '0')}`,
        caption: `Post ${i}`,
        timestamp: T0 - (i + 1) * HOUR,
        likeCount: 100 + i,
      }),
    );
    for (const [p, post] of posts.entries()) {
      for (let n = 0; n < 12; n++) {
        store.addComment(post.id, {
          id: `17${String(p).padStart(3, '0')}00000000${String(n).padStart(4, '0')}`,
          fromIgsid: ana.igsid,
          fromUsername: 'ana.costa',
          text: `Comment ${n} on ${p}`,
          createdTime: T0 - (p + 1) * HOUR + (n + 1) * MINUTE,
          likeCount: n,
        });
      }
    }
    store.addComment((posts[0] as SimMedia).id, {
      id: '17999000000000001',
      fromIgsid: shop.igId,
      fromUsername: 'northwind.shop',
      text: 'Thanks Ana!',
      createdTime: T0 - 10 * MINUTE,
      parentId: '17000000000000000',
    });
    store.addComment((posts[29] as SimMedia).id, {
      id: '17999000000000002',
      fromIgsid: ana.igsid,
      fromUsername: 'ana.costa',
      text: 'Old one',
      createdTime: T0 - 8 * DAY,
      hidden: true,
    });
    carousel = store.addMedia(shop.igId, {
      id: '18000000000009000',
      mediaType: 'CAROUSEL_ALBUM',
      caption: 'Two colours',
      timestamp: T0 - 40 * DAY,
      children: ['18000000000009001', '18000000000009002'],
    });
    for (const id of carousel.children) {
      store.addMedia(shop.igId, { id, timestamp: T0 - 40 * DAY, parentId: carousel.id });
    }
    store.addMedia(shop.igId, {
      id: '18000000000009100',
      mediaProductType: 'STORY',
      timestamp: T0 - HOUR,
    });
    theirs = store.addMedia(studio.igId, { id: '18000000000009999' });
  }

  beforeAll(async () => {
    gw = await startGateway(seed);
    token = await gw.session([shop.igId]);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const MEDIA_PAGE = /* GraphQL */ `
    query {
      viewer {
        media(first: 25) {
          pageInfo { hasNextPage }
          nodes {
            id
            mediaId
            caption
            mediaType
            mediaProductType
            likeCount
            commentsCount
            comments(first: 10) {
              pageInfo { hasNextPage }
              nodes { text likeCount author { username igsid } }
            }
          }
        }
      }
    }
  `;

  describe('Account.media', () => {
    it('reads a page of 25 posts with their first 10 comments in one upstream call', async () => {
      let body: Awaited<ReturnType<Gateway['query']>>['body'] = {};
      const calls = await gw.upstreamCalls(async () => {
        ({ body } = await gw.query(token, MEDIA_PAGE));
      });
      expect(body.errors).toBeUndefined();
      expect(calls).toBe(1);
      const media = (body.data as Loose).viewer.media;
      expect(media.pageInfo.hasNextPage).toBe(true);
      expect(media.nodes).toHaveLength(25);
      expect(media.nodes[0]).toMatchObject({
        id: globalId.media(shop.igId, '18000000000000000'),
        mediaId: '18000000000000000',
        caption: 'Post 0',
        mediaType: 'IMAGE',
        mediaProductType: 'FEED',
        likeCount: 100,
        commentsCount: 13,
      });
      const comments = media.nodes[0].comments;
      expect(comments.pageInfo.hasNextPage).toBe(true);
      expect(comments.nodes).toHaveLength(10);
      expect(comments.nodes[0]).toEqual({
        text: 'Comment 0 on 0',
        likeCount: 0,
        author: { username: 'ana.costa', igsid: ana.igsid },
      });
      const last = gw.sim.requests.at(-1);
      expect(last?.endpoint).toBe('/{id}/media');
      expect(last?.query.fields).toBe(
        'id,media_type,caption,media_product_type,like_count,comments_count,comments.limit(10){id,timestamp,media,text,from,like_count}',
      );
    });

    it('pages on with after, and reads further comments with their own call', async () => {
      const first = await gw.query<Loose>(
        token,
        '{ viewer { media(first: 29) { pageInfo { endCursor } } } }',
      );
      const after = first.body.data.viewer.media.pageInfo.endCursor;
      const next = await gw.query<Loose>(
        token,
        `query ($after: String) { viewer { media(first: 5, after: $after) {
          pageInfo { hasNextPage } nodes { caption } } } }`,
        { after },
      );
      expect(next.body.data.viewer.media).toEqual({
        pageInfo: { hasNextPage: false },
        nodes: [{ caption: 'Post 29' }, { caption: 'Two colours' }],
      });
      const page = await gw.query<Loose>(
        token,
        '{ viewer { media(first: 1) { nodes { comments(first: 10) { pageInfo { endCursor } } } } } }',
      );
      const cursor = page.body.data.viewer.media.nodes[0].comments.pageInfo.endCursor;
      let rest: Loose;
      const calls = await gw.upstreamCalls(async () => {
        rest = await gw.query<Loose>(
          token,
          `query ($c: String) { viewer { media(first: 1) { nodes {
            comments(first: 10, after: $c) { nodes { text } } } } } }`,
          { c: cursor },
        );
      });
      expect(calls).toBe(2);
      expect(rest.body.data.viewer.media.nodes[0].comments.nodes).toEqual([
        { text: 'Comment 10 on 0' },
        { text: 'Comment 11 on 0' },
      ]);
    });

    it('gives a carousel’s children, media URLs with their expiry, and stories apart', async () => {
      const { body } = await gw.query<Loose>(
        token,
        `query ($id: ID!) { node(id: $id) { ... on Media {
          mediaType caption permalink timestamp mediaUrl likeCount
          children { mediaId mediaType mediaUrl mediaUrlExpiresAt thumbnailUrl caption likeCount }
        } }
        viewer { stories { nodes { mediaId mediaProductType likeCount commentsCount } } } }`,
        { id: globalId.media(shop.igId, carousel.id) },
      );
      expect(body.errors).toBeUndefined();
      const oe = Math.floor((T0 + 3 * DAY) / 1000)
        .toString(16)
        .toUpperCase();
      expect(body.data.node).toEqual({
        mediaType: 'CAROUSEL_ALBUM',
        caption: 'Two colours',
        permalink: 'https://www.instagram.com/p/00000009000/',
        timestamp: '2026-10-11T12:00:00.000Z',
        mediaUrl: null,
        likeCount: 0,
        children: carousel.children.map((id) => ({
          mediaId: id,
          mediaType: 'IMAGE',
          mediaUrl: `https://scontent.cdninstagram.com/v/t51.29350-15/${id}_media_n.jpg?_nc_ht=scontent.cdninstagram.com&oe=${oe}`,
          mediaUrlExpiresAt: new Date(Number.parseInt(oe, 16) * 1000).toISOString(),
          thumbnailUrl: null,
          caption: null,
          likeCount: null,
        })),
      });
      expect(body.data.viewer.stories.nodes).toEqual([
        {
          mediaId: '18000000000009100',
          mediaProductType: 'STORY',
          likeCount: null,
          commentsCount: null,
        },
      ]);
    });
  });

  describe('Comment', () => {
    it('resolves by node(id:) with its replies, its parent, its media and its private-reply status', async () => {
      const { body } = await gw.query<Loose>(
        token,
        `query ($id: ID!, $reply: ID!, $old: ID!) {
          top: node(id: $id) { ... on Comment {
            commentId text timestamp hidden byAccount
            privateReply { available reason closesAt }
            parent { text }
            media { mediaId caption }
            replies(first: 5) { nodes { commentId text byAccount author { igsid username }
              parent { commentId } privateReply { available reason } } }
          } }
          reply: node(id: $reply) { ... on Comment { replies { nodes { text } } } }
          old: node(id: $old) { ... on Comment { hidden privateReply { available reason } } }
        }`,
        {
          id: globalId.comment(shop.igId, '17000000000000000'),
          reply: globalId.comment(shop.igId, '17999000000000001'),
          old: globalId.comment(shop.igId, '17999000000000002'),
        },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.top).toEqual({
        commentId: '17000000000000000',
        text: 'Comment 0 on 0',
        timestamp: '2026-11-20T11:01:00.000Z',
        hidden: false,
        byAccount: false,
        privateReply: { available: true, reason: null, closesAt: '2026-11-27T11:01:00.000Z' },
        parent: null,
        media: { mediaId: '18000000000000000', caption: 'Post 0' },
        replies: {
          nodes: [
            {
              commentId: '17999000000000001',
              text: 'Thanks Ana!',
              byAccount: true,
              author: { igsid: shop.igId, username: 'northwind.shop' },
              parent: { commentId: '17000000000000000' },
              privateReply: { available: false, reason: 'OWN_COMMENT' },
            },
          ],
        },
      });
      expect(body.data.reply).toEqual({ replies: { nodes: [] } });
      expect(body.data.old).toEqual({
        hidden: true,
        privateReply: { available: false, reason: 'EXPIRED' },
      });
    });

    it('answers null for another account’s media and comment, and a forged id', async () => {
      const { body } = await gw.query<Loose>(
        token,
        `query ($a: ID!, $b: ID!, $c: ID!) {
          a: node(id: $a) { id } b: node(id: $b) { id } c: node(id: $c) { id } }`,
        {
          a: globalId.media(studio.igId, theirs.id),
          // Another account's media under this account's id: Instagram answers 100/33.
          b: globalId.media(shop.igId, theirs.id),
          c: globalId.comment(shop.igId, '17123'),
        },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ a: null, b: null, c: null });
    });

    it('answers null, reading nothing, for a media or comment id that is no Instagram number', async () => {
      const before = gw.sim.count();
      const { body } = await gw.query<Loose>(
        token,
        'query ($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }',
        { a: globalId.media(shop.igId, 'me'), b: globalId.comment(shop.igId, 'me/conversations') },
      );
      expect(body).toEqual({ data: { a: null, b: null } });
      expect(gw.sim.count()).toBe(before);
    });
  });
});
