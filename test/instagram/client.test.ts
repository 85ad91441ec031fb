import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstagramClient, type InstagramClientOptions } from '../../src/instagram/client.ts';
import { InstagramError } from '../../src/instagram/errors.ts';
import { type Auth, type GraphConversation, InstagramApi } from '../../src/instagram/graph.ts';
import { MemoryRateLimiter, type RateLimiter, type Slot } from '../../src/instagram/rate-limit.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { errors, GraphError } from '../../src/sandbox/errors.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, DAY, HOUR, type SimUser } from '../../src/sandbox/store.ts';

const T0 = Date.parse('2026-11-20T12:00:00Z');
const MINUTE = 60_000;

let sim: Simulator;
let metrics: Metrics;
let client: InstagramClient;
let main: Auth;
let other: Auth;
let appScopedId: string;
/** Wrote a minute ago: inside the window; 21 messages, so the oldest is past the 20 newest. */
let ana: SimUser;
/** Wrote two days ago: outside the window. */
let ben: SimUser;
/** Wrote two minutes ago but is unavailable (551). */
let cleo: SimUser;
/** Never wrote: no consent to read the profile. */
let dan: SimUser;
let anaMids: string[];

function startClient(options: Partial<InstagramClientOptions> = {}): void {
  metrics = createMetrics();
  client = new InstagramClient({
    graphUrl: () => sim.url,
    apiVersion: 'v25.0',
    metrics,
    logger: createLogger('silent'),
    retryBaseMs: 1,
    // The simulator's frozen clock: a throttled account stays blocked until the test advances it.
    now: () => sim.clock.now(),
    // Pacing is tested on its own below.
    paceReads: false,
    ...options,
  });
}

beforeEach(async () => {
  sim = new Simulator({
    appSecret: 'app-secret',
    rateLimits: false,
    clock: createClock(T0, true),
    retryScheduleMs: [60_000],
  });
  const a = sim.addAccount({ username: 'northwind.shop' });
  const b = sim.addAccount({ username: 'contoso.store' });
  main = { igId: a.account.igId, token: a.token.token };
  other = { igId: b.account.igId, token: b.token.token };
  appScopedId = a.account.appScopedId;
  ana = sim.store.addUser(main.igId, { username: 'ana.costa' });
  ben = sim.store.addUser(main.igId, { username: 'ben_hughes' });
  cleo = sim.store.addUser(main.igId, { username: 'cleo', unavailable: true });
  dan = sim.store.addUser(main.igId, { username: 'dan' });
  anaMids = [];
  for (let n = 0; n < 21; n++) {
    const message = sim.store.addMessage(main.igId, ana.igsid, {
      fromId: n % 2 === 0 ? ana.igsid : main.igId,
      text: `m${n}`,
      createdTime: T0 - (21 - n) * MINUTE,
    });
    anaMids.push(message.mid);
  }
  sim.store.addMessage(main.igId, ben.igsid, { fromId: ben.igsid, createdTime: T0 - 2 * DAY });
  sim.store.addMessage(main.igId, cleo.igsid, { fromId: cleo.igsid, createdTime: T0 - 2 * MINUTE });
  const zoe = sim.store.addUser(other.igId, { username: 'zoe' });
  sim.store.addMessage(other.igId, zoe.igsid, { fromId: zoe.igsid, createdTime: T0 - MINUTE });
  await sim.start();
  startClient();
});

afterEach(async () => {
  await client.close();
  await sim.stop();
});

// ---- helpers --------------------------------------------------------------------------------

/** The counter as `{ 'GET /me ok': 1, … }`. */
async function upstream(): Promise<Record<string, number>> {
  const { values } = await metrics.upstreamRequests.get();
  return Object.fromEntries(
    values.map((v) => [`${v.labels.method} ${v.labels.endpoint} ${v.labels.outcome}`, v.value]),
  );
}

async function failure(promise: Promise<unknown>): Promise<InstagramError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InstagramError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

const fieldsOf = (error: InstagramError) => ({
  kind: error.kind,
  code: error.code,
  subcode: error.subcode,
  status: error.status,
  retryAfterMs: error.retryAfterMs,
});

const me = (auth: Auth = main) =>
  client.call<{ id: string; user_id: string; username: string }>({
    method: 'GET',
    path: 'me',
    endpoint: '/me',
    token: auth.token,
    igId: auth.igId,
    query: { fields: 'user_id,username' },
  });

const conversations = (auth: Auth = main, query: Record<string, string> = {}) =>
  client.call<{ data: { id: string }[] }>({
    method: 'GET',
    path: 'me/conversations',
    endpoint: '/me/conversations',
    token: auth.token,
    igId: auth.igId,
    query: { platform: 'instagram', fields: 'id', ...query },
  });

const node = (id: string, fields: string, auth: Auth = main) =>
  client.call({
    method: 'GET',
    path: encodeURIComponent(id),
    endpoint: '/{id}',
    token: auth.token,
    igId: auth.igId,
    query: { fields },
  });

const send = (recipient: Record<string, string>, auth: Auth = main) =>
  client.call<{ recipient_id: string; message_id: string }>({
    method: 'POST',
    path: 'me/messages',
    endpoint: '/me/messages',
    token: auth.token,
    igId: auth.igId,
    body: { recipient, message: { text: 'Thanks!' } },
  });

// ---- a successful read ----------------------------------------------------------------------

