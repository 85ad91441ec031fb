import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { FIRST_BACKOFF_MS } from '../../src/publishing/service.ts';
import { containers, PUBLISHING_LIMIT, VIDEO_PROCESSING_MS } from '../../src/sandbox/publishing.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount } from '../../src/sandbox/store.ts';
import { type Gateway, startGateway } from '../helpers/gateway.ts';
import { liveOverWebSocket } from '../helpers/transports.ts';
import type { Loose } from '../media/loose.ts';

let gw: Gateway;
let token: string;
let shop: SimAccount;
let studio: SimAccount;
let full: SimAccount;

function seed(sim: Simulator): void {
  shop = sim.addAccount({ username: 'northwind.shop' }).account;
  studio = sim.addAccount({ username: 'lumen.studio' }).account;
  full = sim.addAccount({ username: 'busy.bakery' }).account;
}

beforeAll(async () => {
  gw = await startGateway(seed);
  token = await gw.session([shop.igId, full.igId]);
});

afterAll(async () => {
  await gw?.stop();
});

const IMAGE = 'https://cdn.example.com/shirt.jpg';
const VIDEO = 'https://cdn.example.com/shirt.mp4';
const JOB = `id status type caption error { message containerStatus code subcode }
  media { mediaId caption mediaType mediaProductType children { mediaType } }`;
const ERRORS =
  'userErrors { __typename code message field ... on RateLimitedError { retryAfter } }';

const publish = (
  input: Record<string, unknown>,
  select = `job { id } ${ERRORS}`,
  igId = shop.igId,
) =>
  gw.query<Loose>(
    token,
    `mutation ($input: PublishMediaInput!) { publishMedia(input: $input) { ${select} } }`,
    { input: { accountId: globalId.account(igId), ...input } },
  );

const jobOf = async (id: string) =>
  (
    await gw.query<Loose>(
      token,
      `query ($id: ID!) { node(id: $id) { ... on PublishJob { ${JOB} } } }`,
      { id },
    )
  ).body.data.node;

/** Which Graph endpoints the simulator served while `run` ran, in order. */
async function endpoints(run: () => Promise<unknown>): Promise<string[]> {
  const before = gw.sim.requests.length;
  await run();
  return gw.sim.requests.slice(before).map((r) => `${r.method} ${r.endpoint}`);
}

/** Publishes and returns the job id, once the request answered (its job not yet worked on). */
async function started(input: Record<string, unknown>): Promise<string> {
  const { body } = await publish(input);
  expect(body.data.publishMedia.userErrors).toEqual([]);
  return body.data.publishMedia.job.id;
}

