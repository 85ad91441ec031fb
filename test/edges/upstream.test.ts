/**
 * The upstream edge (issue 11, findings 7 and 9): Instagram's messages never reach a client, an
 * answer of 200 carrying an error is that error, a hanging read fails at the one deadline of
 * its call, and conversation reads never queue past 2 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUpstream } from '../../src/errors.ts';
import { globalId } from '../../src/global-id.ts';
import { InstagramError } from '../../src/instagram/errors.ts';
import { GraphError } from '../../src/sandbox/errors.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';

const MINUTE = 60_000;
const TRACE = 'AbC-123_xyz';

/** A Graph error with a known `fbtrace_id`, as Meta answers it. */
class TracedError extends GraphError {
  override toJSON(): { error: Record<string, unknown> } {
    return { error: { ...super.toJSON().error, fbtrace_id: TRACE } };
  }
}

describe('fromUpstream', () => {
  const error = (kind: InstagramError['kind'], extra: Record<string, unknown> = {}) =>
    new InstagramError({
      kind,
      message: 'Invalid token IGAAKx9vQ2cZBqZAE1hN0ZAleaked_0123456789abcdef and secret s3cr3t',
      ...extra,
    });
  const answered = { code: 100, subcode: 2018001, status: 400, traceId: TRACE };

  it.each([
    [
      'invalid_parameter',
      answered,
      'Instagram refused the request as invalid',
      { code: 'BAD_USER_INPUT', upstream: { code: 100, subcode: 2018001, traceId: TRACE } },
    ],
    [
      'transient',
      { code: 2, status: 500, traceId: TRACE },
      'Instagram is unavailable; retry later',
      { code: 'UPSTREAM_UNAVAILABLE', upstream: { code: 2, subcode: null, traceId: TRACE } },
    ],
    [
      'token',
      { code: 190, subcode: 460, status: 400 },
      'Instagram refused this account’s token: log in again (with Instagram, or with Facebook for an account of Facebook Login) to reconnect it',
      { code: 'REAUTH_REQUIRED', upstream: { code: 190, subcode: 460, traceId: null } },
    ],
    [
      'rate_limited',
      { code: 80002, status: 400, retryAfterMs: 1500, traceId: TRACE },
      'Instagram is throttling this account; retry later',
      {
        code: 'RATE_LIMITED',
        retryAfter: 2,
        upstream: { code: 80002, subcode: null, traceId: TRACE },
      },
    ],
    [
      'rate_limited',
      { retryAfterMs: 2200 },
      'Too many Instagram reads for this account at once; retry later',
      { code: 'RATE_LIMITED', retryAfter: 3 },
    ],
    [
      'timeout',
      {},
      'Instagram did not answer in time; retry later',
      { code: 'UPSTREAM_UNAVAILABLE' },
    ],
    ['not_found', answered, 'Conversation not found', { code: 'NOT_FOUND' }],
  ] as const)(
    'maps %s to igql’s words, with the Graph reference when Instagram answered',
    (kind, extra, message, extensions) => {
      const mapped = fromUpstream(error(kind, extra), 'Conversation');
      expect({ message: mapped.message, extensions: mapped.extensions }).toEqual({
        message,
        extensions,
      });
    },
  );
});

