import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ClientOfflineError } from 'redis';
import { describe, expect, it } from 'vitest';
import { decryptToken, sealedKid } from '../../src/auth/crypto.ts';
import { RedisTokenStore } from '../../src/auth/redis-token-store.ts';
import {
  MemoryTokenStore,
  type StoredAccount,
  type TokenStore,
} from '../../src/auth/token-store.ts';
import type { EncryptionKey } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { type ClusterClient, createRedis, type RedisClient, replicated } from '../../src/redis.ts';
import { startRedis, useRedisServer } from '../helpers/redis.ts';
import { clusterKeys, lastCommandTo, useSharedRedisCluster } from '../helpers/redis-cluster.ts';

const silent = createLogger('silent');
const key = (kid: string, byte: number): EncryptionKey => ({ kid, key: Buffer.alloc(32, byte) });
const OLD = key('old', 1);
const NEW = key('new', 2);

const IG = '17841400000000001';
const OTHER = '17841400000000002';
const TOKEN = 'IGAAKx9vQ2cZBqZAE1hN0ZAfirst-token_0123456789abcdefghijklmnopqrstuvwxyz';
const TOKEN_2 = 'IGAAKx9vQ2cZBqZAE1hN0ZAsecond-token_9876543210zyxwvutsrqponmlkjihgfedcba';
const PAGE_TOKEN = 'EAAGm0PX4ZCpsBAPageTokenOfTheLinkedPage_0123456789abcdefghijklmnop';
const PAGE_ID = '101234567890123';
const T0 = 1_790_000_000_000;
const DAY = 86_400_000;

const account = (igId: string, accessToken = TOKEN): StoredAccount => ({
  igId,
  accessToken,
  status: 'ACTIVE',
  issuedAt: T0,
  expiresAt: T0 + 60 * DAY,
});

const { connect } = useRedisServer();
const cluster = useSharedRedisCluster();
let prefixes = 0;

const newPrefix = () => `igql-test-${++prefixes}`;

/** One Redis server of the file's own, or the run's shared Redis Cluster. */
interface RedisKind {
  readonly name: string;
  connect(): Promise<RedisClient>;
  /** A key prefix no other test uses. */
  newPrefix(): string;
  /** Every key of the server (of every primary, on a cluster) that matches `pattern`. */
  keys(client: RedisClient, pattern: string): Promise<string[]>;
  /** The account's hash, as this kind of Redis names it. */
  accountKey(prefix: string, igId: string): string;
}

const kinds: RedisKind[] = [
  {
    name: 'Redis',
    connect,
    newPrefix,
    keys: (client, pattern) => client.keys(pattern),
    accountKey: (prefix, igId) => `${prefix}:account:${igId}`,
  },
  {
    name: 'Redis Cluster',
    connect: () => cluster.connect(),
    newPrefix: () => cluster.prefix(),
    keys: (client, pattern) => clusterKeys(client as ClusterClient, pattern),
    // The account's hash tag; the accounts set is global (untagged).
    accountKey: (prefix, igId) => `${prefix}:account:{${igId}}`,
  },
];

interface Backend {
  readonly name: string;
  create(): Promise<TokenStore>;
}

const backends: Backend[] = [
  { name: 'MemoryTokenStore', create: async () => new MemoryTokenStore() },
  {
    name: 'MemoryTokenStore (encrypted)',
    create: async () => new MemoryTokenStore({ keys: [NEW, OLD] }),
  },
  {
    name: 'RedisTokenStore',
    create: async () =>
      new RedisTokenStore({
        client: await connect(),
        prefix: newPrefix(),
        keys: [NEW, OLD],
        logger: silent,
      }),
  },
  {
    name: 'RedisTokenStore (cluster)',
    create: async () =>
      new RedisTokenStore({
        client: await cluster.connect(),
        prefix: cluster.prefix(),
        keys: [NEW, OLD],
        logger: silent,
      }),
  },
];

