import { upgradeEvent } from '../inbox/legacy.ts';
import { eventsChannel, type Keyspace, keyspace } from '../keys.ts';
import type { Logger } from '../logger.ts';
import {
  closeClient,
  isCluster,
  perTick,
  type RedisClient,
  reconnectDelay,
  replicated,
  Script,
  type SingleClient,
  slotGroup,
  watchConnection,
} from '../redis.ts';
import { entryJson, type LogEntry } from './log.ts';

export type EventListener = (entry: LogEntry) => void;

/**
 * Live delivery of logged events to every subscriber of an account, on every instance. At most
 * once: a subscriber that is disconnected when an event is published misses it, and catches up
 * from the `EventLog` by cursor.
 */
export interface EventBus {
  /** Sends the entry to the account's current subscribers as JSON (listeners get a copy). */
  publish(igId: string, entry: LogEntry): Promise<void>;
  /**
   * Resolves once `listener` receives every later publish for the account, to a function that
   * stops it (calling it again does nothing). Listeners are called in publish order; one that
   * throws is logged and the others still get the event. `onGap`, when given, is called when
   * publishes may have been missed: the bus's connection came back (and again a few seconds
   * later, while subscriptions are being restored), so that the caller reads the log.
   */
  subscribe(
    igId: string,
    listener: EventListener,
    onGap?: () => void,
  ): Promise<() => Promise<void>>;
  /** Drops every subscription; later calls reject. A Redis client passed in stays open. */
  close(): Promise<void>;
}

/** One instance's bus: listeners per account, called synchronously from `publish`. */
export class MemoryEventBus implements EventBus {
  private readonly channels = new Map<string, Set<EventListener>>();
  private readonly logger: Logger;
  private closed = false;

  /** `logger`: where a throwing listener is reported. */
  constructor(logger: Logger) {
    this.logger = logger;
  }

  async publish(igId: string, entry: LogEntry): Promise<void> {
    if (this.closed) throw new Error('event bus closed');
    const listeners = this.channels.get(igId);
    if (listeners) deliver(listeners, entryJson(entry), igId, this.logger);
  }

  async subscribe(igId: string, listener: EventListener): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('event bus closed');
    let listeners = this.channels.get(igId);
    if (!listeners) {
      listeners = new Set();
      this.channels.set(igId, listeners);
    }
    const set = listeners;
    // A wrapper per subscription, so one function subscribed twice is two subscriptions.
    const subscription: EventListener = (entry) => listener(entry);
    set.add(subscription);
    return async () => {
      set.delete(subscription);
      if (set.size === 0 && this.channels.get(igId) === set) this.channels.delete(igId);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
  }
}

/** `PUBLISH ARGV[2i-1] ARGV[2i]` for each pair, in order: the receivers of each. */
const PUBLISH = new Script(`
local out = {}
for i = 1, #ARGV, 2 do out[#out + 1] = redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return out
`);

/**
 * For each `KEYS[i]`, in order, with the four arguments `ARGV[4i-3..4i]` (channel, message,
 * value, TTL): `PUBLISH channel message`, then `SET KEYS[i] value EX TTL`. In one script, so that a key is set only once its message went out, with no round
 * trip between them; a script that fails midway (Redis out of memory refuses the SET) answers an
 * error, as if nothing had been published, and the caller's redelivery publishes again (at least
 * once).
 */
const PUBLISH_AND_SET = new Script(`
for i, key in ipairs(KEYS) do
  local a = 4 * (i - 1)
  redis.call('PUBLISH', ARGV[a + 1], ARGV[a + 2])
  redis.call('SET', key, ARGV[a + 3], 'EX', ARGV[a + 4])
end
return #KEYS
`);

/**
 * `PUBLISH` and `PUBLISH_AND_SET` on a Redis Cluster: sharded pub/sub (`SPUBLISH`, Redis 7), the
 * message sent on the shard that owns the channel's slot only; the channels are named in KEYS,
 * so that the script runs on that shard (with the keys of their account, which share the slot).
 * `KEYS[i]` a channel, `ARGV[i]` its message.
 */
const SPUBLISH = new Script(`
local out = {}
for i, channel in ipairs(KEYS) do out[i] = redis.call('SPUBLISH', channel, ARGV[i]) end
return out
`);

/** `KEYS[2i-1]` a channel, `KEYS[2i]` the key to set, `ARGV[3i-2..3i]` message, value, TTL. */
const SPUBLISH_AND_SET = new Script(`
for i = 1, #KEYS / 2 do
  local a = 3 * (i - 1)
  redis.call('SPUBLISH', KEYS[2 * i - 1], ARGV[a + 1])
  redis.call('SET', KEYS[2 * i], ARGV[a + 2], 'EX', ARGV[a + 3])
end
return #KEYS / 2
`);

/** When `onGap` is called again after a reconnection, in ms after it. */
const GAP_AGAIN_MS = [1000, 3000, 7000];

