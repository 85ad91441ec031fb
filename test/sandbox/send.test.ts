import { describe, expect, it } from 'vitest';
import { GraphError } from '../../src/sandbox/errors.ts';
import { newCommentId } from '../../src/sandbox/ids.ts';
import { handleSend } from '../../src/sandbox/send.ts';
import {
  type Clock,
  DAY,
  HOUR,
  type SimComment,
  type SimMessage,
  Store,
} from '../../src/sandbox/store.ts';

const T0 = Date.UTC(2026, 2, 1, 12);
const MID = /^aWdfZAG1faXRlbTox.*ZDZD$/;
const ATTACHMENT_ID = /^\d{16}$/;

/**
 * A clock that moves only when told: `createClock` follows the wall clock, so a millisecond
 * could pass between seeding and sending and make the window boundaries flaky.
 */
function fixedClock(start: number): Clock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

interface Delivered {
  readonly igId: string;
  readonly field: string;
  readonly event: Record<string, unknown>;
}

function setup(permissions?: readonly string[]) {
  const store = new Store(fixedClock(T0));
  const account = store.addAccount({ username: 'shop' });
  const user = store.addUser(account.igId, { username: 'ann' });
  const inbound = store.addMessage(account.igId, user.igsid, { fromId: user.igsid, text: 'hi' });
  const issued = store.issueToken(account.igId);
  const token = permissions ? { ...issued, permissions } : issued;
  const events: Delivered[] = [];
  const webhooks = {
    messaging: (igId: string, field: string, event: Record<string, unknown>) => {
      events.push({ igId, field, event });
    },
    change: () => {
      throw new Error('handleSend raises no change events');
    },
  };
  const send = (body: Record<string, unknown>) =>
    handleSend({ store, account, token, webhooks }, body);
  const conversation = () => store.conversationWith(account.igId, user.igsid)?.messages ?? [];
  const last = (): SimMessage => {
    const message = conversation().at(-1);
    if (!message) throw new Error('no message');
    return message;
  };
  /** Sends, expects a GraphError, and checks that nothing was stored or raised. */
  const refusal = (body: Record<string, unknown>) => {
    const before = store.messages.size;
    const raised = events.length;
    const reactions = conversation().map((m) => [...m.reactions]);
    try {
      send(body);
    } catch (error) {
      if (!(error instanceof GraphError)) throw error;
      expect(store.messages.size).toBe(before);
      expect(conversation().map((m) => m.reactions)).toEqual(reactions);
      expect(events).toHaveLength(raised);
      const { status, code, subcode, type, message } = error;
      return { status, code, subcode, type, message };
    }
    throw new Error('expected a GraphError');
  };
  const textTo = (text: string, igsid = user.igsid) => ({
    recipient: { id: igsid },
    message: { text },
  });
  const messageTo = (message: unknown) => ({ recipient: { id: user.igsid }, message });
  return {
    store,
    account,
    user,
    inbound,
    events,
    send,
    conversation,
    last,
    refusal,
    textTo,
    messageTo,
  };
}

const invalidParameter = (message: string) => ({
  status: 400,
  code: 100,
  subcode: undefined,
  type: 'IGApiException',
  message: `(#100) ${message}`,
});
const invalidData = (detail: string) => ({
  status: 400,
  code: 100,
  subcode: 2534015,
  type: 'IGApiException',
  message: `Invalid message data: ${detail}`,
});
const outsideWindow = {
  status: 403,
  code: 10,
  subcode: 2534022,
  type: 'IGApiException',
  message: 'This message is sent outside of allowed window.',
};
const noMatchingUser = {
  status: 400,
  code: 100,
  subcode: 2534014,
  type: 'IGApiException',
  message: 'No matching Instagram user',
};
const userUnavailable = {
  status: 400,
  code: 551,
  subcode: 1545041,
  type: 'IGApiException',
  message: "This person isn't available right now.",
};
const invalidComment = {
  status: 400,
  code: 100,
  subcode: 2534025,
  type: 'IGApiException',
  message: 'The comment is invalid for a private reply',
};
const SHAPE = 'message must be text (with optional quick_replies), attachment or attachments';
const REACTION = 'Param payload.reaction must be love or a single emoji';
const NOT_IN_CONVERSATION =
  'Param payload.message_id must be a message of the conversation with the recipient';

const image = (url: string) => ({ attachment: { type: 'image', payload: { url } } });

describe('handleSend: a text message', () => {
  it('answers with recipient_id and message_id, in that order', () => {
    const { send, textTo, user, last } = setup();
    const response = send(textTo('hello'));
    expect(Object.keys(response)).toEqual(['recipient_id', 'message_id']);
    expect(response).toEqual({ recipient_id: user.igsid, message_id: last().mid });
    expect(response.message_id).toMatch(MID);
  });

  it('stores the message in the conversation with the user', () => {
    const { send, textTo, store, account, user, inbound, conversation } = setup();
    store.clock.advance(5000);
    const { message_id } = send(textTo('hello'));
    expect(conversation()).toEqual([
      inbound,
      {
        mid: message_id,
        conversationId: inbound.conversationId,
        createdTime: T0 + 5000,
        fromId: account.igId,
        toId: user.igsid,
        text: 'hello',
        attachments: [],
        shares: [],
        story: undefined,
        reactions: [],
        replyTo: undefined,
        isUnsupported: false,
        payload: undefined,
        deleted: false,
      },
    ]);
  });

  it('raises a message_echoes event keyed sender, recipient, timestamp, message', () => {
    const { send, textTo, store, account, user, events } = setup();
    store.clock.advance(5000);
    const { message_id } = send(textTo('hello'));
    expect(events).toEqual([
      {
        igId: account.igId,
        field: 'message_echoes',
        event: {
          sender: { id: account.igId },
          recipient: { id: user.igsid },
          timestamp: T0 + 5000,
          message: { mid: message_id, text: 'hello', is_echo: true },
        },
      },
    ]);
    expect(Object.keys(events[0]?.event ?? {})).toEqual([
      'sender',
      'recipient',
      'timestamp',
      'message',
    ]);
    expect(Object.keys(events[0]?.event.message ?? {})).toEqual(['mid', 'text', 'is_echo']);
  });

  it('takes 1000 bytes of UTF-8 and refuses 1001, counting bytes, not characters', () => {
    const { send, refusal, textTo, last } = setup();
    const thousandBytes = 'é'.repeat(500);
    expect(Buffer.byteLength(thousandBytes)).toBe(1000);
    send(textTo(thousandBytes));
    expect(last().text).toBe(thousandBytes);
    // 501 characters, 1001 bytes.
    expect(refusal(textTo(`${thousandBytes}a`))).toEqual(
      invalidData('text must be at most 1000 bytes of UTF-8'),
    );
    expect(refusal(textTo('é'.repeat(501)))).toEqual(
      invalidData('text must be at most 1000 bytes of UTF-8'),
    );
  });

  it('refuses empty text, text that is not a string, and text that is not valid UTF-8', () => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo({ text: '' }))).toEqual(
      invalidData('text must be a non-empty string'),
    );
    expect(refusal(messageTo({ text: 42 }))).toEqual(
      invalidData('text must be a non-empty string'),
    );
    expect(refusal(messageTo({ text: 'broken \uD83D' }))).toEqual(
      invalidData('text must be valid UTF-8'),
    );
  });
});

