import { describe, expect, it } from 'vitest';
import {
  type Attachment,
  attachment,
  kindOfGraphAttachment,
  kindOfShareLink,
  kindOfType,
  templateOf,
  upgradeAttachment,
  webhookAttachment,
} from '../../src/inbox/attachments.ts';

describe('the attachment classifier', () => {
  it("names Meta's types of webhooks and sends (WHX, webhooks/new, MSG)", () => {
    const types = [
      'image',
      'like_heart',
      'video',
      'audio',
      'file',
      'ig_post',
      'share',
      'MEDIA_SHARE',
      'ig_reel',
      'reel',
      'story_mention',
      'unsupported_type',
      'template',
      'fallback',
      'ig_story',
      'story',
      'media',
      'constructor',
      'IMAGE',
    ];
    expect(Object.fromEntries(types.map((t) => [t, kindOfType(t)]))).toEqual({
      image: 'IMAGE',
      like_heart: 'IMAGE',
      video: 'VIDEO',
      audio: 'AUDIO',
      file: 'FILE',
      ig_post: 'POST',
      // The legacy post share (WHX; webhooks/new): a post, as Graph lists it.
      share: 'POST',
      // A sent "Published post" (MSG): a post, as Graph lists it once sent.
      MEDIA_SHARE: 'POST',
      ig_reel: 'REEL',
      reel: 'REEL',
      story_mention: 'STORY_MENTION',
      unsupported_type: null,
      template: null,
      fallback: null,
      ig_story: null,
      story: null,
      media: null,
      constructor: null,
      IMAGE: null,
    });
  });

  it('tells a Graph attachment by its data, then its MIME type (MSGREF)', () => {
    expect([
      kindOfGraphAttachment({ image_data: { url: 'https://cdn.test/i' }, mime_type: 'image/jpeg' }),
      kindOfGraphAttachment({ video_data: { url: 'https://cdn.test/v' }, mime_type: 'video/mp4' }),
      kindOfGraphAttachment({ mime_type: 'image/png' }),
      kindOfGraphAttachment({ mime_type: 'audio/mpeg', file_url: 'https://cdn.test/a' }),
      kindOfGraphAttachment({ mime_type: 'application/pdf', file_url: 'https://cdn.test/f' }),
      kindOfGraphAttachment({ file_url: 'https://cdn.test/f' }),
      // restfb's template of every field: image_data wins.
      kindOfGraphAttachment({
        image_data: { url: '<CDN_URL>' },
        video_data: { url: '<CDN_URL>' },
        file_url: '<CDN_URL>',
      }),
    ]).toEqual(['IMAGE', 'VIDEO', 'IMAGE', 'AUDIO', 'FILE', 'FILE', 'IMAGE']);
  });

  it('tells a Graph share by its permalink; any other link is a SHARE (CONV)', () => {
    expect(
      [
        'https://www.instagram.com/p/C1abcdefghi/',
        'https://www.instagram.com/reel/C1abcdefghi/',
        'https://www.instagram.com/northwind.shop/p/C1abcdefghi/',
        // "Shares give only the image or video URL" (CONV): not a post a link can prove.
        'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18139494541428835',
        'https://example.com/news/article',
        'https://example.com/?next=/p/abc/',
        '<URL>',
        null,
      ].map(kindOfShareLink),
    ).toEqual(['POST', 'REEL', 'POST', 'SHARE', 'SHARE', 'SHARE', 'SHARE', 'SHARE']);
  });

  it('gives every field, null where not given', () => {
    expect(attachment('STORY_REPLY', null, { storyId: '1' })).toEqual({
      kind: 'STORY_REPLY',
      type: null,
      url: null,
      previewUrl: null,
      name: null,
      mimeType: null,
      storyId: '1',
      mediaId: null,
      title: null,
      template: null,
      raw: null,
    });
  });

  it('reads an attachment stored before the new fields with them null', () => {
    const stored = { kind: 'IMAGE', url: 'https://cdn.test/i', previewUrl: null, name: null };
    expect(upgradeAttachment(stored as unknown as Attachment)).toEqual(
      attachment('IMAGE', 'https://cdn.test/i'),
    );
    const current = attachment('POST', null, { type: 'ig_post' });
    expect(upgradeAttachment(current)).toBe(current);
  });

  it('types every webhook attachment; none is ever dropped', () => {
    expect(
      ['image', 'like_heart', 'ig_post', 'share', 'ig_reel', 'reel', 'story_mention', 'ig_story']
        .concat(['story', 'template', 'unsupported_type', 'fallback', 'media', 'constructor'])
        .map((type) => webhookAttachment({ type }).kind),
    ).toEqual([
      'IMAGE',
      'IMAGE',
      'POST',
      'POST',
      'REEL',
      'REEL',
      'STORY_MENTION',
      'STORY',
      'STORY',
      'TEMPLATE',
      'UNSUPPORTED',
      'FALLBACK',
      'UNKNOWN',
      'UNKNOWN',
    ]);
  });

  it('reads a template nested under its type, a product list in Graph’s data wrapper', () => {
    expect(
      templateOf({
        product: { elements: { data: [{ id: '1', name: 'Some product', image_url: 'u' }] } },
      }),
    ).toEqual({
      templateType: 'product',
      text: null,
      elements: [{ title: null, subtitle: null, imageUrl: 'u', defaultAction: null, buttons: [] }],
      buttons: [],
    });
  });
});

describe('webhook attachments keep what their type does not read', () => {
  it('a typed attachment with nothing more keeps no raw copy', () => {
    expect(webhookAttachment({ type: 'image', payload: { url: 'https://cdn/x.jpg' } })).toEqual(
      attachment('IMAGE', 'https://cdn/x.jpg', { type: 'image' }),
    );
  });

  it('a sticker id beside the url is kept whole in raw', () => {
    const received = {
      type: 'image',
      payload: { url: 'https://cdn/s.png', sticker_id: 369239263222822 },
    };
    expect(webhookAttachment(received)).toEqual(
      attachment('IMAGE', 'https://cdn/s.png', { type: 'image', raw: received }),
    );
  });

  it('a media template (no cards igql reads) is a TEMPLATE with the template kept whole', () => {
    const received = {
      type: 'template',
      payload: {
        template_type: 'media',
        elements: [{ media_type: 'image', url: 'https://www.instagram.com/p/C1/' }],
      },
    };
    const typed = webhookAttachment(received);
    expect(typed.kind).toBe('TEMPLATE');
    expect(typed.template?.templateType).toBe('media');
    expect(typed.raw).toEqual(received);
  });
});
