import type { EncryptionKey } from '../config.ts';
import { accountKey, accountsKey, type Keyspace, keyspace } from '../keys.ts';
import type { Logger } from '../logger.ts';
import { isCluster, isRedisOutage, type RedisClient, replicated, Script } from '../redis.ts';
import { encryptToken } from './crypto.ts';
import {
  type AccountStatus,
  openAccount,
  requireKeys,
  type StoredAccount,
  type TokenStore,
} from './token-store.ts';

/**
 * Replaces the whole hash. One script rather than a MULTI of DEL and HSET: node-redis queues a
 * MULTI on a connection that is down even with `disableOfflineQueue` (only single commands fail
 * at once), so that a login during a failover would wait for the next reconnection attempt to
 * fail, instead of failing at once as every other write does.
 */
const PUT = new Script(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

/** HSET only when the hash exists, so a late write never brings a removed account back. */
const SET_IF_EXISTS = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

/**
 * A refresh's write: HSET only over an Instagram Login record. A Facebook login may have replaced
 * the record (its Page token) while the Instagram token was being refreshed.
 */
const REPLACE_INSTAGRAM_TOKEN = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'loginKind') == 'FACEBOOK' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

/** Writes the re-sealed token only if the stored one is still the one that was read. */
const RESEAL = new Script(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[2])
return 1
`);

/** How long an account read from Redis may answer `get` while Redis is unreachable. */
export const TOKEN_COPY_MS = 60_000;
/** Accounts whose last read is kept in memory, at most (the oldest read goes first). */
const MAX_COPIES = 10_000;

export interface RedisTokenStoreOptions {
  /** A connected client; it stays the caller's to close. */
  readonly client: RedisClient;
  /** The deployment's key prefix (`REDIS_PREFIX`); no default. */
  readonly prefix: string;
  /** `config.tokenEncryptionKeys`: the first encrypts, every one decrypts. At least one. */
  readonly keys: readonly EncryptionKey[];
  /** Reports tokens no key opens and failed key rotations, never with a token. */
  readonly logger: Logger;
  /** How long a read carries an outage (`TOKEN_COPY_MS`, 60 s); 0 keeps no copy. */
  readonly copyMs?: number;
  /** The clock copies age by. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Shared by every instance: one hash per account, `<prefix>:account:<igId>` with `token` (sealed
 * with `encryptToken`, never plain), `status`, `issuedAt` and `expiresAt` (ms), `loginKind` and `pageId` (Facebook Login), and the set
 * `<prefix>:accounts` of every igId. A token sealed with a key other than the first is sealed
 * again with the first when read, so keys rotate without anyone logging in again.
 */
export class RedisTokenStore implements TokenStore {
  readonly #o: RedisTokenStoreOptions;
  /** The last read of each account, until when it may stand in for Redis. */
  readonly #copies = new Map<string, { readonly account: StoredAccount; readonly until: number }>();

  readonly #keys: Keyspace;

  constructor(options: RedisTokenStoreOptions) {
    requireKeys(options.keys);
    this.#o = options;
    this.#keys = keyspace(options.prefix, isCluster(options.client));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Keeps what was just read (or written), or forgets the account: never an older state. */
  #keep(igId: string, account: StoredAccount | undefined): void {
    this.#copies.delete(igId);
    const copyMs = this.#o.copyMs ?? TOKEN_COPY_MS;
    if (!account || copyMs <= 0) return;
    if (this.#copies.size >= MAX_COPIES) {
      const oldest = this.#copies.keys().next();
      if (!oldest.done) this.#copies.delete(oldest.value);
    }
    this.#copies.set(igId, { account, until: this.#now() + copyMs });
  }

  /**
   * The account as Redis holds it. While Redis is unreachable, the account as this instance
   * last read it, if that was within `copyMs` (60 s): a brief outage does not stop reads. Rejects
   * with Redis's error otherwise (clients see SERVICE_UNAVAILABLE).
   */
  async get(igId: string): Promise<StoredAccount | undefined> {
    try {
      const account = await this.#read(igId);
      this.#keep(igId, account);
      return account;
    } catch (error) {
      const copy = this.#copies.get(igId);
      if (copy && isRedisOutage(error) && copy.until > this.#now()) return copy.account;
      throw error;
    }
  }

  async #read(igId: string): Promise<StoredAccount | undefined> {
    const hash = await this.#o.client.hGetAll(this.#key(igId));
    if (hash.token === undefined) return undefined;
    const stored: StoredAccount = {
      igId,
      accessToken: hash.token,
      status: hash.status === 'ACTIVE' ? 'ACTIVE' : 'REAUTH_REQUIRED',
      ...(hash.issuedAt ? { issuedAt: Number(hash.issuedAt) } : {}),
      ...(hash.expiresAt ? { expiresAt: Number(hash.expiresAt) } : {}),
      ...(hash.loginKind === 'FACEBOOK' ? { loginKind: 'FACEBOOK' as const } : {}),
      ...(hash.pageId ? { pageId: hash.pageId } : {}),
    };
    const { account, resealed } = openAccount(stored, this.#o.keys, this.#o.logger);
    if (resealed !== undefined) {
      await RESEAL.run(this.#o.client, [this.#key(igId)], [hash.token, resealed]).catch(
        (err: unknown) =>
          this.#o.logger.warn({ err, igId }, 'could not re-encrypt a token with the first key'),
      );
    }
    return account;
  }

  async put(account: StoredAccount): Promise<void> {
    const key = this.#key(account.igId);
    const fields = [
      ['token', encryptToken(account.accessToken, this.#o.keys)],
      ['status', account.status],
      ...(account.issuedAt === undefined ? [] : [['issuedAt', String(account.issuedAt)]]),
      ...(account.expiresAt === undefined ? [] : [['expiresAt', String(account.expiresAt)]]),
      ...(account.loginKind === undefined ? [] : [['loginKind', account.loginKind]]),
      ...(account.pageId === undefined ? [] : [['pageId', account.pageId]]),
    ].flat();
    this.#copies.delete(account.igId);
    await PUT.run(this.#o.client, [key], fields);
    // On a cluster, held by a replica too: a failover must not lose a login.
    await replicated(this.#o.client, key);
    // A separate command, not in the script: the set and the hash may sit on different cluster
    // slots. Replicated too: an account missing from the set is one the refresher and the
    // reconciler never see.
    await this.#o.client.sAdd(this.#setKey(), account.igId);
    await replicated(this.#o.client, this.#setKey());
  }

  async setStatus(igId: string, status: AccountStatus): Promise<void> {
    this.#copies.delete(igId);
    await this.#setIfExists(igId, ['status', status]);
  }

  async replaceToken(
    igId: string,
    accessToken: string,
    issuedAt: number,
    expiresAt: number,
  ): Promise<boolean> {
    this.#copies.delete(igId);
    const written = await REPLACE_INSTAGRAM_TOKEN.run(
      this.#o.client,
      [this.#key(igId)],
      [
        'token',
        encryptToken(accessToken, this.#o.keys),
        'issuedAt',
        String(issuedAt),
        'expiresAt',
        String(expiresAt),
      ],
    );
    if (written === 1) await replicated(this.#o.client, this.#key(igId));
    return written === 1;
  }

  async list(): Promise<StoredAccount[]> {
    const igIds = await this.#o.client.sMembers(this.#setKey());
    const accounts = await Promise.all(igIds.map((igId) => this.get(igId)));
    return accounts.filter((account) => account !== undefined);
  }

  async #setIfExists(igId: string, fieldsAndValues: string[]): Promise<void> {
    await SET_IF_EXISTS.run(this.#o.client, [this.#key(igId)], fieldsAndValues);
  }

  #key(igId: string): string {
    return accountKey(this.#keys, igId);
  }

  #setKey(): string {
    return accountsKey(this.#keys);
  }
}
