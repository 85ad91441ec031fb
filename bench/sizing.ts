/**
 * How much Redis memory igql uses per account, per retained event and per idempotency record
 * (issue 14: how to size Redis), measured on a `redis-server` of its own (no persistence), with
 * igql's own stores (`createSharedState`) and key layout:
 *
 * 1. `accounts` accounts stored through the token store (`put`, the token sealed with a 32-byte
 *    key): the account's hash and its member of the accounts set;
 * 2. `eventsPerAccount` text messages to each of `eventAccounts` of them, through the pipeline's
 *    one-step path (`storeAndPublish`): a stream entry and a dedupe key (`done`, 48 h) each;
 * 3. `sends` completed sends with an idempotency key (claim, then complete): one record each (24 h);
 * 4. with `fullLog`, one more account's log filled past its length (10,000 events, `MAXLEN ~`):
 *    the largest a stream gets, whatever the account's traffic.
 *
 * Each figure is Redis's `used_memory` after a step minus before it, per item: the keys, their
 * hash-table slots and TTLs, as allocated. The `MEMORY USAGE` of each key (SCAN, by key family)
 * is beside it, for the breakdown; it leaves out the TTL's entry and the slots. About 6 s at the
 * default sizes.
 *
 *   node bench/sizing.ts [--accounts 1000] [--event-accounts 100] [--events 1000] [--sends 1000]
 *                        [--no-full-log]
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { loadConfig } from '../src/config.ts';
import type { InboxEventData } from '../src/inbox/events.ts';
import { fromSend } from '../src/inbox/from-send.ts';
import { createLogger } from '../src/logger.ts';
import { eventJson, RedisEventLog } from '../src/pubsub/log.ts';
import { createRedis } from '../src/redis.ts';
import { createSharedState, type SharedState } from '../src/state.ts';
import { normalise } from '../src/webhooks/normalise.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { num, ROOT } from './lib.ts';

export interface SizingOptions {
  /** Accounts stored through the token store. */
  readonly accounts: number;
  /** How many of them receive events (at most `accounts`). */
  readonly eventAccounts: number;
  /** Events each of those receives. */
  readonly eventsPerAccount: number;
  /** Completed sends with an idempotency key, spread over the accounts that receive events. */
  readonly sends: number;
  /** Also fill one more account's log past its length (11,000 events, about a second). */
  readonly fullLog: boolean;
}

/** One kind of item: how many were stored, and what each costs in bytes. */
export interface Figure {
  readonly count: number;
  /** `used_memory` after minus before, per item: what Redis allocated for it. */
  readonly usedMemory: number;
  /** The `MEMORY USAGE` of its keys, per item (no TTL entry, no hash-table slot). */
  readonly memoryUsage: number;
}

/** A part of an item, per item. */
export interface Part {
  readonly usedMemory?: number;
  readonly memoryUsage: number;
}

export interface SizingResult {
  readonly options: SizingOptions;
  readonly redisVersion: string;
  /** The token's (before it is sealed), the event's JSON's and the send result's JSON's. */
  readonly lengths: { readonly token: number; readonly event: number; readonly record: number };
  /** The account's hash and its member of `<prefix>:accounts`. */
  readonly account: Figure;
  /** A stream entry and its dedupe key, as ingestion leaves them. */
  readonly event: Figure;
  /**
   * The two parts of `event`. `usedMemory` with `fullLog` only: the stream entry's is the full
   * log's per entry, the dedupe key's the rest of an event.
   */
  readonly streamEntry: Part;
  readonly dedupeKey: Part;
  /** A completed send's idempotency record. */
  readonly idempotencyRecord: Figure;
  /**
   * One account's log filled past its length: `count` entries kept (`MAXLEN ~ maxLen`), the
   * figures per entry. Absent without `fullLog`.
   */
  readonly fullLog?: Figure & { readonly maxLen: number };
  /**
   * The most one account takes for good (its record and a full log), and with `maxLen` events
   * received within 48 h (their dedupe keys still kept), by `used_memory`. Absent without
   * `fullLog`.
   */
  readonly worstCasePerAccount?: { readonly kept: number; readonly withDedupe: number };
  /** Every key left, by family (`<prefix>:<family>:…`), from steps 1 to 3. */
  readonly families: Readonly<Record<string, { readonly keys: number; readonly bytes: number }>>;
  readonly seconds: number;
}

export const DEFAULT_SIZING: SizingOptions = {
  accounts: 1000,
  eventAccounts: 100,
  eventsPerAccount: 1000,
  sends: 1000,
  fullLog: true,
};

