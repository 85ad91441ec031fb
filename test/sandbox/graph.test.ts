import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sandbox/simulator.ts';
import {
  createClock,
  DAY,
  type SimAccount,
  type SimToken,
  type SimUser,
} from '../../src/sandbox/store.ts';
import { fixture } from '../helpers/fixtures.ts';

const T0 = Date.parse('2026-11-20T12:00:00Z');

/** Replaces every value by its JSON type, so shapes compare without values. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  }
  return typeof value;
}

let sim: Simulator;
let account: SimAccount;
let token: SimToken;
let ana: SimUser;
let ben: SimUser;

async function get(
  path: string,
  init: { token?: string | null; query?: Record<string, string> } = {},
) {
  const params = new URLSearchParams(init.query);
  const auth = init.token === undefined ? token.token : init.token;
  const res = await fetch(`${sim.url}${path}${params.size > 0 ? `?${params}` : ''}`, {
    headers: auth === null ? {} : { authorization: `Bearer ${auth}` },
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const errorOf = (body: { error: Record<string, unknown> }) => {
  const { fbtrace_id, ...rest } = body.error;
  expect(fbtrace_id).toMatch(/^A[A-Za-z0-9_-]{22}$/);
  return rest;
};

beforeEach(async () => {
  sim = new Simulator({ appSecret: 'app-secret', rateLimits: false, clock: createClock(T0, true) });
  ({ account, token } = sim.addAccount({
    username: 'northwind.shop',
    name: 'Northwind Shop',
    followersCount: 120,
    followsCount: 7,
  }));
  ana = sim.store.addUser(account.igId, { username: 'ana.costa', followerCount: 42 });
  ben = sim.store.addUser(account.igId, { username: 'ben_hughes' });
  // Ana: 25 messages, alternating, one minute apart, the newest at T0.
  for (let n = 0; n < 25; n++) {
    sim.store.addMessage(account.igId, ana.igsid, {
      fromId: n % 2 === 0 ? ana.igsid : account.igId,
      text: `m${n}`,
      createdTime: T0 - (24 - n) * 60_000,
    });
  }
  sim.store.addMessage(account.igId, ben.igsid, {
    fromId: ben.igsid,
    text: 'Hello',
    createdTime: T0 - DAY,
  });
  await sim.start();
});

afterEach(() => sim.stop());

describe('tokens', () => {
  it('accepts a Bearer header and an access_token parameter, under any version', async () => {
    const viaHeader = await get('/v25.0/me', { query: { fields: 'user_id,username' } });
    const viaQuery = await get('/v19.0/me', {
      token: null,
      query: { fields: 'user_id,username', access_token: token.token },
    });
    const expected = { user_id: account.igId, username: 'northwind.shop', id: account.appScopedId };
    expect(viaHeader).toMatchObject({ status: 200, body: expected });
    expect(viaQuery).toMatchObject({ status: 200, body: expected });
  });

  it('answers a missing or malformed token with 190', async () => {
    for (const bad of [null, 'not-a-token']) {
      const res = await get('/v25.0/me', { token: bad });
      expect(res.status).toBe(400);
      expect(errorOf(res.body)).toEqual({
        message: 'Invalid OAuth access token - Cannot parse access token',
        type: 'OAuthException',
        code: 190,
      });
    }
  });

  it('answers an expired token with 190/463 and both dates', async () => {
    sim.clock.advance(60 * DAY);
    const res = await get('/v25.0/me');
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toEqual({
      message:
        'Error validating access token: Session has expired on Tuesday, 19-Jan-27 12:00:00 UTC. The current time is Tuesday, 19-Jan-27 12:00:00 UTC.',
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
    });
  });

  it('answers an unknown or revoked token with 190/460', async () => {
    token.revoked = true;
    const res = await get('/v25.0/me');
    expect(errorOf(res.body)).toMatchObject({
      code: 190,
      error_subcode: 460,
      type: 'OAuthException',
    });
  });
});

describe('account and profile', () => {
  it('reads /me with every documented field, and only those asked', async () => {
    const fields =
      'id,user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count';
    sim.store.addMedia(account.igId);
    const res = await get('/v25.0/me', { query: { fields } });
    expect(res.body).toEqual({
      id: account.appScopedId,
      user_id: account.igId,
      username: 'northwind.shop',
      name: 'Northwind Shop',
      account_type: 'Business',
      profile_picture_url: account.profilePictureUrl,
      followers_count: 120,
      follows_count: 7,
      media_count: 1,
    });
    expect(res.headers.get('x-business-use-case-usage')).toBe(
      JSON.stringify({
        [account.igId]: [
          {
            type: 'instagram',
            call_count: 0,
            total_cputime: 0,
            total_time: 0,
            estimated_time_to_regain_access: 0,
          },
        ],
      }),
    );
    expect((await get(`/v25.0/${account.igId}`)).body).toEqual({ id: account.appScopedId });
  });

  it('refuses a field that does not exist', async () => {
    const res = await get('/v25.0/me', { query: { fields: 'username,biography' } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toEqual({
      message: '(#100) Tried accessing nonexisting field (biography) on node type (IGUser)',
      type: 'IGApiException',
      code: 100,
    });
  });

  it('reads a user profile only with the user’s consent', async () => {
    const fields =
      'name,username,profile_pic,follower_count,is_user_follow_business,is_business_follow_user,is_verified_user';
    const res = await get(`/v25.0/${ana.igsid}`, { query: { fields } });
    expect(res.body).toEqual({
      id: ana.igsid,
      name: 'ana.costa',
      username: 'ana.costa',
      profile_pic: ana.profilePic,
      follower_count: 42,
      is_user_follow_business: false,
      is_business_follow_user: false,
      is_verified_user: false,
    });
    expect(shape(res.body)).toEqual(shape(fixture('api-user-profile-postman.json')));
    const stranger = sim.store.addUser(account.igId, { username: 'never.wrote' });
    const refused = await get(`/v25.0/${stranger.igsid}`, { query: { fields: 'username' } });
    expect(refused.status).toBe(400);
    expect(errorOf(refused.body)).toEqual({
      message: 'User consent is required to access user profile.',
      type: 'IGApiException',
      code: 230,
    });
  });

  it('answers an unknown path with 2500, as the fixture', async () => {
    const res = await get('/v25.0/me/impressions');
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toEqual({
      message: 'Unknown path components: /impressions',
      type: 'IGApiException',
      code: 2500,
    });
    expect(shape(res.body)).toEqual(shape(fixture('error-igapiexception-2500-restfb.json')));
  });

  it('answers another object id with 100/33', async () => {
    const res = await get('/v25.0/17841400000000000');
    expect(errorOf(res.body)).toEqual({
      message:
        "Unsupported get request. Object with ID '17841400000000000' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
      type: 'IGApiException',
      code: 100,
      error_subcode: 33,
    });
  });
});

describe('conversations', () => {
  it('lists conversations newest first with id and updated_time by default, as the fixture', async () => {
    const res = await get('/v25.0/me/conversations', { query: { platform: 'instagram' } });
    const ids = [
      sim.store.conversationWith(account.igId, ana.igsid)?.id,
      sim.store.conversationWith(account.igId, ben.igsid)?.id,
    ];
    expect(res.body.data).toEqual([
      { id: ids[0], updated_time: '2026-11-20T12:00:00+0000' },
      { id: ids[1], updated_time: '2026-11-19T12:00:00+0000' },
    ]);
    expect(res.body.paging.cursors.before).toMatch(/^QVFI/);
    expect(res.body.paging.next).toBeUndefined();
    expect(shape(res.body.data)).toEqual(
      shape((fixture('api-conversations-list-postman.json') as { data: unknown }).data),
    );
  });

  it('takes platform=instagram or none (a real capture), refuses other platforms', async () => {
    const without = await get('/v25.0/me/conversations');
    const withIt = await get('/v25.0/me/conversations', { query: { platform: 'instagram' } });
    expect(without.body).toEqual(withIt.body);
    const res = await get('/v25.0/me/conversations', { query: { platform: 'messenger' } });
    expect(errorOf(res.body)).toEqual({
      message: '(#100) Param platform must be instagram',
      type: 'IGApiException',
      code: 100,
    });
    const byUser = await get('/v25.0/me/conversations', { query: { user_id: ben.igsid } });
    expect(byUser.body.data).toEqual([
      {
        id: sim.store.conversationWith(account.igId, ben.igsid)?.id,
        updated_time: '2026-11-19T12:00:00+0000',
      },
    ]);
  });

  it('pages forward through next links and back with before cursors', async () => {
    for (let i = 0; i < 5; i++) {
      const user = sim.store.addUser(account.igId, { username: `user${i}` });
      sim.store.addMessage(account.igId, user.igsid, {
        fromId: user.igsid,
        text: 'hi',
        createdTime: T0 - (i + 2) * DAY,
      });
    }
    const first = await get('/v25.0/me/conversations', {
      query: { platform: 'instagram', limit: '3' },
    });
    expect(first.body.data).toHaveLength(3);
    expect(first.body.paging.previous).toBeUndefined();
    const next = new URL(first.body.paging.next);
    expect(next.pathname).toBe('/v25.0/me/conversations');
    expect(Object.fromEntries(next.searchParams)).toEqual({
      access_token: token.token,
      limit: '3',
      platform: 'instagram',
      after: first.body.paging.cursors.after,
    });
    const second = await get(`${next.pathname}?${next.searchParams}`, { token: null });
    expect(second.body.data).toHaveLength(3);
    const third = await get(
      new URL(second.body.paging.next).pathname + new URL(second.body.paging.next).search,
      { token: null },
    );
    expect(third.body.data).toHaveLength(1);
    expect(third.body.paging.next).toBeUndefined();
    const all = [...first.body.data, ...second.body.data, ...third.body.data].map(
      (c: { id: string }) => c.id,
    );
    expect(new Set(all).size).toBe(7);
    const back = await get('/v25.0/me/conversations', {
      query: { platform: 'instagram', limit: '3', before: second.body.paging.cursors.before },
    });
    expect(back.body.data).toEqual(first.body.data);
  });

  it('expands participants and the newest messages in one call', async () => {
    const conversation = sim.store.conversationWith(account.igId, ana.igsid);
    const res = await get(`/v25.0/${conversation?.id}`, {
      query: { fields: 'participants,messages.limit(2){id,created_time,from,to,message}' },
    });
    const newest = conversation?.messages.at(-1);
    const second = conversation?.messages.at(-2);
    expect(res.body).toEqual({
      id: conversation?.id,
      participants: {
        data: [
          { username: 'ana.costa', id: ana.igsid },
          { username: 'northwind.shop', id: account.igId },
        ],
      },
      messages: {
        data: [
          {
            id: newest?.mid,
            created_time: '2026-11-20T12:00:00+0000',
            from: { username: 'ana.costa', id: ana.igsid },
            to: { data: [{ username: 'northwind.shop', id: account.igId }] },
            message: 'm24',
          },
          {
            id: second?.mid,
            created_time: '2026-11-20T11:59:00+0000',
            from: { username: 'northwind.shop', id: account.igId },
            to: { data: [{ username: 'ana.costa', id: ana.igsid }] },
            message: 'm23',
          },
        ],
        paging: expect.objectContaining({
          next: expect.stringContaining(`/v25.0/${conversation?.id}/messages?`),
        }),
      },
    });
    expect(shape(res.body.messages.data[0])).toEqual(
      shape(fixture('api-message-detail-postman.json')),
    );
  });

  it('gives only id and created_time past the 20 most recent messages, and 9000001 on a direct read', async () => {
    const conversation = sim.store.conversationWith(account.igId, ana.igsid);
    const res = await get(`/v25.0/${conversation?.id}`, {
      query: { fields: 'messages.limit(25){message,from}' },
    });
    const data = res.body.messages.data as Record<string, unknown>[];
    expect(data).toHaveLength(25);
    expect(Object.keys(data[19] ?? {})).toEqual(['id', 'message', 'from']);
    expect(data[20]).toEqual({
      id: conversation?.messages[4]?.mid,
      created_time: '2026-11-20T11:40:00+0000',
    });
    const recent = await get(`/v25.0/${conversation?.messages[5]?.mid}`, {
      query: { fields: 'message' },
    });
    expect(recent.body).toEqual({ id: conversation?.messages[5]?.mid, message: 'm5' });
    const old = await get(`/v25.0/${conversation?.messages[4]?.mid}`, {
      query: { fields: 'message' },
    });
    expect(old.status).toBe(400);
    expect(errorOf(old.body)).toEqual({
      message: 'This Message has been deleted by the user or the business.',
      type: 'OAuthException',
      code: 9000001,
    });
  });

  it('answers an oversized expansion with code 1 (HTTP 500) and passes 25 × 20', async () => {
    for (let i = 0; i < 29; i++) {
      const user = sim.store.addUser(account.igId, { username: `bulk${i}` });
      for (let n = 0; n < 50; n++) {
        sim.store.addMessage(account.igId, user.igsid, {
          fromId: user.igsid,
          text: 'x',
          createdTime: T0 - DAY - i * 1000 - n,
        });
      }
    }
    const big = await get('/v25.0/me/conversations', {
      query: { platform: 'instagram', limit: '50', fields: 'messages.limit(50){message}' },
    });
    expect(big.status).toBe(500);
    expect(errorOf(big.body)).toEqual({
      message: "Please reduce the amount of data you're asking for, then retry your request",
      type: 'OAuthException',
      code: 1,
      error_subcode: 99,
    });
    const fine = await get('/v25.0/me/conversations', {
      query: { platform: 'instagram', limit: '25', fields: 'messages.limit(20){message}' },
    });
    expect(fine.status).toBe(200);
    expect(fine.body.data).toHaveLength(25);
  });
});

describe('limits and faults', () => {
  it('allows 2 conversation reads a second per account, then 80002 with the usage header', async () => {
    sim.setRateLimits({});
    const query = { platform: 'instagram' };
    expect((await get('/v25.0/me/conversations', { query })).status).toBe(200);
    expect((await get('/v25.0/me/conversations', { query })).status).toBe(200);
    const third = await get('/v25.0/me/conversations', { query });
    expect(third.status).toBe(400);
    expect(errorOf(third.body)).toMatchObject({ code: 80002, type: 'IGApiException' });
    expect(
      JSON.parse(third.headers.get('x-business-use-case-usage') ?? '{}')[account.igId][0],
    ).toEqual({
      type: 'instagram',
      call_count: 100,
      total_cputime: 1,
      total_time: 1,
      estimated_time_to_regain_access: 0,
    });
    sim.clock.advance(1000);
    expect((await get('/v25.0/me/conversations', { query })).status).toBe(200);
  });

  it('injects transient errors, 5xx, dropped connections and time-outs', async () => {
    sim.inject({ endpoint: 'GET /me', kind: 'transient' });
    const transient = await get('/v25.0/me');
    expect(transient.status).toBe(500);
    expect(errorOf(transient.body)).toEqual({
      message: 'An unexpected error has occurred. Please retry your request later.',
      type: 'OAuthException',
      code: 2,
      is_transient: true,
    });
    expect((await get('/v25.0/me')).status).toBe(200);

    sim.inject({ endpoint: 'GET /me', kind: 'server-error' });
    expect((await fetch(`${sim.url}/v25.0/me`)).status).toBe(503);

    sim.inject({ endpoint: 'GET /me', kind: 'drop' });
    await expect(fetch(`${sim.url}/v25.0/me`)).rejects.toThrow('fetch failed');

    sim.inject({ endpoint: 'GET /me', kind: 'timeout' });
    await expect(
      fetch(`${sim.url}/v25.0/me`, { signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow('The operation was aborted due to timeout');

    sim.inject({ kind: 'rate-limit', code: 17 });
    const limited = await get('/v25.0/me');
    expect(errorOf(limited.body)).toEqual({
      message: 'User request limit reached',
      type: 'IGApiException',
      code: 17,
    });
  });

  it('logs and counts every request by endpoint template', async () => {
    await get('/v25.0/me', { query: { fields: 'username' } });
    await get('/v25.0/me/conversations', { query: { platform: 'instagram' } });
    await get(`/v25.0/${ana.igsid}`, { query: { fields: 'username' } });
    expect(sim.count()).toBe(3);
    expect(sim.count('GET /me')).toBe(1);
    expect(sim.count('GET /me/conversations')).toBe(1);
    expect(sim.count('GET /{id}')).toBe(1);
    expect(sim.requests[0]).toMatchObject({
      method: 'GET',
      path: '/v25.0/me',
      endpoint: '/me',
      query: { fields: 'username' },
      body: undefined,
      status: 200,
      at: T0,
    });
  });
});

describe('subscribed_apps', () => {
  it('reads, replaces and deletes the webhook fields of the account', async () => {
    const post = await fetch(
      `${sim.url}/v25.0/${account.igId}/subscribed_apps?subscribed_fields=comments,messages&access_token=${token.token}`,
      { method: 'POST' },
    );
    expect(await post.json()).toEqual({ success: true });
    expect((await get(`/v25.0/${account.igId}/subscribed_apps`)).body).toEqual({
      data: [{ id: sim.appId, name: 'igql', subscribed_fields: ['comments', 'messages'] }],
    });
    const bad = await fetch(
      `${sim.url}/v25.0/me/subscribed_apps?subscribed_fields=messages,story_insights&access_token=${token.token}`,
      { method: 'POST' },
    );
    expect(errorOf(await bad.json()).message).toMatch(
      /^\(#100\) Param subscribed_fields\[1\] must be one of/,
    );
    const del = await fetch(`${sim.url}/v25.0/me/subscribed_apps?access_token=${token.token}`, {
      method: 'DELETE',
    });
    expect(await del.json()).toEqual({ success: true });
    expect((await get('/v25.0/me/subscribed_apps')).body).toEqual({ data: [] });
  });
});
