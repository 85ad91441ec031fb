import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstagramClient } from '../../src/instagram/client.ts';
import { InstagramError } from '../../src/instagram/errors.ts';
import { type Auth, authOf, InstagramApi } from '../../src/instagram/graph.ts';
import {
  ACCOUNT_LIMITS,
  MemoryRateLimiter,
  sendBucketFor,
} from '../../src/instagram/rate-limit.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import { newSimulator, proofOf } from '../helpers/configurations.ts';
import { FACEBOOK_APP_SECRET, T0 } from '../helpers/gateway.ts';

/**
 * Issue 19 below the schema: the client's `appsecret_proof` on graph.facebook.com, the IG User
 * read of Facebook Login and its send limit. Webhooks signed by either configuration's app, and
 * the secrets as the app wires them: test/facebook/wiring.test.ts.
 */

let sim: Simulator;
let page: Auth;
let instagram: Auth;

beforeEach(async () => {
  sim = newSimulator();
  const fb = sim.addFacebookAccount({ username: 'northwind.shop', name: 'Northwind Shop' });
  page = authOf({
    igId: fb.account.igId,
    accessToken: fb.token.token,
    loginKind: 'FACEBOOK',
    pageId: fb.page.id,
  });
  const ig = sim.addAccount({ username: 'lumen.studio' });
  instagram = authOf({ igId: ig.account.igId, accessToken: ig.token.token });
  await sim.start();
});
afterEach(() => sim.stop());

const apiWith = (facebookAppSecret?: string) =>
  new InstagramApi(
    new InstagramClient({
      graphUrl: () => sim.url,
      facebookGraphUrl: () => `${sim.url}/facebook`,
      apiVersion: 'v27.0',
      metrics: createMetrics(),
      logger: createLogger('silent'),
      paceReads: false,
      ...(facebookAppSecret === undefined ? {} : { facebookAppSecret }),
    }),
  );

describe('appsecret_proof', () => {
  it('goes with every call to graph.facebook.com when the Facebook app secret is given, never to graph.instagram.com', async () => {
    const api = apiWith(FACEBOOK_APP_SECRET);
    expect(await api.account(page, ['username'])).toEqual({
      id: page.igId,
      username: 'northwind.shop',
    });
    await api.account(instagram, ['username']);
    const proof = proofOf('FACEBOOK', page.token).appsecret_proof;
    expect(sim.requests.map((r) => [r.host, r.status, r.query.appsecret_proof])).toEqual([
      ['facebook', 200, proof],
      ['instagram', 200, undefined],
    ]);
  });

  it('is not sent without the secret, and one made with another secret is refused', async () => {
    await apiWith().account(page, ['username']);
    expect(sim.requests.at(-1)?.query.appsecret_proof).toBeUndefined();
    const refused = await apiWith('not-the-app-secret')
      .account(page, ['username'])
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InstagramError);
    expect((refused as InstagramError).code).toBe(100);
  });
});

describe('the account of Facebook Login', () => {
  it('is read by its IG_ID without the fields graph.facebook.com lacks, and not at all for those alone', async () => {
    const api = apiWith();
    expect(await api.account(page, ['user_id', 'username', 'account_type'])).toEqual({
      id: page.igId,
      username: 'northwind.shop',
      user_id: page.igId,
    });
    expect(sim.requests.map((r) => [r.path, r.query.fields])).toEqual([
      [`/facebook/v27.0/${page.igId}`, 'username'],
    ]);
    expect(await api.account(page, ['account_type'])).toEqual({ id: page.igId });
    expect(sim.requests).toHaveLength(1);
  });
});

describe('the send limit', () => {
  it('is 300 text sends a second for Facebook Login, 100 for Instagram Login; media the same', async () => {
    expect(sendBucketFor('text', page)).toBe('sendFacebookLogin');
    expect(sendBucketFor('text', instagram)).toBe('send');
    // Meta names the higher limit for text (links, reactions, stickers) only.
    expect(sendBucketFor('send', page)).toBe('send');
    expect(sendBucketFor('sendMedia', page)).toBe('sendMedia');
    expect(sendBucketFor('privateReplies', page)).toBe('privateReplies');
    expect(ACCOUNT_LIMITS.sendFacebookLogin).toEqual({ limit: 300, windowMs: 1000 });
    const limiter = new MemoryRateLimiter(undefined, () => T0);
    const taken = async (auth: Auth) => {
      let n = 0;
      while ((await limiter.take(auth.igId, sendBucketFor('text', auth))).taken) n++;
      return n;
    };
    expect(await taken(page)).toBe(300);
    expect(await taken(instagram)).toBe(100);
  });
});
