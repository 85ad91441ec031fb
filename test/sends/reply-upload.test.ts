import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimMedia, SimMessage, SimUser } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';

/**
 * Issue 15, the send half, through GraphQL against the simulator: replies to a message
 * (`replyToMessageId` → `reply_to`), the attachment upload API (`uploadAttachment`, by URL and by
 * multipart file) and sends by `attachmentId`, email and phone quick replies refused, and the
 * default Graph API version.
 */

const MINUTE = 60_000;
const USER_ERRORS = 'userErrors { __typename code message field }';
const UPLOAD = `mutation($input: UploadAttachmentInput!) {
  result: uploadAttachment(input: $input) { attachmentId ${USER_ERRORS} } }`;

interface UserErrorBody {
  readonly __typename: string;
  readonly code: string;
  readonly message: string;
  readonly field: readonly string[] | null;
}

interface Seeded {
  shop: SimAccount;
  studio: SimAccount;
  post: SimMedia;
  ana: SimUser;
  ben: SimUser;
  mara: SimUser;
  /** ana's message, 10 minutes ago. */
  question: SimMessage;
  /** ben's message. */
  bens: SimMessage;
  /** mara's message to lumen.studio (another tenant). */
  maras: SimMessage;
}

function seed(sim: Simulator): Seeded {
  const { store } = sim;
  const shop = sim.addAccount({ username: 'northwind.shop' }).account;
  const studio = sim.addAccount({ username: 'lumen.studio' }).account;
  const post = store.addMedia(shop.igId, { caption: 'Autumn collection' });
  const wrote = (account: SimAccount, username: string) => {
    const user = store.addUser(account.igId, { username });
    const message = store.addMessage(account.igId, user.igsid, {
      fromId: user.igsid,
      text: `Hello from ${username}`,
      createdTime: T0 - 10 * MINUTE,
    });
    return { user, message };
  };
  const { user: ana, message: question } = wrote(shop, 'ana.costa');
  const { user: ben, message: bens } = wrote(shop, 'ben_hughes');
  const { user: mara, message: maras } = wrote(studio, 'mara.voss');
  return { shop, studio, post, ana, ben, mara, question, bens, maras };
}

let gw: Gateway;
let s: Seeded;
let token: string;

beforeAll(async () => {
  gw = await startGateway((sim) => {
    s = seed(sim);
  });
  token = await gw.session([s.shop.igId]);
});
afterAll(() => gw.stop());

const accountId = () => globalId.account(s.shop.igId);
const to = (user: SimUser) => ({
  accountId: accountId(),
  recipientId: globalId.participant(s.shop.igId, user.igsid),
});
const messageIdOf = (m: SimMessage, user: SimUser, account: SimAccount = s.shop) =>
  globalId.message(account.igId, user.igsid, m.mid);

/** The Graph requests (method, path, body) the simulator served while `run` ran. */
async function upstream(run: () => Promise<unknown>) {
  const mark = gw.sim.requests.length;
  await run();
  return gw.sim.requests
    .slice(mark)
    .map((r) => ({ method: r.method, path: r.path, status: r.status, body: r.body }));
}

async function mutate<T = Record<string, unknown>>(
  document: string,
  input: Record<string, unknown>,
): Promise<T & { userErrors: UserErrorBody[] }> {
  const res = await gw.query<{ result: T & { userErrors: UserErrorBody[] } }>(token, document, {
    input,
  });
  expect(res.body.errors).toBeUndefined();
  const result = res.body.data?.result;
  if (!result) throw new Error(`no payload: ${JSON.stringify(res.body)}`);
  return result;
}

const INPUTS: Readonly<Record<string, string>> = {
  sendTextMessage: 'SendTextMessageInput',
  sendImageMessage: 'SendImageMessageInput',
  sendAudioMessage: 'SendMediaMessageInput',
  sendVideoMessage: 'SendMediaMessageInput',
  sendFileMessage: 'SendMediaMessageInput',
  sendLikeHeart: 'SendLikeHeartInput',
  sendMediaShare: 'SendMediaShareInput',
  sendQuickReplies: 'SendQuickRepliesInput',
  sendGenericTemplate: 'SendGenericTemplateInput',
  sendButtonTemplate: 'SendButtonTemplateInput',
};

