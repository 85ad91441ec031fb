import { describe, expect, it } from 'vitest';
import {
  decryptToken,
  encryptToken,
  sealedKid,
  TokenDecryptionError,
} from '../../src/auth/crypto.ts';
import type { EncryptionKey } from '../../src/config.ts';

const key = (kid: string, byte: number): EncryptionKey => ({ kid, key: Buffer.alloc(32, byte) });
const OLD = key('k2025', 1);
const NEW = key('k2026', 2);
const TOKEN = 'IGAAKx9vQ2cZBqZAE1hN0ZAtest-token_0123456789abcdefghijklmnopqrstuvwxyz';

/** Decodes one base64url part of a sealed token, flips a bit, and puts it back. */
function flip(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

function refusal(fn: () => unknown): TokenDecryptionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenDecryptionError) return error;
    throw error;
  }
  throw new Error('expected a TokenDecryptionError');
}

describe('token encryption', () => {
  it('round-trips, names the first key, and never shows the token', () => {
    const sealed = encryptToken(TOKEN, [NEW, OLD]);
    expect(sealed).toMatch(/^v1\.k2026\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(sealed).not.toContain(TOKEN.slice(0, 8));
    expect(sealedKid(sealed)).toBe('k2026');
    expect(decryptToken(sealed, [NEW, OLD])).toBe(TOKEN);
    expect(decryptToken(encryptToken('', [NEW]), [NEW])).toBe('');
    expect(decryptToken(encryptToken('héllo ❤', [NEW]), [NEW])).toBe('héllo ❤');
  });

  it('uses a fresh IV for every encryption', () => {
    const a = encryptToken(TOKEN, [NEW]);
    const b = encryptToken(TOKEN, [NEW]);
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('refuses an altered IV, ciphertext or tag', () => {
    const sealed = encryptToken(TOKEN, [NEW]);
    for (const part of [2, 3, 4]) {
      const error = refusal(() => decryptToken(flip(sealed, part), [NEW]));
      expect(error.reason).toBe('authentication_failed');
      expect(error.kid).toBe('k2026');
      expect(error.message).not.toContain(TOKEN.slice(0, 8));
    }
  });

  it('refuses a kid swapped for another configured key (the kid is authenticated)', () => {
    const sameKey = { kid: 'alias', key: NEW.key };
    const swapped = encryptToken(TOKEN, [NEW]).replace('.k2026.', '.alias.');
    expect(refusal(() => decryptToken(swapped, [NEW, sameKey])).reason).toBe(
      'authentication_failed',
    );
  });

  it('refuses an unknown kid', () => {
    const error = refusal(() => decryptToken(encryptToken(TOKEN, [OLD]), [NEW]));
    expect(error).toMatchObject({ reason: 'unknown_kid', kid: 'k2025' });
    expect(error.message).toBe(
      'Stored Instagram token names key "k2025", which is not in TOKEN_ENCRYPTION_KEYS',
    );
  });

  it('refuses a key with the right kid but other bytes', () => {
    const sealed = encryptToken(TOKEN, [NEW]);
    expect(refusal(() => decryptToken(sealed, [key('k2026', 3)])).reason).toBe(
      'authentication_failed',
    );
  });

  it('refuses malformed values', () => {
    const sealed = encryptToken(TOKEN, [NEW]);
    const [, , iv, ciphertext, tag] = sealed.split('.');
    for (const bad of [
      TOKEN,
      '',
      sealed.replace(/^v1/, 'v2'),
      sealed.split('.').slice(0, 4).join('.'),
      `${sealed}.x`,
      `v1..${iv}.${ciphertext}.${tag}`,
      `v1.k2026.${iv}.${ciphertext}.${tag?.slice(0, 16)}`,
      `v1.k2026.${iv}A.${ciphertext}.${tag}`,
      `v1.k2026.${iv}.${ciphertext}=.${tag}`,
    ]) {
      expect(refusal(() => decryptToken(bad, [NEW])).reason).toBe('malformed');
    }
  });

  it('rotates: a token sealed with the old key opens with [new, old]', () => {
    const sealed = encryptToken(TOKEN, [OLD]);
    expect(sealedKid(sealed)).toBe('k2025');
    expect(decryptToken(sealed, [NEW, OLD])).toBe(TOKEN);
    expect(sealedKid(encryptToken(TOKEN, [NEW, OLD]))).toBe('k2026');
  });

  it('needs a key to encrypt', () => {
    expect(() => encryptToken(TOKEN, [])).toThrow(/TOKEN_ENCRYPTION_KEYS/);
  });
});