describe('a successful read', () => {
  it('returns the body, sends the token only as a Bearer header and counts the call', async () => {
    const body = await me();
    expect(body).toEqual({ id: appScopedId, user_id: main.igId, username: 'northwind.shop' });

    expect(sim.requests).toHaveLength(1);
    const request = sim.requests[0];
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/v25.0/me');
    // No token in the URL: the simulator authenticated the call from the Authorization header
    // (it takes `Bearer <token>` or `access_token`, and there is no `access_token`).
    expect(request?.query).toEqual({ fields: 'user_id,username' });
    expect(request?.query).not.toHaveProperty('access_token');
    expect(request?.body).toBeUndefined();
    expect(request?.status).toBe(200);

    expect(await upstream()).toEqual({ 'GET /me ok': 1 });
    const text = await metrics.registry.getSingleMetricAsString(
      'instagram_upstream_requests_total',
    );
    expect(text).toContain(
      'instagram_upstream_requests_total{method="GET",endpoint="/me",outcome="ok"} 1',
    );
  });

  it('keeps the X-Business-Use-Case-Usage Instagram reported, per account', async () => {
    await me();
    expect(client.usage(main.igId)).toEqual({
      callCount: 0,
      totalTime: 0,
      totalCputime: 0,
      regainAccessMs: 0,
    });
    expect(client.usage(other.igId)).toBeUndefined();

    // One conversations call of four allowed: 25 % of the account's fullest bucket.
    sim.setRateLimits({ conversations: 4 });
    await conversations();
    expect(client.usage(main.igId)).toEqual({
      callCount: 25,
      totalTime: 1,
      totalCputime: 1,
      regainAccessMs: 0,
    });
    expect(client.usage(other.igId)).toBeUndefined();
  });

  it('drops undefined query parameters and encodes the rest', async () => {
    await client.call({
      method: 'GET',
      path: 'me/conversations',
      endpoint: '/me/conversations',
      token: main.token,
      igId: main.igId,
      query: { platform: 'instagram', fields: 'id,messages.limit(1){id}', after: undefined },
    });
    expect(sim.requests[0]?.query).toEqual({
      platform: 'instagram',
      fields: 'id,messages.limit(1){id}',
    });
  });
});

// ---- errors ---------------------------------------------------------------------------------

