/**
 * The pipeline's choice of path (src/services.ts): a delivery goes step by step, through
 * `complete`, when one of its events `needsCompletion` or `tellsConversationState`; else it is
 * stored in one script, and `complete` never sees it. So the two predicates must say exactly what
 * `eventCompleter` reads and what `recordConversationState` writes, for every event Instagram
 * sends; and the services, on Redis, must choose by both.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import {
  type ConversationStateStore,
  recordConversationState,
  tellsConversationState,
} from '../../src/inbox/conversation-state.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';
import { createServices } from '../../src/services.ts';
import { eventCompleter, needsCompletion } from '../../src/webhooks/enrich.ts';
import { normalise } from '../../src/webhooks/normalise.ts';
import { fixture, fixtureNames } from '../helpers/fixtures.ts';
import { useRedisServer } from '../helpers/redis.ts';

const redis = useRedisServer();
const logger = createLogger('silent');
const NOW = Date.parse('2026-11-20T12:00:00Z');
const IG = '17841400000000001';
const ANA = '5614879045272581';

/**
 * An edit without text of another account: `eventCompleter` reads nothing for a delivery none of
 * whose events needs it, so each event is completed beside this one, and what it reads is told
 * apart by the account it asks a token of.
 */
const companion = {
  kind: 'MESSAGE_EDITED',
  igId: 'companion',
  igsid: null,
  occurredAt: NOW,
  identity: 'companion',
  standby: false,
  mid: 'mid.companion',
  numEdit: 1,
  text: null,
} as InboxEventData;

/** Whether `eventCompleter` reads anything for the event: it asks for its account's token first. */
async function reads(event: InboxEventData): Promise<boolean> {
  const asked: string[] = [];
  const complete = eventCompleter({
    api: {} as never,
    tokens: {
      get: async (igId: string) => {
        asked.push(igId);
        return undefined;
      },
    } as never,
    logger,
  });
  await complete([event, companion]);
  if (!asked.includes(companion.igId)) throw new Error('the companion was not completed');
  return asked.includes(event.igId);
}

/** Whether `recordConversationState` writes anything for the event. */
async function writes(event: InboxEventData): Promise<boolean> {
  const written: string[] = [];
  const store: ConversationStateStore = {
    threadOwner: async () => undefined,
    origin: async () => null,
    setThreadOwner: async () => {
      written.push('owner');
    },
    keepOrigin: async () => {
      written.push('origin');
    },
  };
  await recordConversationState(store, [event], logger);
  return written.length > 0;
}

/** The event, and what Instagram may also send of its kind: no customer, standby, a referral, … */
function variants(event: InboxEventData): InboxEventData[] {
  const all = [event, { ...event, igsid: null }, { ...event, standby: true }] as InboxEventData[];
  if (event.kind === 'MESSAGE_RECEIVED' || event.kind === 'MESSAGE_SENT') {
    all.push(
      { ...event, referral: { ref: 'spring', source: 'ADS', type: 'OPEN_THREAD' } },
      { ...event, referral: {} },
    );
  }
  if (event.kind === 'MESSAGE_EDITED') {
    all.push({ ...event, text: 'hi' }, { ...event, numEdit: 0, text: null });
  }
  return all;
}

/** One `messaging` item (or `standby` one) to the account, in a delivery of its own. */
const delivery = (item: Record<string, unknown>, field = 'messaging') => ({
  object: 'instagram',
  entry: [{ id: IG, time: NOW, [field]: [{ timestamp: NOW, ...item }] }],
});
const parties = { sender: { id: ANA }, recipient: { id: IG } };

/**
 * Kinds the stored fixtures lack, built from the shapes of instagram-api.md (§4 referrals,
 * `messaging_handover`, `message_edit` and `read` without sender): handovers, referrals in
 * standby, on a postback and on a message, an opt-in, edits with and without text.
 */
