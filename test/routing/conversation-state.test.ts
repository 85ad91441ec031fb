import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  type ConversationStateStore,
  MemoryConversationState,
  RedisConversationState,
  recordConversationState,
} from '../../src/inbox/conversation-state.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import type { Referral } from '../../src/inbox/referral.ts';
import { createLogger } from '../../src/logger.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { useSharedRedisCluster } from '../helpers/redis-cluster.ts';

/**
 * One contract for the conversation state (thread owners, origins), in memory, in Redis and on a
 * Redis Cluster.
 */

const redis = useRedisServer();
const cluster = useSharedRedisCluster();
let prefixes = 0;

interface Backend {
  readonly name: string;
  /** Two stores over one state (for Redis: two instances on two connections), owners kept 1 s. */
  pair(): Promise<{ a: ConversationStateStore; b: ConversationStateStore; lapse(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'MemoryConversationState',
    async pair() {
      let now = 1_700_000_000_000;
      const store = new MemoryConversationState({ now: () => now, ttlSeconds: 1 });
      return {
        a: store,
        b: store,
        async lapse() {
          now += 1000;
        },
      };
    },
  },
  {
    name: 'RedisConversationState',
    async pair() {
      const prefix = `igql-state-${++prefixes}`;
      return {
        a: new RedisConversationState(await redis.connect(), prefix, 1),
        b: new RedisConversationState(await redis.connect(), prefix, 1),
        // Redis expires keys on its own clock.
        lapse: () => sleep(1100),
      };
    },
  },
  {
    name: 'RedisConversationState (cluster)',
    async pair() {
      const prefix = cluster.prefix('igql-state');
      return {
        a: new RedisConversationState(await cluster.connect(), prefix, 1),
        b: new RedisConversationState(await cluster.connect(), prefix, 1),
        lapse: () => sleep(1100),
      };
    },
  },
];

const IG = '17841400000000001';
const ANA = '5614879045272581';
const ad = (adId: string): Referral => ({
  ref: null,
  source: 'ADS',
  type: 'OPEN_THREAD',
  adId,
  adTitle: 'Spring sale',
  photoUrl: null,
  videoUrl: null,
  postId: null,
});

describe.each(backends)('ConversationStateStore contract: $name', (backend) => {
  it('keeps the latest thread owner across instances, forgets it, and lets it lapse', async () => {
    const { a, b, lapse } = await backend.pair();
    expect(await b.threadOwner(IG, ANA)).toBeUndefined();
    await a.setThreadOwner(IG, ANA, 'BOT', 2000);
    expect(await b.threadOwner(IG, ANA)).toBe('BOT');
    // An older change arriving late does not win; a newer or equal one does.
    await b.setThreadOwner(IG, ANA, 'INBOX', 1000);
    expect(await a.threadOwner(IG, ANA)).toBe('BOT');
    await b.setThreadOwner(IG, ANA, 'IGQL', 2000);
    expect(await a.threadOwner(IG, ANA)).toBe('IGQL');
    expect(await a.threadOwner(IG, '5614879045272582')).toBeUndefined();
    await a.setThreadOwner(IG, ANA, null, 3000);
    expect(await b.threadOwner(IG, ANA)).toBeUndefined();
    await a.setThreadOwner(IG, ANA, 'BOT', 4000);
    await lapse();
    expect(await b.threadOwner(IG, ANA)).toBeUndefined();
  });

  it('keeps the earliest referral as the origin, for good', async () => {
    const { a, b, lapse } = await backend.pair();
    expect(await a.origin(IG, ANA)).toBeNull();
    await a.keepOrigin(IG, ANA, ad('2'), 2000);
    await b.keepOrigin(IG, ANA, ad('3'), 3000);
    await b.keepOrigin(IG, ANA, ad('4'), 2000);
    expect(await b.origin(IG, ANA)).toEqual(ad('2'));
    // A referral delivered late but received earlier is the origin.
    await b.keepOrigin(IG, ANA, ad('1'), 1000);
    await lapse();
    expect(await a.origin(IG, ANA)).toEqual(ad('1'));
  });
});

describe('RedisConversationState on a Redis Cluster', () => {
  it("keeps a conversation's owner and origin under the account's hash tag, in its slot", async () => {
    const client = await cluster.connect();
    const prefix = cluster.prefix('igql-state');
    const store = new RedisConversationState(client, prefix);
    await store.setThreadOwner(IG, ANA, 'BOT', 2000);
    await store.keepOrigin(IG, ANA, ad('2'), 2000);
    const owner = `${prefix}:thread-owner:{${IG}}:${ANA}`;
    const origin = `${prefix}:origin:{${IG}}:${ANA}`;
    expect(JSON.parse((await client.get(owner)) ?? '')).toEqual({ at: 2000, appId: 'BOT' });
    expect(JSON.parse((await client.get(origin)) ?? '')).toEqual({ at: 2000, referral: ad('2') });
    const slots = await Promise.all(
      [owner, origin, `${prefix}:events:{${IG}}`].map((key) => client.clusterKeySlot(key)),
    );
    expect(new Set(slots).size).toBe(1);
  });
});

it('records origins from referrals and owners from passes and takes, not from requests', async () => {
  const store = new MemoryConversationState();
  const base = { igId: IG, igsid: ANA, standby: false, identity: 'x' };
  const events: InboxEventData[] = [
    {
      ...base,
      kind: 'REFERRAL_RECEIVED',
      occurredAt: 1000,
      ref: 'spring',
      source: 'ADS',
      type: 'OPEN_THREAD',
      adId: '6000000000001',
      // Stored before igql read the ad fields: no adTitle, …
    },
    {
      ...base,
      kind: 'THREAD_CONTROL_CHANGED',
      occurredAt: 2000,
      action: 'PASS',
      previousOwnerAppId: 'IGQL',
      newOwnerAppId: 'BOT',
      requestedOwnerAppId: null,
      metadata: null,
    },
    {
      ...base,
      kind: 'THREAD_CONTROL_CHANGED',
      occurredAt: 3000,
      action: 'REQUEST',
      previousOwnerAppId: null,
      newOwnerAppId: null,
      requestedOwnerAppId: 'INBOX',
      metadata: null,
    },
  ];
  await recordConversationState(store, events, createLogger('silent'));
  expect(await store.threadOwner(IG, ANA)).toBe('BOT');
  expect(await store.origin(IG, ANA)).toEqual({
    ref: 'spring',
    source: 'ADS',
    type: 'OPEN_THREAD',
    adId: '6000000000001',
    adTitle: null,
    photoUrl: null,
    videoUrl: null,
    postId: null,
  });
  // A take that names no new owner forgets it: the next read asks Instagram.
  await recordConversationState(
    store,
    [
      {
        ...(events[1] as InboxEventData & { kind: 'THREAD_CONTROL_CHANGED' }),
        action: 'TAKE',
        newOwnerAppId: null,
        occurredAt: 4000,
      },
    ],
    createLogger('silent'),
  );
  expect(await store.threadOwner(IG, ANA)).toBeUndefined();
});
