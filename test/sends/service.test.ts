import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/auth/jwt.ts';
import { MemoryTokenStore } from '../../src/auth/token-store.ts';
import { fromResponse } from '../../src/instagram/errors.ts';
import type { InstagramApi, SendResponse } from '../../src/instagram/graph.ts';
import { MemoryRateLimiter } from '../../src/instagram/rate-limit.ts';
import type { SendBody } from '../../src/instagram/send-api.ts';
import { createLogger } from '../../src/logger.ts';
import {
  type Claim,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MemoryIdempotencyStore,
} from '../../src/sends/idempotency.ts';
import { mediaTypeOf, SendService } from '../../src/sends/service.ts';

const IG = '17841400000000001';
const IGSID = '9000000000000001';
const T0 = Date.parse('2026-11-20T12:00:00Z');
const SESSION: Session = {
  sub: 'agent-7',
  accounts: [IG],
  expiresAt: new Date(T0 + 3_600_000),
  sid: null,
};
const TOKEN = 'IGAAKx9vQ2cZBqZAE1hN0ZAservice-token_0123456789abcdefghijklmnop';

/** A send service over a recording idempotency store and a scripted Send API. */
async function service(answer: (body: SendBody) => Promise<SendResponse>) {
  const tokens = new MemoryTokenStore();
  await tokens.put({ igId: IG, accessToken: TOKEN, status: 'ACTIVE', issuedAt: T0 });
  const store = new MemoryIdempotencyStore(() => T0);
  const stored: string[] = [];
  const sent: SendBody[] = [];
  const idempotency = {
    claim: (igId: string, key: string, fingerprint: string): Promise<Claim> => {
      stored.push(`claim ${key.length}`);
      return store.claim(igId, key, fingerprint);
    },
    complete: (igId: string, key: string, fingerprint: string, result: string) => {
      stored.push(`complete ${key.length}`);
      return store.complete(igId, key, fingerprint, result);
    },
    release: (igId: string, key: string) => {
      stored.push(`release ${key.length}`);
      return store.release(igId, key);
    },
  };
  const api = {
    send: (_auth: unknown, body: SendBody) => {
      sent.push(body);
      return answer(body);
    },
  } as unknown as InstagramApi;
  const sends = new SendService({
    api,
    tokens,
    idempotency,
    limiter: new MemoryRateLimiter(),
    logger: createLogger('silent'),
    now: () => T0,
  });
  const text = (idempotencyKey: string | null) =>
    sends.send(SESSION, {
      mutation: 'sendTextMessage',
      input: { recipientId: IGSID, tag: null, text: 'Hi' },
      igId: IG,
      igsid: IGSID,
      idempotencyKey,
    });
  return { text, stored, sent };
}

const ok = async (): Promise<SendResponse> => ({ recipient_id: IGSID, message_id: 'mid.1' });