describe.each(backends)('$name', ({ create }) => {
  it('answers undefined for an unknown account and lists nothing', async () => {
    const store = await create();
    expect(await store.get(IG)).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });

  it('puts and gets an account exactly as given', async () => {
    const store = await create();
    await store.put(account(IG));
    expect(await store.get(IG)).toEqual(account(IG));
    expect(await store.get(IG)).toEqual(account(IG));
  });

  it('keeps accounts without token times', async () => {
    const store = await create();
    await store.put({ igId: IG, accessToken: TOKEN, status: 'ACTIVE' });
    expect(await store.get(IG)).toEqual({ igId: IG, accessToken: TOKEN, status: 'ACTIVE' });
  });

  it('put replaces the whole record', async () => {
    const store = await create();
    await store.put({ ...account(IG), status: 'REAUTH_REQUIRED' });
    await store.put({ igId: IG, accessToken: TOKEN_2, status: 'ACTIVE' });
    expect(await store.get(IG)).toEqual({ igId: IG, accessToken: TOKEN_2, status: 'ACTIVE' });
  });

  it('lists every account', async () => {
    const store = await create();
    await store.put(account(IG));
    await store.put(account(OTHER, TOKEN_2));
    await store.put(account(IG));
    const listed = await store.list();
    expect(listed.sort((a, b) => a.igId.localeCompare(b.igId))).toEqual([
      account(IG),
      account(OTHER, TOKEN_2),
    ]);
  });

  it('sets the status of one account, and of no unknown one', async () => {
    const store = await create();
    await store.put(account(IG));
    await store.put(account(OTHER, TOKEN_2));
    await store.setStatus(IG, 'REAUTH_REQUIRED');
    await store.setStatus('17841400000000009', 'REAUTH_REQUIRED');
    expect(await store.get(IG)).toEqual({ ...account(IG), status: 'REAUTH_REQUIRED' });
    expect(await store.get(OTHER)).toEqual(account(OTHER, TOKEN_2));
    expect(await store.get('17841400000000009')).toBeUndefined();
    await store.setStatus(IG, 'ACTIVE');
    expect(await store.get(IG)).toEqual(account(IG));
  });

  it('replaces the token and its times, keeping the status, and ignores unknown accounts', async () => {
    const store = await create();
    await store.put({ ...account(IG), status: 'REAUTH_REQUIRED' });
    await store.replaceToken(IG, TOKEN_2, T0 + DAY, T0 + 61 * DAY);
    await store.replaceToken(OTHER, TOKEN_2, T0 + DAY, T0 + 61 * DAY);
    expect(await store.get(IG)).toEqual({
      igId: IG,
      accessToken: TOKEN_2,
      status: 'REAUTH_REQUIRED',
      issuedAt: T0 + DAY,
      expiresAt: T0 + 61 * DAY,
    });
    expect(await store.get(OTHER)).toBeUndefined();
    expect(await store.list()).toHaveLength(1);
  });

  it('replaceToken never writes over a Facebook Login record (a refresh racing a Facebook login)', async () => {
    const store = await create();
    const facebook: StoredAccount = {
      igId: IG,
      accessToken: PAGE_TOKEN,
      loginKind: 'FACEBOOK',
      pageId: PAGE_ID,
      status: 'ACTIVE',
      issuedAt: T0,
    };
    await store.put(facebook);
    await store.put(account(OTHER));
    expect(await store.replaceToken(IG, TOKEN_2, T0 + DAY, T0 + 61 * DAY)).toBe(false);
    expect(await store.get(IG)).toEqual(facebook);
    expect(await store.replaceToken(OTHER, TOKEN_2, T0 + DAY, T0 + 61 * DAY)).toBe(true);
    expect(await store.get(OTHER)).toEqual({
      ...account(OTHER, TOKEN_2),
      issuedAt: T0 + DAY,
      expiresAt: T0 + 61 * DAY,
    });
    expect(await store.replaceToken('17841400000000009', TOKEN_2, T0, T0 + DAY)).toBe(false);
  });

  it('answers REAUTH_REQUIRED for a Facebook Login record stored without its Page', async () => {
    const store = await create();
    const noPage: StoredAccount = {
      igId: IG,
      accessToken: PAGE_TOKEN,
      loginKind: 'FACEBOOK',
      status: 'ACTIVE',
      issuedAt: T0,
    };
    await store.put(noPage);
    expect(await store.get(IG)).toEqual({ ...noPage, status: 'REAUTH_REQUIRED' });
    expect(await store.list()).toEqual([{ ...noPage, status: 'REAUTH_REQUIRED' }]);
    // No status set makes it reachable: only a Facebook login storing the Page does.
    await store.setStatus(IG, 'ACTIVE');
    expect(await store.get(IG)).toEqual({ ...noPage, status: 'REAUTH_REQUIRED' });
    await store.put({ ...noPage, pageId: PAGE_ID });
    expect(await store.get(IG)).toEqual({ ...noPage, pageId: PAGE_ID });
  });
});

