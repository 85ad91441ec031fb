import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstagramClient } from '../../src/instagram/client.ts';
import { InstagramError } from '../../src/instagram/errors.ts';
import { OAuthClient, SCOPES } from '../../src/instagram/oauth.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, type SimAccount } from '../../src/sandbox/store.ts';

const T0 = Date.parse('2026-11-20T12:00:00Z');
const SECRET = 'oauth-app-secret';
const REDIRECT = 'https://igql.example/auth/instagram/callback';
const SIXTY_DAYS_S = 60 * 24 * 3600;

let sim: Simulator;
let account: SimAccount;
let metrics: Metrics;
let client: InstagramClient;
let oauth: OAuthClient;
let reports: string[];

beforeEach(async () => {
  sim = new Simulator({ appSecret: SECRET, rateLimits: false, clock: createClock(T0, true) });
  account = sim.addAccount({ username: 'northwind.shop' }).account;
  await sim.start();
  metrics = createMetrics();
  reports = [];
  client = new InstagramClient({
    graphUrl: () => sim.url,
    tokenUrl: () => sim.url,
    apiVersion: 'v25.0',
    metrics,
    logger: createLogger('silent'),
    retryBaseMs: 1,
    onTokenRejected: (igId) => {
      reports.push(igId);
    },
  });
  oauth = new OAuthClient(client, () => ({ appId: sim.appId, appSecret: SECRET }));
});

afterEach(async () => {
  await client.close();
  await sim.stop();
});

/** The code the simulated authorize page hands back after consent. */
function authorize(): string {
  const result = sim.oauth.authorize(
    new URLSearchParams({
      client_id: sim.appId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: SCOPES.join(','),
    }),
  );
  if (!('location' in result)) throw new Error(JSON.stringify(result));
  return new URL(result.location).searchParams.get('code') ?? '';
}

async function failure(promise: Promise<unknown>): Promise<InstagramError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InstagramError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

async function upstream(): Promise<Record<string, number>> {
  const { values } = await metrics.upstreamRequests.get();
  return Object.fromEntries(
    values.map((v) => [`${v.labels.method} ${v.labels.endpoint} ${v.labels.outcome}`, v.value]),
  );
}

describe('OAuthClient through the Instagram client', () => {
  it('exchanges a code, then the short-lived token, on the wire Meta documents', async () => {
    const code = authorize();
    const short = await oauth.exchangeCode(code, REDIRECT);
    expect(short).toEqual({
      accessToken: expect.stringMatching(/^IG/),
      userId: account.appScopedId,
    });
    const long = await oauth.exchangeLongLived(short.accessToken);
    expect(long).toEqual({ accessToken: expect.stringMatching(/^IG/), expiresIn: SIXTY_DAYS_S });

    expect(sim.requests.map((r) => [r.method, r.path, r.query, r.body, r.status])).toEqual([
      [
        'POST',
        '/oauth/access_token',
        {},
        {
          client_id: sim.appId,
          client_secret: SECRET,
          grant_type: 'authorization_code',
          redirect_uri: REDIRECT,
          code,
        },
        200,
      ],
      [
        'GET',
        '/access_token',
        {
          grant_type: 'ig_exchange_token',
          client_secret: SECRET,
          access_token: short.accessToken,
        },
        undefined,
        200,
      ],
    ]);
    expect(await upstream()).toEqual({
      'POST /oauth/access_token ok': 1,
      'GET /access_token ok': 1,
    });
  });

  it('maps api.instagram.com’s flat error to invalid_parameter, and never retries the exchange', async () => {
    const code = authorize();
    await oauth.exchangeCode(code, REDIRECT);
    const used = await failure(oauth.exchangeCode(code, REDIRECT));
    expect([used.kind, used.code, used.status, used.message]).toEqual([
      'invalid_parameter',
      400,
      400,
      'Matching code was not found or was already used',
    ]);

    sim.inject({ endpoint: 'POST /oauth/access_token', kind: 'server-error' });
    const down = await failure(oauth.exchangeCode(authorize(), REDIRECT));
    expect([down.kind, down.status]).toEqual(['transient', 503]);
    expect(sim.count('POST /oauth/access_token')).toBe(3);
    expect(await upstream()).toEqual({
      'POST /oauth/access_token ok': 1,
      'POST /oauth/access_token 400': 1,
      'POST /oauth/access_token transient': 1,
    });
  });

  it('reports no account when the token it exchanges is refused (190): there is none yet', async () => {
    const refused = await failure(oauth.exchangeLongLived('not-a-token'));
    expect([refused.kind, refused.code]).toEqual(['token', 190]);
    sim.inject({ endpoint: 'GET /access_token', kind: 'transient' });
    const short = await oauth.exchangeCode(authorize(), REDIRECT);
    expect((await failure(oauth.exchangeLongLived(short.accessToken))).kind).toBe('transient');
    expect(sim.count('GET /access_token')).toBe(2);
    expect(reports).toEqual([]);
  });
});