interface Sent {
  message: {
    mid: string;
    text: string | null;
    attachments: { kind: string; url: string | null }[];
    replyTo: { id: string; mid: string; text: string | null } | null;
  } | null;
}

const send = (mutation: string, input: Record<string, unknown>) =>
  mutate<Sent>(
    `mutation($input: ${INPUTS[mutation]}!) { result: ${mutation}(input: $input) {
      message { mid text attachments { kind url } replyTo { id mid text } } ${USER_ERRORS} } }`,
    input,
  );

const validation = (message: string, field: readonly string[]): UserErrorBody => ({
  __typename: 'ValidationError',
  code: 'VALIDATION',
  message,
  field,
});

const path = () => `/v27.0/${s.shop.igId}/messages`;

describe('the default Graph API version', () => {
  it('is v27.0, the newest, in every call igql makes', async () => {
    expect(gw.config.instagram.apiVersion).toBe('v27.0');
    const calls = await upstream(() => send('sendTextMessage', { ...to(s.ana), text: 'Hi' }));
    expect(calls.map((c) => c.path)).toEqual([path()]);
  });
});

describe('replyToMessageId', () => {
  it('sends reply_to beside message, stores it, and reads it back as replyTo', async () => {
    let result: Awaited<ReturnType<typeof send>> | undefined;
    const calls = await upstream(async () => {
      result = await send('sendTextMessage', {
        ...to(s.ana),
        text: 'Yes, in green too',
        replyToMessageId: messageIdOf(s.question, s.ana),
      });
    });
    const mid = result?.message?.mid ?? '';
    expect(result).toEqual({
      message: {
        mid,
        text: 'Yes, in green too',
        attachments: [],
        replyTo: {
          id: messageIdOf(s.question, s.ana),
          mid: s.question.mid,
          text: 'Hello from ana.costa',
        },
      },
      userErrors: [],
    });
    // The send, then one read of the quoted message for `replyTo { text }`.
    expect(calls).toEqual([
      {
        method: 'POST',
        path: path(),
        status: 200,
        body: {
          recipient: { id: s.ana.igsid },
          reply_to: { mid: s.question.mid },
          message: { text: 'Yes, in green too' },
        },
      },
      {
        method: 'GET',
        path: `/v27.0/${s.question.mid}`,
        status: 200,
        body: undefined,
      },
    ]);
    expect(gw.sim.store.messages.get(mid)?.replyTo).toEqual({
      mid: s.question.mid,
      isSelfReply: false,
    });
  });

  it('goes on every message send, beside its message', async () => {
    const replyToMessageId = messageIdOf(s.bens, s.ben);
    const cases: [string, Record<string, unknown>][] = [
      ['sendImageMessage', { urls: ['https://cdn.example.com/a.png'] }],
      ['sendAudioMessage', { url: 'https://cdn.example.com/a.m4a' }],
      ['sendVideoMessage', { url: 'https://cdn.example.com/a.mp4' }],
      ['sendFileMessage', { url: 'https://cdn.example.com/a.pdf' }],
      ['sendLikeHeart', {}],
      ['sendMediaShare', { mediaId: s.post.id }],
      [
        'sendQuickReplies',
        { text: 'Size?', quickReplies: [{ contentType: 'TEXT', title: 'M', payload: 'M' }] },
      ],
      ['sendGenericTemplate', { elements: [{ title: 'Gift card', subtitle: 'Any amount' }] }],
      [
        'sendButtonTemplate',
        {
          text: 'Track it',
          buttons: [{ type: 'POSTBACK', title: 'Track', payload: 'TRACK' }],
        },
      ],
    ];
    for (const [mutation, content] of cases) {
      let result: Awaited<ReturnType<typeof send>> | undefined;
      const calls = await upstream(async () => {
        result = await send(mutation, { ...to(s.ben), ...content, replyToMessageId });
      });
      expect(result?.userErrors, mutation).toEqual([]);
      const post = calls.find((c) => c.method === 'POST');
      expect((post?.body as { reply_to?: unknown } | undefined)?.reply_to, mutation).toEqual({
        mid: s.bens.mid,
      });
      expect(result?.message?.replyTo?.mid, mutation).toBe(s.bens.mid);
      expect(gw.sim.store.messages.get(result?.message?.mid ?? '')?.replyTo, mutation).toEqual({
        mid: s.bens.mid,
        isSelfReply: false,
      });
    }
  });

  it('refuses a message of another account as NOT_FOUND, of another conversation as invalid, with no upstream call', async () => {
    const cases: [unknown, UserErrorBody][] = [
      [
        messageIdOf(s.maras, s.mara, s.studio),
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: 'Message not found',
          field: ['input', 'replyToMessageId'],
        },
      ],
      [
        globalId.participant(s.shop.igId, s.ana.igsid),
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: 'Message not found',
          field: ['input', 'replyToMessageId'],
        },
      ],
      [
        messageIdOf(s.bens, s.ben),
        validation(
          'replyToMessageId must be a message of the conversation with the recipient (recipientId)',
          ['input', 'replyToMessageId'],
        ),
      ],
    ];
    for (const [replyToMessageId, error] of cases) {
      let result: Awaited<ReturnType<typeof send>> | undefined;
      const calls = await upstream(async () => {
        result = await send('sendTextMessage', { ...to(s.ana), text: 'Hi', replyToMessageId });
      });
      expect(result).toEqual({ message: null, userErrors: [error] });
      expect(calls).toEqual([]);
    }
  });

  it('answers Instagram’s refusal of a mid it does not hold as a ValidationError', async () => {
    // A well-formed id of the right conversation whose message Instagram does not have.
    const replyToMessageId = globalId.message(
      s.shop.igId,
      s.ana.igsid,
      'aWdfZAG1faXRlbTpnb25lZDZD',
    );
    const result = await send('sendTextMessage', { ...to(s.ana), text: 'Hi', replyToMessageId });
    expect(result.message).toBeNull();
    expect(result.userErrors).toEqual([
      validation(
        expect.stringMatching(
          /^Instagram refused the message as invalid \(Graph error 100, trace /,
        ),
        ['input'],
      ),
    ]);
  });

  it('is part of the idempotency fingerprint: another target under the same key conflicts', async () => {
    const input = {
      ...to(s.ana),
      text: 'Noted',
      idempotencyKey: 'reply-1',
      replyToMessageId: messageIdOf(s.question, s.ana),
    };
    const first = await send('sendTextMessage', input);
    expect(first.userErrors).toEqual([]);
    const calls = await upstream(async () => {
      expect(await send('sendTextMessage', input)).toEqual(first);
    });
    expect(calls.filter((c) => c.method === 'POST')).toEqual([]);
    const { replyToMessageId: _, ...unreplied } = input;
    expect((await send('sendTextMessage', unreplied)).userErrors).toEqual([
      {
        __typename: 'IdempotencyConflictError',
        code: 'IDEMPOTENCY_CONFLICT',
        message: 'This idempotency key was already used with different content: use a new key',
        field: null,
      },
    ]);
  });
});

