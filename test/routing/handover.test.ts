import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimToken, SimUser } from '../../src/sandbox/store.ts';
import { addAccountOf, CONFIGURATIONS } from '../helpers/configurations.ts';
import { fixture } from '../helpers/fixtures.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { subscribeInbox } from '../helpers/inbox-events.ts';

/**
 * Issue 16, "Done when": a bot app owns a thread, igql's app receives it on standby, is refused
 * with NotThreadOwnerError, takes control, sends, and passes control back, each step an event.
 */

const BOT = '2000000000000002';
const IGQL = '1000000000000001';

// The same routing for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let shop: SimAccount;
  let ana: SimUser;
  let botToken: SimToken;
  let token: string;
  /** The node the bot's messaging calls go to: the Page (Facebook Login) or the IG_ID. */
  let node: string;

  beforeAll(async () => {
    gw = await startGateway((sim: Simulator) => {
      const seeded = addAccountOf(sim, kind, { username: 'northwind.shop' });
      shop = seeded.account;
      node = seeded.page?.id ?? shop.igId;
      ana = sim.store.addUser(shop.igId, { username: 'ana.costa' });
      sim.store.addMessage(shop.igId, ana.igsid, {
        fromId: ana.igsid,
        text: 'Hello',
        createdTime: T0 - 60_000,
      });
      sim.routing.connect(shop.igId, { id: BOT, name: 'Shop bot' });
      sim.routing.setOwner(shop.igId, ana.igsid, BOT);
      botToken = sim.routing.tokenFor(shop.igId, BOT);
    });
    token = await gw.session([shop.igId]);
  });
  afterAll(() => gw.stop());

  const accountId = () => globalId.account(shop.igId);
  const recipient = () => ({
    accountId: accountId(),
    recipientId: globalId.participant(shop.igId, ana.igsid),
  });

  /** The bot app calls the Graph API itself, with its own token. */
  async function bot(path: string, body: unknown) {
    const host = kind === 'FACEBOOK' ? `${gw.sim.url}/facebook` : gw.sim.url;
    const res = await fetch(`${host}/v27.0/${node}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${botToken.token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const EVENTS = `subscription ($a: ID!) {
  inboxEvents(accountId: $a) {
    type standby
    ... on MessageReceivedEvent { message { text } }
    ... on MessageSentEvent { message { text } }
    ... on ThreadControlChangedEvent {
      action metadata
      previousOwner { kind appId } newOwner { kind appId } requestedOwner { kind appId }
    }
  }
}`;

  type Event = Record<string, unknown>;

  /** The account's inbox events over graphql-ws, once igql established the subscriber. */
  const subscribe = () => subscribeInbox<Event>(gw.url, token, accountId(), { query: EVENTS });

  const OWNER = 'threadOwner { kind appId }';
  const USER_ERRORS = `userErrors { __typename code message ... on NotThreadOwnerError { owner { kind appId } } }`;

  it('a bot owns the thread: igql sees it on standby, is refused, takes control, sends, passes back', async () => {
    const inbox = await subscribe();

    // The owner, read once per request however often it is asked for.
    const calls = gw.sim.count('GET /{id}/thread_owner');
    const read = await gw.query(
      token,
      `{ viewer { conversations(first: 5) { nodes { a: ${OWNER} b: ${OWNER} } } } }`,
    );
    expect(read.body).toEqual({
      data: {
        viewer: {
          conversations: {
            nodes: [{ a: { kind: 'OTHER_APP', appId: BOT }, b: { kind: 'OTHER_APP', appId: BOT } }],
          },
        },
      },
    });
    expect(gw.sim.count('GET /{id}/thread_owner') - calls).toBe(1);

    // The customer writes and the bot answers: igql receives both on standby.
    gw.sim.users.sendMessage(shop.igId, ana.igsid, { text: 'Where is my order?' });
    expect(
      (await bot('messages', { recipient: { id: ana.igsid }, message: { text: 'Bot here' } }))
        .status,
    ).toBe(200);
    expect(await inbox.next(2)).toEqual([
      { type: 'MESSAGE_RECEIVED', standby: true, message: { text: 'Where is my order?' } },
      { type: 'MESSAGE_SENT', standby: true, message: { text: 'Bot here' } },
    ]);

    // igql's sends and sender actions are refused, naming the owner; nothing is sent.
    const refusedError = {
      __typename: 'NotThreadOwnerError',
      code: 'NOT_THREAD_OWNER',
      message:
        'Another app owns this conversation: take thread control (takeThreadControl) or ask for it (requestThreadControl) before sending',
      owner: { kind: 'OTHER_APP', appId: BOT },
    };
    const sent = await gw.query(
      token,
      `mutation($i: SendTextMessageInput!) { sendTextMessage(input: $i) { message { text } ${USER_ERRORS} } }`,
      { i: { ...recipient(), text: 'A person here' } },
    );
    expect(sent.body).toEqual({
      data: { sendTextMessage: { message: null, userErrors: [refusedError] } },
    });
    const typing = await gw.query(
      token,
      `mutation($i: SendTypingIndicatorInput!) { sendTypingIndicator(input: $i) { ok ${USER_ERRORS} } }`,
      { i: { ...recipient(), on: true } },
    );
    expect(typing.body).toEqual({
      data: { sendTypingIndicator: { ok: false, userErrors: [refusedError] } },
    });

    // igql's app takes control.
    const take = await gw.query(
      token,
      `mutation($i: ThreadControlInput!) { takeThreadControl(input: $i) { ok ${OWNER} ${USER_ERRORS} } }`,
      { i: { ...recipient(), metadata: 'A person takes over', idempotencyKey: 'take-1' } },
    );
    expect(take.body).toEqual({
      data: {
        takeThreadControl: {
          ok: true,
          threadOwner: { kind: 'THIS_APP', appId: IGQL },
          userErrors: [],
        },
      },
    });
    expect((await inbox.next(3))[2]).toEqual({
      type: 'THREAD_CONTROL_CHANGED',
      standby: false,
      action: 'TAKE',
      metadata: 'A person takes over',
      previousOwner: { kind: 'OTHER_APP', appId: BOT },
      newOwner: { kind: 'THIS_APP', appId: IGQL },
      requestedOwner: null,
    });

    // Now igql sends, the customer's answer is no longer on standby, and the bot is refused with
    // exactly Instagram's error.
    const ok = await gw.query(
      token,
      `mutation($i: SendTextMessageInput!) { sendTextMessage(input: $i) { message { text } ${USER_ERRORS} } }`,
      { i: { ...recipient(), text: 'A person here' } },
    );
    expect(ok.body).toEqual({
      data: { sendTextMessage: { message: { text: 'A person here' }, userErrors: [] } },
    });
    gw.sim.users.sendMessage(shop.igId, ana.igsid, { text: 'Thanks!' });
    const refused = await bot('messages', {
      recipient: { id: ana.igsid },
      message: { text: 'Bot' },
    });
    const capture = fixture('error-not-thread-owner-2534037-real.json') as {
      error: Record<string, unknown>;
    };
    expect(refused).toEqual({
      status: 400,
      body: { error: { ...capture.error, fbtrace_id: expect.any(String) } },
    });
    expect((await inbox.next(5)).slice(3)).toEqual([
      { type: 'MESSAGE_SENT', standby: false, message: { text: 'A person here' } },
      { type: 'MESSAGE_RECEIVED', standby: false, message: { text: 'Thanks!' } },
    ]);

    // igql passes control back to the bot.
    const pass = await gw.query(
      token,
      `mutation($i: PassThreadControlInput!) { passThreadControl(input: $i) { ok ${OWNER} ${USER_ERRORS} } }`,
      { i: { ...recipient(), targetAppId: BOT, metadata: 'Solved' } },
    );
    expect(pass.body).toEqual({
      data: {
        passThreadControl: {
          ok: true,
          threadOwner: { kind: 'OTHER_APP', appId: BOT },
          userErrors: [],
        },
      },
    });
    expect((await inbox.next(6))[5]).toEqual({
      type: 'THREAD_CONTROL_CHANGED',
      standby: false,
      action: 'PASS',
      metadata: 'Solved',
      previousOwner: { kind: 'THIS_APP', appId: IGQL },
      newOwner: { kind: 'OTHER_APP', appId: BOT },
      requestedOwner: null,
    });

    // The bot asks for nothing; igql, no longer owner, asks for control: the bot hears of it.
    const again = await gw.query(
      token,
      `mutation($i: ThreadControlInput!) { requestThreadControl(input: $i) { ok ${OWNER} ${USER_ERRORS} } }`,
      { i: recipient() },
    );
    expect(again.body).toEqual({
      data: { requestThreadControl: { ok: true, threadOwner: null, userErrors: [] } },
    });
    await inbox.dispose();
  });
});
