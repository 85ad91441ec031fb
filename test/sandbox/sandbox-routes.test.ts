import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from '../helpers/app.ts';
import { freePort } from '../helpers/net.ts';

interface SandboxAccountInfo {
  readonly id: string;
  readonly igId: string;
  readonly username: string;
  readonly token: string;
  /** Instagram Login's accounts only. */
  readonly instagramAccessToken?: string;
  /** Facebook Login's account only. */
  readonly loginKind?: 'FACEBOOK';
  readonly pageId?: string;
  readonly pageAccessToken?: string;
}

interface SandboxInfo {
  readonly graphUrl: string;
  readonly simulator: { readonly requests: number };
  readonly accounts: readonly SandboxAccountInfo[];
}

interface GraphMessage {
  readonly id: string;
  readonly created_time: string;
  readonly message?: string;
  readonly from?: { readonly username: string; readonly id: string };
}

interface GraphConversation {
  readonly id: string;
  readonly participants: { readonly data: readonly { username: string; id: string }[] };
  readonly messages: { readonly data: readonly GraphMessage[] };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MID = /^aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOj[A-Za-z0-9]+ZDZD$/;

const base64 = (text: string) => Buffer.from(text).toString('base64');
const unbase64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
/** Graph prints `2026-11-25T02:42:49+0000`. */
const graphTime = (value: string) => Date.parse(value.replace(/\+0000$/, 'Z'));

async function sandboxInfo(base: string): Promise<SandboxInfo> {
  const res = await fetch(`${base}/sandbox`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  return (await res.json()) as SandboxInfo;
}

/**
 * A Graph GET on the simulator with an Instagram token. The simulator applies Instagram's
 * conversation limit (2 calls/s per account); were igql itself to read in the background, a
 * call could meet it, so an 80002 is waited out once, as a client would.
 */
async function graph(url: string, accessToken: string) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
    const body = await res.json();
    if (attempt === 0 && body?.error?.code === 80002) {
      await sleep(1100);
      continue;
    }
    return { status: res.status, body };
  }
}

/** Every conversation of the account, each with up to 100 of its messages, in one call. */
async function conversationsOf(graphUrl: string, accessToken: string) {
  const query = new URLSearchParams({
    platform: 'instagram',
    limit: '100',
    fields: 'id,participants,messages.limit(100){id,created_time,message,from}',
  });
  const res = await graph(`${graphUrl}/v25.0/me/conversations?${query}`, accessToken);
  expect(res.status).toBe(200);
  expect(res.body.paging.next).toBeUndefined();
  return res.body.data as GraphConversation[];
}

const customerOf = (conversation: GraphConversation, igId: string) =>
  conversation.participants.data.find((p) => p.id !== igId);

/** Minutes since the customer's newest message (messages come newest first). */
function minutesSinceCustomerWrote(conversation: GraphConversation, igId: string): number {
  const customer = customerOf(conversation, igId);
  const newest = conversation.messages.data.find((m) => m.from?.id === customer?.id);
  if (!newest) throw new Error(`no customer message in ${conversation.id}`);
  return Math.round((Date.now() - graphTime(newest.created_time)) / MINUTE);
}

