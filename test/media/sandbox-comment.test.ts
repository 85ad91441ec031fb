import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { connectSimulator, controlRoutes } from '../../src/sandbox/control.ts';
import { localLink } from '../../src/sandbox/link.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import { HOUR, type SimAccount, type SimMedia } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { liveOverWebSocket } from '../helpers/transports.ts';
import type { Loose } from './loose.ts';

let gw: Gateway;
let shop: SimAccount;
let studio: SimAccount;
let empty: SimAccount;
let older: SimMedia;
let latest: SimMedia;
let closed: SimMedia;
let theirs: SimMedia;

function seed(sim: Simulator): void {
  const { store } = sim;
  shop = sim.addAccount({ username: 'northwind.shop' }).account;
  studio = sim.addAccount({ username: 'lumen.studio' }).account;
  empty = sim.addAccount({ username: 'quiet.corner' }).account;
  older = store.addMedia(shop.igId, { id: '18000000000000001', timestamp: T0 - 3 * HOUR });
  latest = store.addMedia(shop.igId, { id: '18000000000000002', timestamp: T0 - 2 * HOUR });
  closed = store.addMedia(shop.igId, { id: '18000000000000003', timestamp: T0 - 4 * HOUR });
  closed.commentsEnabled = false;
  // A story, newer than every post: never "the latest post".
  store.addMedia(shop.igId, { id: '18000000000000004', mediaProductType: 'STORY', timestamp: T0 });
  theirs = store.addMedia(studio.igId, { id: '18000000000000005' });
}

beforeAll(async () => {
  gw = await startGateway(seed);
});

afterAll(async () => {
  await gw?.stop();
});

const base = () => gw.url.replace(/\/graphql$/, '');

const comment = async (body: unknown) => {
  const res = await fetch(`${base()}/sandbox/comment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Loose };
};

describe('POST /sandbox/comment', () => {
  it('comments on the latest post as a customer, and the comments webhook reaches subscribers', async () => {
    const token = await gw.session([shop.igId]);
    const live = await liveOverWebSocket(
      gw.url,
      token,
      `subscription ($a: ID!) { inboxEvents(accountId: $a, types: [COMMENT_RECEIVED]) {
        ... on CommentReceivedEvent { comment { id commentId text author { username } } media { mediaId } byAccount } } }`,
      { a: globalId.account(shop.igId) },
    );
    try {
      const { status, body } = await comment({
        accountId: globalId.account(shop.igId),
        from: 'dev.patel',
        text: 'Is the green one back?',
      });
      expect(status).toBe(202);
      const customer = gw.sim.store.userByUsername(shop.igId, 'dev.patel');
      expect(body).toEqual({
        commentId: expect.stringMatching(/^\d+$/),
        id: globalId.comment(shop.igId, body.commentId),
        mediaId: latest.id,
        customerId: globalId.participant(shop.igId, customer?.igsid ?? ''),
      });
      expect(gw.sim.store.comments.get(body.commentId)).toMatchObject({
        mediaId: latest.id,
        text: 'Is the green one back?',
        fromUsername: 'dev.patel',
      });
      expect(await live.next(1)).toEqual([
        {
          data: {
            inboxEvents: {
              comment: {
                id: body.id,
                commentId: body.commentId,
                text: 'Is the green one back?',
                author: { username: 'dev.patel' },
              },
              media: { mediaId: latest.id },
              byAccount: false,
            },
          },
        },
      ]);
    } finally {
      await live.close();
    }
  });

  it('comments on the media named by its Media.id or Instagram’s id', async () => {
    const accountId = globalId.account(shop.igId);
    const byNode = await comment({
      accountId,
      from: 'ana.costa',
      text: 'Love it',
      mediaId: globalId.media(shop.igId, older.id),
    });
    expect(byNode.status).toBe(202);
    expect(byNode.body.mediaId).toBe(older.id);
    const byId = await comment({ accountId, from: 'ana.costa', text: 'Again', mediaId: older.id });
    expect(byId.body.mediaId).toBe(older.id);
  });

  it('answers 404 for an unknown account, another account’s media, or no post at all', async () => {
    const from = { from: 'ana.costa', text: 'Hi' };
    expect(await comment({ accountId: globalId.account('17841400000000000'), ...from })).toEqual({
      status: 404,
      body: {
        error: `no sandbox account ${globalId.account('17841400000000000')} with a post to comment on`,
      },
    });
    const other = await comment({
      accountId: globalId.account(shop.igId),
      mediaId: theirs.id,
      ...from,
    });
    expect(other).toEqual({
      status: 404,
      body: { error: `no media ${theirs.id} of sandbox account ${globalId.account(shop.igId)}` },
    });
    const otherNode = await comment({
      accountId: globalId.account(shop.igId),
      mediaId: globalId.media(studio.igId, theirs.id),
      ...from,
    });
    expect(otherNode.status).toBe(404);
    expect((await comment({ accountId: globalId.account(empty.igId), ...from })).status).toBe(404);
    expect((await comment({ accountId: 'not-an-id', ...from })).status).toBe(404);
  });

  it('answers 400 for bad input, and where comments are turned off', async () => {
    const accountId = globalId.account(shop.igId);
    expect(await comment('not json')).toEqual({
      status: 400,
      body: { error: 'expected a JSON body' },
    });
    expect(await comment({ accountId, from: 'Not A Name!', text: '' })).toEqual({
      status: 400,
      body: {
        error:
          'from: an Instagram username: 1 to 30 of a-z, 0-9, . and _; text: Too small: expected string to have >=1 characters',
      },
    });
    expect(await comment({ accountId, from: 'ana.costa', text: 'Hi', mediaId: 'abc' })).toEqual({
      status: 400,
      body: { error: 'mediaId: a Media.id or an Instagram media id' },
    });
    expect(await comment({ accountId, from: 'ana.costa', text: 'Hi', mediaId: closed.id })).toEqual(
      {
        status: 400,
        body: { error: `comments are turned off on media ${closed.id}` },
      },
    );
  });

  it('works the same with a simulator apart, over its signed control surface', async () => {
    gw.sim.serve(
      controlRoutes(
        localLink(
          gw.sim,
          () => [],
          () => {},
        ),
        'test-app-secret',
      ),
    );
    const link = await connectSimulator(gw.sim.url, 'test-app-secret');
    const made = await link.comment(shop.igId, 'remote.customer', 'From afar', older.id);
    expect(made).toEqual({
      commentId: expect.stringMatching(/^\d+$/),
      mediaId: older.id,
      igsid: gw.sim.store.userByUsername(shop.igId, 'remote.customer')?.igsid,
    });
    expect(await link.comment(shop.igId, 'remote.customer', 'Closed', closed.id)).toEqual({
      refused: `comments are turned off on media ${closed.id}`,
    });
    expect(await link.comment(shop.igId, 'remote.customer', 'Nope', theirs.id)).toBeUndefined();
  });
});