/** A key that `RedisEventBus.publishAndSet` sets once the message is published. */
export interface KeyToSet {
  readonly key: string;
  readonly value: string;
  readonly ttlSeconds: number;
}

interface Channel {
  readonly listeners: Set<EventListener>;
  /** The subscriptions' `onGap`s. */
  readonly gaps: Set<() => void>;
  /** node-redis's listener for the channel: one per channel, fanning out to `listeners`. */
  readonly onMessage: (message: string) => void;
  /** Settles when Redis has confirmed the SUBSCRIBE. */
  readonly ready: Promise<void>;
}

/**
 * Shared by every instance: publishes JSON on `<prefix>:events:<igId>` with the client passed
 * in (the publishes of one turn of the event loop in one script call, `perTick`), and receives on one dedicated connection (`client.duplicate()`, opened at the first
 * subscribe), subscribed once per account with a local listener set and unsubscribed when the
 * set empties. node-redis reconnects that connection with `reconnectDelay` and re-subscribes
 * after a reconnect; what was published during the gap is lost (REFERENCE.md). The subscriber
 * connection queues commands while offline, so a subscribe during an outage waits for Redis;
 * an unsubscribe stops delivery at once and does not wait.
 */
export class RedisEventBus implements EventBus {
  private readonly client: RedisClient;
  private readonly keys: Keyspace;
  private readonly logger: Logger;
  private readonly channels = new Map<string, Channel>();
  private subscriber: {
    readonly client: SingleClient;
    readonly connected: Promise<unknown>;
  } | null = null;
  private closed = false;
  /** The later calls of `onGap` after a reconnection (`GAP_AGAIN_MS`). */
  private readonly gapTimers = new Set<NodeJS.Timeout>();
  private readonly publishes: (message: [channel: string, json: string]) => Promise<unknown>;
  private readonly publishesAndSets: (
    message: [channel: string, json: string, then: KeyToSet],
  ) => Promise<unknown>;

  /**
   * `client`: a connected client for PUBLISH (the caller's to close); `prefix`: the deployment's
   * channel prefix (no default); `logger`: connection errors and throwing listeners.
   */
  constructor(client: RedisClient, prefix: string, logger: Logger) {
    this.client = client;
    this.keys = keyspace(prefix, isCluster(client));
    this.logger = logger;
    if (isCluster(client)) {
      // A node's connection (re)made: a shard's subscriptions may be moving to it.
      client.on('node-ready', this.reconnected);
      // One script per account's slot (its channel's hash tag) of a turn.
      const slot = ([channel]: readonly [string, ...unknown[]]) => slotGroup(channel);
      this.publishes = perTick(async (messages: [string, string][]) => {
        const channels = messages.map(([channel]) => channel);
        const args = messages.map(([, json]) => json);
        return (await SPUBLISH.run(client, channels, args)) as number[];
      }, slot);
      this.publishesAndSets = perTick(async (messages: [string, string, KeyToSet][]) => {
        const keys: string[] = [];
        const args: string[] = [];
        for (const [channel, json, then] of messages) {
          keys.push(channel, then.key);
          args.push(json, then.value, String(then.ttlSeconds));
        }
        await SPUBLISH_AND_SET.run(client, keys, args);
        await replicated(client, keys[1] ?? '');
        return messages.map(() => undefined);
      }, slot);
      return;
    }
    this.publishes = perTick(async (messages: [string, string][]) => {
      const args: string[] = [];
      for (const [channel, json] of messages) args.push(channel, json);
      return (await PUBLISH.run(client, [], args)) as number[];
    });
    this.publishesAndSets = perTick(async (messages: [string, string, KeyToSet][]) => {
      const keys: string[] = [];
      const args: string[] = [];
      for (const [channel, json, then] of messages) {
        keys.push(then.key);
        args.push(channel, json, then.value, String(then.ttlSeconds));
      }
      await PUBLISH_AND_SET.run(client, keys, args);
      return messages.map(() => undefined);
    });
  }

  async publish(igId: string, entry: LogEntry): Promise<void> {
    if (this.closed) throw new Error('event bus closed');
    await this.publishes([this.channelName(igId), entryJson(entry)]);
  }

  /**
   * Publishes as `publish` does and, in the same script, sets `then.key` (to `then.value`, EX
   * `then.ttlSeconds`) on this bus's Redis: the key is set if and only if the message went out
   * (the pipeline confirms an event's identity this way, without a round trip of its own).
   */
  async publishAndSet(igId: string, entry: LogEntry, then: KeyToSet): Promise<void> {
    if (this.closed) throw new Error('event bus closed');
    await this.publishesAndSets([this.channelName(igId), entryJson(entry), then]);
  }