describe('errors from Instagram', () => {
  it('maps an expired token (190/463) to token, outcome 190', async () => {
    sim.clock.advance(61 * DAY);
    const error = await failure(me());
    expect(fieldsOf(error)).toEqual({
      kind: 'token',
      code: 190,
      subcode: 463,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(error.message).toMatch(/^Error validating access token: Session has expired on /);
    expect(sim.count('GET /me')).toBe(1);
    expect(await upstream()).toEqual({ 'GET /me 190': 1 });
  });

  it('maps an injected expired-token answer to token', async () => {
    sim.inject({ endpoint: 'GET /me', kind: 'expired-token' });
    expect(fieldsOf(await failure(me()))).toEqual({
      kind: 'token',
      code: 190,
      subcode: 463,
      status: 400,
      retryAfterMs: undefined,
    });
  });

  it('maps a malformed token (190) and a revoked one (190/460) to token', async () => {
    const malformed = await failure(me({ igId: main.igId, token: 'not-a-token' }));
    expect(fieldsOf(malformed)).toEqual({
      kind: 'token',
      code: 190,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(malformed.message).toBe('Invalid OAuth access token - Cannot parse access token');

    const stored = sim.store.tokens.get(main.token);
    if (stored) stored.revoked = true;
    expect(fieldsOf(await failure(me()))).toEqual({
      kind: 'token',
      code: 190,
      subcode: 460,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(sim.count('GET /me')).toBe(2);
    expect(await upstream()).toEqual({ 'GET /me 190': 2 });
  });

  it('throttles an account after 80002, without calling it, and serves the others', async () => {
    sim.setRateLimits({ conversations: 1 });
    await conversations();
    const limited = await failure(conversations());
    expect(fieldsOf(limited)).toEqual({
      kind: 'rate_limited',
      code: 80002,
      subcode: undefined,
      status: 400,
      // The usage header announces 0 minutes; the client waits its 1 s default.
      retryAfterMs: 1000,
    });
    expect(sim.count('GET /me/conversations')).toBe(2);

    // Fails fast: the simulator sees nothing, for this endpoint or any other of the account.
    const blocked = await failure(conversations());
    expect(fieldsOf(blocked)).toEqual({
      kind: 'rate_limited',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: 1000,
    });
    expect(fieldsOf(await failure(me()))).toMatchObject({ kind: 'rate_limited' });
    expect(sim.count()).toBe(2);

    // Another account is still served.
    expect((await conversations(other)).data).toHaveLength(1);
    expect(sim.count('GET /me/conversations')).toBe(3);

    sim.clock.advance(400);
    expect((await failure(conversations())).retryAfterMs).toBe(600);
    expect(sim.count()).toBe(3);

    // Once the wait is over the account is called again.
    sim.clock.advance(600);
    expect((await conversations()).data).toHaveLength(3);
    expect(sim.count('GET /me/conversations')).toBe(4);

    expect(await upstream()).toEqual({
      'GET /me/conversations ok': 3,
      'GET /me/conversations 80002': 1,
    });
  });

  it('throttles an account after 613 on a send', async () => {
    sim.setRateLimits({ send: 1 });
    await send({ id: ana.igsid });
    const limited = await failure(send({ id: ana.igsid }));
    expect(fieldsOf(limited)).toEqual({
      kind: 'rate_limited',
      code: 613,
      subcode: 2534040,
      status: 400,
      retryAfterMs: 1000,
    });
    expect(limited.message).toBe('Calls to this api have exceeded the rate limit.');
    expect(sim.count('POST /me/messages')).toBe(2);

    expect((await failure(send({ id: ana.igsid }))).kind).toBe('rate_limited');
    expect(sim.count('POST /me/messages')).toBe(2);
    const zoe = [...sim.store.users.values()].find((u) => u.accountIgId === other.igId);
    expect(await send({ id: zoe?.igsid ?? '' }, other)).toMatchObject({
      recipient_id: zoe?.igsid,
    });
    expect(sim.count('POST /me/messages')).toBe(3);
    expect(await upstream()).toEqual({ 'POST /me/messages ok': 2, 'POST /me/messages 613': 1 });
  });

  it('waits as long as estimated_time_to_regain_access says (minutes)', async () => {
    sim.setRateLimits({ privateReplies: 1 });
    const media = sim.store.addMedia(main.igId);
    const first = sim.users.comment(main.igId, media.id, ana.igsid, 'price?');
    const second = sim.users.comment(main.igId, media.id, ana.igsid, 'still there?');
    await send({ comment_id: first.id });
    const limited = await failure(send({ comment_id: second.id }));
    // The hourly private-reply bucket is full for 60 minutes.
    expect(fieldsOf(limited)).toEqual({
      kind: 'rate_limited',
      code: 613,
      subcode: 2534040,
      status: 400,
      retryAfterMs: 60 * MINUTE,
    });
    expect(client.usage(main.igId)).toEqual({
      callCount: 100,
      totalTime: 1,
      totalCputime: 1,
      regainAccessMs: 60 * MINUTE,
    });
    sim.clock.advance(59 * MINUTE);
    expect((await failure(me())).retryAfterMs).toBe(MINUTE);
    expect(sim.count()).toBe(2);
  });

  it.each([4, 17])('maps an injected rate limit %i to rate_limited', async (code) => {
    sim.inject({ endpoint: 'GET /me', kind: 'rate-limit', code });
    expect(fieldsOf(await failure(me()))).toEqual({
      kind: 'rate_limited',
      code,
      subcode: undefined,
      status: 400,
      retryAfterMs: 1000,
    });
    expect(sim.count('GET /me')).toBe(1);
    expect(await upstream()).toEqual({ [`GET /me ${code}`]: 1 });
  });

  it('maps 100/33 (no such object) to not_found', async () => {
    const error = await failure(node('17841499999999999', 'id'));
    expect(fieldsOf(error)).toEqual({
      kind: 'not_found',
      code: 100,
      subcode: 33,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(await upstream()).toEqual({ 'GET /{id} 100': 1 });
  });

  it('maps 9000001 (past the 20 newest) to message_too_old', async () => {
    // The 20 newest read; the 21st from the newest does not.
    expect(await node(anaMids[1] ?? '', 'id,message')).toEqual({ id: anaMids[1], message: 'm1' });
    const error = await failure(node(anaMids[0] ?? '', 'id,message'));
    expect(fieldsOf(error)).toEqual({
      kind: 'message_too_old',
      code: 9000001,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(sim.count('GET /{id}')).toBe(2);
    expect(await upstream()).toEqual({ 'GET /{id} ok': 1, 'GET /{id} 9000001': 1 });
  });

  it('maps code 1 "reduce the amount of data" to reduce_data and does not retry it', async () => {
    seedBulk(main.igId, 25, 50);
    const error = await failure(
      conversations(main, { limit: '25', fields: 'id,messages.limit(50){id}' }),
    );
    expect(fieldsOf(error)).toEqual({
      kind: 'reduce_data',
      code: 1,
      subcode: 99,
      status: 500,
      retryAfterMs: undefined,
    });
    expect(sim.count('GET /me/conversations')).toBe(1);
    expect(await upstream()).toEqual({ 'GET /me/conversations 1': 1 });
  });

  it('maps 2500 (unknown path) to not_found', async () => {
    const error = await failure(
      client.call({
        method: 'GET',
        path: 'me/threads',
        endpoint: '/me/threads',
        token: main.token,
        igId: main.igId,
      }),
    );
    expect(fieldsOf(error)).toEqual({
      kind: 'not_found',
      code: 2500,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(error.message).toBe('Unknown path components: /threads');
    expect(await upstream()).toEqual({ 'GET /me/threads 2500': 1 });
  });

  it('maps a send outside the window (10/2534022) to outside_window, HTTP 403', async () => {
    const error = await failure(send({ id: ben.igsid }));
    expect(fieldsOf(error)).toEqual({
      kind: 'outside_window',
      code: 10,
      subcode: 2534022,
      status: 403,
      retryAfterMs: undefined,
    });
    expect(error.message).toBe('This message is sent outside of allowed window.');
    expect(sim.count('POST /me/messages')).toBe(1);
    expect(await upstream()).toEqual({ 'POST /me/messages 10': 1 });
  });

  it('maps 551 to recipient_unavailable', async () => {
    const error = await failure(send({ id: cleo.igsid }));
    expect(fieldsOf(error)).toEqual({
      kind: 'recipient_unavailable',
      code: 551,
      subcode: 1545041,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(await upstream()).toEqual({ 'POST /me/messages 551': 1 });
  });

  it('maps 100/2534014 (no matching user) to recipient_unavailable', async () => {
    const error = await failure(send({ id: '1234567890123456' }));
    expect(fieldsOf(error)).toMatchObject({ kind: 'recipient_unavailable', code: 100 });
    expect(error.subcode).toBe(2534014);
  });

  it('maps 230 (no consent to read a profile) to consent_required', async () => {
    const error = await failure(node(dan.igsid, 'name,username'));
    expect(fieldsOf(error)).toEqual({
      kind: 'consent_required',
      code: 230,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(error.message).toBe('User consent is required to access user profile.');
    expect(await node(ana.igsid, 'username')).toEqual({ id: ana.igsid, username: 'ana.costa' });
    expect(await upstream()).toEqual({ 'GET /{id} 230': 1, 'GET /{id} ok': 1 });
  });

  it('maps 200 (missing permission) to permission', async () => {
    const limited = sim.store.issueToken(main.igId);
    sim.store.tokens.set(limited.token, {
      ...limited,
      permissions: ['instagram_business_basic'],
    });
    const error = await failure(conversations({ igId: main.igId, token: limited.token }));
    expect(fieldsOf(error)).toEqual({
      kind: 'permission',
      code: 200,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
    });
  });

  it('maps 100 (invalid parameter) to invalid_parameter', async () => {
    const error = await failure(conversations(main, { limit: '500' }));
    expect(fieldsOf(error)).toEqual({
      kind: 'invalid_parameter',
      code: 100,
      subcode: undefined,
      status: 400,
      retryAfterMs: undefined,
    });
    expect(sim.count()).toBe(1);
  });
});

// ---- transient failures ---------------------------------------------------------------------

describe('transient failures', () => {
  it.each([
    ['transient', '2'],
    ['server-error', 'transient'],
    ['drop', 'transient'],
  ] as const)('retries a read after one %s and succeeds', async (kind, outcome) => {
    sim.inject({ endpoint: 'GET /me', kind });
    expect(await me()).toMatchObject({ user_id: main.igId });
    expect(sim.count('GET /me')).toBe(2);
    expect(await upstream()).toEqual({ [`GET /me ${outcome}`]: 1, 'GET /me ok': 1 });
  });

  it('gives up after readRetries (2 by default): three requests, then transient', async () => {
    sim.inject({ endpoint: 'GET /me', kind: 'transient', times: 3 });
    const error = await failure(me());
    expect(fieldsOf(error)).toEqual({
      kind: 'transient',
      code: 2,
      subcode: undefined,
      status: 500,
      retryAfterMs: undefined,
    });
    expect(sim.count('GET /me')).toBe(3);
    expect(await upstream()).toEqual({ 'GET /me 2': 3 });
    // The fourth answer was never asked for: the next call succeeds at once.
    await me();
    expect(sim.count('GET /me')).toBe(4);
  });

  it('follows a configured readRetries', async () => {
    await client.close();
    startClient({ readRetries: 1 });
    sim.inject({ endpoint: 'GET /me', kind: 'server-error', times: 2 });
    const error = await failure(me());
    expect(fieldsOf(error)).toEqual({
      kind: 'transient',
      code: undefined,
      subcode: undefined,
      status: 503,
      retryAfterMs: undefined,
    });
    expect(sim.count('GET /me')).toBe(2);
  });

  it('does not retry a send after a transient answer', async () => {
    sim.inject({ endpoint: 'POST /me/messages', kind: 'transient' });
    const error = await failure(send({ id: ana.igsid }));
    expect(fieldsOf(error)).toEqual({
      kind: 'transient',
      code: 2,
      subcode: undefined,
      status: 500,
      retryAfterMs: undefined,
    });
    expect(sim.count('POST /me/messages')).toBe(1);
    expect(await upstream()).toEqual({ 'POST /me/messages 2': 1 });
  });

  it('does not retry a send whose connection dropped', async () => {
    sim.inject({ endpoint: 'POST /me/messages', kind: 'drop' });
    const error = await failure(send({ id: ana.igsid }));
    expect(fieldsOf(error)).toEqual({
      kind: 'transient',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: undefined,
    });
    expect(error.message).toBe('Instagram could not be reached');
    expect(sim.count('POST /me/messages')).toBe(1);
    expect(await upstream()).toEqual({ 'POST /me/messages transient': 1 });
  });
});

// ---- time-outs ------------------------------------------------------------------------------

describe('time-outs', () => {
  beforeEach(async () => {
    await client.close();
    startClient({ timeoutMs: 200 });
  });

  it('fails a read that hangs with kind timeout at the deadline: one deadline, no retry after it', async () => {
    sim.inject({ endpoint: 'GET /me', kind: 'timeout', times: 3 });
    const error = await failure(me());
    expect(fieldsOf(error)).toEqual({
      kind: 'timeout',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: undefined,
    });
    expect(error.message).toBe('Instagram did not answer within 200 ms');
    // Before, each of the three attempts had its own 200 ms: the call took three of them.
    expect(sim.count('GET /me')).toBe(1);
    expect(await upstream()).toEqual({ 'GET /me timeout': 1 });
  });

  it('retries a transient failure within the deadline, and the next call has its own', async () => {
    sim.inject({ endpoint: 'GET /me', kind: 'transient' });
    expect(await me()).toMatchObject({ user_id: main.igId });
    sim.inject({ endpoint: 'GET /me', kind: 'timeout' });
    expect((await failure(me())).kind).toBe('timeout');
    expect(await me()).toMatchObject({ user_id: main.igId });
    expect(await upstream()).toEqual({ 'GET /me 2': 1, 'GET /me ok': 2, 'GET /me timeout': 1 });
  });

  it('does not retry a send that timed out: its outcome is unknown', async () => {
    sim.inject({ endpoint: 'POST /me/messages', kind: 'timeout' });
    const error = await failure(send({ id: ana.igsid }));
    expect(fieldsOf(error)).toEqual({
      kind: 'timeout',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: undefined,
    });
    expect(error.message).toBe('Instagram did not answer within 200 ms');
    expect(sim.count('POST /me/messages')).toBe(1);
    expect(await upstream()).toEqual({ 'POST /me/messages timeout': 1 });
  });

  it('does not start a paced read whose slot the deadline would not reach', async () => {
    await client.close();
    // Two reads a second, on the simulator's frozen clock: the third slot is 1.1 s away.
    const limiter = new MemoryRateLimiter(undefined, () => sim.clock.now());
    startClient({ timeoutMs: 200, paceReads: true, limiter });
    const api = new InstagramApi(client);
    await api.conversations(main, { limit: 1, fields: 'id' });
    await api.conversations(main, { limit: 1, fields: 'id' });
    const error = await failure(api.conversations(main, { limit: 1, fields: 'id' }));
    expect(fieldsOf(error)).toEqual({
      kind: 'rate_limited',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: 1100,
    });
    expect(sim.count('GET /me/conversations')).toBe(2);
  });
});

// ---- InstagramApi ---------------------------------------------------------------------------

/** `count` conversations of `size` messages each; conversation 0 is the newest. */
function seedBulk(igId: string, count: number, size: number): string[] {
  const ids: string[] = [];
  for (let c = 0; c < count; c++) {
    const user = sim.store.addUser(igId, { username: `bulk${c}` });
    for (let n = 0; n < size; n++) {
      sim.store.addMessage(igId, user.igsid, {
        fromId: n % 2 === 0 ? user.igsid : igId,
        text: `c${c}m${n}`,
        // Every bulk conversation is newer than the seeded ones (at most T0 - 1 min).
        createdTime: T0 + DAY - c * HOUR - (size - 1 - n) * 1000,
      });
    }
    const conversation = sim.store.conversationWith(igId, user.igsid);
    if (conversation) ids.push(conversation.id);
  }
  return ids;
}

const HEAVY = 'id,messages.limit(50){id,message}';

describe('InstagramApi', () => {
  let api: InstagramApi;
  beforeEach(() => {
    api = new InstagramApi(client);
  });

  it('reads the account as the flat object Instagram answers', async () => {
    const account = await api.account(main, ['user_id', 'username']);
    expect(account).toEqual({ id: appScopedId, user_id: main.igId, username: 'northwind.shop' });
    expect(sim.requests[0]?.query).toEqual({ fields: 'user_id,username' });
  });

  it('unwraps the {"data":[…]} shape GS prints for /me', async () => {
    // The simulator answers the flat shape only (§9); this one answer needs its own server.
    const seen: { url: string | undefined; authorization: string | undefined }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[{"id":"1","user_id":"17841400000000001","username":"x"}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const wrapped = new InstagramClient({
      graphUrl: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      apiVersion: 'v25.0',
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
    try {
      const account = await new InstagramApi(wrapped).account({ igId: '1', token: 'IGtoken' }, [
        'user_id',
        'username',
      ]);
      expect(account).toEqual({ id: '1', user_id: '17841400000000001', username: 'x' });
      expect(seen).toEqual([
        { url: '/v25.0/me?fields=user_id%2Cusername', authorization: 'Bearer IGtoken' },
      ]);
    } finally {
      await wrapped.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('splits a page of conversations Instagram finds too big, in halves', async () => {
    const bulk = await startBulk(30);
    const page = await api.conversations(bulk.auth, { limit: 30, fields: HEAVY });

    // 30 × 50 = 1,500 messages > 1,000: refused (1), then 15 + 15 = 750 each (2 more).
    expect(sim.count('GET /me/conversations')).toBe(3);
    expect(sim.requests.map((r) => [r.status, r.query.limit, r.query.after !== undefined])).toEqual(
      [
        [500, '30', false],
        [200, '15', false],
        [200, '15', true],
      ],
    );
    expect(await upstream()).toEqual({
      'GET /me/conversations 1': 1,
      'GET /me/conversations ok': 2,
    });

    const ids = page.data.map((c) => c.id);
    expect(ids).toEqual(bulk.ids);
    expect(new Set(ids).size).toBe(30);
    for (const [c, conversation] of page.data.entries()) {
      expect(conversation.messages?.data).toHaveLength(50);
      // Newest first; only the 20 newest carry their text.
      expect(conversation.messages?.data[0]?.message).toBe(`c${c}m49`);
      expect(conversation.messages?.data[19]?.message).toBe(`c${c}m30`);
      expect(conversation.messages?.data[20]?.message).toBeUndefined();
    }

    // The same page unsplit (20 messages each, 600 in all) has the same cursors.
    const whole = await api.conversations(bulk.auth, { limit: 30, fields: 'id' });
    expect(whole.data.map((c) => c.id)).toEqual(ids);
    expect(page.paging).toEqual({ cursors: whole.paging?.cursors });
    expect(whole.paging).not.toHaveProperty('next');
    expect(whole.paging).not.toHaveProperty('previous');
  });

  it('merges the paging of the halves: before of the first, after and next of the last', async () => {
    const bulk = await startBulk(40);
    const page = await api.conversations(bulk.auth, { limit: 30, fields: HEAVY });
    expect(sim.count('GET /me/conversations')).toBe(3);
    expect(page.data.map((c) => c.id)).toEqual(bulk.ids.slice(0, 30));

    const whole = await api.conversations(bulk.auth, { limit: 30, fields: 'id' });
    expect(page.paging?.cursors).toEqual(whole.paging?.cursors);
    expect(page.paging?.next).toEqual(expect.stringContaining('after='));
    expect(page.paging).not.toHaveProperty('previous');

    // The merged `after` continues where the page ended, with no gap and no repeat.
    const rest = await api.conversations(bulk.auth, {
      limit: 30,
      after: page.paging?.cursors?.after,
      fields: HEAVY,
    });
    expect(sim.count('GET /me/conversations')).toBe(5);
    expect(rest.data.map((c) => c.id)).toEqual(bulk.ids.slice(30));
    expect(rest.paging).not.toHaveProperty('next');
    expect(rest.paging?.previous).toEqual(expect.stringContaining('before='));

    // Backwards from there: the half nearest the cursor first, then the one before it.
    sim.resetRequests();
    const back = await api.conversations(bulk.auth, {
      limit: 30,
      before: rest.paging?.cursors?.before,
      fields: HEAVY,
    });
    expect(
      sim.requests.map((r) => [r.status, r.query.limit, r.query.before !== undefined]),
    ).toEqual([
      [500, '30', true],
      [200, '15', true],
      [200, '15', true],
    ]);
    expect(back.data.map((c) => c.id)).toEqual(bulk.ids.slice(0, 30));
    expect(back.paging?.cursors).toEqual(page.paging?.cursors);
    expect(back.paging).not.toHaveProperty('previous');
    expect(back.paging?.next).toEqual(expect.stringContaining('after='));
  });

  it('returns the first half alone when nothing follows it', async () => {
    sim.inject({
      endpoint: 'GET /me/conversations',
      kind: 'error',
      error: errors.reduceData(),
    });
    const page = await api.conversations(main, { limit: 30, fields: 'id' });
    expect(sim.count('GET /me/conversations')).toBe(2);
    // ana, cleo, ben: newest first.
    expect(page.data.map((c: GraphConversation) => c.id)).toEqual(
      [ana, cleo, ben].map((u) => sim.store.conversationWith(main.igId, u.igsid)?.id),
    );
  });

  it('splits a page of messages the same way', async () => {
    const conversationId = sim.store.conversationWith(main.igId, ana.igsid)?.id ?? '';
    sim.inject({ endpoint: 'GET /{id}/messages', kind: 'error', error: errors.reduceData() });
    const page = await api.messages(main, conversationId, { limit: 20, fields: 'id,message' });
    expect(sim.count('GET /{id}/messages')).toBe(3);
    expect(page.data.map((m) => m.id)).toEqual(anaMids.slice(1).reverse());
    expect(page.paging?.next).toEqual(expect.stringContaining('after='));

    const whole = await api.messages(main, conversationId, { limit: 20, fields: 'id' });
    expect(page.paging?.cursors).toEqual(whole.paging?.cursors);
  });

  it('does not split a page of one, nor another error', async () => {
    sim.inject({ endpoint: 'GET /me/conversations', kind: 'error', error: errors.reduceData() });
    expect((await failure(api.conversations(main, { limit: 1, fields: 'id' }))).kind).toBe(
      'reduce_data',
    );
    sim.inject({ endpoint: 'GET /me/conversations', kind: 'expired-token' });
    expect((await failure(api.conversations(main, { limit: 30, fields: 'id' }))).kind).toBe(
      'token',
    );
    expect(sim.count('GET /me/conversations')).toBe(2);
  });
});

/** A fresh account with `count` conversations of 50 messages; their ids newest first. */
async function startBulk(count: number): Promise<{ auth: Auth; ids: string[] }> {
  const { account, token } = sim.addAccount({ username: 'bulk.shop' });
  const ids = seedBulk(account.igId, count, 50);
  sim.resetRequests();
  return { auth: { igId: account.igId, token: token.token }, ids };
}

describe('pacing', () => {
  it('keeps Conversations API reads within 2 a second per account instead of being refused', async () => {
    const live = new Simulator({ appSecret: 'app-secret', clock: createClock(T0) });
    const { account, token } = live.addAccount({ username: 'paced.shop' });
    await live.start();
    const paced = new InstagramClient({
      graphUrl: () => live.url,
      apiVersion: 'v25.0',
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
    try {
      const api = new InstagramApi(paced);
      const auth = { igId: account.igId, token: token.token };
      for (let i = 0; i < 5; i++) await api.conversations(auth, { limit: 1, fields: 'id' });
      // Without pacing the third read in the same second is refused with 80002.
      expect(live.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    } finally {
      await paced.close();
      await live.stop();
    }
  });
});

describe('pacing through a limiter', () => {
  it('shares the limiter it is given: two clients, as two instances, keep 2 a second', async () => {
    const live = new Simulator({ appSecret: 'app-secret', clock: createClock(T0) });
    const { account, token } = live.addAccount({ username: 'paced.shop' });
    await live.start();
    const limiter = new MemoryRateLimiter();
    const instances = [0, 1].map(
      () =>
        new InstagramClient({
          graphUrl: () => live.url,
          apiVersion: 'v25.0',
          metrics: createMetrics(),
          logger: createLogger('silent'),
          limiter,
        }),
    );
    try {
      const auth = { igId: account.igId, token: token.token };
      for (let i = 0; i < 4; i++) {
        await new InstagramApi(instances[i % 2] as InstagramClient).conversations(auth, {
          limit: 1,
          fields: 'id',
        });
      }
      // Each client alone would allow 2 a second: the third read would get 80002.
      expect(live.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    } finally {
      for (const instance of instances) await instance.close();
      await live.stop();
    }
  });

  it('answers rate_limited without calling Instagram when the slot is over 2 s away', async () => {
    const takes: string[] = [];
    const limiter: RateLimiter = {
      async take(igId, bucket, maxWaitMs) {
        takes.push(`${igId} ${bucket} ${maxWaitMs}`);
        return { taken: false, retryAfterMs: 2001 };
      },
    };
    await client.close();
    startClient({ paceReads: true, limiter });
    const error = await failure(
      new InstagramApi(client).conversations(main, { limit: 1, fields: 'id' }),
    );
    expect(fieldsOf(error)).toEqual({
      kind: 'rate_limited',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: 2001,
    });
    // Only Conversations API reads are paced.
    await me();
    expect(takes).toEqual([`${main.igId} conversationReads 2000`]);
    expect(sim.requests.map((r) => r.endpoint)).toEqual(['/me']);
  });
});

describe('a refused token', () => {
  it('is reported once, before the call rejects, for the account whose token it was', async () => {
    const reports: string[] = [];
    await client.close();
    startClient({
      onTokenRejected: async (igId, reason) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        reports.push(`${igId}: ${reason}`);
      },
    });
    sim.inject({ endpoint: 'GET /me', kind: 'expired-token' });
    const error = await failure(me());
    expect(error.kind).toBe('token');
    // igql's words for 190/463, never Instagram's text.
    const reason = 'Instagram refused the access token: it expired';
    expect(reports).toEqual([`${main.igId}: ${reason}`]);

    // Other refusals are not reported, nor a refused token of a call made for no account.
    expect((await failure(node('17841499999999999', 'id'))).kind).toBe('not_found');
    const unowned = await failure(
      client.call({ method: 'GET', path: 'me', endpoint: '/me', token: 'not-a-token' }),
    );
    expect(unowned.kind).toBe('token');
    expect(reports).toHaveLength(1);

    // A caller that knows without asking (an expired token) reports through the same callback.
    await client.reportTokenRejected(other.igId, 'expired');
    expect(reports).toEqual([`${main.igId}: ${reason}`, `${other.igId}: expired`]);
  });

  it('logs a report that failed, and the caller still gets its InstagramError', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    await client.close();
    startClient({
      logger: pino({ level: 'warn' }, stream),
      onTokenRejected: () => {
        throw new Error('token store unavailable');
      },
    });
    sim.inject({ endpoint: 'GET /me', kind: 'expired-token' });
    expect((await failure(me())).kind).toBe('token');
    expect(lines.map((line) => JSON.parse(line).msg)).toContain('marking a refused token failed');
  });
});

describe('the token endpoints', () => {
  it('sends a form to the token host, credentials in the query, and no Bearer header', async () => {
    const seen: Record<string, string | undefined>[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          authorization: req.headers.authorization,
          type: req.headers['content-type'],
          body,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"access_token":"IGnew"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const hosts = new InstagramClient({
      graphUrl: () => `${base}/graph`,
      tokenUrl: () => `${base}/token`,
      apiVersion: 'v25.0',
      metrics,
      logger: createLogger('silent'),
    });
    try {
      await hosts.call({
        method: 'POST',
        host: 'token',
        versioned: false,
        path: 'oauth/access_token',
        endpoint: '/oauth/access_token',
        form: { client_id: '1', code: 'AQ x' },
        retry: false,
      });
      await hosts.call({
        method: 'GET',
        versioned: false,
        path: 'refresh_access_token',
        endpoint: '/refresh_access_token',
        igId: main.igId,
        query: { grant_type: 'ig_refresh_token' },
        credentials: { access_token: 'IGold' },
        retry: false,
      });
      expect(seen).toEqual([
        {
          method: 'POST',
          url: '/token/oauth/access_token',
          authorization: undefined,
          type: 'application/x-www-form-urlencoded',
          body: 'client_id=1&code=AQ+x',
        },
        {
          method: 'GET',
          url: '/graph/refresh_access_token?grant_type=ig_refresh_token&access_token=IGold',
          authorization: undefined,
          type: undefined,
          body: '',
        },
      ]);
      expect(await upstream()).toEqual({
        'POST /oauth/access_token ok': 1,
        'GET /refresh_access_token ok': 1,
      });
    } finally {
      await hosts.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('never retries a GET marked retry: false, and keeps no cause that could quote credentials', async () => {
    sim.inject({ endpoint: 'GET /refresh_access_token', kind: 'drop' });
    const error = await failure(
      client.call({
        method: 'GET',
        versioned: false,
        path: 'refresh_access_token',
        endpoint: '/refresh_access_token',
        igId: main.igId,
        query: { grant_type: 'ig_refresh_token' },
        credentials: { access_token: main.token },
        retry: false,
      }),
    );
    expect(fieldsOf(error)).toEqual({
      kind: 'transient',
      code: undefined,
      subcode: undefined,
      status: undefined,
      retryAfterMs: undefined,
    });
    expect(error.cause).toBeUndefined();
    expect(sim.count('GET /refresh_access_token')).toBe(1);
    expect(await upstream()).toEqual({ 'GET /refresh_access_token transient': 1 });
  });
});

// ---- the upstream edge: nothing leaks, nothing waits without bound ---------------------------

/** A Graph error with a known `fbtrace_id`, as Meta answers it. */
class TracedError extends GraphError {
  override toJSON(): { error: Record<string, unknown> } {
    return { error: { ...super.toJSON().error, fbtrace_id: 'AbC-123_xyz' } };
  }
}

describe('a 200 carrying Graph’s error envelope', () => {
  it('is that error on a read, with its code, subcode and trace id', async () => {
    sim.inject({
      endpoint: 'GET /{id}',
      kind: 'error',
      error: new TracedError({ status: 200, code: 100, subcode: 33, message: 'Unsupported get' }),
    });
    const error = await failure(node(anaMids[0] ?? '', 'id'));
    expect(fieldsOf(error)).toEqual({
      kind: 'not_found',
      code: 100,
      subcode: 33,
      status: 200,
      retryAfterMs: undefined,
    });
    expect(error.reference).toEqual({ code: 100, subcode: 33, traceId: 'AbC-123_xyz' });
    expect(await upstream()).toEqual({ 'GET /{id} 100': 1 });
  });

  it('is that error on a list: retried when transient, refused when throttled', async () => {
    const api = new InstagramApi(client);
    const page = { limit: 1, fields: 'id' };
    sim.inject({
      endpoint: 'GET /me/conversations',
      kind: 'error',
      error: new GraphError({ status: 200, code: 2, message: 'Service temporarily unavailable' }),
    });
    expect((await api.conversations(main, page)).data).toHaveLength(1);
    sim.inject({
      endpoint: 'GET /me/conversations',
      kind: 'error',
      error: new GraphError({ status: 200, code: 4, message: 'Application request limit reached' }),
    });
    expect(fieldsOf(await failure(api.conversations(main, page)))).toEqual({
      kind: 'rate_limited',
      code: 4,
      subcode: undefined,
      status: 200,
      retryAfterMs: 1000,
    });
    expect(await upstream()).toEqual({
      'GET /me/conversations 2': 1,
      'GET /me/conversations ok': 1,
      'GET /me/conversations 4': 1,
    });
  });

  it('is that error on a send, never a success', async () => {
    sim.inject({
      endpoint: 'POST /me/messages',
      kind: 'error',
      error: new GraphError({
        status: 200,
        code: 10,
        subcode: 2534022,
        message: 'This message is sent outside of allowed window.',
      }),
    });
    expect(fieldsOf(await failure(send({ id: ana.igsid })))).toEqual({
      kind: 'outside_window',
      code: 10,
      subcode: 2534022,
      status: 200,
      retryAfterMs: undefined,
    });
    expect(sim.count('POST /me/messages')).toBe(1);
  });
});

describe('Instagram’s message', () => {
  it('is logged redacted, with the code and trace id; a refused token is reported in igql’s words', async () => {
    const lines: string[] = [];
    const reports: string[] = [];
    await client.close();
    startClient({
      logger: createLogger(
        'warn',
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(chunk.toString());
            done();
          },
        }),
      ),
      onTokenRejected: (igId, reason) => {
        reports.push(`${igId}: ${reason}`);
      },
    });
    const quoted = `Invalid OAuth access token ${main.token} (app secret s3cr3t)`;
    sim.inject({
      endpoint: 'GET /me',
      kind: 'error',
      error: new TracedError({ status: 400, code: 190, subcode: 460, message: quoted }),
    });
    const error = await failure(me());
    // Kept on the error, for the log only.
    expect(error.message).toBe(quoted);
    expect(reports).toEqual([
      `${main.igId}: Instagram refused the access token: the session was invalidated (a password change or a security check)`,
    ]);
    expect(lines.map((line) => ({ ...JSON.parse(line), time: 'T' }))).toEqual([
      {
        level: 40,
        time: 'T',
        service: 'igql',
        endpoint: '/me',
        igId: main.igId,
        code: 190,
        subcode: 460,
        traceId: 'AbC-123_xyz',
        status: 400,
        msg: 'instagram: Invalid OAuth access token [Redacted] (app secret s3cr3t)',
      },
    ]);
  });
});

describe('the read-pacing queue', () => {
  it('40 concurrent reads of one account: 4 take a slot within 2 s, 36 are refused at once', async () => {
    await client.close();
    // Two reads a second, on the simulator's frozen clock: every slot is known in advance.
    const inner = new MemoryRateLimiter(undefined, () => sim.clock.now());
    const slots: Slot[] = [];
    const limiter: RateLimiter = {
      async take(igId, bucket, maxWaitMs) {
        const slot = await inner.take(igId, bucket, maxWaitMs);
        slots.push(slot);
        return slot;
      },
    };
    startClient({ paceReads: true, limiter });
    const api = new InstagramApi(client);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => api.conversations(main, { limit: 1, fields: 'id' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    const refused = results.flatMap((r) =>
      r.status === 'rejected' ? [fieldsOf(r.reason as InstagramError)] : [],
    );
    expect(refused).toEqual(
      Array(36).fill({
        kind: 'rate_limited',
        code: undefined,
        subcode: undefined,
        status: undefined,
        retryAfterMs: 2200,
      }),
    );
    // The admitted waited at most 2 s by the limiter's own accounting: 0, 0, 1.1 s, 1.1 s.
    expect(slots.filter((slot) => slot.taken)).toEqual([
      { taken: true, waitMs: 0 },
      { taken: true, waitMs: 0 },
      { taken: true, waitMs: 1100 },
      { taken: true, waitMs: 1100 },
    ]);
    expect(sim.count('GET /me/conversations')).toBe(4);
  });
});
