import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endBroadcast } from '../../src/sandbox/media.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import {
  createClock,
  DAY,
  HOUR,
  type SimAccount,
  type SimMedia,
  type SimToken,
  type SimUser,
} from '../../src/sandbox/store.ts';
import type { Loose } from './loose.ts';

const T0 = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;

let sim: Simulator;
let account: SimAccount;
let token: SimToken;
let ana: SimUser;
let posts: SimMedia[];
let carousel: SimMedia;
let story: SimMedia;

async function call(
  method: string,
  path: string,
  query: Record<string, string> = {},
  auth: string = token.token,
) {
  const params = new URLSearchParams(query);
  const res = await fetch(`${sim.url}/v25.0/${path}${params.size > 0 ? `?${params}` : ''}`, {
    method,
    headers: { authorization: `Bearer ${auth}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, Loose> };
}
const get = (path: string, query: Record<string, string> = {}) => call('GET', path, query);

const errorOf = (body: Record<string, Loose>) => {
  const { fbtrace_id: _trace, ...rest } = body.error;
  return rest;
};

beforeEach(async () => {
  sim = new Simulator({ appSecret: 'app-secret', rateLimits: false, clock: createClock(T0, true) });
  ({ account, token } = sim.addAccount({ username: 'northwind.shop' }));
  ana = sim.store.addUser(account.igId, { username: 'ana.costa' });
  const { store } = sim;
  posts = Array.from({ length: 30 }, (_, i) =>
    store.addMedia(account.igId, {
      id: `1800000000000${String(i).padStart(4, '0')}`,
      caption: `Post ${i}`,
      timestamp: T0 - (i + 1) * HOUR,
      likeCount: i,
    }),
  );
  carousel = store.addMedia(account.igId, {
    id: '18000000000009000',
    mediaType: 'CAROUSEL_ALBUM',
    caption: 'Two colours',
    timestamp: T0 - 10 * MINUTE,
    children: ['18000000000009001', '18000000000009002'],
  });
  for (const id of carousel.children) {
    store.addMedia(account.igId, { id, timestamp: T0 - 10 * MINUTE, parentId: carousel.id });
  }
  story = store.addMedia(account.igId, {
    id: '18000000000009100',
    mediaProductType: 'STORY',
    timestamp: T0 - HOUR,
  });
  store.addMedia(account.igId, { mediaProductType: 'STORY', timestamp: T0 - 2 * DAY });
  const first = posts[0] as SimMedia;
  for (let n = 0; n < 12; n++) {
    store.addComment(first.id, {
      id: `1790000000000${String(n).padStart(4, '0')}`,
      fromIgsid: ana.igsid,
      fromUsername: 'ana.costa',
      text: `Comment ${n}`,
      createdTime: T0 - (12 - n) * MINUTE,
      likeCount: n % 3,
    });
  }
  store.addComment(first.id, {
    id: '17900000000001000',
    fromIgsid: account.igId,
    fromUsername: 'northwind.shop',
    text: 'Thanks!',
    createdTime: T0 - 30 * 1000,
    parentId: '17900000000000000',
  });
  await sim.start();
});

afterEach(async () => {
  await sim.stop();
});

describe('media reads', () => {
  it('lists posts newest first, 25 a page, with the fields asked, carousel items and stories left out', async () => {
    const { status, body } = await get('me/media', {
      fields: 'id,caption,media_type,media_product_type,like_count,comments_count,timestamp',
    });
    expect(status).toBe(200);
    expect(body.data).toHaveLength(25);
    expect(body.data[0]).toEqual({
      id: '18000000000009000',
      caption: 'Two colours',
      media_type: 'CAROUSEL_ALBUM',
      media_product_type: 'FEED',
      like_count: 0,
      comments_count: 0,
      timestamp: '2026-11-20T11:50:00+0000',
    });
    expect(body.data[1]).toEqual({
      id: '18000000000000000',
      caption: 'Post 0',
      media_type: 'IMAGE',
      media_product_type: 'FEED',
      like_count: 0,
      comments_count: 13,
      timestamp: '2026-11-20T11:00:00+0000',
    });
    expect(body.paging.next).toContain('/v25.0/me/media?');
    const next = await get('me/media', { fields: 'id', after: body.paging.cursors.after });
    expect(next.body.data.map((m: { id: string }) => m.id)).toEqual(
      posts.slice(24).map((m) => m.id),
    );
    expect(next.body.paging.next).toBeUndefined();
  });

  it('answers id alone without fields, and error 100 for a field media do not have', async () => {
    expect((await get(`${account.igId}/media`, { limit: '1' })).body.data).toEqual([
      { id: '18000000000009000' },
    ]);
    const bad = await get('me/media', { fields: 'id,messages' });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body)).toEqual({
      message: '(#100) Tried accessing nonexisting field (messages) on node type (Media)',
      type: 'IGApiException',
      code: 100,
    });
  });

  it('expands the first comments of each media in the same call', async () => {
    const { body } = await get('me/media', {
      limit: '2',
      fields: 'id,comments.limit(10){id,text,from,like_count,hidden}',
    });
    expect(body.data[0]).toEqual({ id: '18000000000009000', comments: { data: [] } });
    const comments = body.data[1].comments;
    expect(comments.data).toHaveLength(10);
    expect(comments.data[0]).toEqual({
      id: '17900000000000000',
      text: 'Comment 0',
      from: { id: ana.igsid, username: 'ana.costa' },
      like_count: 0,
      hidden: false,
    });
    expect(comments.paging.next).toContain('/v25.0/18000000000000000/comments?');
    expect(sim.count()).toBe(1);
  });

  it('reads a carousel with its children, a video with its thumbnail, URLs carrying their expiry', async () => {
    const album = await get(carousel.id, {
      fields: 'media_type,media_url,permalink,children{id,media_type,media_url}',
    });
    const oe = Math.floor((T0 + 3 * DAY) / 1000)
      .toString(16)
      .toUpperCase();
    expect(album.body).toEqual({
      id: carousel.id,
      media_type: 'CAROUSEL_ALBUM',
      permalink: `https://www.instagram.com/p/${carousel.id.slice(-11)}/`,
      children: {
        data: carousel.children.map((id) => ({
          id,
          media_type: 'IMAGE',
          media_url: `https://scontent.cdninstagram.com/v/t51.29350-15/${id}_media_n.jpg?_nc_ht=scontent.cdninstagram.com&oe=${oe}`,
        })),
      },
    });
    const reel = sim.store.addMedia(account.igId, {
      id: '18000000000009200',
      mediaProductType: 'REELS',
    });
    const video = await get(reel.id, { fields: 'media_type,media_url,thumbnail_url' });
    expect(video.body).toEqual({
      id: reel.id,
      media_type: 'VIDEO',
      media_url: `https://scontent.cdninstagram.com/v/t51.29350-15/${reel.id}_media_n.mp4?_nc_ht=scontent.cdninstagram.com&oe=${oe}`,
      thumbnail_url: `https://scontent.cdninstagram.com/v/t51.29350-15/${reel.id}_thumbnail_n.jpg?_nc_ht=scontent.cdninstagram.com&oe=${oe}`,
    });
  });

  it('lists the stories of the last 24 hours only', async () => {
    const { body } = await get('me/stories', { fields: 'id,media_product_type,permalink' });
    expect(body.data).toEqual([
      {
        id: story.id,
        media_product_type: 'STORY',
        permalink: `https://www.instagram.com/stories/${story.id.slice(-11)}/`,
      },
    ]);
  });

  it('refuses another account’s media as a missing object', async () => {
    const other = sim.addAccount({ username: 'lumen.studio' }).account;
    const theirs = sim.store.addMedia(other.igId);
    const { status, body } = await get(theirs.id, { fields: 'id' });
    expect(status).toBe(400);
    expect(errorOf(body)).toMatchObject({ code: 100, error_subcode: 33 });
  });
});

