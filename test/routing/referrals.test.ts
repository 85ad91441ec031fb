import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { SimAccount, SimPage, SimToken, SimUser } from '../../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { subscribeInbox } from '../helpers/inbox-events.ts';

/**
 * Issue 16: typed ad referrals on events, the first one kept as `Conversation.origin`, and a
 * thread owner that a handover webhook updates without a new read.
 */

const BOT = '2000000000000002';
const IGQL = '1000000000000001';

// The same for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let shop: SimAccount;
  let page: SimPage | undefined;
  let ana: SimUser;
  let bea: SimUser;
  let botToken: SimToken;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      ({ account: shop, page } = addAccountOf(sim, kind, { username: 'northwind.shop' }));
      ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
      bea = sim.store.addUser(shop.igId, { username: 'bea.lima' });
      sim.store.addMessage(shop.igId, bea.igsid, {
        fromId: bea.igsid,
        text: 'Hi',
        createdTime: T0 - 60_000,
      });
      sim.routing.connect(shop.igId, { id: BOT, name: 'Shop bot' });
      sim.routing.setOwner(shop.igId, bea.igsid, BOT);
      botToken = sim.routing.tokenFor(shop.igId, BOT);
    });
    token = await gw.session([shop.igId]);
  });
  afterAll(() => gw.stop());

  const REFERRAL = 'ref source referralType adId adTitle photoUrl videoUrl postId';
  const EVENTS = `subscription ($a: ID!) {
    inboxEvents(accountId: $a) {
      type
      ... on MessageReceivedEvent { message { text } adReferral { ${REFERRAL} } }
      ... on ReferralReceivedEvent { ${REFERRAL} referral { adId } }
      ... on ThreadControlChangedEvent { action newOwner { kind appId } }
    }
  }`;

  type Event = Record<string, unknown>;

  /** The account's inbox events over graphql-ws, once igql established the subscriber. */
  const subscribe = () =>
    subscribeInbox<Event>(gw.url, token, globalId.account(shop.igId), { query: EVENTS });

  const AD = {
    ref: 'spring',
    source: 'ADS',
    referralType: 'OPEN_THREAD',
    adId: '6000000000001',
    adTitle: 'Spring sale',
    photoUrl: 'https://scontent.cdninstagram.com/ad.jpg',
    videoUrl: null,
    postId: '18000000000000042',
  };

  it('types ad referrals on both events and keeps the first as the conversation’s origin', async () => {
    const inbox = await subscribe();
    // A new thread from an ad: its first message carries the referral.
    gw.sim.users.sendMessage(shop.igId, ana.igsid, {
      text: 'Is it available?',
      referral: {
        ref: 'spring',
        adId: '6000000000001',
        source: 'ADS',
        type: 'OPEN_THREAD',
        adsContextData: {
          adTitle: 'Spring sale',
          photoUrl: 'https://scontent.cdninstagram.com/ad.jpg',
          postId: '18000000000000042',
        },
      },
    });
    gw.sim.clock.advance(1000);
    // Later, another ad opens the same thread: a `messaging_referral`, in WHX's exact shape.
    gw.sim.users.adReferral(shop.igId, ana.igsid, {
      adId: '6000000000002',
      adsContextData: { adTitle: 'Summer', videoUrl: 'https://scontent.cdninstagram.com/ad.mp4' },
    });
    expect(await inbox.next(2)).toEqual([
      { type: 'MESSAGE_RECEIVED', message: { text: 'Is it available?' }, adReferral: AD },
      {
        type: 'REFERRAL_RECEIVED',
        ref: null,
        source: 'ADS',
        referralType: 'OPEN_THREAD',
        adId: '6000000000002',
        adTitle: 'Summer',
        photoUrl: null,
        videoUrl: 'https://scontent.cdninstagram.com/ad.mp4',
        postId: null,
        referral: { adId: '6000000000002' },
      },
    ]);
    await inbox.dispose();
    // The `messaging_referral` item the simulator sent, in WHX's exact shape.
    await gw.sim.webhooks.idle();
    const items = gw.sim.webhooks.deliveries.flatMap((d) =>
      d.parsed.entry.flatMap((e) => ('messaging' in e ? e.messaging : [])),
    );
    expect(items.filter((i) => 'referral' in i).map((i) => i.referral)).toEqual([
      {
        ad_id: '6000000000002',
        source: 'ADS',
        type: 'OPEN_THREAD',
        ads_context_data: {
          ad_title: 'Summer',
          video_url: 'https://scontent.cdninstagram.com/ad.mp4',
        },
      },
    ]);

    const origins = await gw.query(
      token,
      `{ viewer { conversations(first: 5) { nodes { participants { username } origin { ${REFERRAL} } } } } }`,
    );
    const nodes = (
      origins.body as { data: { viewer: { conversations: { nodes: Record<string, unknown>[] } } } }
    ).data.viewer.conversations.nodes;
    expect(
      nodes.map((n) => [
        (n.participants as { username: string }[]).map((p) => p.username).sort(),
        n.origin,
      ]),
    ).toEqual([
      [['ana.costa', 'northwind.shop'], AD],
      [['bea.lima', 'northwind.shop'], null],
    ]);
  });

  it('a handover webhook updates Conversation.threadOwner without a new read', async () => {
    const OWNER = `{ viewer { conversations(first: 5, withUser: "${globalId.participant(shop.igId, bea.igsid)}") { nodes { threadOwner { kind appId } } } } }`;
    const owner = async () =>
      (
        (await gw.query(token, OWNER)).body as {
          data: { viewer: { conversations: { nodes: { threadOwner: unknown }[] } } };
        }
      ).data.viewer.conversations.nodes[0]?.threadOwner;
    const reads = () => gw.sim.count('GET /{id}/thread_owner');
    const before = reads();
    expect(await owner()).toEqual({ kind: 'OTHER_APP', appId: BOT });
    expect(await owner()).toEqual({ kind: 'OTHER_APP', appId: BOT });
    // Read once, then shared across requests.
    expect(reads() - before).toBe(1);

    // The bot hands the thread to igql's app, calling Instagram itself: igql hears of it by webhook.
    const inbox = await subscribe();
    // On the account's messaging node: the Page on graph.facebook.com for Facebook Login.
    const node = page ? `facebook/v27.0/${page.id}` : `v27.0/${shop.igId}`;
    const res = await fetch(`${gw.sim.url}/${node}/pass_thread_control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${botToken.token}` },
      body: JSON.stringify({ recipient: { id: bea.igsid }, target_app_id: IGQL }),
    });
    expect(res.status).toBe(200);
    expect(await inbox.next(1)).toEqual([
      {
        type: 'THREAD_CONTROL_CHANGED',
        action: 'PASS',
        newOwner: { kind: 'THIS_APP', appId: IGQL },
      },
    ]);
    await inbox.dispose();
    expect(await owner()).toEqual({ kind: 'THIS_APP', appId: IGQL });
    expect(reads() - before).toBe(1);

    // igql's own pass back is known at once, before its webhook.
    const pass = await gw.query(
      token,
      `mutation($i: PassThreadControlInput!) { passThreadControl(input: $i) { ok } }`,
      {
        i: {
          accountId: globalId.account(shop.igId),
          recipientId: globalId.participant(shop.igId, bea.igsid),
          targetAppId: BOT,
        },
      },
    );
    expect(pass.body).toEqual({ data: { passThreadControl: { ok: true } } });
    expect(await owner()).toEqual({ kind: 'OTHER_APP', appId: BOT });
    expect(reads() - before).toBe(1);
  });
});