describe('handleSend: recipient', () => {
  it('requires a recipient', () => {
    const { refusal } = setup();
    expect(refusal({ message: { text: 'hi' } })).toEqual(
      invalidParameter('The parameter recipient is required'),
    );
  });

  it.each([
    ['a string', 'ann'],
    ['an empty object', {}],
    ['a numeric id', { id: 42 }],
    ['an empty id', { id: '' }],
    ['both id and comment_id', { id: '1', comment_id: '2' }],
    ['an unknown key', { username: 'ann' }],
  ])('refuses a recipient that is %s as an invalid parameter', (_, recipient) => {
    const { refusal } = setup();
    expect(refusal({ recipient, message: { text: 'hi' } })).toEqual(
      invalidParameter(
        'Param recipient must be {"id": "<IGSID>"} or {"comment_id": "<COMMENT_ID>"}',
      ),
    );
  });

  it('answers 2534014 for an IGSID it does not know', () => {
    const { refusal, textTo } = setup();
    expect(refusal(textTo('hi', '1234567890123456'))).toEqual(noMatchingUser);
  });

  it("answers 2534014 for another account's user, and for the account itself", () => {
    const { refusal, textTo, store, account } = setup();
    const other = store.addAccount({ username: 'other' });
    const stranger = store.addUser(other.igId, { username: 'bob' });
    store.addMessage(other.igId, stranger.igsid, { fromId: stranger.igsid, text: 'hi' });
    expect(refusal(textTo('hi', stranger.igsid))).toEqual(noMatchingUser);
    expect(refusal(textTo('hi', account.igId))).toEqual(noMatchingUser);
  });

  it('answers 551/1545041 for a user marked unavailable', () => {
    const { refusal, textTo, user } = setup();
    user.unavailable = true;
    expect(refusal(textTo('hi'))).toEqual(userUnavailable);
  });
});

describe('handleSend: permissions', () => {
  it('requires instagram_business_manage_messages', () => {
    const { refusal, textTo } = setup(['instagram_business_basic']);
    expect(refusal(textTo('hi'))).toEqual({
      status: 400,
      code: 200,
      subcode: undefined,
      type: 'IGApiException',
      message: '(#200) Requires instagram_business_manage_messages permission to manage the object',
    });
  });
});

describe('handleSend: body shape', () => {
  it('refuses a body with neither message nor sender_action, or with both', () => {
    const { refusal, user } = setup();
    const exactlyOne = invalidParameter('Exactly one of message and sender_action must be set');
    expect(refusal({ recipient: { id: user.igsid } })).toEqual(exactlyOne);
    expect(
      refusal({
        recipient: { id: user.igsid },
        message: { text: 'hi' },
        sender_action: 'typing_on',
      }),
    ).toEqual(exactlyOne);
  });

  it('refuses unknown top-level parameters', () => {
    const { refusal, textTo } = setup();
    expect(refusal({ ...textTo('hi'), notification_type: 'REGULAR' })).toEqual(
      invalidParameter('Unexpected parameter notification_type'),
    );
  });

  it('ignores an access_token sent as a form field', () => {
    const { send, textTo, user } = setup();
    expect(send({ ...textTo('hi'), access_token: 'IGAA…' })).toMatchObject({
      recipient_id: user.igsid,
    });
  });

  it('refuses a message that is not an object as invalid message data', () => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo('hi'))).toEqual(invalidData('message must be an object'));
    expect(refusal(messageTo(['hi']))).toEqual(invalidData('message must be an object'));
  });

  it('refuses unknown message keys as invalid message data', () => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo({ text: 'hi', metadata: 'x' }))).toEqual(
      invalidData('message.metadata is not allowed'),
    );
  });

  it.each([
    ['an empty message', {}],
    ['text with an attachment', { text: 'hi', ...image('https://cdn.example.com/a.png') }],
    [
      'attachment with attachments',
      {
        ...image('https://cdn.example.com/a.png'),
        attachments: [{ type: 'image', payload: { url: 'https://cdn.example.com/b.png' } }],
      },
    ],
    ['quick_replies without text', { quick_replies: [{ content_type: 'user_email' }] }],
  ])('refuses %s as invalid message data', (_, message) => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo(message))).toEqual(invalidData(SHAPE));
  });
});

