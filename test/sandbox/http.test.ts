import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, DAY, HOUR, type SimMedia, type SimToken } from '../../src/sandbox/store.ts';
import { fixture as readFixture } from '../helpers/fixtures.ts';

const T0 = Date.parse('2026-11-20T12:00:00Z');
const SECRET = 'http-test-instagram-app-secret';
const IG = '17841400000000001';
const APP_SCOPED = '1029384756473829';
const ANA = '5614879045272581';
const BEN = '5614879045272582';
const MID = /^aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOj[A-Za-z0-9]+ZDZD$/;
const SIXTY_DAYS_S = 60 * 24 * 3600;
const REDIRECT = 'https://igql.example/auth/instagram/callback';

type Json = Record<string, unknown>;

const fixture = (name: string): Json => readFixture(name) as Json;

/** The structure of a value: same keys, every leaf replaced by its JSON type, lists by their first item. */
const shape = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  }
  return typeof value;
};

/** Postman's placeholders (`"<TIME_NOTIFICATION_WAS_SENT>"`) in `time`/`timestamp` as numbers. */
const withNumericTimes = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withNumericTimes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        (k === 'time' || k === 'timestamp') && typeof v === 'string' ? 0 : withNumericTimes(v),
      ]),
    );
  }
  return value;
};

/** Meta's wire form, written out independently: compact, `\/`, non-ASCII as `\uXXXX`. */
const metaJson = (value: unknown): string =>
  JSON.stringify(value)
    .replaceAll('/', '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const errorOf = (body: { error: Json }) => {
  const { fbtrace_id, ...rest } = body.error;
  expect(fbtrace_id).toMatch(/^A[A-Za-z0-9_-]{22}$/);
  return rest;
};

/** `X-Business-Use-Case-Usage` as the simulator reports `percent` of the fullest bucket. */
const usage = (percent: number, regainMinutes = 0) =>
  JSON.stringify({
    [IG]: [
      {
        type: 'instagram',
        call_count: percent,
        total_cputime: Math.min(percent, 1),
        total_time: Math.min(percent, 1),
        estimated_time_to_regain_access: regainMinutes,
      },
    ],
  });

