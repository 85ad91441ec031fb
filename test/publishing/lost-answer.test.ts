import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { FIRST_BACKOFF_MS } from '../../src/publishing/service.ts';
import type { SimAccount } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';
import type { Loose } from '../media/loose.ts';

let gw: Gateway;
let token: string;
let shop: SimAccount;

beforeAll(async () => {
  // A short time-out: a lost answer fails the call at once.
  gw = await startGateway(
    (sim) => {
      shop = sim.addAccount({ username: 'northwind.shop' }).account;
    },
    { instagram: { timeoutMs: 300 } },
  );
  token = await gw.session([shop.igId]);
});

afterAll(async () => {
  await gw?.stop();
});

const publish = async (input: Record<string, unknown>): Promise<string> => {
  const { body } = await gw.query<Loose>(
    token,
    `mutation ($input: PublishMediaInput!) { publishMedia(input: $input) {
      job { id } userErrors { code } } }`,
    { input: { accountId: globalId.account(shop.igId), ...input } },
  );
  expect(body.data.publishMedia.userErrors).toEqual([]);
  return body.data.publishMedia.job.id;
};

const jobOf = async (id: string) =>
  (
    await gw.query<Loose>(
      token,
      `query ($id: ID!) { node(id: $id) { ... on PublishJob {
        status error { message } media { mediaId caption mediaProductType } } } }`,
      { id },
    )
  ).body.data.node;

/** Which Graph endpoints the simulator served while `run` ran, in order. */
async function endpoints(run: () => Promise<unknown>): Promise<string[]> {
  const before = gw.sim.requests.length;
  await run();
  return gw.sim.requests.slice(before).map((r) => `${r.method} ${r.endpoint}`);
}

describe('a publish whose answer was lost', () => {
  it('finds the media the container became, among the account’s newest posts', async () => {
    // An older post with the same caption, published before the job: never taken for it.
    const older = gw.sim.store.addMedia(shop.igId, {
      caption: 'New in',
      timestamp: gw.sim.clock.now() - 60_000,
    });
    const id = await publish({
      type: 'IMAGE',
      imageUrl: 'https://cdn.example.com/a.jpg',
      caption: 'New in',
    });
    // Instagram publishes, but its answer never comes.
    gw.sim.inject({ endpoint: 'POST /{id}/media_publish', kind: 'lost' });
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toEqual({ status: 'PROCESSING', error: null, media: null });
    const published = [...gw.sim.store.media.values()].filter(
      (m) => m.accountIgId === shop.igId && m.id !== older.id,
    );
    expect(published).toHaveLength(1);

    gw.sim.clock.advance(FIRST_BACKOFF_MS);
    // The container reads PUBLISHED: the newest post of that kind and caption is the job's.
    expect(await endpoints(() => gw.app.publishing.poll())).toEqual([
      'GET /{id}',
      'GET /{id}/media',
    ]);
    expect(await jobOf(id)).toEqual({
      status: 'PUBLISHED',
      error: null,
      media: { mediaId: published[0]?.id, caption: 'New in', mediaProductType: 'FEED' },
    });
  });

  it('leaves the media unknown when no post matches the job', async () => {
    const id = await publish({
      type: 'IMAGE',
      imageUrl: 'https://cdn.example.com/b.jpg',
      caption: 'Sale',
    });
    gw.sim.inject({ endpoint: 'POST /{id}/media_publish', kind: 'lost' });
    await gw.app.publishing.poll();
    // The post is deleted on Instagram before igql looks for it.
    for (const m of gw.sim.store.media.values()) {
      if (m.caption === 'Sale') gw.sim.store.media.delete(m.id);
    }
    gw.sim.clock.advance(FIRST_BACKOFF_MS);
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toEqual({ status: 'PUBLISHED', error: null, media: null });
  });
});