describe('handleSend: the messaging window', () => {
  it('is open until just before 24 hours after the user message, and closed at 24 hours', () => {
    const { send, refusal, textTo, store, user } = setup();
    store.clock.advance(DAY - 1);
    expect(send(textTo('just in time'))).toMatchObject({ recipient_id: user.igsid });
    store.clock.advance(1);
    expect(refusal(textTo('too late'))).toEqual(outsideWindow);
  });

  it("runs from the user's last message; the account's own messages do not reopen it", () => {
    const { send, refusal, textTo, store, account, user } = setup();
    store.clock.advance(20 * HOUR);
    store.addMessage(account.igId, user.igsid, { fromId: user.igsid, text: 'still there?' });
    store.clock.advance(20 * HOUR);
    send(textTo('yes'));
    store.clock.advance(4 * HOUR - 1);
    send(textTo('and again'));
    store.clock.advance(1);
    expect(refusal(textTo('no more'))).toEqual(outsideWindow);
  });

  it('is closed when the user never wrote', () => {
    const { refusal, textTo, store, account } = setup();
    const silent = store.addUser(account.igId, { username: 'silent' });
    expect(refusal(textTo('hello?', silent.igsid))).toEqual(outsideWindow);
    store.addMessage(account.igId, silent.igsid, { fromId: account.igId, text: 'seeded' });
    expect(refusal(textTo('hello?', silent.igsid))).toEqual(outsideWindow);
  });

  it.each([
    ['without messaging_type', {}],
    ['with messaging_type MESSAGE_TAG', { messaging_type: 'MESSAGE_TAG' }],
  ])('extends to 7 days with tag HUMAN_AGENT %s', (_, extra) => {
    const { send, refusal, textTo, store, user } = setup();
    const tagged = { ...textTo('an agent here'), ...extra, tag: 'HUMAN_AGENT' };
    store.clock.advance(7 * DAY - 1);
    expect(send(tagged)).toMatchObject({ recipient_id: user.igsid });
    expect(refusal(textTo('untagged'))).toEqual(outsideWindow);
    store.clock.advance(1);
    expect(refusal(tagged)).toEqual(outsideWindow);
  });

  it.each(['RESPONSE', 'UPDATE'])('accepts messaging_type %s', (messagingType) => {
    const { send, textTo, user } = setup();
    expect(send({ ...textTo('hi'), messaging_type: messagingType })).toMatchObject({
      recipient_id: user.igsid,
    });
  });

  it('refuses other messaging types and tags, and a tag that does not go with MESSAGE_TAG', () => {
    const { refusal, textTo } = setup();
    expect(refusal({ ...textTo('hi'), messaging_type: 'PROMOTIONAL' })).toEqual(
      invalidParameter('Param messaging_type must be one of RESPONSE, UPDATE, MESSAGE_TAG'),
    );
    expect(refusal({ ...textTo('hi'), tag: 'ACCOUNT_UPDATE' })).toEqual(
      invalidParameter('Param tag must be HUMAN_AGENT'),
    );
    expect(refusal({ ...textTo('hi'), messaging_type: 'MESSAGE_TAG' })).toEqual(
      invalidParameter('Param tag is required with MESSAGE_TAG'),
    );
    expect(refusal({ ...textTo('hi'), messaging_type: 'RESPONSE', tag: 'HUMAN_AGENT' })).toEqual(
      invalidParameter('Param messaging_type must be MESSAGE_TAG with a tag'),
    );
  });
});

