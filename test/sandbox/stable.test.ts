import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifySession } from '../../src/auth/jwt.ts';
import { loadConfig } from '../../src/config.ts';
import { newIgId, newMid, seededRandom, withRandom } from '../../src/sandbox/ids.ts';
import { SANDBOX_SESSION_TTL_S, sandboxSessionToken } from '../../src/sandbox/index.ts';
import { type SandboxAccount, sandboxAccounts, startApp } from '../helpers/app.ts';

const HOUR_S = 3600;
const QUERY = `{ viewer { username conversations(first: 3) { nodes { id messages(first: 2) { nodes { id } } } } } }`;

interface Viewer {
  readonly username: string;
  readonly conversations: {
    readonly nodes: readonly { id: string; messages: { nodes: readonly { id: string }[] } }[];
  };
}

interface Run {
  readonly accounts: readonly SandboxAccount[];
  /** QUERY with the run's own northwind.shop token. */
  readonly viewer: Viewer;
  /** QUERY with the token another run handed out, when one is given. */
  readonly foreign?: { readonly status: number; readonly body: unknown };
  /** Two `POST /sandbox/inbound`: from a demo customer, and from a new one. */
  readonly inbound: readonly { mid: string; messageId: string }[];
}

async function query(base: string, token: string) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  });
  return { status: res.status, body: (await res.json()) as { data?: { viewer: Viewer } } };
}

/** Starts igql in sandbox mode, reads what a saved tab or script depends on, stops it. */
async function run(env: Record<string, string>, foreignToken?: string): Promise<Run> {
  const igql = await startApp(env);
  try {
    const accounts = await sandboxAccounts(igql.base);
    const northwind = accounts[0] as SandboxAccount;
    const own = await query(igql.base, northwind.token);
    expect(own.status).toBe(200);
    const foreign = foreignToken === undefined ? undefined : await query(igql.base, foreignToken);
    const inbound = [];
    for (const from of ['ana.costa', 'new.customer']) {
      const res = await fetch(`${igql.base}/sandbox/inbound`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: northwind.id, from, text: 'Still there?' }),
      });
      expect(res.status).toBe(202);
      inbound.push((await res.json()) as { mid: string; messageId: string });
    }
    return {
      accounts,
      viewer: own.body.data?.viewer as Viewer,
      ...(foreign ? { foreign } : {}),
      inbound,
    };
  } finally {
    await igql.stop();
  }
}

/** `Message:<IG_ID>:<IGSID>:<mid>` out of a Message id. */
const igsidOf = (messageId: string) => Buffer.from(messageId, 'base64').toString().split(':')[2];

describe('a stable sandbox', () => {
  let first: Run;
  let second: Run;
  let other: Run;

  // Tokens change at UTC midnight (by design): a run that straddles it would see two.
  beforeAll(async () => {
    first = await run({});
    second = await run({}, first.accounts[0]?.token);
    other = await run({ INSTAGRAM_APP_SECRET: 'another-sandbox-secret' }, first.accounts[0]?.token);
  }, 60_000);

  it('seeds the same demo accounts, ids and tokens at every start with the same settings', () => {
    const [northwind, lumen] = first.accounts as [SandboxAccount, SandboxAccount];
    // Pinned: derived from the documented default secret, `igql-sandbox`.
    expect(northwind.igId).toBe('17841541468613965');
    expect(northwind.id).toBe('QWNjb3VudDoxNzg0MTU0MTQ2ODYxMzk2NQ==');
    expect(northwind.instagramAccessToken).toBe(
      'IGAANjYzNDU3MDkxNTIxODQ4MzMwNzI2Mjc1NjI1OTU0MzU3MTM1Njg4NjQ4NzU0',
    );
    expect(lumen.igId).toBe('17841318036375193');
    expect(second.accounts).toEqual(first.accounts);
    for (const [i, account] of second.accounts.entries()) {
      const before = first.accounts[i] as SandboxAccount;
      expect(account.id).toBe(before.id);
      expect(account.igId).toBe(before.igId);
      expect(account.token).toBe(before.token);
      const tokenOf = (a: SandboxAccount) => a.instagramAccessToken ?? a.pageAccessToken;
      expect(tokenOf(account)).toBe(tokenOf(before));
    }
  });

  it('hands out the session token sandboxSessionToken makes', async () => {
    const config = loadConfig({});
    for (const account of second.accounts) {
      expect(account.token).toBe(
        await sandboxSessionToken(config.sessionSecret, `sandbox:${account.username}`, [
          account.igId,
        ]),
      );
    }
  });

  it('answers with the same conversation and message ids', () => {
    expect(first.viewer.username).toBe('northwind.shop');
    expect(first.viewer.conversations.nodes).toHaveLength(3);
    expect(first.viewer.conversations.nodes.map((c) => c.messages.nodes.length)).toEqual([2, 2, 2]);
    expect(second.viewer).toEqual(first.viewer);
  });

  it("takes the first run's token in the second run", () => {
    expect(second.foreign?.status).toBe(200);
    expect(second.foreign?.body).toEqual({ data: { viewer: first.viewer } });
  });

  it('gives messages created at run time fresh ids', () => {
    const [fromAna, fromNew] = first.inbound as [
      { mid: string; messageId: string },
      { mid: string; messageId: string },
    ];
    const [againAna, againNew] = second.inbound as [
      { mid: string; messageId: string },
      { mid: string; messageId: string },
    ];
    expect(againAna.mid).not.toBe(fromAna.mid);
    expect(againNew.mid).not.toBe(fromNew.mid);
    // ana.costa is a demo customer: her IGSID is stable; new.customer's is made at run time.
    expect(igsidOf(againAna.messageId)).toBe(igsidOf(fromAna.messageId));
    expect(igsidOf(againNew.messageId)).not.toBe(igsidOf(fromNew.messageId));
  });

  it('derives other ids and tokens from another INSTAGRAM_APP_SECRET', () => {
    expect(other.accounts.map((a) => a.username)).toEqual([
      'northwind.shop',
      'lumen.studio',
      'harbor.cafe',
    ]);
    for (const [i, account] of other.accounts.entries()) {
      const before = first.accounts[i] as SandboxAccount;
      expect(account.id).not.toBe(before.id);
      expect(account.igId).not.toBe(before.igId);
      expect(account.token).not.toBe(before.token);
      const tokenOf = (a: SandboxAccount) => a.instagramAccessToken ?? a.pageAccessToken;
      expect(tokenOf(account)).not.toBe(tokenOf(before));
      expect(tokenOf(account)).toEqual(expect.any(String));
    }
    expect(other.viewer.username).toBe('northwind.shop');
    const ids = (viewer: Viewer) =>
      viewer.conversations.nodes.flatMap((c) => [c.id, ...c.messages.nodes.map((m) => m.id)]);
    for (const id of ids(other.viewer)) expect(ids(first.viewer)).not.toContain(id);
    // The first run's session is signed with another SESSION_SECRET.
    expect(other.foreign?.status).toBe(401);
  });
});

