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
          attachments: [{ type: 'image', url: 'https://image-url/foo.png' }],
        }),
        { igId: '1234567890', igsid: '5678', sent: false, at: 1459991487970 },
      ),
    ).toEqual({
      ...detail,
      mid: 'external_id',
      createdTime: 1459991487970,
      from: { igsid: '5678', username: null },
      to: [{ igsid: '1234567890', username: null }],
      attachments: [attachment('IMAGE', 'https://image-url/foo.png')],
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

  it('an unsupported attachment (restfb): no attachment, an unsupported message', () => {
    const item = itemOf('webhook-messages-unsupported-attachment-restfb.json');
    const url = item?.message.attachments?.[0]?.payload?.url ?? null;
    expect(
      fromWebhook(
        webhookMessage({ mid: 'm', attachments: [{ type: 'unsupported_type', url }] }),
        inbound(1),
      ),
    ).toMatchObject({ attachments: [], isUnsupported: true });
  });

  it('the heart sticker (courier, no payload) and a story mention (courier)', () => {
    expect(
      fromWebhook(
        webhookMessage({
          mid: 'm',
          attachments: [
            { type: 'like_heart', url: null },
            { type: 'story_mention', url: 'https://story-url' },
          ],
        }),
        inbound(1),
      ).attachments,
    ).toEqual([attachment('IMAGE', null), attachment('STORY_MENTION', 'https://story-url')]);
  });

  it('a post share: the legacy `share` alone is a POST; beside `ig_post`, shown once', () => {
    // webhooks/new: "Starting November 3, 2025, the webhook payload for Instagram post shares
    // will include two attachments: the existing share attachment and a new ig_post
    // attachment"; both carry the post's CDN URL.
    const url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18139494541428835';
    const share = { type: 'share', url };
    const post = { type: 'ig_post', url };
    const kinds = (attachments: WebhookMessage['attachments']) =>
      fromWebhook(webhookMessage({ mid: 'm', attachments }), inbound(1)).attachments;
    expect(kinds([share])).toEqual([attachment('POST', url)]);
    expect(kinds([share, post])).toEqual([attachment('POST', url)]);
    expect(kinds([post])).toEqual([attachment('POST', url)]);
    expect(kinds([{ type: 'ig_reel', url }])).toEqual([attachment('REEL', url)]);
  });

  it('a template echo (real, another app) is no attachment', () => {
    expect(
      fromWebhook(webhookMessage({ mid: 'm', attachments: [{ type: 'template', url: null }] }), {
        ...inbound(1),
        sent: true,
      }).attachments,
    ).toEqual([]);
  });

  it('a body naming no customer: no participant on that side', () => {
    const message = fromWebhook(webhookMessage({ mid: 'm' }), { ...inbound(1), igsid: null });
    expect([message.from, message.to]).toEqual([null, [{ igsid: IG, username: null }]]);
  });
});