const PREFIX = 'igql';
/** An Instagram User access token is about 190 characters (a Page token about as long). */
const TOKEN_LENGTH = 190;
/** A real text message, as Meta delivers it (its story reply left out): mid, sender, text. */
const FIXTURE = 'test/fixtures/instagram/webhook-messages-story-reply-real.json';
/** Events (and records) handed to the stores before waiting: a delivery rate, not one huge batch. */
const CHUNK = 5000;

/** `178414…`: a 17-digit IG_ID, as strings (they are past `Number.MAX_SAFE_INTEGER`). */
const igIdOf = (i: number): string => `178414${String(i).padStart(11, '0')}`;
/** A 15-digit IGSID: each account hears from 50 customers. */
const igsidOf = (i: number): string => `4697267358${String(i % 50).padStart(5, '0')}`;

interface Fixture {
  readonly mid: string;
  readonly text: string;
}

function readFixture(): Fixture {
  const body = JSON.parse(readFileSync(join(ROOT, FIXTURE), 'utf8'));
  const message = body.entry[0].messaging[0].message as Fixture;
  return { mid: message.mid, text: message.text };
}

/** Message `n`'s mid: the real one's length, and its own. */
const midOf = (fixture: Fixture, n: number): string =>
  `${fixture.mid.slice(0, -18)}${String(n).padStart(12, '0')}NgZDZD`;

/** Message `n`, as `normalise` makes it of a webhook. */
function textMessage(fixture: Fixture, igId: string, n: number, at: number): InboxEventData {
  const mid = midOf(fixture, n);
  const igsid = igsidOf(n);
  const body = {
    object: 'instagram',
    entry: [
      {
        time: at + 500,
        id: igId,
        messaging: [
          {
            sender: { id: igsid },
            recipient: { id: igId },
            timestamp: at,
            message: { mid, text: fixture.text },
          },
        ],
      },
    ],
  };
  const [event] = normalise(body, at + 600);
  if (event?.kind !== 'MESSAGE_RECEIVED') throw new Error(`not a message: ${event?.kind}`);
  return event;
}

/** A completed `sendTextMessage`'s scope, fingerprint and result, as src/sends/service.ts stores them. */
function sendRecord(fixture: Fixture, igId: string, n: number, at: number) {
  const igsid = igsidOf(n);
  const input = { recipientId: igsid, text: fixture.text, idempotencyKey: randomUUID() };
  const messageId = midOf(fixture, n);
  const body = { recipient: { id: igsid }, message: { text: fixture.text } };
  const message = fromSend(body, { igId, recipientId: igsid, messageId, at });
  return {
    // A session's `sub` is the embedding app's user id: a UUID here.
    key: JSON.stringify([randomUUID(), igId, input.idempotencyKey]),
    fingerprint: createHash('sha256')
      .update(JSON.stringify(['sendTextMessage', input]))
      .digest('hex'),
    result: JSON.stringify({
      igId,
      igsid,
      message,
      reactedMid: null,
      ok: true,
      userErrors: [],
    }),
  };
}

/** A client of the measurer's own: INFO, SCAN and MEMORY USAGE, never the stores' connection. */
const newProbe = (url: string) => createClient({ url });
type Probe = ReturnType<typeof newProbe>;

/**
 * `used_memory`. Not less `mem_clients_normal`: Redis updates that sum as it goes (a client it
 * has not yet counted counts 0), so subtracting it moved small runs by tens of kilobytes.
 */
async function usedMemory(probe: Probe): Promise<number> {
  const info = String(await probe.info('memory'));
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

/** `<prefix>:<family>:…` → family, in either key layout (a `{…}` hash tag is never the family). */
function familyOf(key: string): string {
  const parts = key.startsWith(`${PREFIX}:`) ? key.slice(PREFIX.length + 1).split(':') : [];
  return parts.find((part) => !part.startsWith('{')) ?? 'other';
}

/** Every key's `MEMORY USAGE` (all of a stream's nodes: `SAMPLES 0`), summed by family. */
async function families(probe: Probe): Promise<Record<string, { keys: number; bytes: number }>> {
  const found: Record<string, { keys: number; bytes: number }> = {};
  for await (const keys of probe.scanIterator({ COUNT: 1000 })) {
    const sizes = await Promise.all(keys.map((key) => probe.memoryUsage(key, { SAMPLES: 0 })));
    keys.forEach((key, i) => {
      const family = familyOf(key);
      const sum = found[family] ?? { keys: 0, bytes: 0 };
      found[family] = { keys: sum.keys + 1, bytes: sum.bytes + (sizes[i] ?? 0) };
    });
  }
  return found;
}

/** Runs `work` on 0 … count − 1, `CHUNK` at a time. */
async function inChunks(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < end; i++) batch.push(work(i));
    await Promise.all(batch);
  }
}

