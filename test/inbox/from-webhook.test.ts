import { describe, expect, it } from 'vitest';
import { attachment } from '../../src/inbox/attachments.ts';
import { fromWebhook, type WebhookMessage } from '../../src/inbox/from-webhook.ts';
import { fixture } from '../helpers/fixtures.ts';

/** The one messaging item of a webhook fixture. */
const itemOf = (name: string) =>
  (
    fixture(name) as {
      entry: {
        messaging: {
          timestamp: number;
          message: {
            mid: string;
            text?: string;
            attachments?: { type: string; payload?: { url: string } }[];
            reply_to?: { story: { url: string; id: string } };
          };
        }[];
      }[];
    }
  ).entry[0]?.messaging[0];

/** A webhook message with the given fields, nothing else. */
const webhookMessage = (fields: Partial<WebhookMessage> & { mid: string }): WebhookMessage => ({
  text: null,
  attachments: [],
  replyTo: null,
  isUnsupported: false,
  ...fields,
});

const IG = '17841400000000001';
const IGSID = '5614879045272581';
const inbound = (at: number) => ({ igId: IG, igsid: IGSID, sent: false, at });
const detail = {
  detailAvailable: true,
  text: null,
  attachments: [],
  reactions: [],
  replyTo: null,
  isUnsupported: false,
};

