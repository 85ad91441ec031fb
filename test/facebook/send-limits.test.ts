import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { sendBucketFor } from '../../src/instagram/rate-limit.ts';
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
      { rateLimits: true, runningClock: true },
    );
    token = await gw.session([shop.igId]);
  });
  afterAll(() => gw.stop());

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

  it('the 101st image upload in a second is held back by igql, not refused by the simulator', async () => {
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
    expect(served(mark, '/{id}/message_attachments')).toEqual({ 200: 100 });
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