describe('MemoryTokenStore with keys', () => {
  it('refuses an empty key list', () => {
    expect(() => new MemoryTokenStore({ keys: [] })).toThrow(/TOKEN_ENCRYPTION_KEYS/);
  });
});

describe.each(kinds)('RedisTokenStore at rest: $name', (redis) => {
  const { connect, newPrefix, accountKey } = redis;

  /** Every key under the prefix with its raw value, as a plain Redis client reads it. */
  async function raw(client: RedisClient, prefix: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const k of await redis.keys(client, `${prefix}:*`)) {
      const type = await client.type(k);
      out[k] =
        type === 'hash'
          ? JSON.stringify(await client.hGetAll(k))
          : JSON.stringify(await client.sMembers(k));
    }
    return out;
  }

  /** Every substring of 8 characters: none may appear at rest. */
  const pieces = (token: string) =>
    Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));

  it('keeps only sealed tokens in Redis: no 8-character piece of a token', async () => {
    const prefix = newPrefix();
    const client = await connect();
    const store = new RedisTokenStore({ client, prefix, keys: [NEW], logger: silent });
    await store.put(account(IG));
    await store.replaceToken(IG, TOKEN_2, T0 + DAY, T0 + 61 * DAY);
    await store.put(account(OTHER));
    const values = await raw(client, prefix);
    expect(Object.keys(values).sort()).toEqual([
      accountKey(prefix, IG),
      accountKey(prefix, OTHER),
      `${prefix}:accounts`,
    ]);
    const dump = Object.entries(values).flat().join('\n');
    for (const piece of [...pieces(TOKEN), ...pieces(TOKEN_2)]) expect(dump).not.toContain(piece);
    const hash = await client.hGetAll(accountKey(prefix, IG));
    expect(hash).toEqual({
      token: expect.stringMatching(/^v1\.new\./),
      status: 'ACTIVE',
      issuedAt: String(T0 + DAY),
      expiresAt: String(T0 + 61 * DAY),
    });
    expect(decryptToken(hash.token ?? '', [NEW])).toBe(TOKEN_2);
  });

  it('answers REAUTH_REQUIRED for a token no configured key opens, logging no token', async () => {
    const prefix = newPrefix();
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const writer = new RedisTokenStore({ client: await connect(), prefix, keys: [OLD], logger });
    await writer.put(account(IG));
    // Opened once with the right key: what this process remembers of it opens nothing for others.
    expect(await writer.get(IG)).toEqual(account(IG));
    const stranger = key('other', 3);
    const readers = [
      new RedisTokenStore({ client: await connect(), prefix, keys: [NEW], logger }),
      new RedisTokenStore({
        client: await connect(),
        prefix,
        keys: [{ ...stranger, kid: 'old' }],
        logger,
      }),
    ];
    for (const reader of readers) {
      const expected = { ...account(IG), accessToken: '', status: 'REAUTH_REQUIRED' };
      expect(await reader.get(IG)).toEqual(expected);
      expect(await reader.list()).toEqual([expected]);
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ igId: IG, kid: 'old', reason: 'unknown_kid' }),
    );
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ igId: IG, kid: 'old', reason: 'authentication_failed' }),
    );
    for (const piece of pieces(TOKEN)) expect(lines.join('\n')).not.toContain(piece);
    // Nothing was overwritten: the right key still opens it.
    expect(await writer.get(IG)).toEqual(account(IG));
  });

  it('rotates: a token sealed with an old key is re-sealed with the first key when read', async () => {
    const prefix = newPrefix();
    const client = await connect();
    const before = new RedisTokenStore({ client, prefix, keys: [OLD], logger: silent });
    await before.put(account(IG));
    const rawToken = async () => (await client.hGet(accountKey(prefix, IG), 'token')) ?? '';
    expect(sealedKid(await rawToken())).toBe('old');

    const after = new RedisTokenStore({ client, prefix, keys: [NEW, OLD], logger: silent });
    expect(await after.get(IG)).toEqual(account(IG));
    expect(sealedKid(await rawToken())).toBe('new');
    const resealed = await rawToken();
    expect(await after.get(IG)).toEqual(account(IG));
    expect(await rawToken()).toBe(resealed);

    const newOnly = new RedisTokenStore({ client, prefix, keys: [NEW], logger: silent });
    expect(await newOnly.get(IG)).toEqual(account(IG));
  });

  it('rotation never overwrites a token replaced meanwhile', async () => {
    const prefix = newPrefix();
    const client = await connect();
    const before = new RedisTokenStore({ client, prefix, keys: [OLD], logger: silent });
    await before.put(account(IG));
    const after = new RedisTokenStore({ client, prefix, keys: [NEW, OLD], logger: silent });
    // The read and a refresh race: both orders end with the refreshed token.
    await Promise.all([after.get(IG), before.replaceToken(IG, TOKEN_2, T0 + DAY, T0 + 61 * DAY)]);
    expect((await after.get(IG))?.accessToken).toBe(TOKEN_2);
  });

  it('refuses an empty key list', async () => {
    const client = await connect();
    expect(
      () => new RedisTokenStore({ client, prefix: newPrefix(), keys: [], logger: silent }),
    ).toThrow(/TOKEN_ENCRYPTION_KEYS/);
  });
});

