import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { AccountStatusService } from '../../src/auth/account-status.ts';
import { signSession } from '../../src/auth/jwt.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { Simulator } from '../../src/sandbox/simulator.ts';
import { createClock, DAY, type SimAccount, type SimUser } from '../../src/sandbox/store.ts';

/**
 * A refused token (190) is handled in one place, whoever made the call: the Instagram client
 * reports it once through the app's one `onTokenRejected`, which marks the account
 * REAUTH_REQUIRED and publishes one AccountStatusChangedEvent; each caller still answers with
 * its own typed error.
 */
const T0 = Date.parse('2026-11-20T12:00:00Z');

let sim: Simulator;
let config: Config;
let app: App;
let url: string;
let reader: SimAccount;
let sender: SimAccount;
let refreshed: SimAccount;
let reconciled: SimAccount;
let ana: SimUser;
const marked = vi.spyOn(AccountStatusService.prototype, 'tokenRejected');

beforeAll(async () => {
  sim = new Simulator({
    appSecret: 'rejected-secret',
    rateLimits: false,
    clock: createClock(T0, true),
  });
  reader = sim.addAccount({ username: 'reader.shop' }).account;
  sender = sim.addAccount({ username: 'sender.shop' }).account;
  ana = sim.store.addUser(sender.igId, { username: 'ana.costa' });
  sim.store.addMessage(sender.igId, ana.igsid, { fromId: ana.igsid, createdTime: T0 - 60_000 });
  // This account's token is 55 days old: due for refresh.
  const added = sim.addAccount({ username: 'refreshed.shop' });
  refreshed = added.account;
  added.token.revoked = true;
  sim.store.issueToken(refreshed.igId, 'long', T0 - 55 * DAY);
  reconciled = sim.addAccount({ username: 'reconciled.shop' }).account;
  await sim.start();
  config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', INSTAGRAM_APP_SECRET: 'rejected-secret' });
  app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    now: () => sim.clock.now(),
    reconcileIntervalMs: 0,
    refreshIntervalMs: 0,
  });
  url = await app.start();
});

afterAll(async () => {
  marked.mockRestore();
  await app?.stop();
  await sim?.stop();
});

async function query(
  accounts: readonly string[],
  source: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] }> {
  const token = await signSession(config.sessionSecret, { sub: 'agent', accounts }, 3600);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: source, variables }),
  });
  return (await res.json()) as never;
}

const status = async (igId: string) =>
  ((await query([igId], '{ viewer { status } }')).data?.viewer as { status: string } | undefined)
    ?.status;

/** AccountStatusChangedEvents the pipeline stored, and those it dropped as duplicates. */
async function statusEvents(): Promise<{ new: number; duplicate: number }> {
  const { values } = await app.metrics.inboxEvents.get();
  const count = (outcome: string) =>
    values
      .filter((v) => v.labels.kind === 'ACCOUNT_STATUS_CHANGED' && v.labels.outcome === outcome)
      .reduce((sum, v) => sum + v.value, 0);
  return { new: count('new'), duplicate: count('duplicate') };
}

describe('a refused token, marked once through the one path', () => {
  it('on a read: REAUTH_REQUIRED, one event, and the next read costs nothing', async () => {
    expect(await status(reader.igId)).toBe('ACTIVE');
    marked.mockClear();
    sim.inject({ endpoint: 'GET /me', kind: 'expired-token' });
    const res = await query([reader.igId], '{ viewer { username } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('REAUTH_REQUIRED');
    expect(marked.mock.calls).toEqual([
      [reader.igId, 'Instagram refused the access token: it expired'],
    ]);
    expect(await status(reader.igId)).toBe('REAUTH_REQUIRED');
    expect(await statusEvents()).toEqual({ new: 1, duplicate: 0 });

    const before = sim.count();
    const again = await query([reader.igId], '{ viewer { username } }');
    expect(again.errors?.[0]?.extensions?.code).toBe('REAUTH_REQUIRED');
    expect(sim.count()).toBe(before);
    expect(marked).toHaveBeenCalledTimes(1);
  });

  it('on a send: ReauthRequiredError, the account marked, one more event', async () => {
    marked.mockClear();
    sim.inject({ endpoint: 'POST /{id}/messages', kind: 'expired-token' });
    const res = await query(
      [sender.igId],
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } userErrors { __typename code } } }',
      {
        input: {
          accountId: globalId.account(sender.igId),
          recipientId: globalId.participant(sender.igId, ana.igsid),
          text: 'Hi Ana',
        },
      },
    );
    expect(res.data).toEqual({
      sendTextMessage: {
        message: null,
        userErrors: [{ __typename: 'ReauthRequiredError', code: 'REAUTH_REQUIRED' }],
      },
    });
    expect(marked.mock.calls).toEqual([
      [sender.igId, 'Instagram refused the access token: it expired'],
    ]);
    expect(await status(sender.igId)).toBe('REAUTH_REQUIRED');
    expect(await statusEvents()).toEqual({ new: 2, duplicate: 0 });
  });

  it('on a refresh: the refresher skips it, the account marked, one more event', async () => {
    marked.mockClear();
    sim.inject({ endpoint: 'GET /refresh_access_token', kind: 'expired-token' });
    expect(await app.refresher.refreshDue()).toEqual({ refreshed: [], failed: [refreshed.igId] });
    expect(sim.count('GET /refresh_access_token')).toBe(1);
    expect(marked.mock.calls).toEqual([
      [refreshed.igId, 'Instagram refused the access token: it expired'],
    ]);
    expect(await status(refreshed.igId)).toBe('REAUTH_REQUIRED');
    expect(await statusEvents()).toEqual({ new: 3, duplicate: 0 });
    // Not ACTIVE any more: the next pass leaves it alone.
    expect(await app.refresher.refreshDue()).toEqual({ refreshed: [], failed: [] });
    expect(marked).toHaveBeenCalledTimes(1);
  });

  it('on reconciliation: the account’s run stops, the account marked, one more event', async () => {
    marked.mockClear();
    sim.resetRequests();
    sim.inject({ endpoint: 'GET /{id}/subscribed_apps', kind: 'expired-token' });
    // The other accounts are REAUTH_REQUIRED by now: only this one is run.
    await app.reconciler.runOnce();
    expect(sim.requests.map((r) => `${r.method} ${r.endpoint} ${r.status}`)).toEqual([
      'GET /{id}/subscribed_apps 400',
    ]);
    expect(marked.mock.calls).toEqual([
      [reconciled.igId, 'Instagram refused the access token: it expired'],
    ]);
    expect(await status(reconciled.igId)).toBe('REAUTH_REQUIRED');
    expect(await statusEvents()).toEqual({ new: 4, duplicate: 0 });
  });
});
