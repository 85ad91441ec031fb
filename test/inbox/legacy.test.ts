import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/auth/jwt.ts';
import { attachment } from '../../src/inbox/attachments.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { upgradeEvent, upgradeMessage } from '../../src/inbox/legacy.ts';
import type { Message } from '../../src/inbox/message.ts';
import type { GraphMessage, InstagramApi } from '../../src/instagram/graph.ts';
import { createLogger } from '../../src/logger.ts';
import { MemoryIdempotencyStore } from '../../src/sends/idempotency.ts';
import { SendService } from '../../src/sends/service.ts';

const IG = '17841400000000001';
const IGSID = '5614879045272581';

describe('events stored before the Message model (the Redis log keeps them)', () => {
  /** A message event exactly as the previous version's normalise wrote it. */
  const old = (kind: 'MESSAGE_RECEIVED' | 'MESSAGE_SENT', message: Record<string, unknown>) =>
    ({
      kind,
      igId: IG,
      igsid: IGSID,
      occurredAt: 1_764_374_400_123,
      identity: `${IG}|${kind}|mid.old||`,
      standby: false,
      message: {
        mid: 'mid.old',
        text: null,
        attachments: [],
        replyTo: null,
        quickReplyPayload: null,
        referral: null,
        isUnsupported: false,
        isSelf: false,
        ...message,
      },
    }) as unknown as InboxEventData;

  it('reads a received message as it is built now', () => {
    const url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1';
    expect(
      upgradeEvent(
        old('MESSAGE_RECEIVED', {
          text: 'from before',
          attachments: [
            { type: 'image', url, payload: { url } },
            { type: 'unsupported_type', url, payload: { url } },
          ],
          replyTo: { story: { id: '18000000000000003', url: null } },
          quickReplyPayload: 'COLOR_RED',
          referral: { ref: 'r' },
          isUnsupported: true,
        }),
      ),
    ).toEqual({
      kind: 'MESSAGE_RECEIVED',
      igId: IG,
      igsid: IGSID,
      occurredAt: 1_764_374_400_123,
      identity: `${IG}|MESSAGE_RECEIVED|mid.old||`,
      standby: false,
      message: {
        mid: 'mid.old',
        createdTime: 1_764_374_400_123,
        detailAvailable: true,
        from: { igsid: IGSID, username: null },
        to: [{ igsid: IG, username: null }],
        text: 'from before',
        attachments: [
          attachment('IMAGE', url, { type: 'image' }),
          attachment('UNSUPPORTED', url, { type: 'unsupported_type' }),
          attachment('STORY_REPLY', null, { storyId: '18000000000000003' }),
        ],
        reactions: [],
        replyTo: null,
        isUnsupported: true,
      },
      quickReplyPayload: 'COLOR_RED',
      referral: { ref: 'r' },
      isSelf: false,
    });
  });

  it('reads an echo (and one reconciliation wrote) from the account, its reply kept', () => {
    expect(
      upgradeEvent(
        old('MESSAGE_SENT', {
          attachments: [{ type: 'ig_post', url: 'https://www.instagram.com/p/x/', payload: {} }],
          replyTo: { mid: 'mid.first' },
          isSelf: true,
        }),
      ),
    ).toMatchObject({
      message: {
        from: { igsid: IG, username: null },
        to: [{ igsid: IGSID, username: null }],
        attachments: [attachment('POST', 'https://www.instagram.com/p/x/', { type: 'ig_post' })],
        replyTo: 'mid.first',
      },
      isSelf: true,
    });
  });

  it('leaves events of now, and every other kind, as they are', () => {
    const seen: InboxEventData = {
      kind: 'MESSAGES_SEEN',
      igId: IG,
      igsid: IGSID,
      occurredAt: 1,
      identity: `${IG}|MESSAGES_SEEN|m||1`,
      standby: false,
      mid: 'm',
    };
    expect(upgradeEvent(seen)).toBe(seen);
    const current = upgradeEvent(old('MESSAGE_RECEIVED', {}));
    expect(upgradeEvent(current)).toBe(current);
  });
});