describe('RedisTokenStore on a Redis Cluster', () => {
  it("keeps the account's hash in its slot, with its events and its refresh lock", async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const store = new RedisTokenStore({ client, prefix, keys: [NEW], logger: silent });
    await store.put(account(IG));
    const hash = `${prefix}:account:{${IG}}`;
    expect(await client.exists(hash)).toBe(1);
    const keys = [hash, `${prefix}:events:{${IG}}`, `${prefix}:refresh-lock:{${IG}}`];
    const slots = await Promise.all(keys.map((k) => client.clusterKeySlot(k)));
    expect(new Set(slots).size).toBe(1);
  });
});

describe('RedisTokenStore writes', () => {
  it('put fails at once while Redis is unreachable, as every other write does', async () => {
    const server = await startRedis();
    const redis = createRedis(server.url, silent);
    try {
      await redis.client.connect();
      const store = new RedisTokenStore({
        client: redis.client,
        prefix: newPrefix(),
        keys: [NEW],
        logger: silent,
      });
      await store.put(account(IG));
      const lost = new Promise((resolve) => redis.client.once('error', resolve));
      await server.stop();
      await lost;
      // A MULTI would be queued until the next reconnection attempt failed.
      await expect(store.put(account(OTHER))).rejects.toBeInstanceOf(ClientOfflineError);
    } finally {
      await redis.close();
      await server.stop();
    }
  });

  it('on a cluster, waits for a replica to hold the accounts set as well as the hash', async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix();
    const store = new RedisTokenStore({ client, prefix, keys: [NEW], logger: silent });
    const setKey = `${prefix}:accounts`;
    const last = await lastCommandTo(client, await cluster.connect(), setKey);
    // The shard of the set has a replica: WAIT is what `replicated` sends there.
    expect(await replicated(client, setKey)).toBe(1);
    await store.put(account(IG));
    expect(await last()).toBe('wait');
    expect(await client.sMembers(setKey)).toEqual([IG]);
  });
});
