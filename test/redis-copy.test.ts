import { afterEach, describe, expect, inject, it } from 'vitest';
import { type CopyReport, clusterName, copyToCluster } from '../src/cluster-copy.ts';
import { loadConfig } from '../src/config.ts';
import type { InboxEventData } from '../src/inbox/events.ts';
import type { Referral } from '../src/inbox/referral.ts';
import { createLogger } from '../src/logger.ts';
import { LOG_START } from '../src/pubsub/log.ts';
import {
  type ClusterClient,
  createRedis,
  createRedisCluster,
  type Redis,
  type SingleClient,
} from '../src/redis.ts';
import { createSharedState } from '../src/state.ts';
import { useRedisServer } from './helpers/redis.ts';
import { useSharedRedisCluster } from './helpers/redis-cluster.ts';

const silent = createLogger('silent');
const IG = '17841400000000001';
const IGSID = '5614879045272581';
const TOKEN = 'IGAAKx9vQ2cZBqZAE1hN0ZAfirst-token_0123456789abcdefghijklmnopqrstuvwxyz';

const server = useRedisServer();
const cluster = useSharedRedisCluster();
const opened: Redis[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((redis) => redis.close()));
});

const event = (n: number): InboxEventData => ({
  kind: 'MESSAGE_RECEIVED',
  igId: IG,
  igsid: IGSID,
  occurredAt: 1_700_000_000_000 + n,
  identity: `${IG}|MESSAGE_RECEIVED|mid.${n}||`,
  standby: false,
  message: {
    mid: `mid.${n}`,
    createdTime: 1_700_000_000_000 + n,
    detailAvailable: true,
    from: { igsid: IGSID, username: null },
    to: [{ igsid: IG, username: null }],
    text: `hello ${n}`,
    attachments: [],
    reactions: [],
    replyTo: null,
    isUnsupported: false,
  },
  quickReplyPayload: null,
  referral: null,
  isSelf: false,
});

const referral: Referral = {
  ref: 'spring',
  source: 'ADS',
  type: 'OPEN_THREAD',
  adId: '120210000000000001',
  adTitle: 'Spring sale',
  photoUrl: null,
  videoUrl: null,
  postId: null,
};

