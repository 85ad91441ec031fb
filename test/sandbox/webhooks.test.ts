import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserActions } from '../../src/sandbox/actions.ts';
import { type Clock, Store } from '../../src/sandbox/store.ts';
import {
  type WebhookBody,
  WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../../src/sandbox/webhooks.ts';
import { fixture } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

const SECRET = 'test-instagram-app-secret';
const IG = '17841400000000001';
const IGSID = '5614879045272581';
const T = 1_700_000_000_123;

/** A clock that moves only when told, so bodies can be compared byte for byte. */
const fixedClock = (start: number): Clock => {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
};

/** The structure of a value: same keys, every leaf replaced by its type. */
const shape = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  }
  return typeof value;
};

/** Every key path in document order, to compare key order with real bodies. */
const keyOrder = (value: unknown, path = ''): string[] => {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyOrder(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [
      `${path}.${k}`,
      ...keyOrder(v, `${path}.${k}`),
    ]);
  }
  return [];
};

interface Received {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

/** A callback server on port 0 that records raw bodies and answers the statuses queued in `statuses` (then 200). */
async function startReceiver() {
  const requests: Received[] = [];
  const statuses: (number | 'hang')[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ body: Buffer.concat(chunks), headers: req.headers });
      const status = statuses.shift() ?? 200;
      if (status !== 'hang') res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    requests,
    statuses,
    texts: () => requests.map((r) => r.body.toString('latin1')),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const textEvent = (text: string, mid = 'm1') => ({
  sender: { id: IGSID },
  recipient: { id: IG },
  timestamp: T,
  message: { mid, text },
});

const messageText = (body: WebhookBody, entry = 0): unknown => {
  const item = body.entry[entry];
  const event = item && 'messaging' in item ? item.messaging[0] : undefined;
  return (event?.message as { text?: string } | undefined)?.text;
};

describe('WebhookDispatcher', () => {
  let store: Store;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dispatcher: WebhookDispatcher | undefined;

  const start = (options: Partial<WebhookDispatcherOptions> = {}) => {
    dispatcher = new WebhookDispatcher({
      store,
      appSecret: SECRET,
      callbackUrl: () => receiver.url,
      retryScheduleMs: [0, 10, 20],
      ...options,
    });
    return dispatcher;
  };

  beforeEach(async () => {
    store = new Store(fixedClock(T));
    const account = store.addAccount({ igId: IG, username: 'shop' });
    for (const field of ['messages', 'messaging_seen', 'message_reactions', 'comments']) {
      account.subscribedFields.add(field);
    }
    receiver = await startReceiver();
  });

  afterEach(async () => {
    dispatcher?.close();
    dispatcher = undefined;
    await receiver.close();
    vi.restoreAllMocks();
  });

  it('delivers a message as Meta does, byte for byte, in the fixture shape', async () => {
    const d = start();
    d.messaging(IG, 'messages', textEvent('Hello World'));
    await d.idle();
    expect(receiver.texts()).toEqual([
      `{"object":"instagram","entry":[{"time":${T},"id":"${IG}","messaging":[{"sender":{"id":"${IGSID}"},"recipient":{"id":"${IG}"},"timestamp":${T},"message":{"mid":"m1","text":"Hello World"}}]}]}`,
    ]);
    const courier = JSON.stringify(fixture('webhook-messages-text-courier.json'))
      .replaceAll('"1234567890"', `"${IG}"`)
      .replaceAll('"5678"', `"${IGSID}"`)
      .replaceAll('"external_id"', '"m1"')
      .replaceAll('1459991487970', String(T));
    expect(JSON.parse(receiver.texts()[0] ?? '')).toEqual(JSON.parse(courier));
    expect(receiver.requests[0]?.headers['content-type']).toBe('application/json');
    expect(d.deliveries).toEqual([
      { body: receiver.texts()[0], parsed: JSON.parse(courier), status: 200, attempt: 1, at: T },
    ]);
  });

  it('orders keys as the real (restfb) messaging_seen capture', async () => {
    const d = start();
    d.messaging(IG, 'messaging_seen', {
      sender: { id: IGSID },
      recipient: { id: IG },
      timestamp: T,
      read: { mid: 'MESSAGE-ID' },
    });
    await d.idle();
    const real = fixture('webhook-messaging-seen-restfb.json');
    expect(keyOrder(JSON.parse(receiver.texts()[0] ?? ''))).toEqual(keyOrder(real));
  });

  it('delivers a change with entry.time in seconds and Meta key order', async () => {
    const d = start();
    const value = {
      from: { id: IGSID, username: 'testuser' },
      media: { id: '76543987', media_product_type: 'FEED' },
      id: '123456789',
      parent_id: '987654321',
      text: 'This is an example.',
    };
    d.change(IG, 'comments', value);
    await d.idle();
    const seconds = Math.floor(T / 1000);
    expect(receiver.texts()).toEqual([
      `{"entry":[{"id":"${IG}","time":${seconds},"changes":[{"value":${JSON.stringify(value)},"field":"comments"}]}],"object":"instagram"}`,
    ]);
    const restfb = JSON.stringify(fixture('webhook-comments-facebook-login-restfb.json'))
      .replaceAll('"id":"0"', `"id":"${IG}"`)
      .replaceAll('"1234536447"', `"${IGSID}"`)
      .replaceAll('1519399307', String(seconds));
    expect(JSON.parse(receiver.texts()[0] ?? '')).toEqual(JSON.parse(restfb));
  });

  it('signs the exact bytes with the app secret (sha256 and sha1)', async () => {
    const d = start();
    d.messaging(IG, 'messages', textEvent('signed'));
    await d.idle();
    const [request] = receiver.requests;
    if (!request) throw new Error('nothing received');
    for (const [header, algorithm] of [
      ['x-hub-signature-256', 'sha256'],
      ['x-hub-signature', 'sha1'],
    ] as const) {
      const expected = `${algorithm}=${createHmac(algorithm, SECRET).update(request.body).digest('hex')}`;
      const got = String(request.headers[header]);
      expect(got).toBe(expected);
      expect(timingSafeEqual(Buffer.from(got), Buffer.from(expected))).toBe(true);
    }
  });

  it('escapes forward slashes and non-ASCII (surrogate pairs as two escapes)', async () => {
    const d = start();
    const event = {
      sender: { id: IGSID },
      recipient: { id: IG },
      timestamp: T,
      message: {
        mid: 'm1',
        text: 'café ❤ 😀 a/b',
        attachments: [
          {
            type: 'image',
            payload: { url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1' },
          },
        ],
      },
    };
    d.messaging(IG, 'messages', event);
    await d.idle();
    const [request] = receiver.requests;
    if (!request) throw new Error('nothing received');
    const raw = request.body.toString('latin1');
    expect([...request.body].every((byte) => byte < 0x80)).toBe(true);
    expect(raw).toContain('"text":"caf\\u00e9 \\u2764 \\ud83d\\ude00 a\\/b"');
    expect(raw).toContain(
      '"url":"https:\\/\\/lookaside.fbsbx.com\\/ig_messaging_cdn\\/?asset_id=1"',
    );
    expect(JSON.parse(raw).entry[0].messaging[0]).toEqual(event);
    const signature = createHmac('sha256', SECRET).update(request.body).digest('hex');
    expect(request.headers['x-hub-signature-256']).toBe(`sha256=${signature}`);
    const unescaped = createHmac('sha256', SECRET)
      .update(JSON.stringify(JSON.parse(raw)))
      .digest('hex');
    expect(signature).not.toBe(unescaped);
  });

  it('batches the events of one tick into one delivery, one entry each, in order', async () => {
    const d = start();
    d.messaging(IG, 'messages', textEvent('one', 'm1'));
    d.messaging(IG, 'messages', textEvent('two', 'm2'));
    await d.idle();
    expect(receiver.requests).toHaveLength(1);
    const body = JSON.parse(receiver.texts()[0] ?? '') as WebhookBody;
    expect(body.entry.map((_, i) => messageText(body, i))).toEqual(['one', 'two']);
    expect(shape(body)).toEqual(shape(fixture('webhook-batched-two-entries-courier.json')));
  });

  it('batches within batchWindowMs', async () => {
    const d = start({ batchWindowMs: 60 });
    d.messaging(IG, 'messages', textEvent('one', 'm1'));
    await sleep(10);
    d.messaging(IG, 'messages', textEvent('two', 'm2'));
    await d.idle();
    expect(receiver.requests).toHaveLength(1);
  });

  it('holds deliveries and releases them as one delivery with all entries', async () => {
    const d = start();
    d.hold();
    for (const text of ['a', 'b', 'c']) {
      d.messaging(IG, 'messages', textEvent(text, `m-${text}`));
      await sleep(5);
    }
    await d.idle();
    expect(receiver.requests).toHaveLength(0);
    expect(d.pending()).toBe(3);
    d.release();
    await d.idle();
    expect(receiver.requests).toHaveLength(1);
    const body = JSON.parse(receiver.texts()[0] ?? '') as WebhookBody;
    expect(body.entry.map((_, i) => messageText(body, i))).toEqual(['a', 'b', 'c']);
    expect(d.pending()).toBe(0);
  });

  it('never mixes messaging and changes in one delivery', async () => {
    const d = start();
    d.messaging(IG, 'messages', textEvent('hi'));
    d.change(IG, 'comments', { id: 'c1', text: 'nice' });
    await d.idle();
    const bodies = receiver.texts().map((text) => JSON.parse(text) as WebhookBody);
    expect(bodies.map((b) => Object.keys(b.entry[0] ?? {}))).toEqual([
      ['time', 'id', 'messaging'],
      ['id', 'time', 'changes'],
    ]);
  });

  it('retries after a 500 with the same bytes', async () => {
    receiver.statuses.push(500, 503);
    const d = start();
    d.messaging(IG, 'messages', textEvent('retry me'));
    await d.idle();
    const texts = receiver.texts();
    expect(texts).toHaveLength(3);
    expect(new Set(texts).size).toBe(1);
    expect(new Set(receiver.requests.map((r) => r.headers['x-hub-signature-256'])).size).toBe(1);
    expect(d.deliveries.map((a) => [a.status, a.attempt])).toEqual([
      [500, 1],
      [503, 2],
      [200, 3],
    ]);
    expect(d.dropped).toEqual([]);
  });

  it('drops a delivery after the last retry and records it', async () => {
    receiver.statuses.push(500, 500, 500, 500);
    const d = start();
    d.messaging(IG, 'messages', textEvent('doomed'));
    await d.idle();
    expect(receiver.requests).toHaveLength(4);
    expect(d.deliveries.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(d.dropped).toEqual([
      { body: receiver.texts()[0], parsed: expect.any(Object), reason: 'exhausted', at: T },
    ]);
    expect(d.pending()).toBe(0);
  });

  it('retries after a refused connection', async () => {
    const dead = `http://127.0.0.1:${await freePort()}/webhook`;
    let calls = 0;
    const d = start({ callbackUrl: () => (calls++ === 0 ? dead : receiver.url) });
    d.messaging(IG, 'messages', textEvent('after refusal'));
    await d.idle();
    expect(d.deliveries.map((a) => a.status)).toEqual(['error', 200]);
    expect(receiver.texts()).toEqual([d.deliveries[0]?.body]);
  });

  it('retries after a time-out', async () => {
    receiver.statuses.push('hang');
    const d = start({ timeoutMs: 100 });
    d.messaging(IG, 'messages', textEvent('slow'));
    await d.idle();
    expect(d.deliveries.map((a) => a.status)).toEqual(['timeout', 200]);
    expect(new Set(receiver.texts()).size).toBe(1);
  });

  it('keeps events as failed while there is no callback URL', async () => {
    const d = start({ callbackUrl: () => undefined, retryScheduleMs: [0, 5] });
    d.messaging(IG, 'messages', textEvent('nowhere'));
    await d.idle();
    expect(d.deliveries.map((a) => a.status)).toEqual(['error', 'error', 'error']);
    expect(d.dropped.map((x) => x.reason)).toEqual(['exhausted']);
  });

  it('withholds the next matching delivery', async () => {
    const d = start();
    d.withhold((body) => messageText(body) === 'lost');
    d.messaging(IG, 'messages', textEvent('kept', 'm1'));
    await d.idle();
    d.messaging(IG, 'messages', textEvent('lost', 'm2'));
    await d.idle();
    d.messaging(IG, 'messages', textEvent('lost', 'm3'));
    await d.idle();
    const texts = receiver.texts().map((t) => messageText(JSON.parse(t) as WebhookBody));
    expect(texts).toEqual(['kept', 'lost']);
    expect(d.dropped.map((x) => [x.reason, messageText(x.parsed)])).toEqual([['withheld', 'lost']]);
  });

  it('sends the next delivery twice with the same bytes', async () => {
    const d = start();
    d.duplicate();
    d.messaging(IG, 'messages', textEvent('twice'));
    await d.idle();
    d.messaging(IG, 'messages', textEvent('once'));
    await d.idle();
    const texts = receiver.texts();
    expect(texts).toHaveLength(3);
    expect(texts[0]).toBe(texts[1]);
    expect(d.deliveries.map((a) => a.attempt)).toEqual([1, 1, 1]);
  });

  it('drops events of unsubscribed fields and unknown accounts', async () => {
    const d = start();
    d.messaging(IG, 'messaging_postbacks', textEvent('not subscribed'));
    d.messaging('17841499999999999', 'messages', textEvent('no such account'));
    expect(d.pending()).toBe(0);
    await d.idle();
    await sleep(20);
    expect(receiver.requests).toHaveLength(0);
    expect(d.deliveries).toEqual([]);
  });

  it('keeps no timer alive and close() cancels retries and requests', async () => {
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const clearSpy = vi.spyOn(globalThis, 'clearTimeout');
    receiver.statuses.push(500, 'hang');
    const d = start({ retryScheduleMs: [987_654], timeoutMs: 876_543, batchWindowMs: 7 });
    d.messaging(IG, 'messages', textEvent('will be retried'));
    await vi.waitFor(() => expect(d.deliveries).toHaveLength(1));
    d.messaging(IG, 'messages', textEvent('in flight'));
    await vi.waitFor(() => expect(receiver.requests).toHaveLength(2));
    d.messaging(IG, 'messages', textEvent('queued'));
    expect(d.pending()).toBe(3);

    const handle = (ms: number) => {
      const at = setSpy.mock.calls.findLastIndex((call) => call[1] === ms);
      return setSpy.mock.results[at]?.value as NodeJS.Timeout;
    };
    const retry = handle(987_654);
    const timeout = handle(876_543);
    const flush = handle(7);
    // Unref'd: none of them keeps the process alive.
    for (const timer of [retry, timeout, flush]) expect(timer.hasRef()).toBe(false);

    d.close();
    expect(clearSpy).toHaveBeenCalledWith(retry);
    expect(clearSpy).toHaveBeenCalledWith(timeout);
    expect(clearSpy).toHaveBeenCalledWith(flush);
    expect(d.pending()).toBe(0);
    await d.idle();
    d.messaging(IG, 'messages', textEvent('after close'));
    expect(d.pending()).toBe(0);
    await sleep(20);
    expect(receiver.requests).toHaveLength(2);
    expect(d.deliveries).toHaveLength(1);
  });

  it("carries UserActions' events in the shapes of the captured fixtures", async () => {
    for (const field of ['messaging_postbacks'])
      store.accounts.get(IG)?.subscribedFields.add(field);
    store.addMedia(IG, { id: '76543987' });
    const d = start();
    const users = new UserActions(store, d);
    const user = users.userNamed(IG, 'testuser');
    const next = async () => {
      await d.idle();
      return shape(JSON.parse(receiver.texts().at(-1) ?? ''));
    };
    const text = users.sendMessage(IG, user.igsid, { text: 'Hello World' });
    expect(await next()).toEqual(shape(fixture('webhook-messages-text-courier.json')));
    users.sendMessage(IG, user.igsid, { attachments: [{ type: 'image' }] });
    expect(await next()).toEqual(shape(fixture('webhook-messages-image-courier.json')));
    users.sendMessage(IG, user.igsid, { attachments: [{ type: 'like_heart' }] });
    expect(await next()).toEqual(shape(fixture('webhook-messages-like-heart-courier.json')));
    users.sendMessage(IG, user.igsid, { storyMention: {} });
    expect(await next()).toEqual(shape(fixture('webhook-messages-story-mention-courier.json')));
    users.sendMessage(IG, user.igsid, { attachments: [{ type: 'unsupported_type' }] });
    expect(await next()).toEqual(
      shape(fixture('webhook-messages-unsupported-attachment-restfb.json')),
    );
    users.delete(IG, user.igsid, text.mid);
    expect(await next()).toEqual(shape(fixture('webhook-messages-is-deleted-courier.json')));
    users.read(IG, user.igsid, text.mid);
    expect(await next()).toEqual(shape(fixture('webhook-messaging-seen-restfb.json')));
    users.postback(IG, user.igsid, { title: 'icebreaker question', payload: 'get_started' });
    expect(await next()).toEqual(
      shape(fixture('webhook-messaging-postbacks-icebreaker-courier.json')),
    );
    const parent = users.comment(IG, '76543987', user.igsid, 'first');
    await d.idle();
    users.comment(IG, '76543987', user.igsid, 'This is an example.', parent.id);
    expect(await next()).toEqual(shape(fixture('webhook-comments-facebook-login-restfb.json')));
  });
});
