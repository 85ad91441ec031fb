import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { verifyChallenge, verifySignature } from '../../src/webhooks/verify.ts';
import { fixture } from '../helpers/fixtures.ts';

const SECRET = 'test-instagram-app-secret';

/** A real-looking raw body: Meta's escapes (`\/`, `\uXXXX`), as the simulator sends it. */
const raw = Buffer.from(toMetaJson(fixture('webhook-message-reactions-postman.json')));
const header = signatureHeaders(raw.toString('latin1'), SECRET)['X-Hub-Signature-256'];

describe('verifySignature', () => {
  it("accepts the simulator's signature over the exact bytes", () => {
    expect(raw.toString('latin1')).toContain('\\u2764');
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(raw, header, SECRET)).toBe(true);
  });

  it('accepts upper-case hex and surrounding spaces', () => {
    expect(
      verifySignature(raw, ` ${header?.toUpperCase().replace('SHA256', 'sha256')} `, SECRET),
    ).toBe(true);
  });

  it('rejects the same JSON serialised differently (the signature covers the raw bytes)', () => {
    const reparsed = Buffer.from(JSON.stringify(JSON.parse(raw.toString('latin1'))));
    expect(reparsed.equals(raw)).toBe(false);
    expect(verifySignature(reparsed, header, SECRET)).toBe(false);
  });

  it('rejects a changed body, another secret, and the sha1 header', () => {
    const changed = Buffer.from(raw);
    changed[changed.length - 3] = 0x20;
    expect(verifySignature(changed, header, SECRET)).toBe(false);
    expect(verifySignature(raw, header, 'another-secret')).toBe(false);
    const sha1 = signatureHeaders(raw.toString('latin1'), SECRET)['X-Hub-Signature'];
    expect(verifySignature(raw, sha1, SECRET)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['no prefix', createHmac('sha256', SECRET).update(raw).digest('hex')],
    ['wrong prefix', `sha1=${createHmac('sha256', SECRET).update(raw).digest('hex')}`],
    ['short', `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex').slice(0, 62)}`],
    ['long', `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}00`],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['two headers joined', `${header}, ${header}`],
  ])('rejects a malformed header: %s', (_, value) => {
    expect(verifySignature(raw, value, SECRET)).toBe(false);
  });

  it('rejects everything when the secret is empty', () => {
    const emptyKey = `sha256=${createHmac('sha256', '').update(raw).digest('hex')}`;
    expect(verifySignature(raw, emptyKey, '')).toBe(false);
  });
});

describe('verifyChallenge', () => {
  const query = (params: Record<string, string>) => new URLSearchParams(params);

  it("returns hub.challenge for Meta's handshake", () => {
    const url = new URL(
      'https://igql.test/webhooks/instagram?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=tok',
    );
    expect(verifyChallenge(url.searchParams, 'tok')).toBe('1158201444');
  });

  it.each([
    ['wrong token', { 'hub.mode': 'subscribe', 'hub.challenge': '1', 'hub.verify_token': 'tok2' }],
    ['token prefix', { 'hub.mode': 'subscribe', 'hub.challenge': '1', 'hub.verify_token': 'to' }],
    ['no token', { 'hub.mode': 'subscribe', 'hub.challenge': '1' }],
    ['wrong mode', { 'hub.mode': 'unsubscribe', 'hub.challenge': '1', 'hub.verify_token': 'tok' }],
    ['no mode', { 'hub.challenge': '1', 'hub.verify_token': 'tok' }],
    ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': 'tok' }],
    [
      'empty challenge',
      { 'hub.mode': 'subscribe', 'hub.challenge': '', 'hub.verify_token': 'tok' },
    ],
  ])('refuses: %s', (_, params) => {
    expect(verifyChallenge(query(params), 'tok')).toBeUndefined();
  });

  it('never matches an empty configured token', () => {
    const params = { 'hub.mode': 'subscribe', 'hub.challenge': '1', 'hub.verify_token': '' };
    expect(verifyChallenge(query(params), '')).toBeUndefined();
  });
});