describe('handleSend: one attachment', () => {
  it('stores an image with a new attachment id and echoes its url', () => {
    const { send, messageTo, last, events } = setup();
    const url = 'https://cdn.example.com/photos/cat.png?size=large';
    const { message_id } = send(messageTo(image(url)));
    const stored = last();
    expect(stored.text).toBe('');
    expect(stored.attachments).toEqual([
      { type: 'image', id: expect.stringMatching(ATTACHMENT_ID), url },
    ]);
    expect(stored.payload).toBeUndefined();
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      attachments: [{ type: 'image', payload: { url } }],
      is_echo: true,
    });
  });

  it.each([
    ['image', 'png'],
    ['image', 'jpeg'],
    ['image', 'jpg'],
    ['image', 'gif'],
    ['image', 'PNG'],
    ['audio', 'aac'],
    ['audio', 'm4a'],
    ['audio', 'wav'],
    ['audio', 'mp4'],
    ['video', 'mp4'],
    ['video', 'ogg'],
    ['video', 'avi'],
    ['video', 'mov'],
    ['video', 'webm'],
    ['file', 'pdf'],
  ])('accepts %s with extension .%s', (type, extension) => {
    const { send, messageTo, last } = setup();
    const url = `https://cdn.example.com/media/item.${extension}`;
    send(messageTo({ attachment: { type, payload: { url } } }));
    expect(last().attachments).toEqual([{ type, id: expect.stringMatching(ATTACHMENT_ID), url }]);
  });

  it.each(['image', 'audio', 'video', 'file'])('accepts %s with no extension', (type) => {
    const { send, messageTo, last } = setup();
    const url = 'https://cdn.example.com/v1.2/media/item';
    send(messageTo({ attachment: { type, payload: { url } } }));
    expect(last().attachments[0]?.url).toBe(url);
  });

  it.each([
    ['image', 'mp4', 'png, jpeg, jpg, gif'],
    ['audio', 'mp3', 'aac, m4a, wav, mp4'],
    ['video', 'mkv', 'mp4, ogg, avi, mov, webm'],
    ['file', 'docx', 'pdf'],
  ])('refuses %s with extension .%s', (type, extension, allowed) => {
    const { refusal, messageTo } = setup();
    const url = `https://cdn.example.com/item.${extension}`;
    expect(refusal(messageTo({ attachment: { type, payload: { url } } }))).toEqual(
      invalidData(`attachment.payload.url must have no extension or one of ${allowed} for ${type}`),
    );
  });

  it.each([
    'http://cdn.example.com/cat.png',
    'ftp://cdn.example.com/cat.png',
    'cdn.example.com/cat.png',
    42,
  ])('refuses the url %s as not https', (url) => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo({ attachment: { type: 'image', payload: { url } } }))).toEqual(
      invalidData('attachment.payload.url must be an https URL'),
    );
  });

  it('answers 2018008 for a host ending in .invalid', () => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo(image('https://cdn.example.invalid/cat.png')))).toEqual({
      status: 400,
      code: 100,
      subcode: 2018008,
      type: 'IGApiException',
      message: 'Failed to fetch the file from the url',
    });
  });

  it.each(['image', 'audio', 'video', 'file'] as const)('takes an attachment_id for %s', (type) => {
    const { send, messageTo, last, store, account } = setup();
    store.addUpload(account.igId, { id: '1857777774821032', type });
    send(messageTo({ attachment: { type, payload: { attachment_id: '1857777774821032' } } }));
    expect(last().attachments).toEqual([
      {
        type,
        id: expect.stringMatching(ATTACHMENT_ID),
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1857777774821032',
      },
    ]);
  });

  it('takes is_reusable and still answers with recipient_id and message_id only', () => {
    const { send, refusal, messageTo } = setup();
    const payload = { url: 'https://cdn.example.com/a.mp4', is_reusable: true };
    const response = send(messageTo({ attachment: { type: 'video', payload } }));
    expect(Object.keys(response)).toEqual(['recipient_id', 'message_id']);
    const stringly = { ...payload, is_reusable: 'true' };
    expect(refusal(messageTo({ attachment: { type: 'video', payload: stringly } }))).toEqual(
      invalidData('attachment.payload.is_reusable must be a boolean'),
    );
  });

  it('refuses a payload with both or neither of url and attachment_id, or unknown keys', () => {
    const { refusal, messageTo } = setup();
    const url = 'https://cdn.example.com/a.png';
    const send = (payload: unknown) =>
      refusal(messageTo({ attachment: { type: 'image', payload } }));
    const exactlyOne = invalidData(
      'attachment.payload must have exactly one of url and attachment_id',
    );
    expect(send({ url, attachment_id: '1' })).toEqual(exactlyOne);
    expect(send({})).toEqual(exactlyOne);
    expect(send(undefined)).toEqual(invalidData('attachment.payload must be an object'));
    expect(send({ url, caption: 'x' })).toEqual(
      invalidData('attachment.payload.caption is not allowed'),
    );
    expect(send({ attachment_id: '' })).toEqual(
      invalidData('attachment.payload.attachment_id must be a non-empty string'),
    );
  });

  it.each(['IMAGE', 'sticker', 'story_mention', 'constructor', undefined])(
    'refuses attachment type %s',
    (type) => {
      const { refusal, messageTo } = setup();
      const attachment = { type, payload: { url: 'https://cdn.example.com/a.png' } };
      expect(refusal(messageTo({ attachment }))).toEqual(
        invalidData(
          'attachment.type must be image, audio, video, file, like_heart, MEDIA_SHARE or template',
        ),
      );
    },
  );

  it('sends like_heart with no payload, and echoes it with no payload', () => {
    const { send, refusal, messageTo, last, events } = setup();
    const { message_id } = send(messageTo({ attachment: { type: 'like_heart' } }));
    expect(last().attachments).toEqual([
      { type: 'like_heart', id: expect.stringMatching(ATTACHMENT_ID), url: '' },
    ]);
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      attachments: [{ type: 'like_heart' }],
      is_echo: true,
    });
    expect(refusal(messageTo({ attachment: { type: 'like_heart', payload: {} } }))).toEqual(
      invalidData('attachment.payload is not allowed for like_heart'),
    );
  });

  it("shares the account's own post as a post share and echoes it as ig_post", () => {
    const { send, messageTo, store, account, last, events } = setup();
    const post = store.addMedia(account.igId, { permalink: 'https://www.instagram.com/p/ABC/' });
    const { message_id } = send(
      messageTo({ attachment: { type: 'MEDIA_SHARE', payload: { id: post.id } } }),
    );
    expect(last().shares).toEqual([
      { link: 'https://www.instagram.com/p/ABC/', kind: 'post', mediaId: post.id },
    ]);
    expect(last().attachments).toEqual([]);
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      attachments: [
        {
          type: 'ig_post',
          payload: { ig_post_media_id: post.id, url: 'https://www.instagram.com/p/ABC/' },
        },
      ],
      is_echo: true,
    });
  });

  it('shares a reel as a reel share and echoes it as ig_reel', () => {
    const { send, messageTo, store, account, last, events } = setup();
    const reel = store.addMedia(account.igId, {
      mediaProductType: 'REELS',
      permalink: 'https://www.instagram.com/reel/XYZ/',
    });
    const { message_id } = send(
      messageTo({ attachment: { type: 'MEDIA_SHARE', payload: { id: reel.id } } }),
    );
    expect(last().shares).toEqual([
      { link: 'https://www.instagram.com/reel/XYZ/', kind: 'reel', mediaId: reel.id },
    ]);
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      attachments: [
        {
          type: 'ig_reel',
          payload: { reel_video_id: reel.id, url: 'https://www.instagram.com/reel/XYZ/' },
        },
      ],
      is_echo: true,
    });
  });

  it("refuses someone else's post and an unknown post", () => {
    const { refusal, messageTo, store } = setup();
    const other = store.addAccount({ username: 'other' });
    const theirs = store.addMedia(other.igId);
    const share = (id: string) =>
      messageTo({ attachment: { type: 'MEDIA_SHARE', payload: { id } } });
    const notOurs = invalidData('attachment.payload.id must be a post of this account');
    expect(refusal(share(theirs.id))).toEqual(notOurs);
    expect(refusal(share('18000000000000000'))).toEqual(notOurs);
  });
});

