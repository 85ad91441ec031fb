import type { EncryptionKey } from '../config.ts';
import { BoundedCache } from '../document-cache.ts';
import { type LoginKind, reachable } from '../instagram/graph.ts';
import type { Logger } from '../logger.ts';
import { decryptToken, encryptToken, sealedKid, TokenDecryptionError } from './crypto.ts';

export type { LoginKind } from '../instagram/graph.ts';

/** An Instagram professional account igql holds a token for. */
export interface StoredAccount {
  readonly igId: string;
  /**
   * The Instagram User access token, or for `FACEBOOK` the Page access token. Never logged,
   * never returned.
   */
  readonly accessToken: string;
  /** Default `INSTAGRAM` (records stored before Facebook Login have none). */
  readonly loginKind?: LoginKind;
  /** `FACEBOOK` only: the Facebook Page the Instagram account is linked to. */
  readonly pageId?: string;
  readonly status: AccountStatus;
  /** When the token was issued and expires (ms since epoch), when known. */
  readonly issuedAt?: number;
  readonly expiresAt?: number;
}

/** `ACTIVE`, or `REAUTH_REQUIRED` once Instagram refused the token (190). */
export type AccountStatus = 'ACTIVE' | 'REAUTH_REQUIRED';

/**
 * Where Instagram tokens live. In memory, or in Redis, encrypted at rest with
 * `TOKEN_ENCRYPTION_KEYS`. An account whose token no configured key opens reads as
 * `REAUTH_REQUIRED` (with an empty `accessToken`) rather than failing, and so does one of
 * Facebook Login stored without its Page (`checkPage`).
 */
export interface TokenStore {
  get(igId: string): Promise<StoredAccount | undefined>;
  /** Stores the account whole, replacing any earlier record of it. */
  put(account: StoredAccount): Promise<void>;
  /** Does nothing for an unknown account. */
  setStatus(igId: string, status: AccountStatus): Promise<void>;
  /**
   * Replaces an Instagram Login token and its times, leaving the status as it is (a refresh).
   * Does nothing, and answers false, for an unknown account or one of Facebook Login: a Facebook
   * login may have stored its Page token while an Instagram token was being refreshed, and the
   * refreshed token must not land on that record.
   */
  replaceToken(
    igId: string,
    accessToken: string,
    issuedAt: number,
    expiresAt: number,
  ): Promise<boolean>;
  /** Every account held (background jobs: reconciliation, subscription watchdog, refresh). */
  list(): Promise<StoredAccount[]>;
}

/**
 * An account of Facebook Login stored without its Page (`reachable`) reads as `REAUTH_REQUIRED`:
 * no call can be made for it until a Facebook login stores the Page again. Every reader (a
 * login's keep-or-replace, reconciliation, publishing, account status) sees it so.
 */
export function checkPage(account: StoredAccount): StoredAccount {
  return reachable(account) ? account : { ...account, status: 'REAUTH_REQUIRED' };
}

/** Accounts whose token is kept opened, at most, for each set of keys (under 1 KB each). */
export const MAX_OPENED_TOKENS = 10_000;

const opened = new WeakMap<
  readonly EncryptionKey[],
  BoundedCache<{ readonly sealed: string; readonly token: string }>
>();

/**
 * `decryptToken`, remembered for the account while its sealed value stays the same (the least
 * recently read accounts forgotten past `MAX_OPENED_TOKENS`): every request reads its account's
 * token, and creating the AES-GCM decipher was 6 % of a small query's CPU. A token sealed anew
 * (a refresh, a new login) replaces the one remembered at its first read; one that does not open
 * is never remembered. Only these keys' store asks: another set of keys opens for itself.
 */