describe('fromWebhook', () => {
  it('an image (courier): from the customer to the account, to the millisecond', () => {
    expect(
      fromWebhook(
        webhookMessage({
          mid: 'external_id',
          attachments: [{ type: 'image', payload: { url: 'https://image-url/foo.png' } }],
        }),
        { igId: '1234567890', igsid: '5678', sent: false, at: 1459991487970 },
      ),
    ).toEqual({
      ...detail,
      mid: 'external_id',
      createdTime: 1459991487970,
      from: { igsid: '5678', username: null },
      to: [{ igsid: '1234567890', username: null }],
      attachments: [attachment('IMAGE', 'https://image-url/foo.png', { type: 'image' })],
    });
  });

  it('keeps the milliseconds of the timestamp', () => {
    const message = fromWebhook(webhookMessage({ mid: 'm', text: 'hi' }), inbound(1764374400123));
    expect(new Date(message.createdTime).toISOString()).toBe('2025-11-29T00:00:00.123Z');
  });

  it('an echo: from the account to the customer; no text is null', () => {
    expect(
      fromWebhook(webhookMessage({ mid: 'qT7ywaK', text: '' }), {
        ...inbound(1000),
        sent: true,
      }),
    ).toEqual({
      ...detail,
      mid: 'qT7ywaK',
      createdTime: 1000,
      from: { igsid: IG, username: null },
      to: [{ igsid: IGSID, username: null }],
    });
  });

  it('a real story reply: the story as a STORY_REPLY attachment, the text kept', () => {
    const item = itemOf('webhook-messages-story-reply-real.json');
    const story = item?.message.reply_to?.story ?? { url: '', id: '' };
    const message = fromWebhook(
      webhookMessage({
        mid: item?.message.mid ?? '',
        text: item?.message.text ?? null,
        replyTo: { story },
      }),
      inbound(item?.timestamp ?? 0),
    );
    expect(message).toMatchObject({
      createdTime: 1726326309755,
      text: 'i’m waiting for the giveawayyyyyyyyyyy🥹🥹🥹🥹🥹🥹🥹🥹🥹🥹🥹',
      attachments: [attachment('STORY_REPLY', story.url, { storyId: '17927261066947525' })],
      replyTo: null,
    });
  });

  it('a reply to a message: its mid', () => {
    expect(
      fromWebhook(webhookMessage({ mid: 'm.2', replyTo: { mid: 'm.1' } }), inbound(1)).replyTo,
    ).toBe('m.1');
  });

  it('an unsupported attachment (restfb): kept, and the message unsupported', () => {
    const item = itemOf('webhook-messages-unsupported-attachment-restfb.json');
    const url = item?.message.attachments?.[0]?.payload?.url ?? null;
    expect(
      fromWebhook(
        webhookMessage({ mid: 'm', attachments: item?.message.attachments ?? [] }),
        inbound(1),
      ),
    ).toMatchObject({
      attachments: [attachment('UNSUPPORTED', url, { type: 'unsupported_type' })],
      isUnsupported: true,
    });
  });

  it('the heart sticker (courier, no payload) and a story mention (courier)', () => {
    expect(
      fromWebhook(
        webhookMessage({
          mid: 'm',
          attachments: [
            { type: 'like_heart' },
            { type: 'story_mention', payload: { url: 'https://story-url' } },
          ],
        }),
        inbound(1),
      ).attachments,
    ).toEqual([
      attachment('IMAGE', null, { type: 'like_heart' }),
      attachment('STORY_MENTION', 'https://story-url', { type: 'story_mention' }),
    ]);
  });

  it('a post share: `ig_post` with media id and title; the legacy `share` alone or beside it', () => {
    // webhooks/new: from November 3, 2025 post shares came as the existing `share` and a new
    // `ig_post`, both with media id, title and url; `share` is gone since 2026-04-27 (§10).
    const url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18139494541428835';
    const payload = { ig_post_media_id: '18139494541428835', title: 'Build a workspace', url };
    const share = { type: 'share', payload };
    const post = { type: 'ig_post', payload };
    const detail = { mediaId: '18139494541428835', title: 'Build a workspace' };
    const attachments = (received: unknown[]) =>
      fromWebhook(webhookMessage({ mid: 'm', attachments: received }), inbound(1)).attachments;
    expect(attachments([post])).toEqual([attachment('POST', url, { type: 'ig_post', ...detail })]);
    expect(attachments([share, post])).toEqual([
      attachment('POST', url, { type: 'ig_post', ...detail }),
    ]);
    expect(attachments([share])).toEqual([attachment('POST', url, { type: 'share', ...detail })]);
    // An older `share` carried its url alone.
    expect(attachments([{ type: 'share', payload: { url } }])).toEqual([
      attachment('POST', url, { type: 'share' }),
    ]);
    expect(
      attachments([{ type: 'ig_reel', payload: { reel_video_id: 1800, title: 'R', url } }]),
    ).toEqual([attachment('REEL', url, { type: 'ig_reel', mediaId: '1800', title: 'R' })]);
  });

  it('a template echo (real, another app): its cards, actions and buttons', () => {
    const item = itemOf('webhook-messages-echo-generic-template-real.json');
    const [template] = fromWebhook(
      webhookMessage({ mid: 'm', attachments: item?.message.attachments ?? [] }),
      { ...inbound(1), sent: true },
    ).attachments;
    expect(template?.kind).toBe('TEMPLATE');
    expect(template?.template?.templateType).toBe('generic');
    expect(template?.template?.elements.map((e) => [e.title, e.buttons.length])).toEqual([
      ['Pilgrim Redensyl 3% + Anagain...', 2],
      ['Wishlink', 1],
    ]);
  });

  it('a sent template (GT, BT): its template_type, cards or text and buttons', () => {
    const sent = (payload: unknown) =>
      fromWebhook(
        webhookMessage({ mid: 'm', attachments: [{ type: 'template', payload }] }),
        inbound(1),
      ).attachments[0]?.template;
    expect(
      sent({
        template_type: 'generic',
        elements: [
          {
            title: 'Linen shirt',
            default_action: { type: 'web_url', url: 'https://shop.test/l' },
            buttons: [{ type: 'postback', title: 'Ask', payload: 'HUMAN' }],
          },
        ],
      }),
    ).toEqual({
      templateType: 'generic',
      text: null,
      elements: [
        {
          title: 'Linen shirt',
          subtitle: null,
          imageUrl: null,
          defaultAction: { type: 'web_url', url: 'https://shop.test/l' },
          buttons: [{ type: 'postback', title: 'Ask', url: null, payload: 'HUMAN' }],
        },
      ],
      buttons: [],
    });
    expect(
      sent({
        template_type: 'button',
        text: 'Track',
        buttons: [{ type: 'web_url', url: 'https://shop.test/t', title: 'Go' }],
      }),
    ).toEqual({
      templateType: 'button',
      text: 'Track',
      elements: [],
      buttons: [{ type: 'web_url', title: 'Go', url: 'https://shop.test/t', payload: null }],
    });
  });

  it('stories, fallbacks and types nobody knows yet: typed or kept whole, never dropped', () => {
    const future = { type: 'ig_hologram', payload: { url: 'https://cdn.test/h', depth: 3 } };
    expect(
      fromWebhook(
        webhookMessage({
          mid: 'm',
          attachments: [
            { type: 'ig_story', payload: { url: 'https://cdn.test/s', id: '1801' } },
            { type: 'story', payload: { url: 'https://cdn.test/s2' } },
            { type: 'fallback', payload: { url: 'https://example.com/a', title: 'An article' } },
            future,
            { type: 'media', payload: { url: 'https://cdn.test/m' } },
            'not an object',
            { payload: {} },
          ],
        }),
        inbound(1),
      ).attachments,
    ).toEqual([
      attachment('STORY', 'https://cdn.test/s', { type: 'ig_story', storyId: '1801' }),
      attachment('STORY', 'https://cdn.test/s2', { type: 'story' }),
      attachment('FALLBACK', 'https://example.com/a', { type: 'fallback', title: 'An article' }),
      attachment('UNKNOWN', 'https://cdn.test/h', { type: 'ig_hologram', raw: future }),
      attachment('UNKNOWN', 'https://cdn.test/m', {
        type: 'media',
        raw: { type: 'media', payload: { url: 'https://cdn.test/m' } },
      }),
      attachment('UNKNOWN', null, { raw: 'not an object' }),
      attachment('UNKNOWN', null, { raw: { payload: {} } }),
    ]);
  });

  it('a body naming no customer: no participant on that side', () => {
    const message = fromWebhook(webhookMessage({ mid: 'm' }), { ...inbound(1), igsid: null });
    expect([message.from, message.to]).toEqual([null, [{ igsid: IG, username: null }]]);
  });
});