interface Received {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

/** A webhook callback on 127.0.0.1:0: records raw bytes and headers, answers queued statuses, then 200. */
async function startReceiver() {
  const requests: Received[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ body: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/instagram`,
    requests,
    statuses,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Checks both signatures over the raw bytes with the app secret; returns the raw text. */
function verified(received: Received): string {
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', SECRET).update(received.body).digest('hex')}`,
  );
  const header = Buffer.from(String(received.headers['x-hub-signature-256']));
  expect(header.length).toBe(expected.length);
  expect(timingSafeEqual(header, expected)).toBe(true);
  expect(received.headers['x-hub-signature']).toBe(
    `sha1=${createHmac('sha1', SECRET).update(received.body).digest('hex')}`,
  );
  expect(received.headers['content-type']).toBe('application/json');
  const raw = received.body.toString('latin1');
  // Real bodies are ASCII (escaped unicode), so the bytes and the text are the same.
  expect(Buffer.from(raw, 'latin1').equals(received.body)).toBe(true);
  return raw;
}

/** A messaging delivery with one event, as the simulator builds it at the frozen T0. */
const messagingBody = (event: Json, time = T0) => ({
  object: 'instagram',
  entry: [{ time, id: IG, messaging: [event] }],
});

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let sim: Simulator;
let token: SimToken;
let post: SimMedia;
let anaMid: string;

/** Waits for the dispatcher, then takes what the receiver got since the last call. */
async function delivered(): Promise<Received[]> {
  await sim.webhooks.idle();
  return receiver.requests.splice(0);
}

interface MessagingEvent {
  readonly sender: { readonly id: string };
  readonly recipient: { readonly id: string };
  readonly message?: { readonly mid: string; readonly is_echo?: boolean };
}

/**
 * Every messaging event delivered since the last call, in order, signatures checked. Events
 * raised before the dispatcher's next tick share one delivery, so tests that send several
 * times count events, not deliveries.
 */
async function deliveredEvents(): Promise<MessagingEvent[]> {
  return (await delivered()).flatMap((received) =>
    (JSON.parse(verified(received)) as { entry: { messaging: MessagingEvent[] }[] }).entry.map(
      (entry) => {
        expect(entry.messaging).toHaveLength(1);
        return entry.messaging[0] as MessagingEvent;
      },
    ),
  );
}

/** The single delivery since the last call, signature checked: its raw text. */
async function onlyDelivery(): Promise<string> {
  const received = await delivered();
  expect(received).toHaveLength(1);
  return verified(received[0] as Received);
}

type Auth = 'bearer' | 'query';

async function send(path: string, body: unknown, auth: Auth = 'bearer') {
  const query = auth === 'query' ? `?access_token=${token.token}` : '';
  const res = await fetch(`${sim.url}/v25.0/${path}${query}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(auth === 'bearer' ? { authorization: `Bearer ${token.token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function get(path: string, query: Record<string, string> = {}, bearer = token.token) {
  const params = new URLSearchParams(query);
  const res = await fetch(`${sim.url}${path}${params.size > 0 ? `?${params}` : ''}`, {
    headers: { authorization: `Bearer ${bearer}` },
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const conversationId = (igsid: string): string => {
  const conversation = sim.store.conversationWith(IG, igsid);
  if (!conversation) throw new Error(`no conversation with ${igsid}`);
  return conversation.id;
};

/** The newest message of the conversation, read back over HTTP. */
async function newestMessage(igsid: string) {
  const res = await get(`/v25.0/${conversationId(igsid)}`, {
    fields: 'messages.limit(1){id,message,from}',
  });
  expect(res.status).toBe(200);
  return res.body.messages.data;
}

beforeEach(async () => {
  receiver = await startReceiver();
  sim = new Simulator({
    appSecret: SECRET,
    clock: createClock(T0, true),
    callbackUrl: () => receiver.url,
    retryScheduleMs: [10, 20],
    rateLimits: false,
  });
  ({ token } = sim.addAccount({
    igId: IG,
    appScopedId: APP_SCOPED,
    username: 'northwind.shop',
  }));
  sim.store.addUser(IG, { igsid: ANA, username: 'ana.costa' });
  sim.store.addUser(IG, { igsid: BEN, username: 'ben_hughes' });
  // Ana wrote 10 minutes ago (inside the 24 h window); Ben 3 days ago (outside it).
  anaMid = sim.store.addMessage(IG, ANA, {
    fromId: ANA,
    text: 'Is the linen shirt in M?',
    createdTime: T0 - 10 * 60_000,
  }).mid;
  sim.store.addMessage(IG, BEN, {
    fromId: BEN,
    text: 'Any news about my refund?',
    createdTime: T0 - 3 * DAY,
  });
  post = sim.store.addMedia(IG, {
    id: '18000000000000001',
    permalink: 'https://www.instagram.com/p/C0nW1nDsh0p/',
  });
  await sim.start();
});

afterEach(async () => {
  await sim.stop();
  await receiver.close();
});

interface Kind {
  readonly name: string;
  readonly path: 'me' | 'igId';
  readonly auth: Auth;
  readonly message: Json;
  /** The echo's `message` besides `mid` and `is_echo`. */
  readonly echo: Json;
  /** `message` of the Graph read. */
  readonly text: string;
  readonly fixture: string;
}

const IMAGE = 'https://cdn.northwind.example/media/linen-shirt.jpg';
const IMAGE2 = 'https://cdn.northwind.example/media/linen-shirt-back.png';
const media = (type: string, url: string) => ({ attachment: { type, payload: { url } } });
const echoed = (type: string, url: string) => ({ attachments: [{ type, payload: { url } }] });
const RESPONSE_IMAGE = 'api-send-response-image-postman.json';

const KINDS: readonly Kind[] = [
  {
    name: 'text',
    path: 'me',
    auth: 'bearer',
    message: { text: 'Yes, it is! Shall I reserve one?' },
    echo: { text: 'Yes, it is! Shall I reserve one?' },
    text: 'Yes, it is! Shall I reserve one?',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'a link',
    path: 'igId',
    auth: 'bearer',
    message: { text: 'Track it at https://northwind.example/t/4100' },
    echo: { text: 'Track it at https://northwind.example/t/4100' },
    text: 'Track it at https://northwind.example/t/4100',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'an image',
    path: 'igId',
    auth: 'bearer',
    message: media('image', IMAGE),
    echo: echoed('image', IMAGE),
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'several images',
    path: 'me',
    auth: 'bearer',
    message: {
      attachments: [
        { type: 'image', payload: { url: IMAGE } },
        { type: 'image', payload: { url: IMAGE2 } },
      ],
    },
    echo: {
      attachments: [
        { type: 'image', payload: { url: IMAGE } },
        { type: 'image', payload: { url: IMAGE2 } },
      ],
    },
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'audio',
    path: 'me',
    auth: 'bearer',
    message: media('audio', 'https://cdn.northwind.example/media/voice-note.m4a'),
    echo: echoed('audio', 'https://cdn.northwind.example/media/voice-note.m4a'),
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'video',
    path: 'igId',
    auth: 'bearer',
    message: media('video', 'https://cdn.northwind.example/media/fitting.mp4'),
    echo: echoed('video', 'https://cdn.northwind.example/media/fitting.mp4'),
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'a file',
    path: 'me',
    auth: 'bearer',
    message: media('file', 'https://cdn.northwind.example/docs/invoice-4100.pdf'),
    echo: echoed('file', 'https://cdn.northwind.example/docs/invoice-4100.pdf'),
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'the heart sticker',
    path: 'igId',
    auth: 'bearer',
    message: { attachment: { type: 'like_heart' } },
    echo: { attachments: [{ type: 'like_heart' }] },
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'a published post (MEDIA_SHARE)',
    path: 'me',
    auth: 'bearer',
    message: { attachment: { type: 'MEDIA_SHARE', payload: { id: '18000000000000001' } } },
    echo: {
      attachments: [
        {
          type: 'ig_post',
          payload: {
            ig_post_media_id: '18000000000000001',
            url: 'https://www.instagram.com/p/C0nW1nDsh0p/',
          },
        },
      ],
    },
    text: '',
    fixture: RESPONSE_IMAGE,
  },
  {
    name: 'quick replies',
    path: 'igId',
    auth: 'query',
    message: {
      text: 'Which size?',
      quick_replies: [
        { content_type: 'text', title: 'Small', payload: 'SIZE_S' },
        { content_type: 'text', title: 'Medium', payload: 'SIZE_M' },
      ],
    },
    echo: { text: 'Which size?' },
    text: 'Which size?',
    fixture: 'api-send-response-quick-replies-postman.json',
  },
  {
    name: 'a generic template',
    path: 'me',
    auth: 'query',
    message: {
      attachment: {
        type: 'template',
        payload: {
          template_type: 'generic',
          elements: [
            {
              title: 'Linen shirt',
              image_url: IMAGE,
              subtitle: 'Five colours',
              default_action: { type: 'web_url', url: 'https://northwind.example/shirt' },
              buttons: [
                { type: 'web_url', url: 'https://northwind.example/shirt', title: 'View' },
                { type: 'postback', payload: 'BUY_SHIRT', title: 'Buy' },
              ],
            },
          ],
        },
      },
    },
    echo: {},
    text: '',
    fixture: 'api-send-response-generic-template-postman.json',
  },
  {
    name: 'a button template',
    path: 'igId',
    auth: 'query',
    message: {
      attachment: {
        type: 'template',
        payload: {
          template_type: 'button',
          text: 'What would you like to do?',
          buttons: [
            { type: 'web_url', url: 'https://northwind.example/orders', title: 'My orders' },
            { type: 'postback', payload: 'TALK_TO_US', title: 'Talk to us' },
          ],
        },
      },
    },
    echo: { text: 'What would you like to do?' },
    text: 'What would you like to do?',
    fixture: RESPONSE_IMAGE,
  },
];

const pathOf = (kind: Kind) => (kind.path === 'me' ? 'me/messages' : `${IG}/messages`);

describe('Send API over HTTP', () => {
  it.each(KINDS)('sends $name, reads it back and echoes it signed', async (kind) => {
    const res = await send(
      pathOf(kind),
      { recipient: { id: ANA }, message: kind.message },
      kind.auth,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ recipient_id: ANA, message_id: expect.stringMatching(MID) });
    expect(Object.keys(res.body)).toEqual(['recipient_id', 'message_id']);
    expect(shape(res.body)).toEqual(shape(fixture(kind.fixture)));
    expect(res.headers.get('x-business-use-case-usage')).toBe(usage(0));
    const mid: string = res.body.message_id;

    expect(await newestMessage(ANA)).toEqual([
      { id: mid, message: kind.text, from: { username: 'northwind.shop', id: IG } },
    ]);

    const raw = await onlyDelivery();
    const event = {
      sender: { id: IG },
      recipient: { id: ANA },
      timestamp: T0,
      message: { mid, ...kind.echo, is_echo: true },
    };
    expect(raw).toBe(metaJson(messagingBody(event)));
    const parsed = JSON.parse(raw);
    expect(parsed.object).toBe('instagram');
    expect(parsed.entry[0].id).toBe(IG);
    expect(parsed.entry[0].messaging[0].message.is_echo).toBe(true);
    expect(parsed.entry[0].messaging[0].message.mid).toBe(mid);
  });

  it('escapes the slashes of URLs in the raw echo', async () => {
    await send('me/messages', { recipient: { id: ANA }, message: media('image', IMAGE) });
    const raw = await onlyDelivery();
    expect(raw).toContain('"url":"https:\\/\\/cdn.northwind.example\\/media\\/linen-shirt.jpg"');
    expect(raw).not.toContain('https://');
  });

  it('echoes an empty template like the real is_echo-only echo', async () => {
    const generic = KINDS.find((k) => k.name === 'a generic template') as Kind;
    await send('me/messages', { recipient: { id: ANA }, message: generic.message });
    const event = JSON.parse(await onlyDelivery()).entry[0].messaging[0];
    const real = fixture('webhook-messages-echo-courier.json') as {
      entry: { messaging: unknown[] }[];
    };
    expect(shape(event)).toEqual(shape(real.entry[0]?.messaging[0]));
  });

  it('takes a form-encoded body with JSON-string parameters the same way', async () => {
    const form = new URLSearchParams({
      recipient: JSON.stringify({ id: ANA }),
      message: JSON.stringify({ text: 'Sent as a form' }),
      access_token: token.token,
    });
    const res = await fetch(`${sim.url}/v25.0/me/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ recipient_id: ANA, message_id: expect.stringMatching(MID) });
    expect(await newestMessage(ANA)).toEqual([
      {
        id: body.message_id,
        message: 'Sent as a form',
        from: { username: 'northwind.shop', id: IG },
      },
    ]);
    expect(await onlyDelivery()).toBe(
      metaJson(
        messagingBody({
          sender: { id: IG },
          recipient: { id: ANA },
          timestamp: T0,
          message: { mid: body.message_id, text: 'Sent as a form', is_echo: true },
        }),
      ),
    );
    const logged = sim.requests.find((r) => r.method === 'POST');
    expect(logged).toMatchObject({
      method: 'POST',
      path: '/v25.0/me/messages',
      endpoint: '/me/messages',
      query: {},
      status: 200,
      at: T0,
      body: {
        recipient: `{"id":"${ANA}"}`,
        message: '{"text":"Sent as a form"}',
        access_token: token.token,
      },
    });
  });

  it('reacts, unreacts and sends typing and seen actions without any webhook', async () => {
    const action = (sender_action: string, payload?: Json) =>
      send('me/messages', {
        recipient: { id: ANA },
        sender_action,
        ...(payload ? { payload } : {}),
      });
    const reacted = await action('react', { message_id: anaMid, reaction: 'love' });
    expect(reacted).toMatchObject({ status: 200, body: { recipient_id: ANA } });
    expect(Object.keys(reacted.body)).toEqual(['recipient_id']);
    expect((await get(`/v25.0/${anaMid}`, { fields: 'reactions' })).body).toEqual({
      id: anaMid,
      reactions: {
        data: [{ reaction: 'love', users: [{ username: 'northwind.shop', id: IG }] }],
      },
    });

    const unreacted = await action('unreact', { message_id: anaMid });
    expect(unreacted).toMatchObject({ status: 200, body: { recipient_id: ANA } });
    expect((await get(`/v25.0/${anaMid}`, { fields: 'reactions' })).body).toEqual({
      id: anaMid,
    });

    for (const name of ['typing_on', 'typing_off', 'mark_seen']) {
      const res = await action(name);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ recipient_id: ANA });
    }
    // No echo for the business's own actions and reactions.
    expect(await delivered()).toEqual([]);
  });

  it('sends one private reply to a comment, echoed, and refuses a second', async () => {
    const comment = sim.users.comment(IG, post.id, ANA, 'How much is the green one?');
    expect(await delivered()).toHaveLength(1);
    const reply = { recipient: { comment_id: comment.id }, message: { text: 'It is 49 EUR' } };

    const res = await send(`${IG}/messages`, reply);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ recipient_id: ANA, message_id: expect.stringMatching(MID) });
    expect(shape(res.body)).toEqual(shape(fixture('api-send-response-private-reply-postman.json')));
    expect(await newestMessage(ANA)).toEqual([
      {
        id: res.body.message_id,
        message: 'It is 49 EUR',
        from: { username: 'northwind.shop', id: IG },
      },
    ]);
    expect(await onlyDelivery()).toBe(
      metaJson(
        messagingBody({
          sender: { id: IG },
          recipient: { id: ANA },
          timestamp: T0,
          message: { mid: res.body.message_id, text: 'It is 49 EUR', is_echo: true },
        }),
      ),
    );

    const again = await send(`${IG}/messages`, reply);
    expect(again.status).toBe(400);
    expect(errorOf(again.body)).toEqual({
      message: '(#10) This comment has already been replied to privately.',
      type: 'IGApiException',
      code: 10,
    });
  });

  it('sends with HUMAN_AGENT outside 24 hours but inside 7 days, not after', async () => {
    const text = { recipient: { id: BEN }, message: { text: 'Your refund went out today.' } };
    const plain = await send('me/messages', text);
    expect(plain.status).toBe(403);

    const tagged = await send('me/messages', { ...text, tag: 'HUMAN_AGENT' });
    expect(tagged.status).toBe(200);
    expect(tagged.body).toEqual({ recipient_id: BEN, message_id: expect.stringMatching(MID) });
    const withType = await send(`${IG}/messages`, {
      ...text,
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
    });
    expect(withType.status).toBe(200);
    const echoes = await deliveredEvents();
    expect(echoes.map((e) => [e.recipient.id, e.message?.mid, e.message?.is_echo])).toEqual([
      [BEN, tagged.body.message_id, true],
      [BEN, withType.body.message_id, true],
    ]);

    // Ben wrote at T0 - 3 days: 4 more days make 7, where the tag no longer helps.
    sim.clock.advance(4 * DAY);
    const late = await send('me/messages', { ...text, tag: 'HUMAN_AGENT' });
    expect(late.status).toBe(403);
    expect(errorOf(late.body)).toMatchObject({ code: 10, error_subcode: 2534022 });
  });

  it('answers a send outside the window with HTTP 403, 10/2534022, and stores nothing', async () => {
    const res = await send('me/messages', { recipient: { id: BEN }, message: { text: 'Hello?' } });
    expect(res.status).toBe(403);
    expect(errorOf(res.body)).toEqual({
      message: 'This message is sent outside of allowed window.',
      type: 'IGApiException',
      code: 10,
      error_subcode: 2534022,
    });
    expect(await newestMessage(BEN)).toEqual([
      {
        id: sim.store.conversations.get(conversationId(BEN))?.messages[0]?.mid,
        message: 'Any news about my refund?',
        from: { username: 'ben_hughes', id: BEN },
      },
    ]);
    expect(await delivered()).toEqual([]);
  });

  it('logs every send with its endpoint and JSON body', async () => {
    for (const kind of KINDS) {
      const res = await send(
        pathOf(kind),
        { recipient: { id: ANA }, message: kind.message },
        kind.auth,
      );
      expect(res.status).toBe(200);
    }
    const onMe = KINDS.filter((k) => k.path === 'me');
    const onId = KINDS.filter((k) => k.path === 'igId');
    expect([onMe.length, onId.length]).toEqual([6, 6]);
    expect(sim.count('POST /me/messages')).toBe(6);
    expect(sim.count('POST /{id}/messages')).toBe(6);
    expect(sim.count()).toBe(12);
    expect(sim.requests.map((r) => [r.path, r.query, r.body, r.status])).toEqual(
      KINDS.map((kind) => [
        kind.path === 'me' ? '/v25.0/me/messages' : `/v25.0/${IG}/messages`,
        kind.auth === 'query' ? { access_token: token.token } : {},
        { recipient: { id: ANA }, message: kind.message },
        200,
      ]),
    );
    const echoes = await deliveredEvents();
    expect(echoes.map((e) => e.message?.is_echo)).toEqual(KINDS.map(() => true));
    expect(echoes.map((e) => e.message?.mid)).toEqual(
      sim.store.conversations
        .get(conversationId(ANA))
        ?.messages.slice(1)
        .map((m) => m.mid),
    );
  });
});

describe('send rate limits over HTTP', () => {
  const text = (n: number) =>
    send('me/messages', { recipient: { id: ANA }, message: { text: `update ${n}` } });
  const voice = () =>
    send('me/messages', {
      recipient: { id: ANA },
      message: media('audio', 'https://cdn.northwind.example/media/voice-note.m4a'),
    });
  const limited = {
    message: 'Calls to this api have exceeded the rate limit.',
    type: 'IGApiException',
    code: 613,
    error_subcode: 2534040,
  };

  it('refuses the 4th text in a second, limits audio apart, and frees both a second later', async () => {
    sim.setRateLimits({ send: 3, sendMedia: 1, privateReplies: 1 });
    const percents: (string | null)[] = [];
    for (const n of [1, 2, 3]) {
      const res = await text(n);
      expect(res.status).toBe(200);
      percents.push(res.headers.get('x-business-use-case-usage'));
    }
    expect(percents).toEqual([usage(33), usage(67), usage(100)]);

    const fourth = await text(4);
    expect(fourth.status).toBe(400);
    expect(errorOf(fourth.body)).toEqual(limited);
    expect(fourth.headers.get('x-business-use-case-usage')).toBe(usage(100, 0));

    const firstVoice = await voice();
    expect(firstVoice.status).toBe(200);
    const secondVoice = await voice();
    expect(secondVoice.status).toBe(400);
    expect(errorOf(secondVoice.body)).toEqual(limited);
    const video = await send('me/messages', {
      recipient: { id: ANA },
      message: media('video', 'https://cdn.northwind.example/media/fitting.mp4'),
    });
    expect(video.status).toBe(400);

    sim.clock.advance(999);
    expect((await text(5)).status).toBe(400);
    sim.clock.advance(1);
    expect((await text(6)).status).toBe(200);
    expect((await voice()).status).toBe(200);
    // 3 + 1 + 2 sends went through, each echoed once.
    expect(await deliveredEvents()).toHaveLength(6);
  });

  it('allows 1 private reply an hour, then frees it', async () => {
    sim.setRateLimits({ send: 3, sendMedia: 1, privateReplies: 1 });
    const first = sim.users.comment(IG, post.id, ANA, 'Price?');
    const second = sim.users.comment(IG, post.id, BEN, 'Sizes?');
    const reply = (commentId: string) =>
      send('me/messages', { recipient: { comment_id: commentId }, message: { text: 'DM sent!' } });

    expect((await reply(first.id)).status).toBe(200);
    const refused = await reply(second.id);
    expect(refused.status).toBe(400);
    expect(errorOf(refused.body)).toEqual(limited);
    expect(refused.headers.get('x-business-use-case-usage')).toBe(usage(100, 60));

    sim.clock.advance(HOUR - 1);
    expect((await reply(second.id)).status).toBe(400);
    sim.clock.advance(1);
    const freed = await reply(second.id);
    expect(freed.status).toBe(200);
    expect(freed.body.recipient_id).toBe(BEN);
  });
});

describe('webhooks from simulated users', () => {
  it('delivers a text message like the real one, signed', async () => {
    const message = sim.users.sendMessage(IG, ANA, { text: 'Do you ship to Portugal?' });
    const raw = await onlyDelivery();
    const expected = messagingBody({
      sender: { id: ANA },
      recipient: { id: IG },
      timestamp: T0,
      message: { mid: message.mid, text: 'Do you ship to Portugal?' },
    });
    expect(raw).toBe(metaJson(expected));
    expect(shape(JSON.parse(raw))).toEqual(shape(fixture('webhook-messages-text-courier.json')));
  });

  it('delivers an image with its URL escaped', async () => {
    const url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=901&signature=abc';
    const message = sim.users.sendMessage(IG, ANA, { attachments: [{ type: 'image', url }] });
    const raw = await onlyDelivery();
    expect(raw).toBe(
      metaJson(
        messagingBody({
          sender: { id: ANA },
          recipient: { id: IG },
          timestamp: T0,
          message: { mid: message.mid, attachments: [{ type: 'image', payload: { url } }] },
        }),
      ),
    );
    expect(raw).toContain('https:\\/\\/lookaside.fbsbx.com\\/ig_messaging_cdn\\/?asset_id=901');
    expect(shape(JSON.parse(raw))).toEqual(shape(fixture('webhook-messages-image-courier.json')));
  });

  it('delivers react and unreact', async () => {
    sim.users.react(IG, ANA, anaMid, 'love');
    const react = await onlyDelivery();
    expect(react).toBe(
      metaJson(
        messagingBody({
          sender: { id: ANA },
          recipient: { id: IG },
          timestamp: T0,
          reaction: { mid: anaMid, action: 'react', reaction: 'love', emoji: '\u2764' },
        }),
      ),
    );
    expect(react).toContain('"emoji":"\\u2764"');
    expect(shape(JSON.parse(react))).toEqual(
      shape(withNumericTimes(fixture('webhook-message-reactions-postman.json'))),
    );

    sim.users.unreact(IG, ANA, anaMid);
    expect(await onlyDelivery()).toBe(
      metaJson(
        messagingBody({
          sender: { id: ANA },
          recipient: { id: IG },
          timestamp: T0,
          reaction: { mid: anaMid, action: 'unreact' },
        }),
      ),
    );
  });

  it('delivers read, edit and delete', async () => {
    sim.users.read(IG, ANA, anaMid);
    const read = await onlyDelivery();
    const base = { sender: { id: ANA }, recipient: { id: IG }, timestamp: T0 };
    expect(read).toBe(metaJson(messagingBody({ ...base, read: { mid: anaMid } })));
    expect(shape(JSON.parse(read))).toEqual(shape(fixture('webhook-messaging-seen-restfb.json')));

    sim.users.edit(IG, ANA, anaMid, 'Is the linen shirt in L?');
    expect(await onlyDelivery()).toBe(
      metaJson(
        messagingBody({
          ...base,
          message_edit: { mid: anaMid, text: 'Is the linen shirt in L?', num_edit: 1 },
        }),
      ),
    );

    sim.users.delete(IG, ANA, anaMid);
    const deleted = await onlyDelivery();
    expect(deleted).toBe(
      metaJson(messagingBody({ ...base, message: { mid: anaMid, is_deleted: true } })),
    );
    expect(shape(JSON.parse(deleted))).toEqual(
      shape(fixture('webhook-messages-is-deleted-courier.json')),
    );
  });

  it('delivers postbacks with and without mid, and referrals', async () => {
    const base = { sender: { id: ANA }, recipient: { id: IG }, timestamp: T0 };
    sim.users.postback(IG, ANA, { title: 'Buy', payload: 'BUY_SHIRT', mid: anaMid });
    const withMid = await onlyDelivery();
    expect(withMid).toBe(
      metaJson(
        messagingBody({ ...base, postback: { mid: anaMid, title: 'Buy', payload: 'BUY_SHIRT' } }),
      ),
    );
    const self = withNumericTimes(fixture('webhook-messaging-postbacks-self-postman.json')) as {
      entry: { messaging: Json[] }[];
    };
    // Postman's capture is a self-test event (top-level is_self); a customer's has none.
    delete self.entry[0]?.messaging[0]?.is_self;
    expect(shape(JSON.parse(withMid))).toEqual(shape(self));

    sim.users.postback(IG, ANA, { title: 'icebreaker question', payload: 'get_started' });
    const icebreaker = await onlyDelivery();
    expect(icebreaker).toBe(
      metaJson(
        messagingBody({
          ...base,
          postback: { title: 'icebreaker question', payload: 'get_started' },
        }),
      ),
    );
    expect(shape(JSON.parse(icebreaker))).toEqual(
      shape(fixture('webhook-messaging-postbacks-icebreaker-courier.json')),
    );

    sim.users.referral(IG, ANA, { ref: 'summer-sale', source: 'IGME' });
    expect(await onlyDelivery()).toBe(
      metaJson(
        messagingBody({
          ...base,
          referral: { ref: 'summer-sale', source: 'IGME', type: 'OPEN_THREAD' },
        }),
      ),
    );
  });

  it('delivers a comment as a change, with time in seconds', async () => {
    const comment = sim.users.comment(IG, post.id, ANA, 'How much is the green one?');
    const raw = await onlyDelivery();
    expect(raw).toBe(
      metaJson({
        entry: [
          {
            id: IG,
            time: T0 / 1000,
            changes: [
              {
                value: {
                  from: { id: ANA, username: 'ana.costa' },
                  media: { id: post.id, media_product_type: 'FEED' },
                  id: comment.id,
                  text: 'How much is the green one?',
                },
                field: 'comments',
              },
            ],
          },
        ],
        object: 'instagram',
      }),
    );
    const real = withNumericTimes(fixture('webhook-comments-self-postman.json')) as {
      entry: { changes: { value: { from: Json } }[] }[];
    };
    // Postman's is the account's own comment (from.self_ig_scoped_id); a customer's has none.
    delete real.entry[0]?.changes[0]?.value.from.self_ig_scoped_id;
    expect(shape(JSON.parse(raw))).toEqual(shape(real));
  });

  it('sends held events as ONE delivery with entries in order', async () => {
    sim.webhooks.hold();
    const message = sim.users.sendMessage(IG, ANA, { text: 'one' });
    sim.users.react(IG, ANA, message.mid, 'love');
    sim.users.read(IG, ANA, message.mid);
    expect(await delivered()).toEqual([]);
    expect(sim.webhooks.pending()).toBe(3);

    sim.webhooks.release();
    const base = { sender: { id: ANA }, recipient: { id: IG }, timestamp: T0 };
    const raw = await onlyDelivery();
    expect(raw).toBe(
      metaJson({
        object: 'instagram',
        entry: [
          {
            time: T0,
            id: IG,
            messaging: [{ ...base, message: { mid: message.mid, text: 'one' } }],
          },
          {
            time: T0,
            id: IG,
            messaging: [
              {
                ...base,
                reaction: { mid: message.mid, action: 'react', reaction: 'love', emoji: '\u2764' },
              },
            ],
          },
          { time: T0, id: IG, messaging: [{ ...base, read: { mid: message.mid } }] },
        ],
      }),
    );
    const batched = fixture('webhook-batched-two-entries-courier.json') as { entry: unknown[] };
    expect(shape(JSON.parse(raw).entry[0])).toEqual(shape(batched.entry[0]));
  });

  it('withholds a delivery: nothing arrives, the next one does', async () => {
    sim.webhooks.withhold();
    const missed = sim.users.sendMessage(IG, ANA, { text: 'lost' });
    expect(await delivered()).toEqual([]);
    expect(sim.webhooks.dropped).toHaveLength(1);
    expect(sim.webhooks.dropped[0]?.reason).toBe('withheld');
    expect(sim.webhooks.dropped[0]?.parsed.entry[0]).toMatchObject({ id: IG });
    expect(JSON.parse(sim.webhooks.dropped[0]?.body ?? '{}').entry[0].messaging[0].message).toEqual(
      { mid: missed.mid, text: 'lost' },
    );

    const next = sim.users.sendMessage(IG, ANA, { text: 'found' });
    expect(JSON.parse(await onlyDelivery()).entry[0].messaging[0].message).toEqual({
      mid: next.mid,
      text: 'found',
    });
  });

  it('duplicates a delivery: two identical signed bodies', async () => {
    sim.webhooks.duplicate();
    sim.users.sendMessage(IG, ANA, { text: 'twice' });
    const [first, second, ...more] = await delivered();
    expect(more).toEqual([]);
    if (!first || !second) throw new Error('expected two deliveries');
    expect(verified(second)).toBe(verified(first));
    expect(second.headers['x-hub-signature-256']).toBe(first.headers['x-hub-signature-256']);
  });

  it('retries after a 500 with the same bytes, then stops at the 200', async () => {
    receiver.statuses.push(500);
    const message = sim.users.sendMessage(IG, ANA, { text: 'retry me' });
    const [failed, retried, ...more] = await delivered();
    expect(more).toEqual([]);
    if (!failed || !retried) throw new Error('expected two attempts');
    expect(retried.body.equals(failed.body)).toBe(true);
    expect(verified(retried)).toBe(
      metaJson(
        messagingBody({
          sender: { id: ANA },
          recipient: { id: IG },
          timestamp: T0,
          message: { mid: message.mid, text: 'retry me' },
        }),
      ),
    );
    expect(sim.webhooks.deliveries.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    expect(sim.webhooks.dropped).toEqual([]);
  });
});

describe('OAuth over HTTP (Business Login)', () => {
  const authorizeUrl = (extra: Record<string, string> = {}) =>
    `${sim.url}/oauth/authorize?${new URLSearchParams({
      client_id: sim.appId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'instagram_business_basic,instagram_business_manage_messages',
      state: 'xyz',
      ...extra,
    })}`;

  async function authorize(): Promise<string> {
    const res = await fetch(authorizeUrl(), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location') ?? '';
    const match =
      /^https:\/\/igql\.example\/auth\/instagram\/callback\?code=(AQ[\w-]+)&state=xyz#_$/.exec(
        location,
      );
    expect(match).not.toBeNull();
    return match?.[1] ?? '';
  }

  const exchange = (code: string) =>
    fetch(`${sim.url}/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: sim.appId,
        client_secret: SECRET,
        grant_type: 'authorization_code',
        redirect_uri: REDIRECT,
        code,
      }).toString(),
    });

  const longLived = (short: string, path = '/access_token') =>
    fetch(
      `${sim.url}${path}?${new URLSearchParams({
        grant_type: 'ig_exchange_token',
        client_secret: SECRET,
        access_token: short,
      })}`,
    );

  const refresh = (long: string, path = '/refresh_access_token') =>
    fetch(
      `${sim.url}${path}?${new URLSearchParams({
        grant_type: 'ig_refresh_token',
        access_token: long,
      })}`,
    );

  it('authorizes, exchanges the code once, goes long-lived and refreshes after 24 h', async () => {
    const code = await authorize();
    expect(code).toHaveLength(162);

    const exchanged = await exchange(code);
    expect(exchanged.status).toBe(200);
    const flat = await exchanged.json();
    expect(flat).toEqual({
      access_token: expect.stringMatching(/^IGAA[A-Za-z0-9]{60}$/),
      user_id: APP_SCOPED,
      permissions: ['instagram_business_basic', 'instagram_business_manage_messages'],
    });
    expect(shape(flat)).toEqual(shape(fixture('oauth-access-token-flat-restfb.json')));

    const reused = await exchange(code);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toEqual({
      error_type: 'OAuthException',
      code: 400,
      error_message: 'Matching code was not found or was already used',
    });

    const long = await longLived(flat.access_token);
    expect(long.status).toBe(200);
    const longBody = await long.json();
    // 60 days in seconds exactly, with the frozen clock; Meta's sample says 5183944.
    expect(longBody).toEqual({
      access_token: expect.stringMatching(/^IGAA/),
      token_type: 'bearer',
      expires_in: 5_184_000,
    });
    expect(longBody.expires_in).toBe(SIXTY_DAYS_S);
    expect(Object.keys(longBody)).toEqual(['access_token', 'token_type', 'expires_in']);

    const me = await get('/v25.0/me', { fields: 'user_id,username' }, longBody.access_token);
    expect(me).toMatchObject({
      status: 200,
      body: { user_id: IG, username: 'northwind.shop', id: APP_SCOPED },
    });

    const early = await refresh(longBody.access_token);
    expect(early.status).toBe(400);
    expect(errorOf(await early.json())).toEqual({
      message:
        '(#100) The access token can only be refreshed once it is a long-lived token at least 24 hours old',
      type: 'OAuthException',
      code: 100,
    });

    sim.clock.advance(DAY);
    const refreshed = await refresh(longBody.access_token);
    expect(refreshed.status).toBe(200);
    const refreshedBody = await refreshed.json();
    expect(refreshedBody).toEqual({
      access_token: expect.stringMatching(/^IGAA/),
      token_type: 'bearer',
      expires_in: SIXTY_DAYS_S,
    });
    expect(refreshedBody.access_token).not.toBe(longBody.access_token);
    expect((await get('/v25.0/me', {}, refreshedBody.access_token)).body).toEqual({
      id: APP_SCOPED,
    });
  });

  it('takes the token endpoints under a version too, but not the OAuth hosts', async () => {
    const { access_token: short } = await (await exchange(await authorize())).json();
    const long = await longLived(short, '/v25.0/access_token');
    expect(long.status).toBe(200);
    const { access_token: longToken } = await long.json();
    sim.clock.advance(DAY);
    expect((await refresh(longToken, '/v25.0/refresh_access_token')).status).toBe(200);

    // A versioned /oauth/* path is a Graph path: without a token it is refused with 190.
    const versioned = await fetch(`${sim.url}/v25.0/oauth/authorize?client_id=${sim.appId}`, {
      redirect: 'manual',
    });
    expect(versioned.status).toBe(400);
    expect(errorOf(await versioned.json())).toEqual({
      message: 'Invalid OAuth access token - Cannot parse access token',
      type: 'OAuthException',
      code: 190,
    });
    expect(sim.count('GET /access_token')).toBe(1);
    expect(sim.count('GET /refresh_access_token')).toBe(1);
    expect(sim.count('POST /oauth/access_token')).toBe(1);
    expect(sim.count('GET /oauth/authorize')).toBe(2);
  });
});

describe('versions', () => {
  it('serves /me under v19.0, v25.0, v26.0 and unversioned alike', async () => {
    const expected = { user_id: IG, username: 'northwind.shop', id: APP_SCOPED };
    for (const path of ['/v19.0/me', '/v25.0/me', '/v26.0/me', '/me']) {
      const res = await get(path, { fields: 'user_id,username' });
      expect({ path, status: res.status, body: res.body }).toEqual({
        path,
        status: 200,
        body: expected,
      });
    }
    expect(sim.count('GET /me')).toBe(4);
  });

  it('keeps the requested version in paging links', async () => {
    for (const version of ['v19.0', 'v26.0', '']) {
      const prefix = version === '' ? '' : `/${version}`;
      const res = await get(`${prefix}/me/conversations`, { platform: 'instagram', limit: '1' });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([
        { id: conversationId(ANA), updated_time: '2026-11-20T11:50:00+0000' },
      ]);
      const next = new URL(res.body.paging.next);
      expect(next.origin).toBe(sim.url);
      expect(next.pathname).toBe(`${prefix}/me/conversations`);
      const second = await get(`${next.pathname}${next.search}`);
      expect(second.body.data).toEqual([
        { id: conversationId(BEN), updated_time: '2026-11-17T12:00:00+0000' },
      ]);
    }
  });
});

describe('simulator HTTP plumbing', () => {
  it('survives a client that goes away mid-body', async () => {
    const port = Number(new URL(sim.url).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /v25.0/me/messages HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"recipient":',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.destroy();
    await closed;
    // Let the server see the reset before asking again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await get('/v25.0/me')).status).toBe(200);
    expect(sim.requests.map((r) => r.path)).toEqual(['/v25.0/me']);
  });

  it('closes the connection on a request target that is not a URL', async () => {
    const port = Number(new URL(sim.url).port);
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('GET http://[oops/me HTTP/1.1\r\nHost: sim\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(chunks).toString()).toBe('');
    expect((await get('/v25.0/me')).status).toBe(200);
  });

  it('dates an injected expired-token fault by the simulator clock', async () => {
    sim.inject({ endpoint: 'GET /me', kind: 'expired-token' });
    const res = await get('/v25.0/me');
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toEqual({
      message:
        'Error validating access token: Session has expired on Friday, 20-Nov-26 11:59:00 UTC. The current time is Friday, 20-Nov-26 12:00:00 UTC.',
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
    });
  });
});