describe('comment reads', () => {
  it('pages the comments of a media oldest first, top-level only, default fields timestamp and text', async () => {
    const first = posts[0] as SimMedia;
    const { body } = await get(`${first.id}/comments`, { limit: '5' });
    expect(body.data[0]).toEqual({
      id: '17900000000000000',
      timestamp: '2026-11-20T11:48:00+0000',
      text: 'Comment 0',
    });
    const all = await get(`${first.id}/comments`, { limit: '100', fields: 'id' });
    expect(all.body.data).toHaveLength(12);
    const next = await get(`${first.id}/comments`, {
      limit: '5',
      after: body.paging.cursors.after,
      fields: 'text',
    });
    expect(next.body.data[0]).toEqual({ id: '17900000000000005', text: 'Comment 5' });
  });

  it('reads a comment with its replies and a reply with its parent', async () => {
    const { body } = await get('17900000000000000', {
      fields: 'text,media,replies{id,text,from,parent_id}',
    });
    expect(body).toEqual({
      id: '17900000000000000',
      text: 'Comment 0',
      media: { id: (posts[0] as SimMedia).id, media_product_type: 'FEED' },
      replies: {
        data: [
          {
            id: '17900000000001000',
            text: 'Thanks!',
            from: { id: account.igId, username: 'northwind.shop' },
            parent_id: '17900000000000000',
          },
        ],
        paging: expect.any(Object),
      },
    });
    expect((await get('17900000000000000/replies', { fields: 'text' })).body.data).toEqual([
      { id: '17900000000001000', text: 'Thanks!' },
    ]);
  });

  it('needs instagram_business_manage_comments', async () => {
    const narrow = sim.store.issueToken(account.igId);
    (narrow.permissions as string[]).splice(
      narrow.permissions.indexOf('instagram_business_manage_comments'),
      1,
    );
    const res = await call('GET', `${(posts[0] as SimMedia).id}/comments`, {}, narrow.token);
    expect(errorOf(res.body)).toEqual({
      message: '(#200) Requires instagram_business_manage_comments permission to manage the object',
      type: 'IGApiException',
      code: 200,
    });
  });
});