describe('email and phone-number quick replies', () => {
  it('are deprecated in the schema with the reason and date', async () => {
    const res = await gw.query<{
      __type: { enumValues: { name: string; isDeprecated: boolean; deprecationReason: string }[] };
    }>(
      token,
      '{ __type(name: "QuickReplyContentType") { enumValues(includeDeprecated: true) { name isDeprecated deprecationReason } } }',
    );
    const reason =
      'Instagram disabled email and phone-number quick replies on 2026-10-05: ask in a TEXT quick reply or in the text instead';
    expect(res.body.data?.__type.enumValues).toEqual([
      { name: 'TEXT', isDeprecated: false, deprecationReason: null },
      { name: 'USER_EMAIL', isDeprecated: true, deprecationReason: reason },
      { name: 'USER_PHONE_NUMBER', isDeprecated: true, deprecationReason: reason },
    ]);
  });

  it('are refused with a ValidationError saying why, before any upstream call', async () => {
    let result: Awaited<ReturnType<typeof send>> | undefined;
    const calls = await upstream(async () => {
      result = await send('sendQuickReplies', {
        ...to(s.ana),
        text: 'How can we reach you?',
        quickReplies: [
          { contentType: 'TEXT', title: 'Later', payload: 'LATER' },
          { contentType: 'USER_EMAIL' },
          { contentType: 'USER_PHONE_NUMBER' },
        ],
      });
    });
    const why = (i: number) =>
      validation(
        `quickReplies.${i}.contentType Instagram disabled email and phone-number quick replies on 2026-10-05: ask in a TEXT quick reply or in the text instead`,
        ['input', 'quickReplies', String(i), 'contentType'],
      );
    expect(result).toEqual({ message: null, userErrors: [why(1), why(2)] });
    expect(calls).toEqual([]);
  });
});