describe('handleSend: several images', () => {
  const images = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      i % 2 === 0
        ? { type: 'image', payload: { url: `https://cdn.example.com/${i}.jpg` } }
        : { type: 'image', payload: { attachment_id: `10000000000000${i}` } },
    );

  it('takes ten images, mixing url and attachment_id, and echoes them in order', () => {
    const { send, messageTo, last, events, store, account } = setup();
    for (const i of [1, 3, 5, 7, 9]) {
      store.addUpload(account.igId, { id: `10000000000000${i}`, type: 'image' });
    }
    const { message_id } = send(messageTo({ attachments: images(10) }));
    const urls = last().attachments.map((a) => a.url);
    expect(urls).toEqual([
      'https://cdn.example.com/0.jpg',
      'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=100000000000001',
      'https://cdn.example.com/2.jpg',
      'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=100000000000003',
      'https://cdn.example.com/4.jpg',
      'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=100000000000005',
      'https://cdn.example.com/6.jpg',
      'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=100000000000007',
      'https://cdn.example.com/8.jpg',
      'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=100000000000009',
    ]);
    expect(new Set(last().attachments.map((a) => a.id)).size).toBe(10);
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      attachments: urls.map((url) => ({ type: 'image', payload: { url } })),
      is_echo: true,
    });
  });

  it('refuses eleven images and an empty list', () => {
    const { refusal, messageTo } = setup();
    const tooMany = invalidData('attachments must be a list of 1 to 10 items');
    expect(refusal(messageTo({ attachments: images(11) }))).toEqual(tooMany);
    expect(refusal(messageTo({ attachments: [] }))).toEqual(tooMany);
  });

  it('takes a single image written as an object, as in MSG', () => {
    const { send, messageTo, last } = setup();
    const url = 'https://cdn.example.com/one.gif';
    send(messageTo({ attachments: { type: 'image', payload: { url } } }));
    expect(last().attachments).toEqual([
      { type: 'image', id: expect.stringMatching(ATTACHMENT_ID), url },
    ]);
  });

  it('refuses anything but images', () => {
    const { refusal, messageTo } = setup();
    const mixed = [
      { type: 'image', payload: { url: 'https://cdn.example.com/a.png' } },
      { type: 'video', payload: { url: 'https://cdn.example.com/a.mp4' } },
    ];
    expect(refusal(messageTo({ attachments: mixed }))).toEqual(
      invalidData('attachments[1].type must be image'),
    );
    expect(refusal(messageTo({ attachments: { type: 'like_heart' } }))).toEqual(
      invalidData('attachments.type must be image'),
    );
  });
});

describe('handleSend: quick replies', () => {
  const replies = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      content_type: 'text',
      title: `Option ${i}`,
      payload: `OPTION_${i}`,
    }));

  it('stores the text, and the message with titles over 20 characters truncated to 20', () => {
    const { send, messageTo, last, events } = setup();
    const message = {
      text: 'Pick a size',
      quick_replies: [
        { content_type: 'text', title: 'Small, the cheapest of all', payload: 'S' },
        { content_type: 'text', title: 'Ω'.repeat(25), payload: 'OMEGA' },
        { content_type: 'text', title: 'Exactly twenty chars', payload: 'M' },
      ],
    };
    const { message_id } = send(messageTo(message));
    expect(last().text).toBe('Pick a size');
    expect(last().payload).toEqual({
      text: 'Pick a size',
      quick_replies: [
        { content_type: 'text', title: 'Small, the cheapest ', payload: 'S' },
        { content_type: 'text', title: 'Ω'.repeat(20), payload: 'OMEGA' },
        { content_type: 'text', title: 'Exactly twenty chars', payload: 'M' },
      ],
    });
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      text: 'Pick a size',
      is_echo: true,
    });
  });

  it('takes 13 quick replies and refuses 14 or none', () => {
    const { send, refusal, messageTo, user } = setup();
    expect(send(messageTo({ text: 'Pick', quick_replies: replies(13) }))).toMatchObject({
      recipient_id: user.igsid,
    });
    const wrongCount = invalidData('quick_replies must be a list of 1 to 13 items');
    expect(refusal(messageTo({ text: 'Pick', quick_replies: replies(14) }))).toEqual(wrongCount);
    expect(refusal(messageTo({ text: 'Pick', quick_replies: [] }))).toEqual(wrongCount);
  });

  it('refuses unknown content types, missing titles and payloads, and extra keys', () => {
    const { refusal, messageTo } = setup();
    const send = (reply: unknown) => refusal(messageTo({ text: 'Pick', quick_replies: [reply] }));
    expect(send({ content_type: 'location' })).toEqual(
      invalidData('quick_replies[0].content_type must be text'),
    );
    expect(send({ content_type: 'text', payload: 'P' })).toEqual(
      invalidData('quick_replies[0].title must be a non-empty string'),
    );
    expect(send({ content_type: 'text', title: 'T' })).toEqual(
      invalidData('quick_replies[0].payload must be a non-empty string'),
    );
    expect(send({ content_type: 'text', title: 'T', payload: 'P', image_url: 'x' })).toEqual(
      invalidData('quick_replies[0].image_url is not allowed'),
    );
  });

  it('refuses email and phone-number quick replies, disabled since 2026-10-05', () => {
    const { refusal, messageTo } = setup();
    const send = (reply: unknown) =>
      refusal(messageTo({ text: 'Pick', quick_replies: [...replies(1), reply] }));
    expect(send({ content_type: 'user_email' })).toEqual(
      invalidData('quick_replies[1].content_type user_email is no longer supported on Instagram'),
    );
    expect(send({ content_type: 'user_phone_number' })).toEqual(
      invalidData(
        'quick_replies[1].content_type user_phone_number is no longer supported on Instagram',
      ),
    );
  });

  it('holds the text to 1000 bytes', () => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo({ text: 'x'.repeat(1001), quick_replies: replies(1) }))).toEqual(
      invalidData('text must be at most 1000 bytes of UTF-8'),
    );
  });
});