describe('idempotency keys', () => {
  it('are at most 255 characters: a longer one is invalid input, nothing sent or stored', async () => {
    expect(MAX_IDEMPOTENCY_KEY_LENGTH).toBe(255);
    const { text, stored, sent } = await service(ok);
    expect(await text('k'.repeat(256))).toEqual({
      igId: IG,
      igsid: null,
      message: null,
      reactedMid: null,
      ok: false,
      userErrors: [
        {
          type: 'ValidationError',
          code: 'VALIDATION',
          field: ['input', 'idempotencyKey'],
          message: 'input.idempotencyKey must be at most 255 characters',
        },
      ],
    });
    expect((await text('k'.repeat(1_000_000))).userErrors).toEqual([
      expect.objectContaining({ code: 'VALIDATION', field: ['input', 'idempotencyKey'] }),
    ]);
    expect(stored).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('of 255 characters are kept and replayed', async () => {
    const { text, stored, sent } = await service(ok);
    const first = await text('k'.repeat(255));
    expect(first.ok).toBe(true);
    expect(await text('k'.repeat(255))).toEqual(first);
    expect(sent).toHaveLength(1);
    // The stored key is scoped by user and account: [sub, igId, key] as JSON.
    const scoped = JSON.stringify([SESSION.sub, IG, 'k'.repeat(255)]).length;
    expect(stored).toEqual([`claim ${scoped}`, `complete ${scoped}`, `claim ${scoped}`]);
  });
});

describe('a send Instagram refused', () => {
  const refusal = (error: Record<string, unknown>) => async (): Promise<SendResponse> => {
    throw fromResponse(400, { error: { ...error, fbtrace_id: 'AbC-123_xyz' } });
  };

  it('says so in igql’s words with the Graph code and trace id, never Instagram’s text', async () => {
    const quoted = `(#100) Invalid parameter for token ${TOKEN}`;
    const invalid = await service(refusal({ code: 100, error_subcode: 2534015, message: quoted }));
    expect((await invalid.text(null)).userErrors).toEqual([
      {
        type: 'ValidationError',
        code: 'VALIDATION',
        message:
          'Instagram refused the message as invalid (Graph error 100/2534015, trace AbC-123_xyz)',
        field: ['input'],
      },
    ]);
    const missing = await service(refusal({ code: 2500, message: `Unknown path ${TOKEN}` }));
    expect((await missing.text(null)).userErrors).toEqual([
      {
        type: 'NotFoundError',
        code: 'NOT_FOUND',
        message: 'Instagram found no such object (Graph error 2500, trace AbC-123_xyz)',
        field: ['input'],
      },
    ]);
  });
});

describe('uploads', () => {
  it('an answer without attachment_id is no success: UPSTREAM_UNAVAILABLE, outcome unknown, stored under its key', async () => {
    const tokens = new MemoryTokenStore();
    await tokens.put({ igId: IG, accessToken: TOKEN, status: 'ACTIVE', issuedAt: T0 });
    const api = { uploadAttachment: async () => ({}) } as unknown as InstagramApi;
    const sends = new SendService({
      api,
      tokens,
      idempotency: new MemoryIdempotencyStore(() => T0),
      limiter: new MemoryRateLimiter(),
      logger: createLogger('silent'),
      now: () => T0,
    });
    const request = {
      input: { type: 'IMAGE', url: 'https://cdn.example/a.jpg' },
      igId: IG,
      idempotencyKey: 'upload-1',
    };
    const outcome = await sends.upload(SESSION, request);
    const unknown = {
      igId: IG,
      userErrors: [
        {
          type: 'UpstreamUnavailableError',
          code: 'UPSTREAM_UNAVAILABLE',
          message:
            'Instagram did not answer: the attachment may or may not have been uploaded. Upload again with a new idempotency key (the same key answers this again)',
          outcomeUnknown: true,
        },
      ],
    };
    expect(outcome).toMatchObject(unknown);
    expect(outcome).not.toHaveProperty('attachmentId', expect.any(String));
    expect(await sends.upload(SESSION, request)).toMatchObject(unknown);
  });
});

describe('mediaTypeOf: the type of an upload sent without one', () => {
  it('from its upload type and extension', () => {
    expect(
      [
        ['AUDIO', 'voice.m4a'],
        ['AUDIO', 'voice.mp4'],
        ['VIDEO', 'clip.mp4'],
        ['VIDEO', 'clip.mov'],
        ['IMAGE', 'photo.JPG'],
        ['IMAGE', 'photo'],
        ['FILE', 'invoice.pdf'],
        ['FILE', 'notes'],
      ].map(([type, name]) => mediaTypeOf(type as string, name as string)),
    ).toEqual([
      'audio/mp4',
      'audio/mp4',
      'video/mp4',
      'video/quicktime',
      'image/jpeg',
      'image/jpeg',
      'application/pdf',
      'application/octet-stream',
    ]);
  });
});
