import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PUBLISHING_LIMIT, VIDEO_PROCESSING_MS } from '../../src/sandbox/publishing.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, DAY, type SimAccount, type SimToken } from '../../src/sandbox/store.ts';
import type { Loose } from './loose.ts';

const T0 = Date.parse('2026-11-20T12:00:00Z');

let sim: Simulator;
let account: SimAccount;
let token: SimToken;

async function call(method: string, path: string, query: Record<string, string> = {}) {
  const params = new URLSearchParams(query);
  const res = await fetch(`${sim.url}/v25.0/${path}?${params}`, {
    method,
    headers: { authorization: `Bearer ${token.token}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, Loose> };
}

const errorOf = (body: Record<string, Loose>) => {
  const { fbtrace_id: _trace, ...rest } = body.error;
  return rest;
};

const IMAGE = 'https://cdn.example.com/shirt.jpg';
const VIDEO = 'https://cdn.example.com/shirt.mp4';

beforeEach(async () => {
  sim = new Simulator({ appSecret: 'app-secret', rateLimits: false, clock: createClock(T0, true) });
  ({ account, token } = sim.addAccount({ username: 'northwind.shop' }));
  await sim.start();
});

afterEach(async () => {
  await sim.stop();
});

describe('content publishing', () => {
  it('publishes an image: container FINISHED at once, then a feed post', async () => {
    const created = await call('POST', 'me/media', { image_url: IMAGE, caption: 'New in' });
    expect(created.status).toBe(200);
    const id = created.body.id as string;
    expect((await call('GET', id, { fields: 'status_code' })).body).toEqual({
      id,
      status_code: 'FINISHED',
    });
    const published = await call('POST', 'me/media_publish', { creation_id: id });
    expect(published.status).toBe(200);
    const media = sim.store.media.get(published.body.id);
    expect(media).toMatchObject({
      caption: 'New in',
      mediaType: 'IMAGE',
      mediaProductType: 'FEED',
    });
    expect((await call('GET', id, { fields: 'status_code' })).body.status_code).toBe('PUBLISHED');
    const again = await call('POST', 'me/media_publish', { creation_id: id });
    expect(errorOf(again.body)).toMatchObject({ code: 9007, error_subcode: 2207027 });
  });

  it('processes a reel before it can be published', async () => {
    const { body } = await call('POST', 'me/media', { video_url: VIDEO, media_type: 'REELS' });
    expect((await call('GET', body.id, { fields: 'status_code' })).body.status_code).toBe(
      'IN_PROGRESS',
    );
    const early = await call('POST', 'me/media_publish', { creation_id: body.id });
    expect(errorOf(early.body)).toEqual({
      message: 'Media ID is not available',
      type: 'IGApiException',
      code: 9007,
      error_subcode: 2207027,
      error_user_msg: 'The media is not ready for publishing, please wait for a moment',
    });
    sim.clock.advance(VIDEO_PROCESSING_MS);
    const published = await call('POST', 'me/media_publish', { creation_id: body.id });
    expect(sim.store.media.get(published.body.id)).toMatchObject({
      mediaType: 'VIDEO',
      mediaProductType: 'REELS',
    });
  });

  it('publishes a carousel of items, and refuses a carousel of one', async () => {
    const a = (await call('POST', 'me/media', { image_url: IMAGE, is_carousel_item: 'true' })).body
      .id;
    const b = (
      await call('POST', 'me/media', {
        video_url: VIDEO,
        media_type: 'VIDEO',
        is_carousel_item: 'true',
      })
    ).body.id;
    const one = await call('POST', 'me/media', { media_type: 'CAROUSEL', children: a });
    expect(errorOf(one.body).message).toBe(
      '(#100) A carousel has 2 to 10 children (param children)',
    );
    const album = await call('POST', 'me/media', {
      media_type: 'CAROUSEL',
      children: `${a},${b}`,
      caption: 'Both',
    });
    expect((await call('GET', album.body.id, { fields: 'status_code' })).body.status_code).toBe(
      'IN_PROGRESS',
    );
    sim.clock.advance(VIDEO_PROCESSING_MS);
    const published = await call('POST', 'me/media_publish', { creation_id: album.body.id });
    const media = sim.store.media.get(published.body.id);
    expect(media?.mediaType).toBe('CAROUSEL_ALBUM');
    expect(media?.children.map((id) => sim.store.media.get(id)?.mediaType)).toEqual([
      'IMAGE',
      'VIDEO',
    ]);
  });

  it('reports an unfetchable URL as ERROR, and a container of 24 hours as EXPIRED', async () => {
    const bad = await call('POST', 'me/media', { image_url: 'https://cdn.example.invalid/x.jpg' });
    expect((await call('GET', bad.body.id, { fields: 'status_code,status' })).body).toEqual({
      id: bad.body.id,
      status_code: 'ERROR',
      status: 'Error: Media download has failed. The media URI doesn’t meet our requirements.',
    });
    const old = await call('POST', 'me/media', { image_url: IMAGE });
    sim.clock.advance(DAY);
    expect((await call('GET', old.body.id, { fields: 'status_code' })).body.status_code).toBe(
      'EXPIRED',
    );
  });

  it('refuses bad containers', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, '(#100) Give exactly one of the parameters image_url and video_url'],
      [
        { video_url: VIDEO },
        '(#100) A video needs media_type REELS or STORIES (or VIDEO for a carousel item)',
      ],
      [
        { image_url: 'http://cdn.example.com/a.jpg' },
        '(#100) The media URL must be a public https URL',
      ],
      [
        { image_url: IMAGE, caption: '#a '.repeat(31) },
        '(#100) The caption cannot contain more than 30 hashtags',
      ],
    ];
    for (const [query, message] of cases) {
      expect(errorOf((await call('POST', 'me/media', query)).body).message).toBe(message);
    }
  });

  it('counts the rolling 24-hour quota and refuses past it', async () => {
    for (let i = 0; i < PUBLISHING_LIMIT; i++) {
      const { body } = await call('POST', 'me/media', { image_url: IMAGE });
      await call('POST', 'me/media_publish', { creation_id: body.id });
    }
    expect(
      (await call('GET', 'me/content_publishing_limit', { fields: 'quota_usage,config' })).body,
    ).toEqual({
      data: [
        { quota_usage: PUBLISHING_LIMIT, config: { quota_total: 100, quota_duration: 86400 } },
      ],
    });
    const { body } = await call('POST', 'me/media', { image_url: IMAGE });
    const refused = await call('POST', 'me/media_publish', { creation_id: body.id });
    expect(errorOf(refused.body)).toMatchObject({ code: 9, error_subcode: 2207042 });
    sim.clock.advance(DAY);
    expect((await call('GET', `${account.igId}/content_publishing_limit`)).body).toEqual({
      data: [{ quota_usage: 0 }],
    });
  });
});
