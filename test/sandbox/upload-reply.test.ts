import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sandbox/simulator.ts';
import {
  createClock,
  type SimAccount,
  type SimMessage,
  type SimToken,
  type SimUser,
} from '../../src/sandbox/store.ts';
import { fixture } from '../helpers/fixtures.ts';

/**
 * The simulator's side of issue 15's sends, over HTTP: the attachment upload API
 * (`/message_attachments`, JSON and multipart), sends by `attachment_id`, `reply_to`, email and
 * phone quick replies, conversations without `platform`, and API versions.
 */

const T0 = Date.parse('2026-11-20T12:00:00Z');

let sim: Simulator;
let account: SimAccount;
let token: SimToken;
let other: { account: SimAccount; token: SimToken };
let ana: SimUser;
let question: SimMessage;
let bens: SimMessage;

beforeAll(async () => {
  sim = new Simulator({ appSecret: 'secret', rateLimits: false, clock: createClock(T0, true) });
  ({ account, token } = sim.addAccount({ username: 'shop' }));
  other = sim.addAccount({ username: 'studio' });
  ana = sim.store.addUser(account.igId, { username: 'ana' });
  const ben = sim.store.addUser(account.igId, { username: 'ben' });
  question = sim.store.addMessage(account.igId, ana.igsid, {
    fromId: ana.igsid,
    text: 'Is it in green?',
    createdTime: T0 - 60_000,
  });
  bens = sim.store.addMessage(account.igId, ben.igsid, {
    fromId: ben.igsid,
    text: 'Hi',
    createdTime: T0 - 60_000,
  });
  await sim.start();
});
afterAll(() => sim.stop());

async function call(
  method: string,
  path: string,
  body?: unknown,
  as: SimToken = token,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${as.token}`,
      ...(body === undefined || body instanceof FormData
        ? {}
        : { 'content-type': 'application/json' }),
    },
    body: body instanceof FormData ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const uploadPath = () => `/v27.0/${account.igId}/message_attachments`;
const upload = (body: unknown, as?: SimToken) => call('POST', uploadPath(), body, as);
const sendTo = (body: Record<string, unknown>) =>
  call('POST', '/v27.0/me/messages', { recipient: { id: ana.igsid }, ...body });

/** The error envelope without its random trace id. */
function errorOf(res: { status: number; body: Record<string, unknown> }) {
  const { fbtrace_id, ...error } = res.body.error as Record<string, unknown>;
  expect(fbtrace_id).toEqual(expect.any(String));
  return { status: res.status, ...error };
}
const invalidData = (detail: string) => ({
  status: 400,
  message: `Invalid message data: ${detail}`,
  type: 'IGApiException',
  code: 100,
  error_subcode: 2534015,
});
const invalidParameter = (message: string) => ({
  status: 400,
  message: `(#100) ${message}`,
  type: 'IGApiException',
  code: 100,
});

const byUrl = (type: string, url: string) => ({
  message: { attachment: { type, payload: { url, is_reusable: true } } },
});

function multipart(message: unknown, file?: File): FormData {
  const form = new FormData();
  form.set('message', JSON.stringify(message));
  if (file) form.set('filedata', file);
  return form;
}