describe('igql sandbox routes (createApp in sandbox mode)', () => {
  let igql: RunningApp;
  let info: SandboxInfo;
  let northwind: SandboxAccountInfo;
  let lumen: SandboxAccountInfo;

  beforeAll(async () => {
    igql = await startApp();
    info = await sandboxInfo(igql.base);
    [northwind, lumen] = info.accounts as [SandboxAccountInfo, SandboxAccountInfo];
  });
  afterAll(() => igql.stop());

  const inbound = (body: string) =>
    fetch(`${igql.base}/sandbox/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  it('describes the simulator and the three demo accounts', async () => {
    expect(Object.keys(info)).toEqual(['graphUrl', 'simulator', 'accounts']);
    expect(info.graphUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.graphUrl).toBe(igql.app.sandbox?.simulator?.url);
    expect(info.graphUrl).toBe(igql.app.upstream.graphUrl);
    expect(typeof info.simulator.requests).toBe('number');
    expect(info.accounts.map((a) => a.username)).toEqual([
      'northwind.shop',
      'lumen.studio',
      'harbor.cafe',
    ]);
    expect(new Set(info.accounts.map((a) => a.igId)).size).toBe(3);

    const now = Math.floor(Date.now() / 1000);
    const midnight = now - (now % (24 * 3600));
    const today = new Date(midnight * 1000).toISOString().slice(0, 10);
    for (const account of info.accounts) {
      // Facebook Login's account says so and names its Page; its token is the Page's.
      const facebook = account.username === 'harbor.cafe';
      expect(Object.keys(account)).toEqual([
        'id',
        'igId',
        'username',
        'token',
        ...(facebook ? ['loginKind', 'pageId', 'pageAccessToken'] : ['instagramAccessToken']),
      ]);
      expect(account.igId).toMatch(/^17841\d{12}$/);
      expect(account.id).toBe(base64(`Account:${account.igId}`));
      expect(unbase64(account.id)).toBe(`Account:${account.igId}`);
      if (facebook) {
        expect(account.loginKind).toBe('FACEBOOK');
        expect(account.pageId).toMatch(/^10\d{13}$/);
        expect(account.pageAccessToken).toMatch(/^EAA[A-Za-z0-9_-]{90}$/);
      } else {
        expect(account.instagramAccessToken).toMatch(/^IGAA[A-Za-z0-9]{60}$/);
      }

      expect(decodeProtectedHeader(account.token)).toEqual({
        alg: 'HS256',
        typ: 'igql-access+jwt',
      });
      const claims = decodeJwt(account.token);
      expect(claims).toEqual({
        iss: 'igql',
        aud: 'igql',
        sub: `sandbox:${account.username}`,
        accounts: [account.igId],
        sid: `sandbox:${account.username}:${today}`,
        jti: `sandbox:${account.username}:${today}`,
        iat: midnight,
        exp: midnight + 48 * 3600,
      });
      // Stable all day (test/sandbox/stable.test.ts), and valid at least 24 hours from now.
      expect((claims.exp ?? 0) - now).toBeGreaterThanOrEqual(24 * 3600);
    }
  });

  it("hands out tokens that work on the simulator: Instagram's /me, the Page's IG User", async () => {
    const before = (await sandboxInfo(igql.base)).simulator.requests;
    for (const account of info.accounts) {
      if (account.loginKind === 'FACEBOOK') {
        // The Page's token, on graph.facebook.com (`<graphUrl>/facebook`), for its IG User.
        const res = await graph(
          `${info.graphUrl}/facebook/v25.0/${account.igId}?fields=username`,
          account.pageAccessToken ?? '',
        );
        expect(res).toEqual({ status: 200, body: { id: account.igId, username: 'harbor.cafe' } });
        continue;
      }
      const res = await graph(
        `${info.graphUrl}/v25.0/me?fields=user_id,username`,
        account.instagramAccessToken ?? '',
      );
      expect(res).toEqual({
        status: 200,
        body: {
          user_id: account.igId,
          username: account.username,
          id: expect.stringMatching(/^\d{16}$/),
        },
      });
    }
    // The three reads, and nothing else, reached the simulator meanwhile.
    expect((await sandboxInfo(igql.base)).simulator.requests).toBe(before + 3);
  });

  it('seeds 30 conversations on the first account and 3 on the second', async () => {
    const shop = await conversationsOf(info.graphUrl, northwind.instagramAccessToken ?? '');
    expect(shop).toHaveLength(30);
    expect(shop.map((c) => c.messages.data.length).sort((a, b) => b - a)).toEqual([
      60,
      3,
      3,
      3,
      ...Array.from({ length: 26 }, () => 2),
    ]);
    for (const conversation of shop) {
      expect(conversation.participants.data).toContainEqual({
        username: 'northwind.shop',
        id: northwind.igId,
      });
    }

    // The busiest thread is the most recent one, and its customer is inside the 24 h window.
    const [busiest] = shop;
    if (!busiest) throw new Error('no conversations');
    expect(busiest.messages.data).toHaveLength(60);
    expect(customerOf(busiest, northwind.igId)?.username).toBe('ana.costa');
    const sinceAna = minutesSinceCustomerWrote(busiest, northwind.igId);
    expect(sinceAna).toBe(30);
    expect(sinceAna * MINUTE).toBeLessThan(DAY);

    // Ben last wrote 3 days (and an hour) ago, after the business's last answer: outside the
    // window, inside HUMAN_AGENT's 7 days.
    const ben = shop.find((c) => customerOf(c, northwind.igId)?.username === 'ben_hughes');
    if (!ben) throw new Error('no conversation with ben_hughes');
    expect(ben.messages.data.map((m) => [m.from?.username, m.message])).toEqual([
      ['northwind.shop', 'We are checking with the bank.'],
      ['ben_hughes', 'Any news about my refund?'],
    ]);
    expect(minutesSinceCustomerWrote(ben, northwind.igId)).toBe((3 * DAY + HOUR) / MINUTE);

    const studio = await conversationsOf(info.graphUrl, lumen.instagramAccessToken ?? '');
    expect(studio.map((c) => customerOf(c, lumen.igId)?.username)).toEqual([
      'mara.voss',
      'theo.grant',
      'lena.ito',
    ]);
    expect(studio.map((c) => c.messages.data.map((m) => m.message))).toEqual(
      Array.from({ length: 3 }, () => [
        'Yes! Which dates?',
        'Are you available for a shoot in May?',
      ]),
    );
  });

  it('posts an inbound message that then appears on the simulator', async () => {
    const res = await inbound(
      JSON.stringify({ accountId: northwind.id, from: 'new.customer', text: 'Hi' }),
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as { mid: string; messageId: string };
    expect(Object.keys(body)).toEqual(['mid', 'messageId']);
    expect(body.mid).toMatch(MID);
    const decoded = /^Message:(\d+):(\d+):(.+)$/.exec(unbase64(body.messageId));
    expect(decoded?.[1]).toBe(northwind.igId);
    expect(decoded?.[2]).toMatch(/^\d{16}$/);
    expect(decoded?.[3]).toBe(body.mid);
    const igsid = decoded?.[2] ?? '';
    expect(body.messageId).toBe(base64(`Message:${northwind.igId}:${igsid}:${body.mid}`));

    const shop = await conversationsOf(info.graphUrl, northwind.instagramAccessToken ?? '');
    expect(shop).toHaveLength(31);
    const [newest] = shop;
    expect(newest?.participants.data).toEqual([
      { username: 'new.customer', id: igsid },
      { username: 'northwind.shop', id: northwind.igId },
    ]);
    expect(newest?.messages.data).toEqual([
      {
        id: body.mid,
        created_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/),
        message: 'Hi',
        from: { username: 'new.customer', id: igsid },
      },
    ]);
  });

  it('answers 404 for an account it does not have', async () => {
    for (const accountId of [base64('Account:17841400000000009'), base64('User:1'), 'nope']) {
      const res = await inbound(JSON.stringify({ accountId, from: 'new.customer', text: 'Hi' }));
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: `no sandbox account ${accountId}` });
    }
  });

  it('answers 400 naming the field for a bad body', async () => {
    const cases: [string, string][] = [
      [
        JSON.stringify({ accountId: northwind.id, from: 'new.customer' }),
        'text: Invalid input: expected string, received undefined',
      ],
      [
        JSON.stringify({ accountId: northwind.id, from: 'new.customer', text: '' }),
        'text: Too small: expected string to have >=1 characters',
      ],
      [
        JSON.stringify({ accountId: northwind.id, from: 'New Customer!', text: 'Hi' }),
        'from: an Instagram username: 1 to 30 of a-z, 0-9, . and _',
      ],
      [
        JSON.stringify({ accountId: northwind.id, from: 'new.customer', text: 'x'.repeat(1001) }),
        'text: at most 1000 UTF-8 bytes',
      ],
      ['Hi there', 'expected a JSON body'],
    ];
    for (const [body, error] of cases) {
      const res = await inbound(body);
      expect({ body, status: res.status, answer: await res.json() }).toEqual({
        body,
        status: 400,
        answer: { error },
      });
    }
  });
});

describe('igql started as a process (node src/main.ts)', () => {
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
  });

  it('prints the GraphiQL URL, serves /sandbox and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const running = spawn(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = running;
    let stdout = '';
    running.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const ready = `igql is ready: GraphiQL at http://localhost:${port}/graphql\nexample inbox at http://localhost:${port}/sandbox/inbox\n`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 10 s:\n${stdout}`)), 10_000);
      const check = () => {
        if (!stdout.includes(ready)) return;
        clearTimeout(timer);
        running.stdout.off('data', check);
        resolve();
      };
      running.stdout.on('data', check);
      running.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code}:\n${stdout}`));
      });
    });
    // At warn level the ready line is all igql prints.
    expect(stdout).toBe(ready);

    const sandbox = await sandboxInfo(`http://127.0.0.1:${port}`);
    expect(sandbox.accounts.map((a) => a.username)).toEqual([
      'northwind.shop',
      'lumen.studio',
      'harbor.cafe',
    ]);
    expect(sandbox.simulator.requests).toBe(0);
    const me = await graph(
      `${sandbox.graphUrl}/v25.0/me?fields=username`,
      sandbox.accounts[0]?.instagramAccessToken ?? '',
    );
    expect(me.body).toMatchObject({ username: 'northwind.shop' });
    // The example inbox, from its committed build: no build step.
    const page = await fetch(`http://127.0.0.1:${port}/sandbox/inbox`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /src="(\/sandbox\/inbox\/assets\/index-[\w-]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`http://127.0.0.1:${port}${script}`);
    expect([asset.status, asset.headers.get('content-type')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
    ]);

    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });
});