describe('through igql', () => {
  let gw: Gateway;
  let shop: SimAccount;
  let ana: SimUser;
  let token: string;
  let anaToken: string;

  beforeAll(async () => {
    gw = await startGateway(
      (sim: Simulator) => {
        shop = sim.addAccount({ username: 'northwind.shop' }).account;
        ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
        sim.store.addMessage(shop.igId, ana.igsid, { fromId: ana.igsid, createdTime: T0 - MINUTE });
      },
      { env: { INSTAGRAM_TIMEOUT_MS: '500' } },
    );
    token = await gw.session([shop.igId]);
    anaToken = [...gw.sim.store.tokens.values()].find((t) => t.igId === shop.igId)?.token ?? '';
  });
  afterAll(() => gw.stop());

  const LIST = '{ viewer { conversations(first: 1) { nodes { id } } } }';

  it('never passes on Instagram’s message, even one quoting the token or the app secret', async () => {
    expect(anaToken).toMatch(/^IGAA/);
    const quoted = `Invalid parameter: access_token ${anaToken}, client_secret test-app-secret`;
    gw.sim.inject({
      endpoint: 'GET /me/conversations',
      kind: 'error',
      error: new TracedError({ status: 400, code: 100, message: quoted }),
    });
    const list = await gw.query(token, LIST);
    expect(list.body).toEqual({
      data: null,
      errors: [
        {
          message: 'Instagram refused the request as invalid',
          locations: [{ line: 1, column: 12 }],
          path: ['viewer', 'conversations'],
          extensions: {
            code: 'BAD_USER_INPUT',
            upstream: { code: 100, subcode: null, traceId: TRACE },
          },
        },
      ],
    });

    gw.sim.inject({
      endpoint: 'GET /me',
      kind: 'error',
      times: 3,
      error: new TracedError({ status: 500, code: 2, message: quoted }),
    });
    const name = await gw.query(token, '{ viewer { name } }');
    expect(name.body.errors).toEqual([
      {
        message: 'Instagram is unavailable; retry later',
        locations: [{ line: 1, column: 12 }],
        path: ['viewer', 'name'],
        extensions: {
          code: 'UPSTREAM_UNAVAILABLE',
          upstream: { code: 2, subcode: null, traceId: TRACE },
        },
      },
    ]);

    gw.sim.inject({
      endpoint: 'POST /{id}/messages',
      kind: 'error',
      error: new TracedError({ status: 400, code: 100, subcode: 2534015, message: quoted }),
    });
    const sent = await gw.query(
      token,
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } userErrors { code message field } } }',
      {
        input: {
          accountId: globalId.account(shop.igId),
          recipientId: globalId.participant(shop.igId, ana.igsid),
          text: 'Hi',
        },
      },
    );
    expect(sent.body).toEqual({
      data: {
        sendTextMessage: {
          message: null,
          userErrors: [
            {
              code: 'VALIDATION',
              message: `Instagram refused the message as invalid (Graph error 100/2534015, trace ${TRACE})`,
              field: ['input'],
            },
          ],
        },
      },
    });
    for (const answer of [list, name, sent]) {
      expect(JSON.stringify(answer.body)).not.toMatch(/IGAA|test-app-secret|Invalid parameter/);
    }
  });

  it('answers a 200 carrying an error envelope as that error: on a list, and on a send', async () => {
    gw.sim.inject({
      endpoint: 'GET /me/conversations',
      kind: 'error',
      error: new TracedError({
        status: 200,
        code: 4,
        message: 'Application request limit reached',
      }),
    });
    const list = await gw.query(token, LIST);
    expect(list.body.errors).toEqual([
      {
        message: 'Instagram is throttling this account; retry later',
        locations: [{ line: 1, column: 12 }],
        path: ['viewer', 'conversations'],
        extensions: {
          code: 'RATE_LIMITED',
          retryAfter: 1,
          upstream: { code: 4, subcode: null, traceId: TRACE },
        },
      },
    ]);
    // Instagram throttled the account: igql waits a second before calling it again.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    gw.sim.inject({
      endpoint: 'POST /{id}/messages',
      kind: 'error',
      error: new TracedError({ status: 200, code: 551, message: 'This person isn’t available' }),
    });
    const sent = await gw.query(
      token,
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } userErrors { code } } }',
      {
        input: {
          accountId: globalId.account(shop.igId),
          recipientId: globalId.participant(shop.igId, ana.igsid),
          text: 'Hi',
        },
      },
    );
    expect(sent.body).toEqual({
      data: { sendTextMessage: { message: null, userErrors: [{ code: 'RECIPIENT_UNAVAILABLE' }] } },
    });
  });

  it('fails a hanging read at INSTAGRAM_TIMEOUT_MS, retries included, with a typed error', async () => {
    gw.sim.inject({ endpoint: 'GET /me', kind: 'timeout', times: 3 });
    const calls = await gw.upstreamCalls(async () => {
      const res = await gw.query(token, '{ viewer { name } }');
      expect(res.body.errors).toEqual([
        {
          message: 'Instagram did not answer in time; retry later',
          locations: [{ line: 1, column: 12 }],
          path: ['viewer', 'name'],
          extensions: { code: 'UPSTREAM_UNAVAILABLE' },
        },
      ]);
    });
    // One attempt: its deadline was the call's.
    expect(calls).toBe(1);
    gw.sim.clearFaults();
  });
});

describe('conversation reads at Instagram’s pace', () => {
  let gw: Gateway;
  let shop: SimAccount;
  const conversations: string[] = [];

  beforeAll(async () => {
    gw = await startGateway(
      (sim: Simulator) => {
        shop = sim.addAccount({ username: 'busy.shop' }).account;
        for (let i = 0; i < 30; i++) {
          const user = sim.store.addUser(shop.igId, { username: `customer${i}` });
          sim.store.addMessage(shop.igId, user.igsid, {
            fromId: user.igsid,
            createdTime: T0 - (i + 1) * MINUTE,
          });
          const conversation = sim.store.conversationWith(shop.igId, user.igsid);
          if (conversation) conversations.push(globalId.conversation(shop.igId, conversation.id));
        }
      },
      { rateLimits: true, runningClock: true },
    );
  });
  afterAll(() => gw.stop());

  it('nodes() with 30 conversation ids: 4 within 2 s, 26 refused at once with retryAfter', async () => {
    expect(conversations).toHaveLength(30);
    const token = await gw.session([shop.igId]);
    const mark = gw.sim.requests.length;
    const res = await gw.query<{ nodes: ({ id: string } | null)[] }>(
      token,
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids: conversations },
    );
    // The first four in turn took the slots (now, now, 1.1 s, 1.1 s); each refusal nulls its item.
    expect(res.body.data?.nodes.map((node) => node !== null)).toEqual([
      ...Array(4).fill(true),
      ...Array(26).fill(false),
    ]);
    const errors = res.body.errors ?? [];
    expect(errors.map((e) => e.path?.[1]).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 26 }, (_, i) => i + 4),
    );
    // The fifth slot is 2.2 s away: more than the 2 s a read may wait.
    expect(new Set(errors.map((e) => JSON.stringify([e.message, e.extensions])))).toEqual(
      new Set([
        JSON.stringify([
          'Too many Instagram reads for this account at once; retry later',
          { code: 'RATE_LIMITED', retryAfter: 3 },
        ]),
      ]),
    );
    // Instagram saw 4 reads, none refused.
    expect(gw.sim.requests.slice(mark).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });
});