describe('POST /<IG_ID>/message_attachments', () => {
  it('stores media by URL for the account and answers {attachment_id}', async () => {
    const res = await upload(byUrl('image', 'https://cdn.example.com/a.png'));
    expect(res).toEqual({
      status: 200,
      body: { attachment_id: expect.stringMatching(/^\d{16}$/) },
    });
    const id = String(res.body.attachment_id);
    expect(sim.store.uploads.get(id)).toEqual({
      id,
      accountIgId: account.igId,
      type: 'image',
      sourceUrl: 'https://cdn.example.com/a.png',
      createdTime: T0,
    });
    // `platform: instagram`, as the Page-token variant sends it, is taken too.
    const withPlatform = await upload({
      platform: 'instagram',
      ...byUrl('file', 'https://cdn.example.com/a.pdf'),
    });
    expect(withPlatform.status).toBe(200);
  });

  it('stores a multipart filedata part within its type’s limit', async () => {
    const file = new File([new Uint8Array(8_000_000)], 'poster.png', { type: 'image/png' });
    const res = await upload(
      multipart({ attachment: { type: 'image', payload: { is_reusable: true } } }, file),
    );
    expect(res.status).toBe(200);
    expect(sim.store.uploads.get(String(res.body.attachment_id))).toMatchObject({
      type: 'image',
      name: 'poster.png',
      size: 8_000_000,
    });
  });

  it('refuses what Instagram refuses', async () => {
    const image = (payload: unknown) => ({ message: { attachment: { type: 'image', payload } } });
    const cases: [unknown, Record<string, unknown>][] = [
      [{}, invalidParameter('The parameter message is required')],
      [
        { ...byUrl('image', 'https://a.example/a.png'), x: 1 },
        invalidParameter('Unexpected parameter x'),
      ],
      [
        { platform: 'messenger', ...byUrl('image', 'https://a.example/a.png') },
        invalidParameter('Param platform must be instagram'),
      ],
      [
        byUrl('sticker', 'https://a.example/a.png'),
        invalidData('attachment.type must be image, audio, video or file'),
      ],
      [image(undefined), invalidData('attachment.payload must be an object')],
      [
        image({ url: 'https://a.example/a.png' }),
        invalidData('attachment.payload.is_reusable must be true'),
      ],
      [image({ is_reusable: true }), invalidData('attachment.payload.url is required')],
      [
        byUrl('image', 'http://a.example/a.png'),
        invalidData('attachment.payload.url must be an https URL'),
      ],
      [
        byUrl('file', 'https://a.example/a.docx'),
        invalidData('attachment.payload.url must have no extension or one of pdf for file'),
      ],
      [
        byUrl('video', 'https://media.invalid/a.mp4'),
        {
          status: 400,
          message: 'Failed to fetch the file from the url',
          type: 'IGApiException',
          code: 100,
          error_subcode: 2018008,
        },
      ],
    ];
    for (const [body, error] of cases) {
      expect(errorOf(await upload(body))).toEqual(error);
    }
  });

  it('refuses a file over its limit, with a foreign name or a wrong extension', async () => {
    const message = (type: string) => ({ attachment: { type, payload: { is_reusable: true } } });
    const big = new File([new Uint8Array(8_000_001)], 'a.png');
    expect(errorOf(await upload(multipart(message('image'), big)))).toEqual({
      status: 400,
      message: 'The attachment is too large',
      type: 'IGApiException',
      code: 100,
      error_subcode: 2018109,
    });
    const named = new File([new Uint8Array(1)], 'facture-été.pdf');
    expect(errorOf(await upload(multipart(message('file'), named)))).toEqual(
      invalidData('filedata must have a file name of ASCII characters'),
    );
    const wrong = new File([new Uint8Array(1)], 'a.mp3');
    expect(errorOf(await upload(multipart(message('audio'), wrong)))).toEqual(
      invalidData('filedata must have no extension or one of aac, m4a, wav, mp4 for audio'),
    );
    // An audio part typed as audio (Messenger's "Saving assets"), not as bytes.
    const untyped = new File([new Uint8Array(1)], 'voice.m4a');
    expect(errorOf(await upload(multipart(message('audio'), untyped)))).toEqual(
      invalidData('filedata must be sent with a Content-Type of audio/*'),
    );
    const typed = new File([new Uint8Array(1)], 'voice.m4a', { type: 'audio/mp4' });
    expect((await upload(multipart(message('audio'), typed))).status).toBe(200);
    // A file's payload has no url.
    const withUrl = {
      attachment: { type: 'file', payload: { url: 'https://a.example/a.pdf', is_reusable: true } },
    };
    expect(
      errorOf(await upload(multipart(withUrl, new File([new Uint8Array(1)], 'a.pdf')))),
    ).toEqual(invalidData('attachment.payload.url is not allowed'));
  });

  it('is the account’s own: another account cannot send its id, nor can a type change', async () => {
    const mine = String(
      (await upload(byUrl('audio', 'https://cdn.example.com/a.m4a'))).body.attachment_id,
    );
    const theirs = String(
      (await upload(byUrl('image', 'https://cdn.example.com/b.png'), other.token)).body
        .attachment_id,
    );
    const byId = (type: string, id: string) =>
      sendTo({ message: { attachment: { type, payload: { attachment_id: id } } } });
    expect(errorOf(await byId('image', theirs))).toEqual(
      invalidData(
        'attachment.payload.attachment_id must be an attachment uploaded by this account',
      ),
    );
    expect(errorOf(await byId('image', '1234567890123456'))).toEqual(
      invalidData(
        'attachment.payload.attachment_id must be an attachment uploaded by this account',
      ),
    );
    expect(errorOf(await byId('video', mine))).toEqual(
      invalidData('attachment.payload.attachment_id was uploaded as audio, not video'),
    );
    const sent = await byId('audio', mine);
    expect(sent.status).toBe(200);
    expect(sim.store.messages.get(String(sent.body.message_id))?.attachments).toEqual([
      {
        type: 'audio',
        id: expect.stringMatching(/^\d{16}$/),
        url: `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${mine}`,
      },
    ]);
  });
});