describe('messages stored before attachments had a type, media id, title, template, raw', () => {
  /** An attachment as the Message model stored it before those fields. */
  const before = { kind: 'IMAGE', url: 'https://cdn.test/i', previewUrl: null, name: null };
  const message = {
    mid: 'mid.m',
    createdTime: 1,
    detailAvailable: true,
    from: { igsid: IGSID, username: null },
    to: [{ igsid: IG, username: null }],
    text: null,
    attachments: [{ ...before, mimeType: null, storyId: null }],
    reactions: [],
    replyTo: null,
    isUnsupported: false,
  } as unknown as Message;

  it('reads an event’s attachments with the new fields null', () => {
    const event = {
      kind: 'MESSAGE_RECEIVED',
      igId: IG,
      igsid: IGSID,
      occurredAt: 1,
      identity: `${IG}|MESSAGE_RECEIVED|mid.m||`,
      standby: false,
      message,
      quickReplyPayload: null,
      referral: null,
      isSelf: false,
    } as InboxEventData;
    expect(upgradeEvent(event)).toEqual({
      ...event,
      message: { ...message, attachments: [attachment('IMAGE', 'https://cdn.test/i')] },
    });
  });

  it('reads a sent message of an idempotency record the same way', () => {
    expect(upgradeMessage(message)).toEqual({
      ...message,
      attachments: [attachment('IMAGE', 'https://cdn.test/i')],
    });
  });

  it('reads the oldest heart sticker (no payload) as the like_heart image it was', () => {
    const old = {
      kind: 'MESSAGE_RECEIVED',
      igId: IG,
      igsid: IGSID,
      occurredAt: 1,
      identity: `${IG}|MESSAGE_RECEIVED|mid.old||`,
      standby: false,
      message: {
        mid: 'mid.old',
        text: null,
        attachments: [{ type: 'like_heart', url: null, payload: null }],
        replyTo: null,
        quickReplyPayload: null,
        referral: null,
        isUnsupported: false,
        isSelf: false,
      },
    } as unknown as InboxEventData;
    expect(upgradeEvent(old)).toMatchObject({
      message: { attachments: [attachment('IMAGE', null, { type: 'like_heart' })] },
    });
  });
});

describe('sent messages stored with an idempotency key before the Message model (24 h)', () => {
  /** What the previous version's `sentMessage` wrote for a send at 2026-11-20T12:00:00Z. */
  const stored = (fields: Partial<GraphMessage>): GraphMessage => ({
    id: 'mid.sent',
    created_time: '2026-11-20T12:00:00+0000',
    from: { id: IG },
    to: { data: [{ id: IGSID }] },
    attachments: { data: [] },
    ...fields,
  });
  const url = 'https://cdn.example.com/a.png';

  it('reads as it was shown then', () => {
    expect(
      [
        stored({ message: 'Only once' }),
        stored({ attachments: { data: [{ image_data: { url, preview_url: url } }] } }),
        stored({ attachments: { data: [{ mime_type: 'audio/mpeg', file_url: url }] } }),
        stored({ attachments: { data: [{ mime_type: 'image/png' }] } }),
        stored({ shares: { data: [{}] } }),
      ].map(upgradeMessage),
    ).toEqual([
      {
        mid: 'mid.sent',
        createdTime: Date.parse('2026-11-20T12:00:00Z'),
        detailAvailable: true,
        from: { igsid: IG, username: null },
        to: [{ igsid: IGSID, username: null }],
        text: 'Only once',
        attachments: [],
        reactions: [],
        replyTo: null,
        isUnsupported: false,
      },
      expect.objectContaining({ attachments: [attachment('IMAGE', url, { previewUrl: url })] }),
      expect.objectContaining({
        attachments: [attachment('AUDIO', url, { mimeType: 'audio/mpeg' })],
      }),
      expect.objectContaining({ attachments: [attachment('IMAGE', null)] }),
      expect.objectContaining({ attachments: [attachment('SHARE', null)] }),
    ]);
  });

  it('leaves a message of now as it is', () => {
    const now = upgradeMessage(stored({ message: 'hi' }));
    expect(upgradeMessage(now)).toBe(now);
  });

  it('a replayed send answers the upgraded message, without calling Instagram', async () => {
    const idempotency = new MemoryIdempotencyStore();
    const unused = {} as never;
    const sends = new SendService({
      api: unused as InstagramApi,
      tokens: unused,
      idempotency,
      limiter: unused,
      logger: createLogger('silent'),
    });
    const session: Session = { sub: 'agent', accounts: [IG], expiresAt: new Date(0), sid: null };
    const input = { recipientId: IGSID, tag: null, text: 'Only once' };
    const key = JSON.stringify([session.sub, IG, 'k-1']);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(['sendTextMessage', input]))
      .digest('hex');
    await idempotency.claim(IG, key, fingerprint);
    const old = {
      igId: IG,
      igsid: IGSID,
      message: stored({ message: 'Only once' }),
      reactedMid: null,
      ok: true,
      userErrors: [],
    };
    await idempotency.complete(IG, key, fingerprint, JSON.stringify(old));
    const outcome = await sends.send(session, {
      mutation: 'sendTextMessage',
      input,
      igId: IG,
      igsid: IGSID,
      idempotencyKey: 'k-1',
    });
    expect(outcome).toEqual({ ...old, message: upgradeMessage(old.message) });
    expect(outcome.message).toMatchObject({ mid: 'mid.sent', text: 'Only once' });
  });
});