  async subscribe(
    igId: string,
    listener: EventListener,
    onGap?: () => void,
  ): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('event bus closed');
    let channel = this.channels.get(igId);
    if (!channel) {
      const listeners = new Set<EventListener>();
      const onMessage = (message: string) => deliver(listeners, message, igId, this.logger);
      const ready = this.listen(this.channelName(igId), onMessage);
      const created: Channel = { listeners, gaps: new Set(), onMessage, ready };
      ready.catch(() => {
        if (this.channels.get(igId) === created) this.channels.delete(igId);
      });
      this.channels.set(igId, created);
      channel = created;
    }
    const { listeners, gaps, ready } = channel;
    const subscription: EventListener = (entry) => listener(entry);
    const gap = onGap && (() => onGap());
    listeners.add(subscription);
    if (gap) gaps.add(gap);
    try {
      await ready;
    } catch (err) {
      listeners.delete(subscription);
      if (gap) gaps.delete(gap);
      throw err;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      listeners.delete(subscription);
      if (gap) gaps.delete(gap);
      if (listeners.size > 0 || this.channels.get(igId) !== channel) return;
      this.channels.delete(igId);
      // Delivery has already stopped (the set is empty): UNSUBSCRIBE is tidying, and is not
      // awaited, as during an outage it would wait for Redis to come back.
      this.unlisten(this.channelName(igId), channel.onMessage).catch((err: unknown) => {
        if (!this.closed) this.logger.warn({ err, igId }, 'redis unsubscribe failed');
      });
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.gapTimers) clearTimeout(timer);
    this.gapTimers.clear();
    if (isCluster(this.client)) this.client.off('node-ready', this.reconnected);
    const client = this.subscriber?.client;
    if (isCluster(this.client)) {
      // The cluster client's own shard connections carry the subscriptions: leave them, as the
      // client stays its owner's.
      await Promise.all(
        [...this.channels].map(([igId, channel]) =>
          this.unlisten(this.channelName(igId), channel.onMessage).catch(() => {}),
        ),
      );
    }
    this.channels.clear();
    this.subscriber = null;
    if (client) await closeClient(client);
  }

  /** The account's channel. */
  channelOf(igId: string): string {
    return eventsChannel(this.keys, igId);
  }

  private channelName(igId: string): string {
    return this.channelOf(igId);
  }

  /**
   * The bus's connection came back: each subscription's `onGap`, now and `GAP_AGAIN_MS` later (a
   * cluster restores its sharded subscriptions on a promoted replica up to a second or so after
   * its connection is ready, and a publish can fall in between).
   */
  private readonly reconnected = (): void => {
    if (this.closed || this.channels.size === 0) return;
    const announce = () => {
      for (const channel of this.channels.values()) for (const gap of channel.gaps) gap();
    };
    announce();
    for (const ms of GAP_AGAIN_MS) {
      const timer = setTimeout(() => {
        this.gapTimers.delete(timer);
        announce();
      }, ms);
      timer.unref();
      this.gapTimers.add(timer);
    }
  };

  /**
   * Subscribes `onMessage` to `channel`: on one server, on this bus's own connection; on a
   * cluster, with `SSUBSCRIBE` on the connection node-redis keeps to the channel's shard (which
   * it moves to the new primary after a failover or a slot migration, and subscribes again).
   */
  private async listen(channel: string, onMessage: (message: string) => void): Promise<void> {
    if (isCluster(this.client)) return this.client.sSubscribe(channel, onMessage);
    const { client, connected } = this.connection(this.client);
    await connected;
    await client.subscribe(channel, onMessage);
  }

  private async unlisten(channel: string, onMessage: (message: string) => void): Promise<void> {
    if (isCluster(this.client)) return this.client.sUnsubscribe(channel, onMessage);
    await this.subscriber?.client.unsubscribe(channel, onMessage);
  }

  private connection(from: SingleClient): {
    readonly client: SingleClient;
    readonly connected: Promise<unknown>;
  } {
    if (this.subscriber) return this.subscriber;
    const client = from.duplicate({
      disableOfflineQueue: false,
      socket: { ...from.options?.socket, reconnectStrategy: reconnectDelay },
    });
    watchConnection(client, this.logger, 'redis subscriber');
    // node-redis subscribes again on each reconnection; what was published meanwhile is lost.
    let connectedBefore = false;
    client.on('ready', () => {
      if (connectedBefore) this.reconnected();
      connectedBefore = true;
    });
    this.subscriber = { client, connected: client.connect() };
    return this.subscriber;
  }
}

/** Parses one published message and calls each listener with it. */
function deliver(
  listeners: ReadonlySet<EventListener>,
  message: string,
  igId: string,
  logger: Logger,
): void {
  let entry: LogEntry;
  try {
    const parsed = JSON.parse(message) as LogEntry;
    // Published by an instance that may run an older igql.
    entry = { ...parsed, event: upgradeEvent(parsed.event) };
  } catch (err) {
    logger.warn({ err, igId }, 'unreadable message on the event bus');
    return;
  }
  for (const listener of [...listeners]) {
    try {
      listener(entry);
    } catch (err) {
      logger.error({ err, igId }, 'event listener failed');
    }
  }
}
