import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, type SimAccount } from '../../src/sandbox/store.ts';
import { LAST_NEEDS_BEFORE } from '../../src/schema/connection.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';

/** One account with five conversations (c0 newest … c4 oldest), each of three messages. */
let gw: Gateway;
let token: string;
let shop: SimAccount;
const conversationIds: string[] = [];

beforeAll(async () => {
  gw = await startGateway((sim) => {
    shop = sim.addAccount({ username: 'northwind.shop' }).account;
    for (let i = 4; i >= 0; i--) {
      const user = sim.store.addUser(shop.igId, { username: `c${i}` });
      for (let n = 0; n < 3; n++) {
        sim.store.addMessage(shop.igId, user.igsid, {
          fromId: user.igsid,
          text: `c${i} m${n}`,
          createdTime: T0 - (i + 1) * HOUR + n * 60_000,
        });
      }
    }
  });
  token = await gw.session([shop.igId]);
  const res = await gw.query<{ viewer: { conversations: { nodes: { id: string }[] } } }>(
    token,
    '{ viewer { conversations(first: 5) { nodes { id } } } }',
  );
  conversationIds.push(...(res.body.data?.viewer.conversations.nodes.map((c) => c.id) ?? []));
});

afterAll(() => gw?.stop());

const refused = (path: (string | number)[]) => ({
  message: LAST_NEEDS_BEFORE,
  path,
  locations: expect.any(Array),
  extensions: { code: 'BAD_USER_INPUT', argument: 'last' },
});

describe('Relay `last` without `before`', () => {
  it('is refused on conversations, typed and before any upstream call', async () => {
    const first = await gw.query<{ viewer: { conversations: { edges: { cursor: string }[] } } }>(
      token,
      '{ viewer { conversations(first: 2) { edges { cursor } } } }',
    );
    const after = first.body.data?.viewer.conversations.edges[0]?.cursor;
    for (const args of ['last: 2', `last: 2, after: "${after}"`]) {
      let body: unknown;
      const calls = await gw.upstreamCalls(async () => {
        body = (await gw.query(token, `{ viewer { conversations(${args}) { nodes { id } } } }`))
          .body;
      });
      expect(calls).toBe(0);
      expect(body).toEqual({ data: null, errors: [refused(['viewer', 'conversations'])] });
    }
  });

  it('and `first` with `before` is refused too, rather than answered as if `before` were absent', async () => {
    const page = await gw.query<{ viewer: { conversations: { edges: { cursor: string }[] } } }>(
      token,
      '{ viewer { conversations(first: 3) { edges { cursor } } } }',
    );
    const before = page.body.data?.viewer.conversations.edges[2]?.cursor;
    let body: unknown;
    const calls = await gw.upstreamCalls(async () => {
      body = (
        await gw.query(
          token,
          `{ viewer { conversations(first: 2, before: "${before}") { nodes { id } } } }`,
        )
      ).body;
    });
    expect(calls).toBe(0);
    expect(body).toEqual({
      data: null,
      errors: [
        {
          message: '`before` pages back with `last`; `first` pages forward with `after`',
          path: ['viewer', 'conversations'],
          locations: expect.any(Array),
          extensions: { code: 'BAD_USER_INPUT', argument: 'before' },
        },
      ],
    });
  });

  it('is refused once for messages under a page of conversations, before reading it', async () => {
    let body: unknown;
    const calls = await gw.upstreamCalls(async () => {
      body = (
        await gw.query(
          token,
          '{ viewer { conversations(first: 5) { nodes { messages(last: 2) { nodes { text } } } } } }',
        )
      ).body;
    });
    expect(calls).toBe(0);
    expect(body).toEqual({ data: null, errors: [refused(['viewer', 'conversations'])] });
  });

  it('is refused for the messages of one conversation read by id', async () => {
    let body: unknown;
    const calls = await gw.upstreamCalls(async () => {
      body = (
        await gw.query(
          token,
          'query($id: ID!) { node(id: $id) { ... on Conversation { messages(last: 2) { nodes { text } } } } }',
          { id: conversationIds[0] },
        )
      ).body;
    });
    expect(calls).toBe(0);
    expect(body).toEqual({ data: { node: null }, errors: [refused(['node'])] });
  });

  it('still pages back with `before`: the items just newer than the cursor', async () => {
    type Page = {
      viewer: {
        conversations: {
          edges: { cursor: string; node: { participants: { username: string }[] } }[];
          pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean };
        };
      };
    };
    const q = (args: string) =>
      `query($before: String) { viewer { conversations(${args}) { edges { cursor node { participants { username } } } pageInfo { hasPreviousPage hasNextPage } } } }`;
    const all = (
      await gw.query<Page>(
        token,
        '{ viewer { conversations(first: 5) { edges { cursor node { participants { username } } } pageInfo { hasPreviousPage hasNextPage } } } }',
      )
    ).body.data?.viewer.conversations;
    const names = (p: Page['viewer']['conversations'] | undefined) =>
      p?.edges.map(
        (e) => e.node.participants.find((u) => u.username !== 'northwind.shop')?.username,
      );
    expect(names(all)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    const back = await gw.query<Page>(token, q('last: 2, before: $before'), {
      before: all?.edges[4]?.cursor,
    });
    expect(back.body.errors).toBeUndefined();
    expect(names(back.body.data?.viewer.conversations)).toEqual(['c2', 'c3']);
    expect(back.body.data?.viewer.conversations.pageInfo).toEqual({
      hasPreviousPage: true,
      hasNextPage: true,
    });
  });
});
