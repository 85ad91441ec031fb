import { describe, expect, it } from 'vitest';
import { attachment } from '../../src/inbox/attachments.ts';
import { fromSend, type SendAnswer } from '../../src/inbox/from-send.ts';
import type { SendResponse } from '../../src/instagram/graph.ts';
import type { SendBody } from '../../src/instagram/send-api.ts';
import { fixture } from '../helpers/fixtures.ts';

const IG = '17841400000000001';
/** A time with milliseconds: sends keep them. */
const AT = 1764374400123;

/** Instagram's answer in a fixture, as the send service passes it on. */
function answerOf(name: string): SendAnswer {
  const response = fixture(name) as SendResponse;
  return {
    igId: IG,
    recipientId: response.recipient_id ?? null,
    messageId: response.message_id ?? null,
    at: AT,
  };
}

const sent = {
  detailAvailable: true,
  createdTime: AT,
  from: { igsid: IG, username: null },
  text: null,
  attachments: [],
  reactions: [],
  replyTo: null,
  isUnsupported: false,
};

describe('fromSend', () => {
  it('images (MSG body, Postman answer): IMAGE attachments with the sent URLs', () => {
    const answer = answerOf('api-send-response-image-postman.json');
    const body: SendBody = {
      recipient: { id: '20802401916297' },
      message: {
        attachments: [
          { type: 'image', payload: { url: 'https://cdn.example.com/a.png' } },
          { type: 'image', payload: { url: 'https://cdn.example.com/b.gif' } },
        ],
      },
    };
    expect(fromSend(body, answer)).toEqual({
      ...sent,
      mid: answer.messageId,
      to: [{ igsid: '20802401916297', username: null }],
      attachments: [
        attachment('IMAGE', 'https://cdn.example.com/a.png', { type: 'image' }),
        attachment('IMAGE', 'https://cdn.example.com/b.gif', { type: 'image' }),
      ],
    });
  });

  it('text with quick replies (Postman answer): the text, to the millisecond', () => {
    const answer = answerOf('api-send-response-quick-replies-postman.json');
    const message = fromSend(
      {
        recipient: { id: '48102409688037' },
        message: {
          text: 'Which size?',
          quick_replies: [{ content_type: 'text', title: 'S', payload: 'SIZE_S' }],
        },
      },
      answer,
    );
    expect(message).toEqual({
      ...sent,
      mid: answer.messageId,
      to: [{ igsid: '48102409688037', username: null }],
      text: 'Which size?',
    });
    expect(new Date(message?.createdTime ?? 0).toISOString()).toBe('2025-11-29T00:00:00.123Z');
  });

  it('a private reply (Postman answer): to the commenter Instagram named', () => {
    const answer = answerOf('api-send-response-private-reply-postman.json');
    expect(
      fromSend({ recipient: { comment_id: '17900000000000001' }, message: { text: 'Hi' } }, answer),
    ).toMatchObject({ to: [{ igsid: '48102409688037', username: null }], text: 'Hi' });
  });

  it('a generic template (Postman answer): no attachment; a button template: its text', () => {
    const answer = answerOf('api-send-response-generic-template-postman.json');
    const template = (payload: NonNullable<NonNullable<SendBody['message']>['attachment']>) =>
      fromSend({ recipient: { id: '20802401916297' }, message: { attachment: payload } }, answer);
    expect(
      template({
        type: 'template',
        payload: { template_type: 'generic', elements: [{ title: 'T', subtitle: 'S' }] },
      }),
    ).toMatchObject({ text: null, attachments: [] });
    expect(
      template({
        type: 'template',
        payload: {
          template_type: 'button',
          text: 'Pick one',
          buttons: [{ type: 'postback', payload: 'P', title: 'P' }],
        },
      }),
    ).toMatchObject({ text: 'Pick one', attachments: [] });
  });

  it('audio, video, a file, the heart sticker and a post (MSG): kinds, sent URLs', () => {
    const answer = answerOf('api-send-response-image-postman.json');
    const one = (a: NonNullable<NonNullable<SendBody['message']>['attachment']>) =>
      fromSend({ recipient: { id: '20802401916297' }, message: { attachment: a } }, answer)
        ?.attachments;
    expect([
      one({ type: 'audio', payload: { url: 'https://cdn.example.com/v.m4a' } }),
      one({ type: 'video', payload: { url: 'https://cdn.example.com/v.mp4' } }),
      one({ type: 'file', payload: { url: 'https://cdn.example.com/f.pdf' } }),
      one({ type: 'like_heart' }),
      // "Published post" (MSG): a POST; its permalink is not in the body.
      one({ type: 'MEDIA_SHARE', payload: { id: '18000000000000002' } }),
    ]).toEqual([
      [attachment('AUDIO', 'https://cdn.example.com/v.m4a', { type: 'audio' })],
      [attachment('VIDEO', 'https://cdn.example.com/v.mp4', { type: 'video' })],
      [attachment('FILE', 'https://cdn.example.com/f.pdf', { type: 'file' })],
      [attachment('IMAGE', null, { type: 'like_heart' })],
      [attachment('POST', null, { type: 'MEDIA_SHARE', mediaId: '18000000000000002' })],
    ]);
  });

  it('nothing without a message_id (a sender action)', () => {
    expect(
      fromSend(
        { recipient: { id: '20802401916297' }, sender_action: 'typing_on' },
        { igId: IG, recipientId: '20802401916297', messageId: null, at: AT },
      ),
    ).toBeNull();
  });
});