describe('reply_to', () => {
  it('is stored, read back as reply_to and echoed', async () => {
    const res = await sendTo({ reply_to: { mid: question.mid }, message: { text: 'Yes!' } });
    expect(res.status).toBe(200);
    const mid = String(res.body.message_id);
    const read = await call('GET', `/v27.0/${mid}?fields=message,reply_to`);
    expect(read.body).toEqual({
      message: 'Yes!',
      reply_to: { mid: question.mid, is_self_reply: false },
      id: mid,
    });
  });

  it('refuses a mid outside the conversation, an unknown one, and a malformed reply_to', async () => {
    const text = { message: { text: 'Yes!' } };
    const notHere = invalidParameter(
      'Param reply_to.mid must be a message of the conversation with the recipient',
    );
    expect(errorOf(await sendTo({ reply_to: { mid: bens.mid }, ...text }))).toEqual(notHere);
    expect(
      errorOf(await sendTo({ reply_to: { mid: 'aWdfZAG1faXRlbTpnb25lZDZD' }, ...text })),
    ).toEqual(notHere);
    expect(errorOf(await sendTo({ reply_to: question.mid, ...text }))).toEqual(
      invalidParameter('Param reply_to must be {"mid": "<MID>"}'),
    );
    // Sender actions take no reply_to.
    expect(
      errorOf(await sendTo({ reply_to: { mid: question.mid }, sender_action: 'typing_on' })),
    ).toEqual(invalidParameter('Unexpected parameter reply_to'));
  });
});

describe('the 2026 rules', () => {
  it('refuses email and phone-number quick replies', async () => {
    const res = await sendTo({
      message: { text: 'Your email?', quick_replies: [{ content_type: 'user_email' }] },
    });
    expect(errorOf(res)).toEqual(
      invalidData('quick_replies[0].content_type user_email is no longer supported on Instagram'),
    );
  });

  it('lists conversations without platform=instagram, in the real capture’s shape', async () => {
    const res = await call('GET', `/v25.0/${account.igId}/conversations`);
    const real = fixture('api-conversations-list-no-platform-param-real.json') as {
      data: Record<string, unknown>[];
    };
    const keys = (items: Record<string, unknown>[]) => items.map((i) => Object.keys(i));
    const data = res.body.data as Record<string, unknown>[];
    expect(res.status).toBe(200);
    expect(keys(data)).toEqual(data.map(() => keys(real.data)[0]));
    expect(data[0]?.updated_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    expect(real.data[0]?.updated_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  });

  it('serves every released version up to v27.0, and refuses a version not yet released', async () => {
    expect((await call('GET', '/v27.0/me')).status).toBe(200);
    expect(errorOf(await call('GET', '/v28.0/me'))).toEqual({
      status: 400,
      message: 'Unknown path components: /v28.0',
      type: 'IGApiException',
      code: 2500,
    });
  });
});
