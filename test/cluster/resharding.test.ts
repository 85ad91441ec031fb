import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { accountKey, dedupeKey, eventsChannel, eventsKey, keyspace } from '../../src/keys.ts';
import { createLogger } from '../../src/logger.ts';
import { LOG_START } from '../../src/pubsub/log.ts';
import { createRedisCluster, keySlot } from '../../src/redis.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimUser } from '../../src/sandbox/store.ts';
import { createSharedState, type SharedState } from '../../src/state.ts';
import { type InboxSubscriber, subscribeInbox } from '../helpers/inbox-events.ts';
import { migrateSlot, useRedisCluster } from '../helpers/redis-cluster.ts';
import {
  APP_SECRET,
  deliveryOf,
  type Igql,
  type Inbound,
  postWebhook,
  received,
  shardSubscribers,
  startIgql,
  until,
} from './helpers.ts';

/**
 * Issue 14's resharding: the slot of an account moves from its primary to another by the cluster
 * protocol (IMPORTING, MIGRATING, MIGRATE in batches, SETSLOT NODE) while igql ingests webhooks
 * for it and it is read: node-redis follows ASK and MOVED, igql retries the scripts Redis answers
 * TRYAGAIN while the account's keys are on both sides, and no request fails.
 */

const redis = useRedisCluster({ primaries: 3, replicasPerPrimary: 0 });
const VIEWER = '{ viewer { igId status } }';

let sim: Simulator;
let shop: SimAccount;
let ana: SimUser;
let igql: Igql;
let subscriber: InboxSubscriber;
/** igql's stores on a client of their own: the log read directly, as a second instance would. */
let reader: { state: SharedState; close(): Promise<void> };

/** How many replies of `kind` (`TRYAGAIN`, `ASK`, `MOVED`) the node on `port` sent so far. */
async function errorReplies(port: number, kind: string): Promise<number> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  await client.connect();
  try {
    const stats = String(await client.sendCommand(['INFO', 'errorstats']));
    return Number(new RegExp(`errorstat_${kind}:count=(\\d+)`).exec(stats)?.[1] ?? 0);
  } finally {
    client.destroy();
  }
}

/** The keys of `slot` that the node on `port` holds. */
async function keysInSlot(port: number, slot: number): Promise<string[]> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  await client.connect();
  try {
    const keys = await client.sendCommand<string[]>([
      'CLUSTER',
      'GETKEYSINSLOT',
      String(slot),
      '100000',
    ]);
    return keys.sort();
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  sim = new Simulator({ appSecret: APP_SECRET, rateLimits: false });
  shop = sim.addAccount({ username: 'northwind.shop' }).account;
  ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
  await sim.start();
  igql = await startIgql(redis.cluster(), sim);
  const nodes = redis.cluster().rootNodes.map((node) => node.url);
  const own = createRedisCluster(nodes, createLogger('silent'));
  own.connect();
  await own.ready(5000);
  const state = createSharedState(
    igql.config,
    own,
    createLogger('silent'),
    igql.app.sandbox?.redisPrefix,
  );
  reader = { state, close: () => own.close() };
  const token = await igql.session([shop.igId]);
  subscriber = await subscribeInbox(igql.url, token, globalId.account(shop.igId));
});

afterAll(async () => {
  await subscriber?.dispose();
  await igql?.app.stop();
  await reader?.state.bus.close();
  await reader?.close();
  await sim?.stop();
});