describe('uploadAttachment by URL, and sends by attachmentId', () => {
  const upload = (input: Record<string, unknown>) =>
    mutate<{ attachmentId: string | null }>(UPLOAD, { accountId: accountId(), ...input });

  it('posts the upload body and answers a reusable id the sends take, mixed with URLs', async () => {
    const url = 'https://cdn.example.com/catalogue.png';
    let uploaded: { attachmentId: string | null } | undefined;
    const calls = await upstream(async () => {
      uploaded = await upload({ type: 'IMAGE', url });
    });
    const attachmentId = uploaded?.attachmentId ?? '';
    expect(uploaded).toEqual({ attachmentId: expect.stringMatching(/^\d{16}$/), userErrors: [] });
    expect(calls).toEqual([
      {
        method: 'POST',
        path: `/v27.0/${s.shop.igId}/message_attachments`,
        status: 200,
        body: {
          message: { attachment: { type: 'image', payload: { url, is_reusable: true } } },
        },
      },
    ]);
    expect(gw.sim.store.uploads.get(attachmentId)).toMatchObject({
      accountIgId: s.shop.igId,
      type: 'image',
      sourceUrl: url,
    });

    const cdn = `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${attachmentId}`;
    const first = 'https://cdn.example.com/cover.jpg';
    let sent: Awaited<ReturnType<typeof send>> | undefined;
    const sends = await upstream(async () => {
      sent = await send('sendImageMessage', {
        ...to(s.ana),
        urls: [first],
        attachmentIds: [attachmentId, attachmentId],
      });
    });
    expect(sends.map((c) => c.body)).toEqual([
      {
        recipient: { id: s.ana.igsid },
        message: {
          attachments: [
            { type: 'image', payload: { url: first } },
            { type: 'image', payload: { attachment_id: attachmentId } },
            { type: 'image', payload: { attachment_id: attachmentId } },
          ],
        },
      },
    ]);
    // The payload shows what igql sent: an uploaded image's URL is Instagram's to tell.
    expect(sent?.message?.attachments).toEqual([
      { kind: 'IMAGE', url: first },
      { kind: 'IMAGE', url: null },
      { kind: 'IMAGE', url: null },
    ]);
    expect(
      gw.sim.store.messages.get(sent?.message?.mid ?? '')?.attachments.map((a) => a.url),
    ).toEqual([first, cdn, cdn]);

    const byIdOnly = await upstream(() =>
      send('sendImageMessage', { ...to(s.ana), attachmentIds: [attachmentId] }),
    );
    expect(byIdOnly.map((c) => c.body)).toEqual([
      {
        recipient: { id: s.ana.igsid },
        message: { attachment: { type: 'image', payload: { attachment_id: attachmentId } } },
      },
    ]);
  });

  it.each([
    ['AUDIO', 'sendAudioMessage', 'audio', 'https://cdn.example.com/note.m4a'],
    ['VIDEO', 'sendVideoMessage', 'video', 'https://cdn.example.com/clip.mp4'],
    ['FILE', 'sendFileMessage', 'file', 'https://cdn.example.com/invoice.pdf'],
  ])('uploads %s and %s sends it by attachmentId', async (type, mutation, wire, url) => {
    const { attachmentId } = await upload({ type, url });
    const calls = await upstream(async () => {
      const sent = await send(mutation, { ...to(s.ana), attachmentId });
      expect(sent.userErrors).toEqual([]);
    });
    expect(calls.map((c) => c.body)).toEqual([
      {
        recipient: { id: s.ana.igsid },
        message: { attachment: { type: wire, payload: { attachment_id: attachmentId } } },
      },
    ]);
  });

  it('refuses input mistakes before any upstream call', async () => {
    const cases: [string, Record<string, unknown>, UserErrorBody[]][] = [
      [
        'sendAudioMessage',
        { url: 'https://cdn.example.com/a.m4a', attachmentId: '1234567890123456' },
        [validation('url give exactly one of url and attachmentId', ['input', 'url'])],
      ],
      [
        'sendVideoMessage',
        {},
        [validation('url give exactly one of url and attachmentId', ['input', 'url'])],
      ],
      [
        'sendFileMessage',
        { attachmentId: 'abc' },
        [
          validation('attachmentId must be an attachmentId from uploadAttachment', [
            'input',
            'attachmentId',
          ]),
        ],
      ],
      [
        'sendImageMessage',
        {
          urls: Array.from({ length: 6 }, (_, i) => `https://cdn.example.com/${i}.png`),
          attachmentIds: Array.from({ length: 5 }, (_, i) => `10000000000000${i}`),
        },
        [validation('urls give 1 to 10 images in all (urls and attachmentIds)', ['input', 'urls'])],
      ],
      [
        'sendImageMessage',
        { attachmentIds: [] },
        [validation('urls give 1 to 10 images in all (urls and attachmentIds)', ['input', 'urls'])],
      ],
    ];
    for (const [mutation, content, errors] of cases) {
      let result: Awaited<ReturnType<typeof send>> | undefined;
      const calls = await upstream(async () => {
        result = await send(mutation, { ...to(s.ana), ...content });
      });
      expect(result, mutation).toEqual({ message: null, userErrors: errors });
      expect(calls).toEqual([]);
    }
  });

  it('passes on Instagram’s refusal of an id the account did not upload', async () => {
    const theirs = gw.sim.store.addUpload(s.studio.igId, { type: 'image' });
    const result = await send('sendImageMessage', { ...to(s.ana), attachmentIds: [theirs.id] });
    expect(result).toEqual({
      message: null,
      userErrors: [
        validation(
          expect.stringMatching(
            /^Instagram refused the message as invalid \(Graph error 100\/2534015, trace /,
          ),
          ['input'],
        ),
      ],
    });
  });

  it('refuses bad upload input before any call, and passes on a failed fetch', async () => {
    const cases: [Record<string, unknown>, UserErrorBody[]][] = [
      [{ type: 'IMAGE' }, [validation('url give exactly one of url and file', ['input', 'url'])]],
      [
        { type: 'IMAGE', url: 'http://cdn.example.com/a.png' },
        [validation('url must be an https URL', ['input', 'url'])],
      ],
      [
        { type: 'FILE', url: 'https://cdn.example.com/a.docx' },
        [validation('url must be .pdf (or have no extension)', ['input', 'url'])],
      ],
    ];
    for (const [input, errors] of cases) {
      let result: unknown;
      const calls = await upstream(async () => {
        result = await upload(input);
      });
      expect(result).toEqual({ attachmentId: null, userErrors: errors });
      expect(calls).toEqual([]);
    }
    const failed = await upload({ type: 'VIDEO', url: 'https://media.invalid/clip.mp4' });
    expect(failed).toEqual({
      attachmentId: null,
      userErrors: [
        validation(
          expect.stringMatching(
            /^Instagram refused the attachment as invalid \(Graph error 100\/2018008, trace /,
          ),
          ['input'],
        ),
      ],
    });
  });

  it('answers NOT_FOUND for an account the session may not use', async () => {
    const result = await mutate<{ attachmentId: string | null }>(UPLOAD, {
      accountId: globalId.account(s.studio.igId),
      type: 'IMAGE',
      url: 'https://cdn.example.com/a.png',
    });
    expect(result).toEqual({
      attachmentId: null,
      userErrors: [
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: 'Account not found',
          field: ['input', 'accountId'],
        },
      ],
    });
  });
});

describe('uploadAttachment with a file (GraphQL multipart request)', () => {
  /** POSTs `uploadAttachment` as multipart with `file` mapped to `variables.input.file`. */
  async function uploadFile(
    file: File,
    type: string,
    headers: Record<string, string> = { 'x-graphql-yoga-csrf': '1' },
  ) {
    const body = new FormData();
    body.set(
      'operations',
      JSON.stringify({
        query: UPLOAD,
        variables: { input: { accountId: accountId(), type, file: null } },
      }),
    );
    body.set('map', JSON.stringify({ 0: ['variables.input.file'] }));
    body.set('0', file);
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('uploads the bytes as filedata beside the message, and sends by the id', async () => {
    const bytes = new Uint8Array(2_000_000).fill(7);
    let res: Awaited<ReturnType<typeof uploadFile>> | undefined;
    const calls = await upstream(async () => {
      res = await uploadFile(
        new File([bytes], 'price-list.pdf', { type: 'application/pdf' }),
        'FILE',
      );
    });
    const result = (res?.body.data as { result: { attachmentId: string } } | undefined)?.result;
    expect(res).toEqual({
      status: 200,
      body: {
        data: { result: { attachmentId: expect.stringMatching(/^\d{16}$/), userErrors: [] } },
      },
    });
    expect(calls).toEqual([
      {
        method: 'POST',
        path: `/v27.0/${s.shop.igId}/message_attachments`,
        status: 200,
        body: {
          message: { attachment: { type: 'file', payload: { is_reusable: true } } },
          filedata: { name: 'price-list.pdf', type: 'application/pdf', size: 2_000_000 },
        },
      },
    ]);
    expect(gw.sim.store.uploads.get(result?.attachmentId ?? '')).toMatchObject({
      type: 'file',
      name: 'price-list.pdf',
      size: 2_000_000,
    });
    const sent = await send('sendFileMessage', {
      ...to(s.ana),
      attachmentId: result?.attachmentId,
    });
    expect(sent.userErrors).toEqual([]);
  });

  it('refuses a file over its type’s limit, or of the wrong format, before uploading', async () => {
    const big = new File([new Uint8Array(8_000_001)], 'poster.png', { type: 'image/png' });
    let res: Awaited<ReturnType<typeof uploadFile>> | undefined;
    const calls = await upstream(async () => {
      res = await uploadFile(big, 'IMAGE');
    });
    expect(res).toEqual({
      status: 200,
      body: {
        data: {
          result: {
            attachmentId: null,
            userErrors: [
              validation(
                'file is 8000001 bytes; Instagram takes image files up to 8 MB (8000000 bytes)',
                ['input', 'file'],
              ),
            ],
          },
        },
      },
    });
    expect(calls).toEqual([]);
    const wrong = await uploadFile(new File([new Uint8Array(10)], 'notes.txt'), 'FILE');
    expect(wrong.body).toEqual({
      data: {
        result: {
          attachmentId: null,
          userErrors: [validation('file must be .pdf (or have no extension)', ['input', 'file'])],
        },
      },
    });
  });

  it('still needs the CSRF header, as every simple body does', async () => {
    const res = await uploadFile(new File([new Uint8Array(10)], 'a.pdf'), 'FILE', {});
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ errors: [{ extensions: { code: 'CSRF_HEADER_REQUIRED' } }] });
  });
});
