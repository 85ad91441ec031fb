/**
 * `npm run redis:copy-to-cluster -- --from <redis URL> --to <node URL>[,<node URL>…] [--prefix p]
 * [--replace]`: copies igql's state from one Redis server to a Redis Cluster, renaming each key
 * into the cluster layout (`src/keys.ts`), so that a deployment moving to a cluster keeps its
 * connected accounts (their sealed tokens), logged-out sessions, event logs (with their cursors),
 * idempotency records, conversation origins and publish jobs. Run it with igql stopped (or its
 * webhooks paused): what is written to the server during the copy is not copied.
 *
 * Each key is copied whole with `DUMP` and `RESTORE` (type, value and remaining TTL as they are).
 * Not copied: locks (held by instances that are gone), and dedupe keys, whose names hash the
 * event's identity with its account (`<p>:dedupe:<sha256>`), so that the account, and with it the
 * cluster name, cannot be known; at worst Meta's redelivery of an event from the last 48 hours is
 * stored once more. A key that already exists on the cluster is left as it is unless `--replace`.
 */
import { parseArgs } from 'node:util';
import { RESP_TYPES } from 'redis';
import { keyspace } from './keys.ts';
import { createLogger } from './logger.ts';
import { type ClusterClient, createRedis, createRedisCluster, type SingleClient } from './redis.ts';

/** Families whose second part is an igId: `<p>:<family>:<igId>[:<rest>]`. */
const OF_ACCOUNT = new Set([
  'account',
  'events',
  'ratelimit',
  'thread-owner',
  'origin',
  'publish-jobs',
]);
/** Families named the same in both layouts. */
const GLOBAL = new Set(['accounts', 'revoked', 'once', 'publish-job']);
/** Families not copied, and why. */
const SKIPPED: Record<string, string> = {
  'refresh-lock': 'a lock',
  'reconcile-lock': 'a lock',
  'publish-lock': 'a lock',
  dedupe: 'its account is not in its name',
  sandbox: "a sandbox's",
};

/**
 * The cluster name of a key of the single-server layout under `prefix`, or why it is not copied.
 * Exported for the tests.
 */
export function clusterName(prefix: string, key: string): { name: string } | { skip: string } {
  if (!key.startsWith(`${prefix}:`)) return { skip: 'not under the prefix' };
  const rest = key.slice(prefix.length + 1);
  const [family = '', igId = '', ...more] = rest.split(':');
  const cluster = keyspace(prefix, true);
  const skip = SKIPPED[family];
  if (skip) return { skip };
  if (GLOBAL.has(family)) return { name: key };
  if (family === 'publish-jobs' && igId === 'due' && more.length === 0) return { name: key };
  if (OF_ACCOUNT.has(family) && /^\d+$/.test(igId)) {
    return { name: [cluster.prefix, family, `{${igId}}`, ...more].join(':') };
  }
  if (family === 'idempotency') {
    // `<p>:idempotency:<JSON [sub, igId, key]>`: the igId is the scope's second element.
    try {
      const scope = JSON.parse(rest.slice('idempotency:'.length)) as unknown;
      const scopeIgId = Array.isArray(scope) ? scope[1] : undefined;
      if (typeof scopeIgId === 'string' && /^\d+$/.test(scopeIgId)) {
        return {
          name: `${prefix}:idempotency:{${scopeIgId}}:${rest.slice('idempotency:'.length)}`,
        };
      }
    } catch {}
  }
  return { skip: 'not a key igql writes' };
}

/**
 * The TTL argument of `RESTORE` for a key whose `PTTL` was `pttl`: 0 (no expiry) for a key
 * without one (-1), the time it has left otherwise; undefined when the key is not to be copied:
 * gone meanwhile (-2), or expiring now (0, less than a millisecond left, which `RESTORE` would
 * read as no expiry: a pending idempotency record or a thread owner that never expires).
 */
function restoreTtl(pttl: number): number | undefined {
  if (pttl === -1) return 0;
  return pttl > 0 ? pttl : undefined;
}

export interface CopyReport {
  /** Keys copied, per family. */
  readonly copied: Record<string, number>;
  /** Keys not copied, per reason. */
  readonly skipped: Record<string, number>;
  /** Keys already on the cluster, left as they were (without `replace`). */
  readonly existing: number;
}

/** Copies every key under `prefix` from `from` to `to` (see the file's comment). */
export async function copyToCluster(
  from: SingleClient,
  to: ClusterClient,
  prefix: string,
  replace = false,
): Promise<CopyReport> {
  const copied: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  let existing = 0;
  const source = from.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  for await (const keys of from.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) {
    for (const key of keys) {
      const target = clusterName(prefix, key);
      if ('skip' in target) {
        skipped[target.skip] = (skipped[target.skip] ?? 0) + 1;
        continue;
      }
      const [dump, pttl] = await Promise.all([source.dump(key), from.pTTL(key)]);
      const ttl = restoreTtl(pttl);
      if (dump === null || ttl === undefined) continue;
      try {
        await to.restore(target.name, ttl, dump, { REPLACE: replace });
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('BUSYKEY')) {
          existing++;
          continue;
        }
        throw error;
      }
      const family = key.slice(prefix.length + 1).split(':')[0] ?? '';
      copied[family] = (copied[family] ?? 0) + 1;
    }
  }
  return { copied, skipped, existing };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      prefix: { type: 'string', default: 'igql' },
      replace: { type: 'boolean', default: false },
    },
  });
  if (!values.from || !values.to) {
    console.error(
      'usage: npm run redis:copy-to-cluster -- --from redis://host:6379 --to redis://node:7000,redis://node:7001 [--prefix igql] [--replace]',
    );
    process.exit(2);
  }
  const logger = createLogger('warn');
  const from = createRedis(values.from, logger);
  const to = createRedisCluster(
    values.to.split(',').map((url) => url.trim()),
    logger,
  );
  await from.client.connect();
  await to.client.connect();
  try {
    const report = await copyToCluster(from.client, to.client, values.prefix, values.replace);
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await from.close();
    await to.close();
  }
}

if (import.meta.main) await main();