describe('publishMedia', () => {
  it('publishes an image: the limit, the container, its status, the publish', async () => {
    let id = '';
    const calls = await endpoints(async () => {
      id = await started({ type: 'IMAGE', imageUrl: IMAGE, caption: 'New in' });
      await gw.app.publishing.poll();
    });
    expect(calls).toEqual([
      'GET /{id}/content_publishing_limit',
      'POST /{id}/media',
      'GET /{id}',
      'POST /{id}/media_publish',
    ]);
    const job = await jobOf(id);
    expect(job).toEqual({
      id,
      status: 'PUBLISHED',
      type: 'IMAGE',
      caption: 'New in',
      error: null,
      media: {
        mediaId: expect.stringMatching(/^\d+$/),
        caption: 'New in',
        mediaType: 'IMAGE',
        mediaProductType: 'FEED',
        children: [],
      },
    });
    expect(gw.sim.store.media.get(job.media.mediaId)?.accountIgId).toBe(shop.igId);
  });

  it('waits for a reel to be processed without holding the request, then publishes it', async () => {
    const id = await started({ type: 'REEL', videoUrl: VIDEO, caption: 'Behind the scenes' });
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toMatchObject({ status: 'PROCESSING', media: null, error: null });
    // Not due again before its backoff: nothing is read.
    expect(await endpoints(() => gw.app.publishing.poll())).toEqual([]);
    gw.sim.clock.advance(VIDEO_PROCESSING_MS);
    expect(await endpoints(() => gw.app.publishing.poll())).toEqual([
      'GET /{id}',
      'POST /{id}/media_publish',
    ]);
    expect(await jobOf(id)).toMatchObject({
      status: 'PUBLISHED',
      type: 'REEL',
      media: { mediaType: 'VIDEO', mediaProductType: 'REELS', caption: 'Behind the scenes' },
    });
  });

  it('publishes a video as a reel shown in the feed', async () => {
    const id = await started({ type: 'VIDEO', videoUrl: VIDEO });
    await gw.app.publishing.poll();
    gw.sim.clock.advance(VIDEO_PROCESSING_MS);
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toMatchObject({
      status: 'PUBLISHED',
      type: 'VIDEO',
      media: { mediaType: 'VIDEO', mediaProductType: 'REELS' },
    });
    const create = gw.sim.requests.findLast(
      (r) => r.endpoint === '/{id}/media' && r.method === 'POST',
    );
    expect(create?.query).toMatchObject({
      media_type: 'REELS',
      share_to_feed: 'true',
      video_url: VIDEO,
    });
  });

  it('publishes a story', async () => {
    const id = await started({ type: 'STORY', imageUrl: IMAGE });
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toMatchObject({
      status: 'PUBLISHED',
      type: 'STORY',
      media: { mediaType: 'IMAGE', mediaProductType: 'STORY' },
    });
  });

  it('publishes a carousel once its video item is processed', async () => {
    const id = await started({
      type: 'CAROUSEL',
      caption: 'Two looks',
      items: [{ imageUrl: IMAGE }, { videoUrl: VIDEO }],
    });
    const first = await endpoints(() => gw.app.publishing.poll());
    expect(first).toEqual([
      'POST /{id}/media',
      'POST /{id}/media',
      'POST /{id}/media',
      'GET /{id}',
    ]);
    expect((await jobOf(id)).status).toBe('PROCESSING');
    gw.sim.clock.advance(VIDEO_PROCESSING_MS);
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toMatchObject({
      status: 'PUBLISHED',
      media: {
        mediaType: 'CAROUSEL_ALBUM',
        caption: 'Two looks',
        children: [{ mediaType: 'IMAGE' }, { mediaType: 'VIDEO' }],
      },
    });
  });

  it('keeps a carousel’s items made before a transient failure: the retry makes only the rest', async () => {
    const id = await started({
      type: 'CAROUSEL',
      items: [{ imageUrl: IMAGE }, { imageUrl: IMAGE }, { imageUrl: IMAGE }],
    });
    // The second item's container: Instagram busy (a write is not retried within the call).
    gw.sim.inject({ endpoint: 'POST /{id}/media', kind: 'server-error', after: 1 });
    const first = await endpoints(() => gw.app.publishing.poll());
    expect(first).toEqual(['POST /{id}/media', 'POST /{id}/media']);
    expect((await jobOf(id)).status).toBe('QUEUED');
    gw.sim.clock.advance(FIRST_BACKOFF_MS);
    const second = await endpoints(() => gw.app.publishing.poll());
    // The two items left (not the first again), the carousel, its status (images are ready
    // at once), the publish.
    expect(second).toEqual([
      'POST /{id}/media',
      'POST /{id}/media',
      'POST /{id}/media',
      'GET /{id}',
      'POST /{id}/media_publish',
    ]);
    expect(await jobOf(id)).toMatchObject({
      status: 'PUBLISHED',
      media: { mediaType: 'CAROUSEL_ALBUM', children: [{}, {}, {}] },
    });
  });

  it('fails a job whose container Instagram cannot process, with its reason', async () => {
    const id = await started({ type: 'IMAGE', imageUrl: 'https://cdn.example.invalid/gone.jpg' });
    await gw.app.publishing.poll();
    expect(await jobOf(id)).toMatchObject({
      status: 'FAILED',
      media: null,
      error: {
        message: 'Instagram could not process the media',
        containerStatus:
          'Error: Media download has failed. The media URI doesn\u2019t meet our requirements.',
        code: null,
        subcode: null,
      },
    });
  });

  it('refuses input Instagram would refuse, before any call', async () => {
    const calls = await endpoints(async () => {
      const { body } = await publish({ type: 'CAROUSEL', items: [{ imageUrl: IMAGE }] });
      expect(body.data.publishMedia).toEqual({
        job: null,
        userErrors: [
          {
            __typename: 'ValidationError',
            code: 'VALIDATION',
            message: 'input.items must hold 2 to 10 items',
            field: ['input', 'items'],
          },
        ],
      });
      const story = await publish({
        type: 'STORY',
        imageUrl: 'http://cdn.example.com/a.jpg',
        caption: 'x',
      });
      expect(story.body.data.publishMedia.userErrors.map((e: Loose) => e.message)).toEqual([
        'input.imageUrl must be a public https URL',
        'input.caption is not taken by a story',
      ]);
    });
    expect(calls).toEqual([]);
  });

  it('refuses at the publishing limit before making any container', async () => {
    // The account published its limit in the last hours (simulated directly in the store).
    for (let i = 0; i < PUBLISHING_LIMIT; i++) {
      const media = gw.sim.store.addMedia(full.igId, { timestamp: gw.sim.clock.now() - 3_600_000 });
      containers(gw.sim.store).set(`c${i}`, {
        id: `c${i}`,
        accountIgId: full.igId,
        kind: 'IMAGE',
        isCarouselItem: false,
        url: IMAGE,
        caption: '',
        children: [],
        createdTime: gw.sim.clock.now() - 3_600_000,
        publishedMediaId: media.id,
      });
    }
    const before = containers(gw.sim.store).size;
    const calls = await endpoints(async () => {
      const { body } = await publish(
        { type: 'IMAGE', imageUrl: IMAGE },
        `job { id } ${ERRORS}`,
        full.igId,
      );
      expect(body.data.publishMedia).toEqual({
        job: null,
        userErrors: [
          {
            __typename: 'RateLimitedError',
            code: 'RATE_LIMITED',
            message: `The account reached Instagram’s publishing limit (${PUBLISHING_LIMIT} of ${PUBLISHING_LIMIT} posts in 24 hours, jobs not yet published counted): retry after \`retryAfter\` seconds`,
            field: null,
            retryAfter: 86_400,
          },
        ],
      });
      await gw.app.publishing.poll();
    });
    expect(calls).toEqual(['GET /{id}/content_publishing_limit']);
    expect(containers(gw.sim.store).size).toBe(before);
  });

  it('starts one job per idempotency key, and refuses another tenant’s account', async () => {
    const input = { type: 'IMAGE', imageUrl: IMAGE, idempotencyKey: 'launch-1' };
    const first = await publish(input);
    await gw.app.publishing.poll();
    const replay = await gw.upstreamCalls(async () => {
      const again = await publish(input);
      expect(again.body.data.publishMedia.job.id).toBe(first.body.data.publishMedia.job.id);
    });
    expect(replay).toBe(0);
    const conflict = await publish({ ...input, caption: 'Other' });
    expect(conflict.body.data.publishMedia.userErrors[0].code).toBe('IDEMPOTENCY_CONFLICT');

    const theirs = await publish(
      { type: 'IMAGE', imageUrl: IMAGE },
      `job { id } ${ERRORS}`,
      studio.igId,
    );
    expect(theirs.body.data.publishMedia).toEqual({
      job: null,
      userErrors: [
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: 'Account not found',
          field: ['input', 'accountId'],
        },
      ],
    });
    // A real job of studio's: under its own account's id, or passed off as one of shop's, a
    // shop session reads nothing of it.
    const studioToken = await gw.session([studio.igId]);
    const made = await gw.query<Loose>(
      studioToken,
      'mutation ($input: PublishMediaInput!) { publishMedia(input: $input) { job { id } } }',
      { input: { accountId: globalId.account(studio.igId), type: 'IMAGE', imageUrl: IMAGE } },
    );
    const studioJob = made.body.data.publishMedia.job.id as string;
    const [, local] = decodeGlobalID(studioJob).id.split(/:(.*)/s);
    expect(await jobOf(studioJob)).toBeNull();
    expect(await jobOf(encodeGlobalID('PublishJob', `${shop.igId}:${local}`))).toBeNull();
  });

  it('lists the account’s jobs, newest first', async () => {
    const id = await started({ type: 'IMAGE', imageUrl: IMAGE, caption: 'Newest' });
    await gw.app.publishing.poll();
    const { body } = await gw.query<Loose>(
      token,
      `query ($id: ID!) { node(id: $id) { ... on Account { publishJobs(first: 2) { id status caption } } } }`,
      { id: globalId.account(shop.igId) },
    );
    expect(body.data.node.publishJobs[0]).toEqual({ id, status: 'PUBLISHED', caption: 'Newest' });
    expect(body.data.node.publishJobs).toHaveLength(2);
    const bad = await gw.query<Loose>(token, '{ viewer { publishJobs(first: 51) { id } } }');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('streams each change of the job to inboxEvents subscribers', async () => {
    const live = await liveOverWebSocket(
      gw.url,
      token,
      `subscription ($a: ID!) { inboxEvents(accountId: $a, types: [PUBLISH_JOB_CHANGED]) {
        type customerMissingReason ... on PublishJobChangedEvent { job { id status media { mediaProductType } } } } }`,
      { a: globalId.account(shop.igId) },
    );
    try {
      const id = await started({ type: 'REEL', videoUrl: VIDEO });
      await live.next(2); // QUEUED, then PROCESSING once its container is made
      gw.sim.clock.advance(VIDEO_PROCESSING_MS + FIRST_BACKOFF_MS);
      // The background poller (its timer, started with the app) carries the job on.
      const events = await live.next(3);
      expect(events).toEqual(
        ['QUEUED', 'PROCESSING', 'PUBLISHED'].map((status) => ({
          data: {
            inboxEvents: {
              type: 'PUBLISH_JOB_CHANGED',
              customerMissingReason: 'ACCOUNT_WIDE',
              job: {
                id,
                status,
                media: status === 'PUBLISHED' ? { mediaProductType: 'REELS' } : null,
              },
            },
          },
        })),
      );
    } finally {
      await live.close();
    }
  });
});
