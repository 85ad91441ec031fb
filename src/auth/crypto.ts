import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import type { EncryptionKey } from '../config.ts';

/** The format tag of a sealed token: `v1.<kid>.<iv>.<ciphertext>.<tag>`, each part base64url. */
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why a sealed token could not be opened. */
export type TokenDecryptionReason = 'malformed' | 'unknown_kid' | 'authentication_failed';

/** A sealed token that no configured key opens. Carries no part of the token or its ciphertext. */
export class TokenDecryptionError extends Error {
  override readonly name = 'TokenDecryptionError';
  readonly reason: TokenDecryptionReason;
  /** The key id the sealed token names, when it could be read. */
  readonly kid: string | undefined;

  constructor(reason: TokenDecryptionReason, kid?: string) {
    const why = {
      malformed: 'is not a v1 sealed token',
      unknown_kid: `names key "${kid}", which is not in TOKEN_ENCRYPTION_KEYS`,
      authentication_failed: `does not authenticate with key "${kid}" (altered, or another key with that id)`,
    }[reason];
    super(`Stored Instagram token ${why}`);
    this.reason = reason;
    this.kid = kid;
  }
}

/**
 * Each key as a KeyObject, made once: given raw bytes, Node makes a new key of them on every call
 * (most of the time a decryption took). The key is kept this way, never a decrypted token.
 */
const keyObjects = new WeakMap<EncryptionKey, KeyObject>();
function keyObject(key: EncryptionKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = createSecretKey(key.key);
    keyObjects.set(key, object);
  }
  return object;
}

/** The additional authenticated data: binds the format and the key id to the ciphertext. */
const aad = (kid: string) => Buffer.from(`${VERSION}.${kid}`);

/**
 * Seals an Instagram token with the first key: AES-256-GCM, a fresh random 12-byte IV each
 * time, the key id carried in the result and bound as additional authenticated data.
 */
export function encryptToken(plain: string, keys: readonly EncryptionKey[]): string {
  const first = keys[0];
  if (!first)
    throw new Error('No token encryption key: set TOKEN_ENCRYPTION_KEYS to kid:base64key');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', first.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(first.kid));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [VERSION, first.kid, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** The key id a sealed token names, or undefined when it is not a v1 sealed token. */
export function sealedKid(sealed: string): string | undefined {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
}

/**
 * Opens a token sealed by `encryptToken` with the key its kid names (any of `keys`). Throws a
 * `TokenDecryptionError` for a malformed value, an unknown kid or a failed authentication.
 */
export function decryptToken(sealed: string, keys: readonly EncryptionKey[]): string {
  const [version, kid, ...rest] = sealed.split('.');
  const [iv, ciphertext, tag] = rest.map(strictBase64url);
  if (version !== VERSION || !kid || rest.length !== 3 || !iv || !ciphertext || !tag) {
    throw new TokenDecryptionError('malformed');
  }
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
    throw new TokenDecryptionError('malformed', kid);
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new TokenDecryptionError('unknown_kid', kid);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyObject(key), iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(kid));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new TokenDecryptionError('authentication_failed', kid);
  }
}

/**
 * Node decodes base64url leniently (it skips stray characters and ignores trailing bits), so
 * two spellings could open to the same bytes: accept only the canonical one.
 */
function strictBase64url(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