function storeEvent(state: SharedState): (event: InboxEventData) => Promise<unknown> {
  const { storeAndPublish } = state;
  if (!storeAndPublish) throw new Error('sizing: the shared state has no storeAndPublish');
  return storeAndPublish;
}

/** Measures; see the file's comment. Starts and stops its own `redis-server`. */
export async function sizing(options: SizingOptions = DEFAULT_SIZING): Promise<SizingResult> {
  const o = { ...options, eventAccounts: Math.min(options.eventAccounts, options.accounts) };
  const started = performance.now();
  const server = await startRedis();
  const logger = createLogger('silent');
  const redis = createRedis(server.url, logger);
  const probe = newProbe(server.url);
  try {
    await redis.client.connect();
    await probe.connect();
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      REDIS_PREFIX: PREFIX,
      TOKEN_ENCRYPTION_KEYS: `sizing:${Buffer.alloc(32, 7).toString('base64')}`,
    });
    const state = createSharedState(config, redis, logger, PREFIX);
    const store = storeEvent(state);
    const fixture = readFixture();
    const token = `IGAA${'x'.repeat(TOKEN_LENGTH - 4)}`;
    const t0 = Date.now();
    const stored = (i: number) => ({
      igId: igIdOf(i),
      accessToken: token,
      status: 'ACTIVE' as const,
      issuedAt: t0,
      expiresAt: t0 + 60 * 86_400_000,
    });

    // Warm-up, then emptied: Redis learns each script once, and what is measured is data only.
    const warm = igIdOf(999_999);
    await state.tokens.put({ ...stored(0), igId: warm });
    await store(textMessage(fixture, warm, 0, t0));
    await state.log.append(warm, textMessage(fixture, warm, 1, t0));
    const record = sendRecord(fixture, warm, 0, t0);
    await state.idempotency.claim(warm, record.key, record.fingerprint);
    await state.idempotency.complete(warm, record.key, record.fingerprint, record.result);
    await probe.flushAll('SYNC');

    const step = async (count: number, work: (i: number) => Promise<unknown>) => {
      const before = await usedMemory(probe);
      await inChunks(count, work);
      return (await usedMemory(probe)) - before;
    };

    const accountBytes = await step(o.accounts, (i) => state.tokens.put(stored(i)));
    // Round robin over the accounts, a millisecond apart: as deliveries arrive.
    const events = o.eventAccounts * o.eventsPerAccount;
    const eventBytes = await step(events, (n) =>
      store(textMessage(fixture, igIdOf(n % o.eventAccounts), n, t0 + n)),
    );
    const sendBytes = await step(o.sends, async (n) => {
      const igId = igIdOf(n % o.eventAccounts);
      const r = sendRecord(fixture, igId, n, t0 + n);
      await state.idempotency.claim(igId, r.key, r.fingerprint);
      await state.idempotency.complete(igId, r.key, r.fingerprint, r.result);
    });
    const byFamily = await families(probe);
    const bytesOf = (...names: string[]) =>
      names.reduce((sum, name) => sum + (byFamily[name]?.bytes ?? 0), 0);

    const per = (count: number, used: number, usage: number): Figure => ({
      count,
      usedMemory: used / count,
      memoryUsage: usage / count,
    });
    const account = per(o.accounts, accountBytes, bytesOf('account', 'accounts'));
    const event = per(events, eventBytes, bytesOf('events', 'dedupe'));
    let streamEntry: Part = { memoryUsage: bytesOf('events') / events };
    let dedupeKey: Part = { memoryUsage: bytesOf('dedupe') / events };
    let full: Pick<SizingResult, 'fullLog' | 'worstCasePerAccount'> = {};
    if (o.fullLog) {
      if (!(state.log instanceof RedisEventLog)) throw new Error('sizing: not a Redis event log');
      const log = state.log;
      const igId = igIdOf(o.accounts);
      // A thousand past the length, so that `MAXLEN ~` has trimmed whole nodes more than once.
      const logBytes = await step(log.maxLen + 1000, (n) =>
        log.append(igId, textMessage(fixture, igId, n, t0 + n)),
      );
      const key = log.keyOf(igId);
      const count = await probe.xLen(key);
      const usage = (await probe.memoryUsage(key, { SAMPLES: 0 })) ?? 0;
      const fullLog = { ...per(count, logBytes, usage), maxLen: log.maxLen };
      // One step stores both parts of an event: the stream entry's is the full log's.
      const dedupe = event.usedMemory - fullLog.usedMemory;
      streamEntry = { ...streamEntry, usedMemory: fullLog.usedMemory };
      dedupeKey = { ...dedupeKey, usedMemory: dedupe };
      const kept = account.usedMemory + logBytes;
      full = {
        fullLog,
        worstCasePerAccount: { kept, withDedupe: kept + log.maxLen * dedupe },
      };
    }
    return {
      options: o,
      redisVersion: /^redis_version:(.+)$/m.exec(String(await probe.info('server')))?.[1] ?? '',
      lengths: {
        token: TOKEN_LENGTH,
        event: eventJson(textMessage(fixture, igIdOf(0), 0, t0)).length,
        record: sendRecord(fixture, igIdOf(0), 0, t0).result.length,
      },
      account,
      event,
      streamEntry,
      dedupeKey,
      idempotencyRecord: per(o.sends, sendBytes, bytesOf('idempotency')),
      ...full,
      families: byFamily,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await probe.close().catch(() => {});
    await redis.close();
    await server.stop();
  }
}