describe('copying a single Redis to a cluster (npm run redis:copy-to-cluster)', () => {
  it('names each family as the cluster layout does, and skips what cannot be renamed', () => {
    const scope = JSON.stringify(['ig:1', IG, 'k{1}']);
    expect(
      [
        `p:account:${IG}`,
        'p:accounts',
        `p:events:${IG}`,
        `p:ratelimit:${IG}:send`,
        `p:thread-owner:${IG}:${IGSID}`,
        `p:origin:${IG}:${IGSID}`,
        `p:publish-jobs:${IG}`,
        'p:publish-jobs:due',
        'p:publish-job:019ac3d4e5f6',
        'p:revoked:user:1',
        'p:once:state:abc',
        `p:idempotency:${scope}`,
        `p:dedupe:${'0'.repeat(64)}`,
        `p:refresh-lock:${IG}`,
        'p:publish-lock:019ac3d4e5f6',
        'p:sandbox:0123:account:1',
        'p:unknown:1',
        'other:account:1',
      ].map((key) => clusterName('p', key)),
    ).toEqual([
      { name: `p:account:{${IG}}` },
      { name: 'p:accounts' },
      { name: `p:events:{${IG}}` },
      { name: `p:ratelimit:{${IG}}:send` },
      { name: `p:thread-owner:{${IG}}:${IGSID}` },
      { name: `p:origin:{${IG}}:${IGSID}` },
      { name: `p:publish-jobs:{${IG}}` },
      { name: 'p:publish-jobs:due' },
      { name: 'p:publish-job:019ac3d4e5f6' },
      { name: 'p:revoked:user:1' },
      { name: 'p:once:state:abc' },
      { name: `p:idempotency:{${IG}}:${scope}` },
      { skip: 'its account is not in its name' },
      { skip: 'a lock' },
      { skip: 'a lock' },
      { skip: "a sandbox's" },
      { skip: 'not a key igql writes' },
      { skip: 'not under the prefix' },
    ]);
  });

  it('copies each key with the time it has left, and not a key expiring now (PTTL 0 would restore it without expiry)', async () => {
    // PTTL answers 0 for a key with less than a millisecond left, which no real server can be
    // made to answer on demand: a stand-in answers each key's PTTL as given.
    const pttls: Record<string, number> = {
      [`p:account:${IG}`]: -1,
      [`p:thread-owner:${IG}:${IGSID}`]: 0,
      [`p:origin:${IG}:${IGSID}`]: -2,
      'p:revoked:user:1': 1500,
    };
    const from = {
      async *scanIterator() {
        yield Object.keys(pttls);
      },
      withTypeMapping: () => ({ dump: async (key: string) => Buffer.from(`dump of ${key}`) }),
      pTTL: async (key: string) => pttls[key],
    } as unknown as SingleClient;
    const restored: [string, number][] = [];
    const to = {
      restore: async (key: string, ttl: number) => {
        restored.push([key, ttl]);
        return 'OK';
      },
    } as unknown as ClusterClient;
    expect(await copyToCluster(from, to, 'p')).toEqual({
      copied: { account: 1, revoked: 1 },
      skipped: {},
      existing: 0,
    });
    expect(restored).toEqual([
      [`p:account:{${IG}}`, 0],
      ['p:revoked:user:1', 1500],
    ]);
  });

  it('keeps what igql stored on the server readable by igql on the cluster, TTLs and cursors as they were', async () => {
    const prefix = cluster.prefix('igql-copy');
    const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' });
    const single = createRedis(server.server().url, silent);
    const onCluster = createRedisCluster(inject('redisClusterNodes'), silent);
    opened.push(single, onCluster);
    await single.client.connect();
    await onCluster.client.connect();

    // What a running igql leaves on one server.
    const before = createSharedState(config, single, silent, prefix);
    await before.tokens.put({ igId: IG, accessToken: TOKEN, status: 'ACTIVE' });
    const stored = await Promise.all([1, 2, 3].map((n) => before.storeAndPublish?.(event(n))));
    await before.revocations.revoke('user:session-1', 3_600_000);
    const scope = JSON.stringify(['user', IG, 'order-42']);
    expect(await before.idempotency.claim(IG, scope, 'f1')).toEqual({ kind: 'new' });
    await before.idempotency.complete(IG, scope, 'f1', '{"mid":"m_1"}');
    await before.conversations.keepOrigin(IG, IGSID, referral, 1_700_000_000_000);
    expect(await before.refreshLock.acquire(IG, 60_000)).toBe(true);

    const report = await copyToCluster(single.client, onCluster.client, prefix);
    expect(report).toEqual({
      copied: { account: 1, accounts: 1, events: 1, revoked: 1, idempotency: 1, origin: 1 },
      skipped: { 'its account is not in its name': 3, 'a lock': 1 },
      existing: 0,
    } satisfies CopyReport);

    // igql on the cluster reads it all back.
    const after = createSharedState(config, onCluster, silent, prefix);
    expect(await after.tokens.get(IG)).toMatchObject({ igId: IG, accessToken: TOKEN });
    expect((await after.tokens.list()).map((account) => account.igId)).toEqual([IG]);
    const log = await after.log.readAfter(IG, LOG_START);
    expect(log.map((entry) => entry.cursor)).toEqual(
      stored.map((s) => (typeof s === 'object' ? s.cursor : s)),
    );
    expect(log.map((entry) => entry.event)).toEqual([event(1), event(2), event(3)]);
    expect(await after.revocations.isRevoked('user:session-1')).toBe(true);
    expect(await after.idempotency.claim(IG, scope, 'f1')).toEqual({
      kind: 'replay',
      result: '{"mid":"m_1"}',
    });
    expect(await after.conversations.origin(IG, IGSID)).toEqual(referral);
    const revokedTtl = await onCluster.client.pTTL(`${prefix}:revoked:user:session-1`);
    expect(revokedTtl).toBeGreaterThan(3_500_000);
    expect(revokedTtl).toBeLessThanOrEqual(3_600_000);
    expect(await onCluster.client.pTTL(`${prefix}:account:{${IG}}`)).toBe(-1);

    // Again: everything is there already, and left as it is.
    await after.tokens.put({ igId: IG, accessToken: 'IGAA-newer', status: 'ACTIVE' });
    const again = await copyToCluster(single.client, onCluster.client, prefix);
    expect(again).toEqual({
      copied: {},
      skipped: { 'its account is not in its name': 3, 'a lock': 1 },
      existing: 6,
    });
    expect((await after.tokens.get(IG))?.accessToken).toBe('IGAA-newer');
    // With --replace, the server's copy wins.
    await copyToCluster(single.client, onCluster.client, prefix, true);
    expect((await after.tokens.get(IG))?.accessToken).toBe(TOKEN);
  });
});