describe('handleSend: generic template', () => {
  const element = (i = 0, extra: Record<string, unknown> = {}) => ({
    title: `Item ${i}`,
    subtitle: 'A fine item',
    ...extra,
  });
  const generic = (elements: unknown[]) => ({
    attachment: { type: 'template', payload: { template_type: 'generic', elements } },
  });
  const buttons = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: 'postback', title: `B${i}`, payload: `P${i}` }));

  it('stores the request message as payload, with no text, and echoes only the mid', () => {
    const { send, messageTo, last, events } = setup();
    const message = generic([
      {
        title: 'Cat mug',
        image_url: 'https://cdn.example.com/mug.jpg',
        subtitle: 'Holds 300 ml',
        default_action: { type: 'web_url', url: 'https://shop.example.com/mug' },
        buttons: [
          { type: 'web_url', url: 'https://shop.example.com/mug', title: 'View' },
          { type: 'postback', payload: 'BUY_MUG', title: 'Buy' },
        ],
      },
    ]);
    const { message_id } = send(messageTo(message));
    expect(last().text).toBe('');
    expect(last().payload).toEqual(message);
    expect(last().attachments).toEqual([]);
    expect(events[0]?.event.message).toEqual({ mid: message_id, is_echo: true });
  });

  it('takes 10 elements and refuses 11 or none', () => {
    const { send, refusal, messageTo, user } = setup();
    const ten = Array.from({ length: 10 }, (_, i) => element(i));
    expect(send(messageTo(generic(ten)))).toMatchObject({ recipient_id: user.igsid });
    const wrongCount = invalidData('attachment.payload.elements must be a list of 1 to 10 items');
    expect(refusal(messageTo(generic([...ten, element(10)])))).toEqual(wrongCount);
    expect(refusal(messageTo(generic([])))).toEqual(wrongCount);
  });

  it('takes 3 buttons per element and refuses 4 or an empty list', () => {
    const { send, refusal, messageTo, user } = setup();
    expect(send(messageTo(generic([element(0, { buttons: buttons(3) })])))).toMatchObject({
      recipient_id: user.igsid,
    });
    const wrongCount = invalidData(
      'attachment.payload.elements[0].buttons must be a list of 1 to 3 items',
    );
    expect(refusal(messageTo(generic([element(0, { buttons: buttons(4) })])))).toEqual(wrongCount);
    expect(refusal(messageTo(generic([element(0, { buttons: [] })])))).toEqual(wrongCount);
  });

  it('takes titles and subtitles of 80 characters and refuses 81', () => {
    const { send, refusal, messageTo, user } = setup();
    const eighty = 'é'.repeat(80);
    expect(send(messageTo(generic([{ title: eighty, subtitle: eighty }])))).toMatchObject({
      recipient_id: user.igsid,
    });
    expect(refusal(messageTo(generic([{ title: `${eighty}x`, subtitle: 's' }])))).toEqual(
      invalidData('attachment.payload.elements[0].title must be at most 80 characters'),
    );
    expect(refusal(messageTo(generic([{ title: 't', subtitle: `${eighty}x` }])))).toEqual(
      invalidData('attachment.payload.elements[0].subtitle must be at most 80 characters'),
    );
  });

  it('refuses an element without a title, or with nothing but a title', () => {
    const { refusal, messageTo } = setup();
    expect(refusal(messageTo(generic([{ subtitle: 's' }])))).toEqual(
      invalidData('attachment.payload.elements[0].title must be a non-empty string'),
    );
    expect(refusal(messageTo(generic([element(0), { title: 'alone' }])))).toEqual(
      invalidData('attachment.payload.elements[1] needs a property besides title'),
    );
  });

  it('refuses buttons other than web_url and postback, and malformed ones', () => {
    const { refusal, messageTo } = setup();
    const withButton = (button: unknown) =>
      refusal(messageTo(generic([element(0, { buttons: [button] })])));
    const field = 'attachment.payload.elements[0].buttons[0]';
    expect(withButton({ type: 'phone_number', title: 'Call', payload: '+1' })).toEqual(
      invalidData(`${field}.type must be web_url or postback`),
    );
    expect(withButton({ type: 'web_url', title: 'Go', url: 'javascript:alert(1)' })).toEqual(
      invalidData(`${field}.url must be an http or https URL`),
    );
    expect(withButton({ type: 'web_url', title: 'Go', payload: 'P' })).toEqual(
      invalidData(`${field}.payload is not allowed`),
    );
    expect(withButton({ type: 'postback', payload: 'P' })).toEqual(
      invalidData(`${field}.title must be a non-empty string`),
    );
  });

  it('sets no length limit on button titles, which the docs do not give', () => {
    const { send, messageTo, user } = setup();
    const title = 'A button title far longer than twenty characters';
    const button = { type: 'postback', title, payload: 'P' };
    expect(send(messageTo(generic([element(0, { buttons: [button] })])))).toMatchObject({
      recipient_id: user.igsid,
    });
  });

  it('checks default_action and image_url', () => {
    const { refusal, messageTo } = setup();
    const field = 'attachment.payload.elements[0]';
    expect(
      refusal(
        messageTo(
          generic([element(0, { default_action: { type: 'postback', url: 'https://a.example' } })]),
        ),
      ),
    ).toEqual(invalidData(`${field}.default_action.type must be web_url`));
    expect(
      refusal(messageTo(generic([element(0, { image_url: 'http://cdn.example.com/a.png' })]))),
    ).toEqual(invalidData(`${field}.image_url must be an https URL`));
  });

  it('refuses unknown template types', () => {
    const { refusal, messageTo } = setup();
    const media = { attachment: { type: 'template', payload: { template_type: 'media' } } };
    expect(refusal(messageTo(media))).toEqual(
      invalidData('attachment.payload.template_type must be generic or button'),
    );
  });
});

describe('handleSend: button template', () => {
  const buttonTemplate = (text: string, buttons: unknown[]) => ({
    attachment: { type: 'template', payload: { template_type: 'button', text, buttons } },
  });
  const buttons = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      type: 'web_url',
      url: `https://shop.example.com/${i}`,
      title: `Link ${i}`,
    }));

  it('stores its text as the message text and the request message as payload, and echoes the text', () => {
    const { send, messageTo, last, events } = setup();
    const message = buttonTemplate('What next?', buttons(2));
    const { message_id } = send(messageTo(message));
    expect(last().text).toBe('What next?');
    expect(last().payload).toEqual(message);
    expect(events[0]?.event.message).toEqual({
      mid: message_id,
      text: 'What next?',
      is_echo: true,
    });
  });

  it('takes 3 buttons and refuses 4 or none', () => {
    const { send, refusal, messageTo, user } = setup();
    expect(send(messageTo(buttonTemplate('Pick', buttons(3))))).toMatchObject({
      recipient_id: user.igsid,
    });
    const wrongCount = invalidData('attachment.payload.buttons must be a list of 1 to 3 items');
    expect(refusal(messageTo(buttonTemplate('Pick', buttons(4))))).toEqual(wrongCount);
    expect(refusal(messageTo(buttonTemplate('Pick', [])))).toEqual(wrongCount);
  });

  it('takes text of 640 characters and refuses 641', () => {
    const { send, refusal, messageTo, user } = setup();
    const long = '😀'.repeat(640);
    expect(send(messageTo(buttonTemplate(long, buttons(1))))).toMatchObject({
      recipient_id: user.igsid,
    });
    expect(refusal(messageTo(buttonTemplate(`${long}x`, buttons(1))))).toEqual(
      invalidData('attachment.payload.text must be at most 640 characters'),
    );
  });
});