describe('sandboxSessionToken', () => {
  const secret = new TextEncoder().encode('a-session-secret-of-at-least-32-bytes');
  const midnight = 1777593600; // 2026-05-01T00:00:00Z

  it('is issued at UTC midnight and lives 48 hours, with a sid and jti naming the day', async () => {
    const token = await sandboxSessionToken(
      secret,
      'sandbox:northwind.shop',
      ['17841541468613965'],
      Date.UTC(2026, 4, 1, 17, 30, 12, 345),
    );
    expect(SANDBOX_SESSION_TTL_S).toBe(48 * HOUR_S);
    expect(decodeJwt(token)).toEqual({
      iss: 'igql',
      aud: 'igql',
      sub: 'sandbox:northwind.shop',
      accounts: ['17841541468613965'],
      sid: 'sandbox:northwind.shop:2026-05-01',
      jti: 'sandbox:northwind.shop:2026-05-01',
      iat: 1777593600,
      exp: 1777766400,
    });
  });

  it('is the same all day, and another the next day', async () => {
    const at = (ms: number) =>
      sandboxSessionToken(
        secret,
        'sandbox:graphiql',
        ['17841541468613965', '17841318036375193'],
        ms,
      );
    const morning = await at(Date.UTC(2026, 4, 1, 0, 0, 0, 0));
    expect(await at(Date.UTC(2026, 4, 1, 23, 59, 59, 999))).toBe(morning);
    const next = await at(Date.UTC(2026, 4, 2, 0, 0, 0, 0));
    expect(next).not.toBe(morning);
    expect(decodeJwt(next).iat).toBe(midnight + 24 * HOUR_S);
    expect(decodeJwt(next).sid).toBe('sandbox:graphiql:2026-05-02');
  });

  it('verifies now, with at least 24 hours left', async () => {
    const now = Date.now();
    const session = await verifySession(
      secret,
      await sandboxSessionToken(secret, 'sandbox:lumen.studio', ['17841318036375193'], now),
    );
    expect(session.sub).toBe('sandbox:lumen.studio');
    expect(session.accounts).toEqual(['17841318036375193']);
    expect(session.expiresAt.getTime() - now).toBeGreaterThanOrEqual(24 * HOUR_S * 1000);
    expect(session.expiresAt.getTime() - now).toBeLessThanOrEqual(48 * HOUR_S * 1000);
  });
});

describe('withRandom', () => {
  it('draws ids from the seeded source inside, and from the CSPRNG again after', () => {
    const ids = () => withRandom(seededRandom('a seed'), () => [newIgId(), newMid('17841')]);
    const once = ids();
    expect(ids()).toEqual(once);
    expect(once[0]).toMatch(/^17841\d{12}$/);
    expect(withRandom(seededRandom('another seed'), () => newIgId())).not.toBe(once[0]);
    expect(newIgId()).not.toBe(newIgId());
  });

  it('goes back to the CSPRNG when the function throws', () => {
    expect(() =>
      withRandom(seededRandom('a seed'), () => {
        throw new Error('seeding failed');
      }),
    ).toThrow('seeding failed');
    const seeded = withRandom(seededRandom('a seed'), () => newIgId());
    expect(newIgId()).not.toBe(seeded);
  });

  it('draws every digit, without bias a test could see', () => {
    const random = seededRandom('uniform');
    const counts = Array.from({ length: 10 }, () => 0);
    for (let i = 0; i < 10_000; i++) {
      const digit = random.int(0, 10);
      counts[digit] = (counts[digit] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(900);
    for (const count of counts) expect(count).toBeLessThan(1100);
  });
});
