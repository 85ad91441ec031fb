import { describe, expect, it } from 'vitest';
import { AccountStatusService } from '../../src/auth/account-status.ts';
import type { Session } from '../../src/auth/jwt.ts';
import { MemoryRevocations } from '../../src/auth/revocation.ts';
import { createSessions, rememberVerified } from '../../src/auth/sessions.ts';
import { MemoryTokenStore } from '../../src/auth/token-store.ts';
import { loadConfig } from '../../src/config.ts';
import type { InboxEventData } from '../../src/inbox/events.ts';
import { createLogger } from '../../src/logger.ts';

/** Where time decides, auth reads the injected clock, never the machine's. */
const T0 = Date.parse('2026-11-20T12:00:00.250Z');

describe('AccountStatusService', () => {
  it('stamps the status event with the injected clock', async () => {
    const tokens = new MemoryTokenStore();
    await tokens.put({ igId: '1784', accessToken: 'IGAA-token', status: 'ACTIVE', issuedAt: 5 });
    const published: InboxEventData[] = [];
    const service = new AccountStatusService(
      tokens,
      async (events) => published.push(...events),
      createLogger('silent'),
      () => T0,
    );
    await service.tokenRejected('1784', 'Error validating access token');
    expect(published).toEqual([
      {
        kind: 'ACCOUNT_STATUS_CHANGED',
        igId: '1784',
        igsid: null,
        occurredAt: T0,
        identity: '1784|ACCOUNT_STATUS_CHANGED|REAUTH_REQUIRED|token issued 5|',
        standby: false,
        status: 'REAUTH_REQUIRED',
        reason: 'Error validating access token',
      },
    ]);
    expect((await tokens.get('1784'))?.status).toBe('REAUTH_REQUIRED');
  });
});

describe('Sessions.stillValid', () => {
  it('measures expiry with the injected clock', async () => {
    let now = T0;
    const sessions = createSessions(
      loadConfig({ PORT: '0', INSTAGRAM_APP_SECRET: 'clock-secret' }),
      new MemoryRevocations(),
      () => now,
    );
    const session: Session = {
      sub: 'agent',
      accounts: ['1784'],
      sid: null,
      expiresAt: new Date(T0 + 1000),
    };
    expect(await sessions.stillValid(session)).toBe(true);
    now = T0 + 1000;
    expect(await sessions.stillValid(session)).toBe(false);
    expect(await sessions.stillValid(null)).toBe(false);
  });
});

describe('rememberVerified', () => {
  it('verifies a token once until it expires, by its exact text, and never keeps a refusal', async () => {
    const calls: string[] = [];
    const verify = rememberVerified(async (token) => {
      calls.push(token);
      if (token === 'forged') throw new Error('bad signature');
      const ttl = token === 'expired' ? -1000 : 60_000;
      return { sub: token, accounts: ['1784'], sid: null, expiresAt: new Date(Date.now() + ttl) };
    });
    expect((await verify('a')).sub).toBe('a');
    expect((await verify('a')).sub).toBe('a');
    expect((await verify('b')).sub).toBe('b');
    await expect(verify('forged')).rejects.toThrow('bad signature');
    await expect(verify('forged')).rejects.toThrow('bad signature');
    await verify('expired');
    await verify('expired');
    expect(calls).toEqual(['a', 'b', 'forged', 'forged', 'expired', 'expired']);
  });
});
