import { describe, expect, it } from 'vitest';
import { attachment } from '../../src/inbox/attachments.ts';
import { fromGraph } from '../../src/inbox/from-graph.ts';
import type { GraphMessage } from '../../src/instagram/graph.ts';
import { fixture, fixtureText } from '../helpers/fixtures.ts';

const graphMessage = (name: string) => fixture(name) as GraphMessage;

describe('fromGraph', () => {
  it('a message detail (Postman): text, from and to with usernames, whole seconds', () => {
    expect(fromGraph(graphMessage('api-message-detail-postman.json'))).toEqual({
      mid: 'messageID1',
      createdTime: Date.parse('2025-07-28T22:44:49Z'),
      detailAvailable: true,
      from: { igsid: 'id/igsid_of_sender', username: 'username_of_sender' },
      to: [{ igsid: 'id/igsid_of_recipient', username: 'username_of_recipient' }],
      text: 'hi',
      attachments: [],
      reactions: [],
      replyTo: null,
      isUnsupported: false,
    });
  });

  it('a real story reply (restfb): the story as a STORY_REPLY attachment', () => {
    const data = graphMessage('api-message-story-reply-restfb.json');
    expect(fromGraph(data)).toEqual({
      mid: data.id,
      createdTime: Date.parse('2021-06-15T22:08:01Z'),
      detailAvailable: true,
      from: { igsid: '123456789', username: 'some_username' },
      to: [],
      text: 'Nice shot !👍🏼',
      attachments: [
        attachment('STORY_REPLY', data.story?.reply_to?.link ?? '', {
          storyId: '18074819347285670',
        }),
      ],
      reactions: [],
      replyTo: null,
      isUnsupported: false,
    });
  });

  it('every field (restfb template): attachments, a shared product, both stories, reactions', () => {
    // The template's time placeholder filled in, as the fixtures README allows.
    const data = JSON.parse(
      fixtureText('api-message-all-fields-restfb.json').replace(
        '<TIMESTAMP>',
        '2026-11-20T11:50:00+0000',
      ),
    ) as GraphMessage;
    const user = { igsid: '<IGSID|IGID>', username: '<IG_USERNAME>' };
    expect(fromGraph(data)).toEqual({
      mid: '<MESSAGE_ID>',
      createdTime: Date.parse('2026-11-20T11:50:00Z'),
      detailAvailable: true,
      from: user,
      to: [user],
      text: '<MESSAGE_TEXT>',
      attachments: [
        attachment('IMAGE', '<CDN_URL>'),
        // A shared product template: what igql reads of it (its cards have no title), and all
        // of it as received (name, price).
        attachment('TEMPLATE', '<URL>', {
          template: {
            templateType: 'product',
            text: null,
            elements: [
              {
                title: null,
                subtitle: null,
                imageUrl: 'https://fb.cdn.com/sdsd',
                defaultAction: null,
                buttons: [],
              },
            ],
            buttons: [],
          },
          raw: data.shares?.data[0]?.template,
        }),
        attachment('STORY_REPLY', '<CDN_URL>', { storyId: '<STORY_ID>' }),
        attachment('STORY_MENTION', '<CDN_URL>', { storyId: '<STORY_ID>' }),
      ],
      reactions: [{ reaction: 'love', emoji: '❤', by: user }],
      replyTo: null,
      // The template writes "true" as a string; Graph answers a boolean (Postman): not true.
      isUnsupported: false,
    });
  });

  it('messages past the 20 newest (Postman): id and time only', () => {
    const page = fixture('api-conversation-messages-postman.json') as {
      messages: { data: GraphMessage[] };
    };
    expect(page.messages.data.slice(0, 2).map(fromGraph)).toEqual([
      {
        mid: 'messageID1',
        createdTime: Date.parse('2025-07-28T22:44:49Z'),
        detailAvailable: false,
        from: null,
        to: [],
        text: null,
        attachments: [],
        reactions: [],
        replyTo: null,
        isUnsupported: false,
      },
      expect.objectContaining({ mid: 'messageID2', detailAvailable: false }),
    ]);
  });

  it('media with previews, audio and files with names, a sticker, shares, a reply', () => {
    const lookaside = (id: string) =>
      `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${id}`;
    expect(
      fromGraph({
        id: 'm.1',
        created_time: '2026-11-20T11:50:00+0000',
        from: { id: '5614879045272581' },
        message: '',
        attachments: {
          data: [
            {
              mime_type: 'image/jpeg',
              image_data: { url: lookaside('1'), preview_url: lookaside('1p') },
            },
            { mime_type: 'video/mp4', video_data: { url: lookaside('2') } },
            { mime_type: 'audio/mpeg', name: 'voice.mp4', file_url: lookaside('3') },
            { mime_type: 'application/pdf', name: 'invoice.pdf', file_url: lookaside('4') },
            { mime_type: 'image/png', name: 'like_heart-5' },
          ],
        },
        shares: {
          data: [
            { link: 'https://www.instagram.com/p/C1abcdefghi/', name: 'Post' },
            { link: 'https://www.instagram.com/reel/C1abcdefghi/', name: 'Reel' },
            { link: 'https://example.com/news/article' },
            {},
          ],
        },
        reply_to: { mid: 'm.0', is_self_reply: false },
        is_unsupported: false,
      }),
    ).toEqual({
      mid: 'm.1',
      createdTime: Date.parse('2026-11-20T11:50:00Z'),
      detailAvailable: true,
      from: { igsid: '5614879045272581', username: null },
      to: [],
      text: null,
      attachments: [
        attachment('IMAGE', lookaside('1'), { previewUrl: lookaside('1p') }),
        attachment('VIDEO', lookaside('2')),
        attachment('AUDIO', lookaside('3'), { name: 'voice.mp4', mimeType: 'audio/mpeg' }),
        attachment('FILE', lookaside('4'), { name: 'invoice.pdf', mimeType: 'application/pdf' }),
        attachment('IMAGE', null),
        attachment('POST', 'https://www.instagram.com/p/C1abcdefghi/'),
        attachment('REEL', 'https://www.instagram.com/reel/C1abcdefghi/'),
        attachment('SHARE', 'https://example.com/news/article'),
        attachment('SHARE', null),
      ],
      reactions: [],
      replyTo: 'm.0',
      isUnsupported: false,
    });
  });
});

describe('templates read from Graph', () => {
  it('an attachment’s generic_template is a TEMPLATE, read and kept whole', () => {
    const generic = {
      template_type: 'generic',
      elements: [{ title: 'Ring', subtitle: '€40', image_url: 'https://cdn/ring.jpg' }],
    };
    const message = fromGraph({
      id: 'mid.t',
      created_time: '2026-11-20T11:50:00+0000',
      from: { id: '17841400000000001', username: 'northwind.shop' },
      attachments: { data: [{ id: '1', generic_template: generic }] },
    } as GraphMessage);
    expect(message.attachments).toEqual([
      attachment('TEMPLATE', null, {
        template: {
          templateType: 'generic',
          text: null,
          elements: [
            {
              title: 'Ring',
              subtitle: '€40',
              imageUrl: 'https://cdn/ring.jpg',
              defaultAction: null,
              buttons: [],
            },
          ],
          buttons: [],
        },
        raw: generic,
      }),
    ]);
  });
});