describe('handleSend: typing and seen', () => {
  it.each(['typing_on', 'typing_off', 'mark_seen'])(
    '%s answers with recipient_id only and stores and raises nothing',
    (action) => {
      const { send, user, store, events } = setup();
      expect(send({ recipient: { id: user.igsid }, sender_action: action })).toEqual({
        recipient_id: user.igsid,
      });
      expect(store.messages.size).toBe(1);
      expect(events).toEqual([]);
    },
  );

  it('refuses any parameter besides recipient and sender_action', () => {
    const { refusal, user } = setup();
    const typing = { recipient: { id: user.igsid }, sender_action: 'typing_on' };
    expect(refusal({ ...typing, messaging_type: 'RESPONSE' })).toEqual(
      invalidParameter('Unexpected parameter messaging_type'),
    );
    expect(refusal({ ...typing, tag: 'HUMAN_AGENT' })).toEqual(
      invalidParameter('Unexpected parameter tag'),
    );
    expect(refusal({ ...typing, payload: {} })).toEqual(
      invalidParameter('Unexpected parameter payload'),
    );
  });

  it('refuses unknown sender actions', () => {
    const { refusal, user } = setup();
    expect(refusal({ recipient: { id: user.igsid }, sender_action: 'TYPING_ON' })).toEqual(
      invalidParameter(
        'Param sender_action must be one of typing_on, typing_off, mark_seen, react, unreact',
      ),
    );
  });

  it('needs the 24-hour window and an available user', () => {
    const { send, refusal, user, store } = setup();
    const seen = { recipient: { id: user.igsid }, sender_action: 'mark_seen' };
    store.clock.advance(DAY - 1);
    expect(send(seen)).toEqual({ recipient_id: user.igsid });
    store.clock.advance(1);
    expect(refusal(seen)).toEqual(outsideWindow);
    user.unavailable = true;
    expect(refusal(seen)).toEqual(userUnavailable);
  });
});

describe('handleSend: reactions', () => {
  const react = (igsid: string, message_id: string, reaction: unknown) => ({
    recipient: { id: igsid },
    sender_action: 'react',
    payload: { message_id, reaction },
  });

  it('stores love as reaction love with the heart emoji, and raises nothing', () => {
    const { send, user, inbound, account, events } = setup();
    expect(send(react(user.igsid, inbound.mid, 'love'))).toEqual({ recipient_id: user.igsid });
    expect(inbound.reactions).toEqual([
      { userId: account.igId, reaction: 'love', emoji: '\u2764' },
    ]);
    expect(events).toEqual([]);
  });

  it("replaces the account's reaction and leaves the user's", () => {
    const { send, user, inbound, account } = setup();
    inbound.reactions.push({ userId: user.igsid, reaction: 'love', emoji: '\u2764' });
    send(react(user.igsid, inbound.mid, 'love'));
    send(react(user.igsid, inbound.mid, '😂'));
    expect(inbound.reactions).toEqual([
      { userId: user.igsid, reaction: 'love', emoji: '\u2764' },
      { userId: account.igId, reaction: '😂', emoji: '😂' },
    ]);
  });

  it.each(['😂', '❤️', '❤', '👍🏽', '🇫🇷', '👨‍👩‍👧', '#️⃣'])('takes the single emoji %s', (emoji) => {
    const { send, user, inbound, account } = setup();
    send(react(user.igsid, inbound.mid, emoji));
    expect(inbound.reactions).toEqual([{ userId: account.igId, reaction: emoji, emoji }]);
  });

  it.each(['LOVE', 'like', '😂😂', 'a', '1', ':)', '', 42])(
    'refuses the reaction %s',
    (reaction) => {
      const { refusal, user, inbound } = setup();
      expect(refusal(react(user.igsid, inbound.mid, reaction))).toEqual(invalidParameter(REACTION));
    },
  );

  it('refuses a payload with missing or extra keys', () => {
    const { refusal, user, inbound } = setup();
    const base = { recipient: { id: user.igsid }, sender_action: 'react' };
    const reactPayload = invalidParameter('Param payload must be {message_id, reaction}');
    expect(refusal({ ...base, payload: { message_id: inbound.mid } })).toEqual(reactPayload);
    expect(refusal(base)).toEqual(reactPayload);
    expect(
      refusal({ ...base, payload: { message_id: inbound.mid, reaction: 'love', extra: 1 } }),
    ).toEqual(reactPayload);
    expect(
      refusal({
        ...base,
        sender_action: 'unreact',
        payload: { message_id: inbound.mid, reaction: 'love' },
      }),
    ).toEqual(invalidParameter('Param payload must be {message_id}'));
  });

  it('refuses a message that is not in the conversation with the recipient, or deleted', () => {
    const { refusal, store, account, user } = setup();
    const other = store.addUser(account.igId, { username: 'bob' });
    const theirs = store.addMessage(account.igId, other.igsid, { fromId: other.igsid, text: 'yo' });
    expect(refusal(react(user.igsid, theirs.mid, 'love'))).toEqual(
      invalidParameter(NOT_IN_CONVERSATION),
    );
    expect(refusal(react(user.igsid, 'aWdfZAG1faXRlbToxunknownZDZD', 'love'))).toEqual(
      invalidParameter(NOT_IN_CONVERSATION),
    );
    const deleted = store.addMessage(account.igId, user.igsid, {
      fromId: user.igsid,
      text: 'oops',
    });
    deleted.deleted = true;
    expect(refusal(react(user.igsid, deleted.mid, 'love'))).toEqual(
      invalidParameter(NOT_IN_CONVERSATION),
    );
  });

  it('needs the 24-hour window', () => {
    const { refusal, store, user, inbound } = setup();
    store.clock.advance(DAY);
    expect(refusal(react(user.igsid, inbound.mid, 'love'))).toEqual(outsideWindow);
  });

  it("unreact removes the account's reaction only", () => {
    const { send, user, inbound } = setup();
    inbound.reactions.push({ userId: user.igsid, reaction: 'love', emoji: '\u2764' });
    send(react(user.igsid, inbound.mid, '😮'));
    const unreact = {
      recipient: { id: user.igsid },
      sender_action: 'unreact',
      payload: { message_id: inbound.mid },
    };
    expect(send(unreact)).toEqual({ recipient_id: user.igsid });
    expect(inbound.reactions).toEqual([{ userId: user.igsid, reaction: 'love', emoji: '\u2764' }]);
  });
});

