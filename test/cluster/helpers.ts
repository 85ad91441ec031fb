import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { type App, createApp } from '../../src/app.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import type { InboxEventResult } from '../helpers/inbox-events.ts';
import type { RedisCluster } from '../helpers/redis-cluster.ts';

/**
 * igql on a Redis Cluster of the test's own (test/helpers/redis-cluster.ts), in sandbox mode
 * against a simulator the test shares between its instances, as Instagram is shared: the
 * end-to-end tests of issue 14.
 */

/** The Instagram app's secret, the simulator's and igql's: it signs the webhooks. */
export const APP_SECRET = 'cluster-app-secret';

/** How long a webhook is redelivered before the test gives up on it. */
const REDELIVERY_DEADLINE_MS = 15_000;
/** How far apart redeliveries are: Meta's are minutes apart, a test's a poll interval. */
const REDELIVERY_MS = 50;

export interface Igql {
  readonly app: App;
  readonly config: Config;
  /** `http://127.0.0.1:PORT/graphql` */
  readonly url: string;
  /** `http://127.0.0.1:PORT`, where webhooks are posted. */
  readonly base: string;
  /** A session JWT of `sub` for these IG_IDs, signed with this instance's secret. */
  session(accounts: readonly string[], sub?: string): Promise<string>;
}

/**
 * Starts igql with `REDIS_CLUSTER_NODES` set to the cluster's running nodes, against `sim`:
 * reconciliation off (it would store the simulator's conversations in the log, events no
 * webhook brought), conversation reads unpaced. Resolves once it listens, connected to the
 * cluster, the simulator's accounts stored.
 */
export async function startIgql(cluster: RedisCluster, sim: Simulator): Promise<Igql> {
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: APP_SECRET,
    SESSION_SECRET: 'a-cluster-session-secret-of-at-least-32-bytes',
    REDIS_CLUSTER_NODES: cluster.rootNodes.map((node) => node.url).join(','),
  });
  const app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    drainTimeoutMs: 500,
    instagram: { paceReads: false },
    reconcileIntervalMs: 0,
  });
  const url = (await app.start()).replace('localhost', '127.0.0.1');
  return {
    app,
    config,
    url,
    base: url.replace(/\/graphql$/, ''),
    session: (accounts, sub = 'agent') =>
      signSession(config.sessionSecret, { sub, accounts }, 3600),
  };
}

/** One customer message to the account, as Meta's webhook carries it. */
export interface Inbound {
  readonly igId: string;
  readonly igsid: string;
  readonly mid: string;
  readonly text: string;
  /** Ms since the epoch: the message's `timestamp`. */
  readonly at: number;
}

/** Meta's delivery of `message`: one entry, one messaging item. */
export const deliveryOf = (message: Inbound) => ({
  object: 'instagram',
  entry: [
    {
      time: message.at,
      id: message.igId,
      messaging: [
        {
          sender: { id: message.igsid },
          recipient: { id: message.igId },
          timestamp: message.at,
          message: { mid: message.mid, text: message.text },
        },
      ],
    },
  ],
});

/** What a subscriber of `INBOX_EVENTS` (test/helpers/inbox-events.ts) receives for `message`. */
export const received = (message: Inbound): InboxEventResult => ({
  type: 'MESSAGE_RECEIVED',
  occurredAt: new Date(message.at).toISOString(),
  message: {
    mid: message.mid,
    text: message.text,
    createdTime: new Date(message.at).toISOString(),
  },
});

/** Posts `body` to igql at `base` as Meta does, signed with `APP_SECRET`; answers the status. */
export async function postWebhook(base: string, body: unknown): Promise<number> {
  const raw = toMetaJson(body);
  const res = await fetch(`${base}/webhooks/instagram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(raw, APP_SECRET) },
    body: raw,
  });
  await res.body?.cancel();
  return res.status;
}

/**
 * Delivers `message` to igql at `base` as Meta does: again after any answer but a 200 (or a
 * refused connection), until igql acknowledges it. Answers how many deliveries it refused.
 */
export async function deliverUntilAcknowledged(base: string, message: Inbound): Promise<number> {
  const deadline = Date.now() + REDELIVERY_DEADLINE_MS;
  for (let refused = 0; ; refused++) {
    const status = await postWebhook(base, deliveryOf(message)).catch(() => 0);
    if (status === 200) return refused;
    if (Date.now() > deadline)
      throw new Error(`${message.mid} not acknowledged within ${REDELIVERY_DEADLINE_MS} ms`);
    await sleep(REDELIVERY_MS);
  }
}

/**
 * Resolves once `done()` is true, polled every 20 ms; rejects with `what` after `timeoutMs`. For
 * a condition no event announces (a count reached, a message received everywhere).
 */
export async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * How many connections `node` (a cluster node's URL) delivers the sharded channel `channel` to
 * (`PUBSUB SHARDNUMSUB`): one per igql instance with a subscriber of its account.
 */
export async function shardSubscribers(node: string, channel: string): Promise<number> {
  const client = createClient({ url: node });
  await client.connect();
  try {
    const reply = (await client.sendCommand(['PUBSUB', 'SHARDNUMSUB', channel])) as [
      string,
      number,
    ];
    return reply[1];
  } finally {
    client.destroy();
  }
}