describe('an account’s slot moved to another primary under load', () => {
  it('fails no request: every acknowledged event is in the log once, and the keys moved', async () => {
    const cluster = redis.cluster();
    const ks = keyspace(igql.app.sandbox?.redisPrefix ?? '', true);
    const log = eventsKey(ks, shop.igId);
    const slot = keySlot(log);
    const source = await cluster.primaryOf(log);
    const target = cluster.nodes.find(
      (node) => node.role === 'primary' && node.port !== source.port,
    );
    if (!target) throw new Error('no other primary');
    const token = await igql.session([shop.igId]);
    const viewer = { data: { viewer: { igId: shop.igId, status: 'ACTIVE' } } };

    // Webhooks one after another, each answered once: any answer but 200 is a failure.
    const acknowledged: Inbound[] = [];
    const failures: string[] = [];
    let flowing = true;
    const flow = (async () => {
      for (let n = 1; flowing; n++) {
        const message: Inbound = {
          igId: shop.igId,
          igsid: ana.igsid,
          mid: `mid.reshard.${n}`,
          text: `message ${n}`,
          at: Date.now(),
        };
        const status = await postWebhook(igql.base, deliveryOf(message)).catch(String);
        if (status === 200) acknowledged.push(message);
        else failures.push(`webhook ${message.mid}: ${status}`);
      }
    })();
    // Reads meanwhile: the account through igql (its token's status, from Redis), and its log
    // directly, which holds at least what was acknowledged before the read, in order.
    const reads: { readonly before: number; readonly mids: string[] }[] = [];
    const reading = (async () => {
      while (flowing) {
        const before = acknowledged.length;
        try {
          const res = await fetch(igql.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: VIEWER }),
          });
          const body = await res.json();
          if (JSON.stringify(body) !== JSON.stringify(viewer))
            failures.push(`viewer: ${res.status} ${JSON.stringify(body)}`);
          const entries = await reader.state.log.readAfter(shop.igId, LOG_START, 10_000);
          reads.push({ before, mids: entries.map((e) => midOf(e.event)) });
        } catch (error) {
          failures.push(`read: ${error}`);
        }
      }
    })();

    await until('10 webhooks acknowledged before the move', () => acknowledged.length >= 10);
    const before = {
      tryAgain:
        (await errorReplies(source.port, 'TRYAGAIN')) +
        (await errorReplies(target.port, 'TRYAGAIN')),
      ask: await errorReplies(source.port, 'ASK'),
      moved: await errorReplies(source.port, 'MOVED'),
    };
    // The account's writes and reads meet the move: once keys are on both sides, a script
    // answered TRYAGAIN (and igql ran it again); once its log is across, a read sent on by ASK.
    // Waited for briefly: igql retries a script for 2 s, and the move must end within them.
    const tryAgains = async () =>
      (await errorReplies(source.port, 'TRYAGAIN')) + (await errorReplies(target.port, 'TRYAGAIN'));
    const met = { tryAgain: false, ask: false };
    await migrateSlot(cluster, slot, target.port, {
      batch: 5,
      between: async (keys) => {
        if (!met.tryAgain) {
          await until('TRYAGAIN', async () => (await tryAgains()) > before.tryAgain, 1000);
          met.tryAgain = true;
        }
        if (!met.ask && keys.includes(log)) {
          await until(
            'ASK',
            async () => (await errorReplies(source.port, 'ASK')) > before.ask,
            1000,
          );
          met.ask = true;
        }
      },
    });
    expect(met).toEqual({ tryAgain: true, ask: true });
    expect(await cluster.primaryOf(log)).toEqual(target);
    // igql's subscription follows the channel to the target; then a few more webhooks, which
    // also bring what was published meanwhile (read from the log).
    const channel = eventsChannel(ks, shop.igId);
    await until('the subscription on the target', async () => {
      return (await shardSubscribers(target.url, channel)) === 1;
    });
    const after = acknowledged.length;
    await until('5 webhooks acknowledged after the move', () => {
      return acknowledged.length >= after + 5;
    });
    flowing = false;
    await Promise.all([flow, reading]);

    expect(failures).toEqual([]);
    // The move was met: scripts retried after TRYAGAIN, reads sent on by ASK, then by MOVED.
    expect(await errorReplies(source.port, 'MOVED')).toBeGreaterThan(before.moved);
    const mids = acknowledged.map((message) => message.mid);
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      expect(read.mids.length).toBeGreaterThanOrEqual(read.before);
      expect(read.mids).toEqual(mids.slice(0, read.mids.length));
    }
    const entries = await reader.state.log.readAfter(shop.igId, LOG_START, 10_000);
    expect(entries.map((e) => midOf(e.event))).toEqual(mids);

    // Every key of the account now on the target, none left behind.
    const keys = [
      accountKey(ks, shop.igId),
      log,
      ...entries.map((e) => dedupeKey(ks, shop.igId, e.event.identity)),
    ].sort();
    expect(await keysInSlot(target.port, slot)).toEqual(keys);
    expect(await keysInSlot(source.port, slot)).toEqual([]);

    await until('every acknowledged webhook at the subscriber', () => {
      return subscriber.events.length >= acknowledged.length;
    }).catch(() => {});
    expect(subscriber.events).toEqual(acknowledged.map(received));
    expect(subscriber.errors).toEqual([]);
  });
});

/** The mid of a logged message event. */
function midOf(event: { readonly kind: string }): string {
  return (event as { message?: { mid: string } }).message?.mid ?? event.kind;
}