describe('handleSend: private replies', () => {
  function withComment(permissions?: readonly string[]) {
    const world = setup(permissions);
    const { store, account } = world;
    const commenter = store.addUser(account.igId, { username: 'carla' });
    const post = store.addMedia(account.igId);
    const addComment = (fields: Partial<SimComment> = {}): SimComment => {
      const comment: SimComment = {
        id: newCommentId(),
        mediaId: post.id,
        accountIgId: account.igId,
        fromIgsid: commenter.igsid,
        fromUsername: commenter.username,
        text: 'How much?',
        createdTime: store.clock.now(),
        privateReplyMid: null,
        ...fields,
      };
      store.comments.set(comment.id, comment);
      return comment;
    };
    const comment = addComment();
    const reply = (commentId: string, message: unknown = { text: 'It is 20 €' }) => ({
      recipient: { comment_id: commentId },
      message,
    });
    return { ...world, commenter, post, comment, addComment, reply };
  }

  it('sends the first reply without a 24-hour window, stores it and echoes it', () => {
    const { send, reply, comment, commenter, store, account, events } = withComment();
    store.clock.advance(3 * DAY);
    const response = send(reply(comment.id));
    const thread = store.conversationWith(account.igId, commenter.igsid);
    const stored = thread?.messages[0];
    expect(response).toEqual({ recipient_id: commenter.igsid, message_id: stored?.mid });
    expect(Object.keys(response)).toEqual(['recipient_id', 'message_id']);
    expect(thread?.messages).toHaveLength(1);
    expect(stored).toMatchObject({
      fromId: account.igId,
      toId: commenter.igsid,
      text: 'It is 20 €',
      attachments: [],
      shares: [],
      payload: undefined,
    });
    expect(comment.privateReplyMid).toBe(stored?.mid);
    expect(events).toEqual([
      {
        igId: account.igId,
        field: 'message_echoes',
        event: {
          sender: { id: account.igId },
          recipient: { id: commenter.igsid },
          timestamp: T0 + 3 * DAY,
          message: { mid: stored?.mid, text: 'It is 20 €', is_echo: true },
        },
      },
    ]);
  });

  it('refuses a second reply to the same comment with code 10', () => {
    const { send, refusal, reply, comment } = withComment();
    send(reply(comment.id));
    expect(refusal(reply(comment.id))).toEqual({
      status: 400,
      code: 10,
      subcode: undefined,
      type: 'IGApiException',
      message: '(#10) This comment has already been replied to privately.',
    });
  });

  it('opens no window: a follow-up waits for the user to write', () => {
    const { send, refusal, reply, comment, commenter } = withComment();
    send(reply(comment.id));
    expect(
      refusal({ recipient: { id: commenter.igsid }, message: { text: 'Still interested?' } }),
    ).toEqual(outsideWindow);
  });

  it('takes a comment just under 7 days old and refuses one of exactly 7 days', () => {
    const { send, refusal, reply, addComment, commenter } = withComment();
    const fresh = addComment({ createdTime: T0 - 7 * DAY + 1 });
    const old = addComment({ createdTime: T0 - 7 * DAY });
    expect(send(reply(fresh.id))).toMatchObject({ recipient_id: commenter.igsid });
    expect(refusal(reply(old.id))).toEqual(invalidComment);
    expect(old.privateReplyMid).toBeNull();
  });

  it("answers 2534025 for an unknown comment and for another account's comment", () => {
    const { refusal, reply, addComment, store } = withComment();
    const other = store.addAccount({ username: 'other' });
    const theirs = addComment({ accountIgId: other.igId, mediaId: store.addMedia(other.igId).id });
    expect(refusal(reply('17999999999999999'))).toEqual(invalidComment);
    expect(refusal(reply(theirs.id))).toEqual(invalidComment);
  });

  it('takes text only, and no messaging_type or tag', () => {
    const { refusal, reply, comment } = withComment();
    const url = 'https://cdn.example.com/a.png';
    expect(refusal(reply(comment.id, image(url)))).toEqual(
      invalidData('message.attachment is not allowed'),
    );
    expect(refusal(reply(comment.id, { text: 'hi', quick_replies: [] }))).toEqual(
      invalidData('message.quick_replies is not allowed'),
    );
    expect(refusal(reply(comment.id, { text: '' }))).toEqual(
      invalidData('text must be a non-empty string'),
    );
    expect(refusal({ ...reply(comment.id), messaging_type: 'RESPONSE' })).toEqual(
      invalidParameter('Unexpected parameter messaging_type'),
    );
    expect(refusal({ recipient: { comment_id: comment.id }, sender_action: 'typing_on' })).toEqual(
      invalidParameter('Unexpected parameter sender_action'),
    );
  });

  it('answers 551 when the commenter is unavailable', () => {
    const { refusal, reply, comment, commenter } = withComment();
    commenter.unavailable = true;
    expect(refusal(reply(comment.id))).toEqual(userUnavailable);
  });

  it('requires instagram_business_manage_comments', () => {
    const { refusal, reply, comment } = withComment([
      'instagram_business_basic',
      'instagram_business_manage_messages',
    ]);
    expect(refusal(reply(comment.id))).toEqual({
      status: 400,
      code: 200,
      subcode: undefined,
      type: 'IGApiException',
      message: '(#200) Requires instagram_business_manage_comments permission to manage the object',
    });
  });
});
