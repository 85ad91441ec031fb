import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { MemoryRateLimiter, sendBucketFor } from '../../src/instagram/rate-limit.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { SENDS, UPLOAD } from '../../src/sends/requests.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';

/**
 * Facebook Login's Send API takes 300 calls a second for "messages that contain text, links,
 * reactions, and stickers" (Messenger Platform rate limiting, "Messenger API for Instagram");
 * Meta names no other limit for the rest, which igql and its simulator keep at 100 a second.
 */

describe('which sends count in Facebook Login’s 300 a second', () => {
  const page = { pageId: '101234567890123' };
  it('text, links, reactions and stickers only; the rest as Instagram Login counts them', () => {
    const buckets = Object.fromEntries(
      Object.entries(SENDS).map(([name, spec]) => [
        name,
        [sendBucketFor(spec.bucket, page), sendBucketFor(spec.bucket, {})],
      ]),
    );
    expect(buckets).toEqual({
      sendTextMessage: ['sendFacebookLogin', 'send'],
      sendImageMessage: ['send', 'send'],
      sendAudioMessage: ['sendMedia', 'sendMedia'],
      sendVideoMessage: ['sendMedia', 'sendMedia'],
      sendFileMessage: ['send', 'send'],
      sendLikeHeart: ['sendFacebookLogin', 'send'],
      sendMediaShare: ['send', 'send'],
      sendQuickReplies: ['send', 'send'],
      sendGenericTemplate: ['send', 'send'],
      sendButtonTemplate: ['send', 'send'],
      sendPrivateReply: ['privateReplies', 'privateReplies'],
      react: ['sendFacebookLogin', 'send'],
      unreact: ['sendFacebookLogin', 'send'],
      typing_on: ['send', 'send'],
      typing_off: ['send', 'send'],
      mark_seen: ['send', 'send'],
    });
    expect(
      (['IMAGE', 'AUDIO', 'VIDEO', 'FILE'] as const).map((type) =>
        sendBucketFor(UPLOAD.bucket(type), page),
      ),
    ).toEqual(['send', 'sendMedia', 'sendMedia', 'send']);
  });
});

describe('igql’s limiter on a frozen clock', () => {
  it('holds back the 101st upload and the 301st text of a second, and no more', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(undefined, () => now);
    const take = async (bucket: 'send' | 'sendFacebookLogin', n: number) => {
      const taken = await Promise.all(
        Array.from({ length: n }, () => limiter.take('17841400000000001', bucket)),
      );
      return taken.filter((slot) => slot.taken).length;
    };
    expect(await take('send', 101)).toBe(100);
    expect(await take('sendFacebookLogin', 301)).toBe(300);
    // A window later (igql adds ARRIVAL_MARGIN_MS to it): free again.
    now += 1100;
    expect(await take('send', 1)).toBe(1);
  });
});

describe('igql and the simulator agree on an account of Facebook Login’s limits', () => {
  let gw: Gateway;
  let shop: SimAccount;
  let ana: SimUser;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway(
      (sim) => {
        shop = sim.addFacebookAccount({ username: 'northwind.shop' }).account;
        ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
        sim.store.addMessage(shop.igId, ana.igsid, {
          fromId: ana.igsid,
          text: 'hi',
          createdTime: sim.clock.now() - 60_000,
        });
      },
      { rateLimits: true },
    );
    token = await gw.session([shop.igId]);
  });
  afterAll(() => gw.stop());
  // The simulator's clock is frozen: each test starts a second later, in windows of its own.
  beforeEach(() => gw.sim.clock.advance(1000));

  /** `n` mutations at once: the code of each (`OK` or its first user error's). */
  const burst = async (n: number, mutation: string, input: (i: number) => unknown) => {
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => gw.query(token, mutation, { i: input(i) })),
    );
    const codes: Record<string, number> = {};
    for (const { body } of results) {
      const payload = (body.data as { r?: { userErrors: { code: string }[] } } | undefined)?.r;
      const code = payload?.userErrors[0]?.code ?? (payload ? 'OK' : 'ERROR');
      codes[code] = (codes[code] ?? 0) + 1;
    }
    return codes;
  };
  const served = (mark: number, endpoint: string) => {
    const statuses: Record<string, number> = {};
    for (const r of gw.sim.requests.slice(mark).filter((r) => r.endpoint === endpoint)) {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    return statuses;
  };

  // igql's limiter runs on the wall clock (state.ts makes it without the app's `now`), the
  // simulator's on its frozen one: within the simulator's second it takes exactly 100, and igql
  // admits at least those. Whether igql or the simulator refuses the 101st depends on how long
  // the burst takes in real time (igql's refusal is covered above, on a frozen clock): either way
  // the client gets RATE_LIMITED and Instagram serves 100.
  it('the 101st image upload in a second is refused: 100 served, RATE_LIMITED for one', async () => {
    const mark = gw.sim.requests.length;
    const codes = await burst(
      101,
      'mutation($i: UploadAttachmentInput!) { r: uploadAttachment(input: $i) { attachmentId userErrors { code } } }',
      (i) => ({
        accountId: globalId.account(shop.igId),
        type: 'IMAGE',
        url: `https://cdn.example.com/p${i}.png`,
      }),
    );
    expect(codes).toEqual({ OK: 100, RATE_LIMITED: 1 });
    expect(served(mark, '/{id}/message_attachments')[200]).toBe(100);
  });

  it('150 text messages in a second all go: Facebook Login’s 300', async () => {
    const mark = gw.sim.requests.length;
    const codes = await burst(
      150,
      'mutation($i: SendTextMessageInput!) { r: sendTextMessage(input: $i) { message { text } userErrors { code } } }',
      (i) => ({
        accountId: globalId.account(shop.igId),
        recipientId: globalId.participant(shop.igId, ana.igsid),
        text: `Message ${i}`,
      }),
    );
    expect(codes).toEqual({ OK: 150 });
    expect(served(mark, '/{id}/messages')).toEqual({ 200: 150 });
  });
});