const bytes = (n: number | undefined): string => (n === undefined ? '—' : `${num(n)} B`);
const mib = (n: number): string => `${num(n / 2 ** 20, 1)} MiB`;

/** The result as Markdown: one row per kind of item, then the worst case of one account. */
export function renderSizing(r: SizingResult): string {
  const row = (what: string, count: string, f: Part, kept: string) =>
    `| ${what} | ${count} | ${bytes(f.usedMemory)} | ${bytes(f.memoryUsage)} | ${kept} |`;
  const maxLen = num(r.fullLog?.maxLen ?? 10_000);
  const lines = [
    `## Redis memory (Redis ${r.redisVersion}, prefix \`${PREFIX}\`)`,
    '',
    `An event: a text message, ${num(r.lengths.event)} bytes of JSON. A token: ${r.lengths.token} characters, sealed. A send's result: ${num(r.lengths.record)} bytes of JSON.`,
    '',
    '| Item | Stored | `used_memory` each | `MEMORY USAGE` each | Kept |',
    '| --- | ---: | ---: | ---: | --- |',
    row('account (hash + accounts set member)', num(r.account.count), r.account, 'until replaced'),
    row('event (stream entry + dedupe key)', num(r.event.count), r.event, '—'),
    row('… its stream entry', '', r.streamEntry, `the newest ${maxLen} of its account`),
    row('… its dedupe key', '', r.dedupeKey, '48 h'),
    row(
      'idempotency record (a completed send)',
      num(r.idempotencyRecord.count),
      r.idempotencyRecord,
      '24 h',
    ),
  ];
  if (r.fullLog && r.worstCasePerAccount) {
    const f = r.fullLog;
    lines.push(
      row("one account's full log, per entry", num(f.count), f, 'no TTL'),
      '',
      `Worst case per account: ${mib(r.worstCasePerAccount.kept)} for good (its record and a full log), ${mib(r.worstCasePerAccount.withDedupe)} while the dedupe keys of ${maxLen} events received within 48 h are kept.`,
      `A stream entry costs ${num(f.usedMemory / r.lengths.event, 2)} × its event's JSON. \`MEMORY USAGE\` estimates a stream's radix tree roughly; \`used_memory\` is what Redis allocated.`,
    );
  }
  lines.push('', `Measured in ${num(r.seconds, 1)} s.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: String(DEFAULT_SIZING.accounts) },
      'event-accounts': { type: 'string', default: String(DEFAULT_SIZING.eventAccounts) },
      events: { type: 'string', default: String(DEFAULT_SIZING.eventsPerAccount) },
      sends: { type: 'string', default: String(DEFAULT_SIZING.sends) },
      'no-full-log': { type: 'boolean', default: false },
    },
  });
  const result = await sizing({
    accounts: Number(values.accounts),
    eventAccounts: Number(values['event-accounts']),
    eventsPerAccount: Number(values.events),
    sends: Number(values.sends),
    fullLog: !values['no-full-log'],
  });
  console.log(renderSizing(result));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
