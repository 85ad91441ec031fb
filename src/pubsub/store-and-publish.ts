import type { InboxEventData } from '../inbox/events.ts';
import { isCluster, perTick, type RedisClient, replicated, Script, slotGroup } from '../redis.ts';
import { eventJson } from './log.ts';

/** What `storeAndPublish` did with one event: its cursor when stored now, else why not. */
export type StoredOrNot = { readonly cursor: string } | 'duplicate' | 'pending';

/**
 * For each event, in order, with `KEYS[2i-1]` its dedupe key, `KEYS[2i]` its account's stream,
 * `ARGV[1+2i]` its account's channel and `ARGV[2+2i]` its JSON (`ARGV[1]` the streams' MAXLEN,
 * `ARGV[2]` the dedupe TTL): an identity held `pending` answers `pending`, one held otherwise
 * `duplicate`; a new one is appended (`XADD … MAXLEN ~`), published as its log entry
 * (`entryJson`'s bytes) and confirmed `done`, and answers its stream id. One script: an event is
 * confirmed only once stored and published, with no round trip between, and no claim to forget
 * when a step fails (the script answers an error, the webhook 5xx, and Meta's redelivery stores
 * what was not: at least once).
 */
const STORE_AND_PUBLISH_SOURCE = `
local out = {}
for i = 1, #KEYS / 2 do
  local dedupe, stream = KEYS[2 * i - 1], KEYS[2 * i]
  local channel, json = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local held = redis.call('GET', dedupe)
  if held == 'pending' then
    out[i] = 'pending'
  elseif held then
    out[i] = 'duplicate'
  else
    local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', 'event', json)
    redis.call('PUBLISH', channel, '{"cursor":"' .. id .. '","event":' .. json .. '}')
    redis.call('SET', dedupe, 'done', 'EX', ARGV[2])
    out[i] = id
  end
end
return out
`;
const STORE_AND_PUBLISH = new Script(STORE_AND_PUBLISH_SOURCE);
/**
 * On a Redis Cluster: the same with sharded pub/sub (`SPUBLISH`), run one account at a time, its
 * dedupe keys, stream and channel sharing the account's slot (`src/keys.ts`).
 */
const STORE_AND_SPUBLISH = new Script(
  STORE_AND_PUBLISH_SOURCE.replace("redis.call('PUBLISH'", "redis.call('SPUBLISH'"),
);

export interface StoreAndPublishOptions {
  /** The event's dedupe key (`RedisDeduper.keyOf`). */
  readonly dedupeKey: (igId: string, identity: string) => string;
  /** The account's stream (`RedisEventLog.keyOf`). */
  readonly logKey: (igId: string) => string;
  /** The account's channel (`RedisEventBus.channelOf`). */
  readonly channel: (igId: string) => string;
  /** The streams' MAXLEN (as `RedisEventLog`'s). */
  readonly maxLen: number;
  /** How long an identity stays `done` (as `RedisDeduper`'s). */
  readonly ttlSeconds: number;
}

/**
 * The pipeline's claim, append, publish and confirm of an event in one step: one script for every
 * event of one turn of the event loop (`perTick`), one round trip to Redis instead of three. For
 * events that need nothing read between their claim and their append (`needsCompletion`).
 */
export function storeAndPublish(
  client: RedisClient,
  o: StoreAndPublishOptions,
): (event: InboxEventData) => Promise<StoredOrNot> {
  const cluster = isCluster(client);
  const script = cluster ? STORE_AND_SPUBLISH : STORE_AND_PUBLISH;
  return perTick(
    async (events: InboxEventData[]) => {
      const keys: string[] = [];
      const args = [String(o.maxLen), String(o.ttlSeconds)];
      for (const event of events) {
        keys.push(o.dedupeKey(event.igId, event.identity), o.logKey(event.igId));
        args.push(o.channel(event.igId), eventJson(event));
      }
      const replies = (await script.run(client, keys, args)) as string[];
      // Acknowledged once stored: on a cluster, once a replica holds it too.
      if (cluster) await replicated(client, keys[1] ?? '');
      return replies.map((reply) =>
        reply === 'pending' || reply === 'duplicate' ? reply : { cursor: reply },
      );
    },
    cluster ? (event) => slotGroup(o.logKey(event.igId)) : undefined,
  );
}