describe('permissions of insights and the publishing limit (Instagram Login)', () => {
  const without = (permission: string) => {
    const narrow = sim.store.issueToken(account.igId);
    (narrow.permissions as string[]).splice(narrow.permissions.indexOf(permission), 1);
    return narrow.token;
  };

  it('account insights need instagram_business_manage_insights', async () => {
    const token = without('instagram_business_manage_insights');
    const query = { metric: 'reach', period: 'day', metric_type: 'total_value' };
    const res = await call('GET', `${account.igId}/insights`, query, token);
    expect(errorOf(res.body)).toEqual({
      message: '(#200) Requires instagram_business_manage_insights permission to manage the object',
      type: 'IGApiException',
      code: 200,
    });
  });

  it('the publishing limit needs instagram_business_content_publish', async () => {
    const token = without('instagram_business_content_publish');
    const res = await call('GET', `${account.igId}/content_publishing_limit`, {}, token);
    expect(errorOf(res.body)).toEqual({
      message: '(#200) Requires instagram_business_content_publish permission to manage the object',
      type: 'IGApiException',
      code: 200,
    });
  });
});

describe('comment writes', () => {
  it('comments on a media and raises the comments webhook with self_ig_scoped_id', async () => {
    const first = posts[0] as SimMedia;
    const { status, body } = await call('POST', `${first.id}/comments`, { message: 'Welcome!' });
    expect(status).toBe(200);
    const stored = sim.store.comments.get(body.id);
    expect(stored).toMatchObject({ text: 'Welcome!', fromIgsid: account.igId, mediaId: first.id });
    expect(Object.keys(body)).toEqual(['id']);
  });

  it('adds a reply to a reply to its top-level comment, and refuses a hidden one', async () => {
    const res = await call('POST', '17900000000001000/replies', { message: 'Again, thanks' });
    expect(sim.store.comments.get(res.body.id)?.parentId).toBe('17900000000000000');
    await call('POST', '17900000000000001', { hide: 'true' });
    const refused = await call('POST', '17900000000000001/replies', { message: 'Hi' });
    expect(errorOf(refused.body)).toEqual({
      message: '(#100) You cannot reply to a hidden comment',
      type: 'IGApiException',
      code: 100,
    });
  });

  it('hides and unhides a comment, but never the owner’s own', async () => {
    expect((await call('POST', '17900000000000002', { hide: 'true' })).body).toEqual({
      success: true,
    });
    expect((await get('17900000000000002', { fields: 'hidden' })).body.hidden).toBe(true);
    await call('POST', '17900000000000002', { hide: 'false' });
    expect(sim.store.comments.get('17900000000000002')?.hidden).toBe(false);
    expect(errorOf((await call('POST', '17900000000000002', {})).body).code).toBe(100);
    expect(errorOf((await call('POST', '17900000000001000', { hide: 'true' })).body).code).toBe(
      100,
    );
  });

  it('deletes a comment with its replies', async () => {
    expect((await call('DELETE', '17900000000000000')).body).toEqual({ success: true });
    expect(sim.store.comments.has('17900000000000000')).toBe(false);
    expect(sim.store.comments.has('17900000000001000')).toBe(false);
    const gone = await get('17900000000000000');
    expect(errorOf(gone.body)).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it.each([
    ['x'.repeat(301), '(#100) The comment cannot exceed 300 characters'],
    ['#a #b #c #d #e', '(#100) The comment cannot contain more than 4 hashtags'],
    ['https://a.example https://b.example', '(#100) The comment cannot contain more than 1 URL'],
    ['HELLO THERE', '(#100) The comment cannot consist of all capital letters'],
    ['', '(#100) The parameter message is required'],
  ])('refuses the comment %#', async (message, expected) => {
    const res = await call('POST', `${(posts[0] as SimMedia).id}/comments`, { message });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toEqual({ message: expected, type: 'IGApiException', code: 100 });
  });

  it('refuses comments on a story and on a media with comments disabled', async () => {
    expect(
      errorOf((await call('POST', `${story.id}/comments`, { message: 'Hi' })).body),
    ).toMatchObject({
      code: 100,
      error_subcode: 33,
    });
    (posts[1] as SimMedia).commentsEnabled = false;
    const res = await call('POST', `${(posts[1] as SimMedia).id}/comments`, { message: 'Hi' });
    expect(errorOf(res.body)).toEqual({
      message: '(#100) Comments are disabled on this media',
      type: 'IGApiException',
      code: 100,
    });
  });
});

describe('insights', () => {
  it('answers lifetime metrics of a media in Graph’s shape', async () => {
    const first = posts[0] as SimMedia;
    const { status, body } = await get(`${first.id}/insights`, { metric: 'likes,comments' });
    expect(status).toBe(200);
    expect(body).toEqual({
      data: [
        {
          name: 'likes',
          period: 'lifetime',
          values: [{ value: 0 }],
          title: 'likes',
          id: `${first.id}/insights/likes/lifetime`,
        },
        {
          name: 'comments',
          period: 'lifetime',
          values: [{ value: 13 }],
          title: 'comments',
          id: `${first.id}/insights/comments/lifetime`,
        },
      ],
    });
  });

  it('refuses a retired or unsupported metric, carousel items, and stories seen by fewer than 5', async () => {
    const first = posts[0] as SimMedia;
    expect(
      errorOf((await get(`${first.id}/insights`, { metric: 'impressions,replies' })).body),
    ).toEqual({
      message:
        '(#100) The Media Insights API does not support the impressions, replies metric for this media product type.',
      type: 'IGApiException',
      code: 100,
    });
    const item = carousel.children[0] as string;
    expect(errorOf((await get(`${item}/insights`, { metric: 'reach' })).body).code).toBe(100);
    expect(errorOf((await get(`${story.id}/insights`, { metric: 'reach' })).body)).toEqual({
      message: '(#10) Not enough viewers for the media to show insights.',
      type: 'IGApiException',
      code: 10,
    });
  });

  it('answers account totals, and refuses mixed metric types and ranges over 30 days', async () => {
    const until = String(Math.floor(T0 / 1000));
    const ok = await get('me/insights', {
      metric: 'likes',
      period: 'day',
      metric_type: 'total_value',
      until,
    });
    expect(ok.body.data[0]).toEqual({
      name: 'likes',
      period: 'day',
      title: 'likes',
      total_value: { value: 435 },
      id: `${account.igId}/insights/likes/day`,
    });
    const mixed = await get('me/insights', {
      metric: 'follower_count',
      period: 'day',
      metric_type: 'total_value',
    });
    expect(errorOf(mixed.body).message).toBe(
      '(#100) The following metrics (follower_count) should be specified without the metric_type=total_value parameter.',
    );
    const long = await get('me/insights', {
      metric: 'reach',
      period: 'day',
      since: String(Math.floor(T0 / 1000) - 31 * 86400),
      until,
    });
    expect(errorOf(long.body).message).toBe(
      '(#100) There cannot be more than 30 days (2592000 s) between since and until',
    );
  });
});

describe('live videos and others’ media', () => {
  it('lists a live video in live_media only while it is broadcast, never in media', async () => {
    const live = sim.store.addMedia(account.igId, { mediaProductType: 'LIVE' });
    const fields = { fields: 'id,media_type,media_product_type' };
    expect((await get('me/live_media', fields)).body.data).toEqual([
      { id: live.id, media_type: 'BROADCAST', media_product_type: 'LIVE' },
    ]);
    const listed = await get('me/media', { fields: 'id', limit: '50' });
    expect(listed.body.data.map((m: { id: string }) => m.id)).not.toContain(live.id);
    endBroadcast(sim.store, live.id);
    expect((await get('me/live_media', fields)).body.data).toEqual([]);
    expect(() => sim.users.comment(account.igId, live.id, ana.igsid, 'Still on?')).toThrow(
      `the live video ${live.id} ended`,
    );
  });

  it('refuses to read a user’s own post, where the account is mentioned, as a missing object', async () => {
    const theirs = sim.users.post(account.igId, ana.igsid, 'Shopping at @northwind.shop');
    const { status, body } = await get(theirs.id, { fields: 'id,caption' });
    expect(status).toBe(400);
    expect(errorOf(body)).toMatchObject({ code: 100, error_subcode: 33 });
  });
});