const built = [
  delivery({ ...parties, pass_thread_control: { new_owner_app_id: '999', metadata: 'm' } }),
  delivery({ ...parties, take_thread_control: { previous_owner_app_id: '999' } }),
  delivery({ ...parties, request_thread_control: { requested_owner_app_id: '999' } }),
  delivery({ ...parties, referral: { ref: 'r', source: 'IGME', type: 'OPEN_THREAD' } }, 'standby'),
  delivery({
    ...parties,
    postback: {
      title: 't',
      payload: 'p',
      referral: { ref: 'r', source: 'IGME', type: 'OPEN_THREAD' },
    },
  }),
  delivery({ ...parties, optin: { ref: 'r' } }),
  delivery({
    ...parties,
    message: {
      mid: 'mid.ad',
      text: 'x',
      referral: { ref: 'r', source: 'ADS', type: 'OPEN_THREAD', ad_id: '5' },
    },
  }),
  delivery({ message_edit: { mid: 'mid.e', num_edit: 1 } }),
  delivery({ ...parties, message_edit: { mid: 'mid.e', num_edit: 2, text: 'x' } }),
  delivery({ read: { mid: 'mid.r' } }),
];

describe('the one-step path predicate', () => {
  // Each predicate exactly: so their union is true exactly when `complete` does anything.
  it('needsCompletion says what eventCompleter reads, tellsConversationState what is recorded', async () => {
    const bodies = [
      ...fixtureNames()
        .filter((name) => name.startsWith('webhook-'))
        .map(fixture),
      ...built,
    ];
    const wrong: unknown[] = [];
    const cases = new Set<string>();
    for (const body of bodies) {
      for (const event of normalise(body, NOW).flatMap(variants)) {
        const [read, written] = [await reads(event), await writes(event)];
        cases.add(`${read ? 'reads' : 'no read'}, ${written ? 'writes' : 'no write'}`);
        if (needsCompletion(event) !== read || tellsConversationState(event) !== written) {
          wrong.push({ event, read, written });
        }
      }
    }

    expect(wrong).toEqual([]);
    // Every case is met: the predicates are tried both ways.
    expect([...cases].sort()).toEqual(['no read, no write', 'no read, writes', 'reads, no write']);
  });
});

// With Redis, a delivery none of whose events the services' predicate picks is stored in one
// script, without `complete`: referrals and handovers must be picked, to be recorded.
it('records origins and owners from deliveries through the services on Redis', async () => {
  const services = createServices({
    config: loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: redis.server().url }),
    logger: createLogger('silent'),
    redisPrefix: 'igql-services',
    now: () => NOW,
  });
  services.redis?.connect();
  await services.redis?.ready(5000);
  const [BEN, CLEO] = ['5614879045272582', '5614879045272583'];
  const accept = (igsid: string, item: Record<string, unknown>) =>
    services.pipeline.accept(
      normalise(delivery({ sender: { id: igsid }, recipient: { id: IG }, ...item }), NOW),
    );
  try {
    expect(services.state.storeAndPublish).toBeDefined();

    const accepted = [
      await accept(ANA, { referral: { ref: 'spring', source: 'IGME', type: 'OPEN_THREAD' } }),
      await accept(BEN, {
        message: {
          mid: 'mid.ad',
          text: 'Is it still on sale?',
          referral: { ref: 'sale', source: 'ADS', type: 'OPEN_THREAD', ad_id: '6000000000001' },
        },
      }),
      await accept(CLEO, {
        pass_thread_control: { new_owner_app_id: '999', metadata: 'to the bot' },
      }),
    ];

    expect(accepted.map((a) => a.entries.map((e) => e.event.kind))).toEqual([
      ['REFERRAL_RECEIVED'],
      ['MESSAGE_RECEIVED'],
      ['THREAD_CONTROL_CHANGED'],
    ]);
    const { conversations } = services.state;
    const link = { adId: null, adTitle: null, photoUrl: null, videoUrl: null, postId: null };
    expect(await conversations.origin(IG, ANA)).toEqual({
      ...link,
      ref: 'spring',
      source: 'IGME',
      type: 'OPEN_THREAD',
    });
    expect(await conversations.origin(IG, BEN)).toEqual({
      ...link,
      ref: 'sale',
      source: 'ADS',
      type: 'OPEN_THREAD',
      adId: '6000000000001',
    });
    expect(await conversations.threadOwner(IG, CLEO)).toBe('999');
  } finally {
    await services.close();
  }
});
