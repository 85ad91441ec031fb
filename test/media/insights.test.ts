import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import { DAY, HOUR, type SimAccount, type SimUser } from '../../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import type { Loose } from './loose.ts';

// The same for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let token: string;
  let shop: SimAccount;
  let ana: SimUser;

  function seed(sim: Simulator): void {
    const { store } = sim;
    shop = addAccountOf(sim, kind, { username: 'northwind.shop', followersCount: 1200 }).account;
    ana = store.addUser(shop.igId, { username: 'ana.costa' });
    store.addMedia(shop.igId, { id: '18000000000000001', likeCount: 40, timestamp: T0 - 3 * HOUR });
    store.addComment('18000000000000001', {
      fromIgsid: ana.igsid,
      fromUsername: 'ana.costa',
      text: 'Lovely',
    });
    store.addMedia(shop.igId, {
      id: '18000000000000002',
      mediaProductType: 'REELS',
      likeCount: 100,
      timestamp: T0 - 2 * HOUR,
    });
    // A story seen by fewer than 5: Instagram answers error 10.
    store.addMedia(shop.igId, {
      id: '18000000000000003',
      mediaProductType: 'STORY',
      timestamp: T0 - HOUR,
    });
  }

  beforeAll(async () => {
    gw = await startGateway(seed);
    token = await gw.session([shop.igId]);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  describe('Media.insights', () => {
    it('reads the metrics of each media on a page, one call per media', async () => {
      let body: Loose;
      const calls = await gw.upstreamCalls(async () => {
        ({ body } = await gw.query<Loose>(
          token,
          `{ viewer { media { nodes { mediaId
            insights(metrics: [REACH, LIKES, COMMENTS, SAVED, TOTAL_INTERACTIONS]) { metric value } } } } }`,
        ));
      });
      expect(body.errors).toBeUndefined();
      expect(calls).toBe(3);
      expect(body.data.viewer.media.nodes).toEqual([
        {
          mediaId: '18000000000000002',
          insights: [
            { metric: 'REACH', value: 700 },
            { metric: 'LIKES', value: 100 },
            { metric: 'COMMENTS', value: 0 },
            { metric: 'SAVED', value: 10 },
            { metric: 'TOTAL_INTERACTIONS', value: 115 },
          ],
        },
        {
          mediaId: '18000000000000001',
          insights: [
            { metric: 'REACH', value: 281 },
            { metric: 'LIKES', value: 40 },
            { metric: 'COMMENTS', value: 1 },
            { metric: 'SAVED', value: 4 },
            { metric: 'TOTAL_INTERACTIONS', value: 47 },
          ],
        },
      ]);
    });

    it('refuses a metric the product type does not have, before any insights call', async () => {
      gw.sim.resetRequests();
      let body: Loose;
      const calls = await gw.upstreamCalls(async () => {
        ({ body } = await gw.query<Loose>(
          token,
          `query ($id: ID!) { node(id: $id) { ... on Media { insights(metrics: [VIEWS, NAVIGATION]) { value } } } }`,
          { id: globalId.media(shop.igId, '18000000000000002') },
        ));
      });
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: 'A REELS media has no NAVIGATION insights',
          extensions: { code: 'BAD_USER_INPUT', argument: 'metrics' },
        }),
      ]);
      // The node read only (with its product type); no insights call.
      expect(calls).toBe(1);
      expect(gw.sim.count('GET /{id}/insights')).toBe(0);
    });

    it('gives null values for a story with too few viewers', async () => {
      const { body } = await gw.query<Loose>(
        token,
        `query ($id: ID!) { node(id: $id) { ... on Media { insights(metrics: [REACH, REPLIES]) { metric value } } } }`,
        { id: globalId.media(shop.igId, '18000000000000003') },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.node.insights).toEqual([
        { metric: 'REACH', value: null },
        { metric: 'REPLIES', value: null },
      ]);
    });
  });

  describe('Account.insights', () => {
    it('reads totals and the follower series over a range', async () => {
      gw.sim.resetRequests();
      const { body } = await gw.query<Loose>(
        token,
        `query ($since: DateTime!, $until: DateTime!) { viewer {
          insights(metrics: [LIKES, REACH, FOLLOWER_COUNT], since: $since, until: $until) {
            metric total series { value endTime } } } }`,
        { since: new Date(T0 - 2 * DAY).toISOString(), until: new Date(T0).toISOString() },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.viewer.insights).toEqual([
        { metric: 'LIKES', total: 140, series: [] },
        { metric: 'REACH', total: 981, series: [] },
        {
          metric: 'FOLLOWER_COUNT',
          total: null,
          series: [
            { value: 1200, endTime: new Date(T0 - DAY).toISOString() },
            { value: 1200, endTime: new Date(T0).toISOString() },
          ],
        },
      ]);
      const last = gw.sim.requests.filter((r) => r.endpoint === '/{id}/insights');
      expect(last.map((r) => r.query.metric).sort()).toEqual(['follower_count', 'likes,reach']);
    });

    it('refuses a period other than DAY and a range over 30 days, before any call', async () => {
      const calls = await gw.upstreamCalls(async () => {
        const week = await gw.query<Loose>(
          token,
          '{ viewer { insights(metrics: [REACH], period: WEEK) { total } } }',
        );
        expect(week.body.errors?.[0]?.extensions).toEqual({
          code: 'BAD_USER_INPUT',
          argument: 'period',
        });
        const long = await gw.query<Loose>(
          token,
          'query ($s: DateTime!) { viewer { insights(metrics: [REACH], since: $s) { total } } }',
          { s: new Date(T0 - 31 * DAY).toISOString() },
        );
        expect(long.body.errors?.[0]?.extensions).toEqual({
          code: 'BAD_USER_INPUT',
          argument: 'since',
        });
      });
      expect(calls).toBe(0);
    });
  });

  describe('Account.publishingLimit', () => {
    it('reads the rolling 24-hour publishing quota', async () => {
      const { body } = await gw.query<Loose>(
        token,
        '{ viewer { publishingLimit { used total windowSeconds } } }',
      );
      expect(body.data.viewer.publishingLimit).toEqual({
        used: 0,
        total: 100,
        windowSeconds: 86400,
      });
    });
  });
});
