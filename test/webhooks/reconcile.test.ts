import { describe, expect, it } from 'vitest';
import { attachment } from '../../src/inbox/attachments.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import type { GraphConversation, GraphList, InstagramApi } from '../../src/instagram/graph.ts';
import { createLogger } from '../../src/logger.ts';
import type { EventPipeline } from '../../src/webhooks/pipeline.ts';
import { REQUIRED_FIELDS, Reconciler } from '../../src/webhooks/reconcile.ts';

const IG = '17841400000000001';
const IGSID = '5614879045272581';
const NOW = Date.parse('2026-11-20T12:00:00Z');

/** One run over one conversation of `page`; the events it ingested. */
async function reconcile(page: GraphList<GraphConversation>): Promise<InboxEventData[]> {
  const ingested: InboxEventData[] = [];
  const api = {
    subscribedFields: async () => [...REQUIRED_FIELDS],
    subscribe: async () => {},
    conversations: async () => page,
  } as unknown as InstagramApi;
  const pipeline = {
    onStored: () => {},
    ingest: async (events: InboxEventData[]) => {
      ingested.push(...events);
      return [];
    },
  } as unknown as EventPipeline;
  const counter = { inc: () => {}, set: () => {} } as never;
  const reconciler = new Reconciler({
    api,
    tokens: { list: async () => [{ igId: IG, accessToken: 't', status: 'ACTIVE' }] } as never,
    pipeline,
    logger: createLogger('silent'),
    metrics: { reconciled: counter, resubscriptions: counter, lastRun: counter },
    lock: { acquire: async () => true },
    now: () => NOW,
  });
  await reconciler.runOnce();
  return ingested;
}

describe('reconciliation', () => {
  it('gives a message read from Graph as its event, classified as a query classifies it', async () => {
    const events = await reconcile({
      data: [
        {
          id: 'c.1',
          updated_time: '2026-11-20T11:59:00+0000',
          participants: { data: [{ id: IG }, { id: IGSID }] },
          messages: {
            data: [
              {
                id: 'm.1',
                created_time: '2026-11-20T11:59:00+0000',
                from: { id: IGSID, username: 'ana.costa' },
                to: { data: [{ id: IG }] },
                // A shared link that is no permalink: SHARE, as a query says (before: POST).
                shares: { data: [{ link: 'https://example.com/news/article' }] },
              },
            ],
          },
        },
      ],
    });
    expect(events).toEqual([
      {
        kind: 'MESSAGE_RECEIVED',
        igId: IG,
        igsid: IGSID,
        occurredAt: Date.parse('2026-11-20T11:59:00Z'),
        identity: `${IG}|MESSAGE_RECEIVED|m.1||`,
        standby: false,
        message: {
          mid: 'm.1',
          createdTime: Date.parse('2026-11-20T11:59:00Z'),
          detailAvailable: true,
          from: { igsid: IGSID, username: 'ana.costa' },
          to: [{ igsid: IG, username: null }],
          text: null,
          attachments: [attachment('SHARE', 'https://example.com/news/article')],
          reactions: [],
          replyTo: null,
          isUnsupported: false,
        },
        quickReplyPayload: null,
        referral: null,
        isSelf: false,
      },
    ]);
  });

  it('an account’s own message is MESSAGE_SENT to the customer; one without detail is skipped', async () => {
    const events = await reconcile({
      data: [
        {
          id: 'c.1',
          updated_time: '2026-11-20T11:59:30+0000',
          participants: { data: [{ id: IG }, { id: IGSID }] },
          messages: {
            data: [
              {
                id: 'm.2',
                created_time: '2026-11-20T11:59:30+0000',
                from: { id: IG },
                to: { data: [{ id: IGSID }] },
                message: 'Yes!',
              },
              { id: 'm.old', created_time: '2026-11-20T11:59:10+0000' },
            ],
          },
        },
      ],
    });
    expect(events.map((e) => [e.kind, e.igsid, 'message' in e && e.message.text])).toEqual([
      ['MESSAGE_SENT', IGSID, 'Yes!'],
    ]);
  });
});
