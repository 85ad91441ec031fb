/**
 * Live events in log order when publishes come out of it: an event appended before another but
 * published after it (the pipeline's two paths on one instance, or two instances) still reaches a
 * live subscriber, in its place. A fresh account tail starts at the log's newest event
 * (`EventLog.newest`), not at the first publish it hears.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { RedisEventBus } from '../../src/pubsub/bus.ts';
import { LiveEvents } from '../../src/pubsub/live.ts';
import type { EventLog } from '../../src/pubsub/log.ts';
import { createSharedState, type SharedState } from '../../src/state.ts';
import { needsCompletion } from '../../src/webhooks/enrich.ts';
import { EventPipeline } from '../../src/webhooks/pipeline.ts';
import { messageReceived } from '../helpers/inbox-events.ts';
import { useRedisServer } from '../helpers/redis.ts';
import { watchSubscriber } from '../helpers/subscribers.ts';

const redis = useRedisServer();
const logger = createLogger('silent');
const A = '17841400000000001';
const NOW = Date.parse('2026-11-20T12:00:00Z');
let prefixes = 0;

const message = (n: number) => messageReceived(n, { igId: A, at: NOW - 1000 + n });
/** A read without sender: it needs completing, so its delivery goes step by step. */
const seen: InboxEventData = {
  kind: 'MESSAGES_SEEN',
  igId: A,
  igsid: null,
  occurredAt: NOW - 10,
  identity: `${A}|MESSAGES_SEEN|mid.s||`,
  standby: false,
  mid: 'mid.s',
} as InboxEventData;

/** Shared state on the test's Redis, under `prefix` (instances of one deployment share it). */
async function instance(prefix: string): Promise<SharedState> {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  return createSharedState(config, { client: await redis.connect() } as never, logger, prefix);
}

/** A pipeline over `state`, with the one-step path when `oneStep`. */
function pipeline(
  state: SharedState,
  o: { oneStep: boolean; log?: EventLog; publishAndConfirm?: SharedState['publishAndConfirm'] },
): EventPipeline {
  const publishAndConfirm = o.publishAndConfirm ?? state.publishAndConfirm;
  return new EventPipeline({
    deduper: state.deduper,
    log: o.log ?? state.log,
    bus: state.bus,
    logger,
    counter: createMetrics().inboxEvents,
    now: () => NOW,
    ...(publishAndConfirm ? { publishAndConfirm } : {}),
    ...(o.oneStep && state.storeAndPublish ? { storeAndPublish: state.storeAndPublish } : {}),
    needsCompletion,
    complete: async (events) => [...events],
  });
}

/**
 * A live stream of the account from now (no cursor), established: the identities it receives,
 * in order, and `until(identity)`, which resolves once that one arrived.
 */
async function watch(state: SharedState, igId: string) {
  const live = new LiveEvents(state.log, state.bus, logger);
  const got: string[] = [];
  const waiters = new Map<string, () => void>();
  const subscribed = watchSubscriber();
  const stream = live.stream(igId, undefined);
  const pulled = (async () => {
    for await (const { event } of stream) {
      got.push(event.identity);
      waiters.get(event.identity)?.();
    }
  })();
  await subscribed.established;
  return {
    got,
    until: (identity: string) =>
      got.includes(identity)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.set(identity, resolve)),
    async close() {
      await stream.return?.();
      await pulled;
      await state.bus.close();
    },
  };
}

describe('one instance: a step-by-step event appended before a one-step one, published after it', () => {
  for (const tail of ['fresh', 'warm'] as const) {
    it(`reaches a live subscriber whose account tail is ${tail}, in log order`, async () => {
      const state = await instance(`order${++prefixes}`);
      const oneStep = pipeline(state, { oneStep: true });
      // The step-by-step delivery's append is sent; in the same turn a delivery of a new message
      // comes in, and the one script stores and publishes it before the read is published.
      let racing: Promise<unknown> | undefined;
      const log: EventLog = Object.create(state.log);
      log.appendAll = (igId, events) => {
        const appended = state.log.appendAll?.(igId, events) ?? Promise.resolve([]);
        racing ??= oneStep.accept([message(2)]);
        return appended;
      };
      const stepByStep = pipeline(state, { oneStep: false, log });
      const subscriber = await watch(state, A);
      try {
        if (tail === 'warm') {
          await oneStep.accept([message(1)]);
          await subscriber.until(message(1).identity);
        }

        await stepByStep.accept([seen]);
        await racing;
        await oneStep.accept([message(3)]);
        await subscriber.until(message(3).identity);

        expect(subscriber.got).toEqual([
          ...(tail === 'warm' ? [message(1).identity] : []),
          seen.identity,
          message(2).identity,
          message(3).identity,
        ]);
      } finally {
        await subscriber.close();
      }
    });
  }
});

it('two instances: an event appended first and published last reaches a fresh tail on a third', async () => {
  const prefix = `order${++prefixes}`;
  const [first, second, third] = [
    await instance(prefix),
    await instance(prefix),
    await instance(prefix),
  ];
  // The first instance appends message 1, then waits to publish it until the second appended,
  // published and delivered message 2.
  let appended: () => void = () => {};
  const isAppended = new Promise<void>((resolve) => {
    appended = resolve;
  });
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const one = pipeline(first, {
    oneStep: false,
    publishAndConfirm: async (entry) => {
      appended();
      await released;
      await first.publishAndConfirm?.(entry);
    },
  });
  const two = pipeline(second, { oneStep: false });
  const subscriber = await watch(third, A);
  try {
    const delivering = one.accept([message(1)]);
    await isAppended;
    await two.accept([message(2)]);
    await subscriber.until(message(2).identity);
    release();
    await delivering;
    await two.accept([message(3)]);
    await subscriber.until(message(3).identity);

    expect(subscriber.got).toEqual([message(1), message(2), message(3)].map((m) => m.identity));
  } finally {
    await subscriber.close();
    await Promise.all([first.bus.close(), second.bus.close()]);
  }
});

it("an event published while the bus's connection was down reaches a subscriber with no later event", async () => {
  const state = await instance(`order${++prefixes}`);
  const oneStep = pipeline(state, { oneStep: true });
  const subscriber = await watch(state, A);
  try {
    await oneStep.accept([message(1)]);
    await subscriber.until(message(1).identity);
    // The bus's subscriber connection drops (a restart, a failover, a network blip), and stays
    // away (Redis turns new connections down: maxclients) while the account's next event is
    // stored and published: the publish reaches nobody.
    const admin = await redis.connect();
    const connections = String(await admin.sendCommand(['CLIENT', 'LIST']))
      .trim()
      .split('\n');
    await admin.configSet('maxclients', String(connections.length - 1));
    try {
      expect(await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toBe(1);
      await oneStep.accept([message(2)]);
      const channel = state.bus instanceof RedisEventBus ? state.bus.channelOf(A) : '';
      expect(await admin.sendCommand(['PUBSUB', 'NUMSUB', channel])).toEqual([channel, 0]);
    } finally {
      await admin.configSet('maxclients', '10000');
    }
    // Nothing comes after it: the tail reads the log once the connection is back.
    await subscriber.until(message(2).identity);
    expect(subscriber.got).toEqual([message(1).identity, message(2).identity]);
  } finally {
    await subscriber.close();
  }
});