function openToken(igId: string, sealed: string, keys: readonly EncryptionKey[]): string {
  let accounts = opened.get(keys);
  if (!accounts) {
    accounts = new BoundedCache(() => 1, {
      maxEntries: MAX_OPENED_TOKENS,
      maxWeight: MAX_OPENED_TOKENS,
    });
    opened.set(keys, accounts);
  }
  const known = accounts.get(igId);
  if (known?.sealed === sealed) return known.token;
  const token = decryptToken(sealed, keys);
  accounts.set(igId, { sealed, token });
  return token;
}

/**
 * Opens an account as stored at rest (`accessToken` holding the sealed token). A token no key
 * opens gives `REAUTH_REQUIRED`, logged without any part of it; `resealed` is the token sealed
 * again with the first key when another key had sealed it (the caller writes it back).
 */
export function openAccount(
  stored: StoredAccount,
  keys: readonly EncryptionKey[],
  logger?: Logger,
): { account: StoredAccount; resealed?: string } {
  try {
    const accessToken = openToken(stored.igId, stored.accessToken, keys);
    const account = checkPage({ ...stored, accessToken });
    if (sealedKid(stored.accessToken) === keys[0]?.kid) return { account };
    return { account, resealed: encryptToken(accessToken, keys) };
  } catch (error) {
    if (!(error instanceof TokenDecryptionError)) throw error;
    logger?.warn(
      { igId: stored.igId, kid: error.kid, reason: error.reason },
      'stored Instagram token cannot be decrypted with TOKEN_ENCRYPTION_KEYS; the account reads as REAUTH_REQUIRED',
    );
    return { account: { ...stored, accessToken: '', status: 'REAUTH_REQUIRED' } };
  }
}

/** Throws the misconfiguration at construction rather than at the first write. */
export function requireKeys(keys: readonly EncryptionKey[] | undefined): void {
  if (keys !== undefined && keys.length === 0) {
    throw new Error('Token store: no encryption key; set TOKEN_ENCRYPTION_KEYS to kid:base64key');
  }
}

export interface MemoryTokenStoreOptions {
  /**
   * Keeps tokens sealed with these keys (the first encrypts, every one decrypts), exactly as the
   * Redis store does. Default: none, tokens are kept as given.
   */
  readonly keys?: readonly EncryptionKey[];
}

/** One instance only: tokens die with the process. */
export class MemoryTokenStore implements TokenStore {
  /** With keys, `accessToken` holds the sealed token. */
  readonly #accounts = new Map<string, StoredAccount>();
  readonly #keys: readonly EncryptionKey[] | undefined;

  constructor(options: MemoryTokenStoreOptions = {}) {
    requireKeys(options.keys);
    this.#keys = options.keys;
  }

  // The keys never change while the process lives, so every token here is sealed with the
  // first one: nothing to rotate, and nothing another key sealed.
  async get(igId: string): Promise<StoredAccount | undefined> {
    const stored = this.#accounts.get(igId);
    if (!stored) return undefined;
    return this.#keys ? openAccount(stored, this.#keys).account : checkPage(stored);
  }

  async put(account: StoredAccount): Promise<void> {
    this.#accounts.set(account.igId, { ...account, accessToken: this.#seal(account.accessToken) });
  }

  async setStatus(igId: string, status: AccountStatus): Promise<void> {
    const account = this.#accounts.get(igId);
    if (account) this.#accounts.set(igId, { ...account, status });
  }

  async replaceToken(
    igId: string,
    accessToken: string,
    issuedAt: number,
    expiresAt: number,
  ): Promise<boolean> {
    const account = this.#accounts.get(igId);
    if (!account || account.loginKind === 'FACEBOOK') return false;
    this.#accounts.set(igId, {
      ...account,
      accessToken: this.#seal(accessToken),
      issuedAt,
      expiresAt,
    });
    return true;
  }

  async list(): Promise<StoredAccount[]> {
    const accounts = await Promise.all([...this.#accounts.keys()].map((igId) => this.get(igId)));
    return accounts.filter((account) => account !== undefined);
  }

  #seal(token: string): string {
    return this.#keys ? encryptToken(token, this.#keys) : token;
  }
}
