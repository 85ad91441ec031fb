import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createApp } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { globalId } from '../../src/global-id.ts';
import { SIGNATURE_HEADER, signControl } from '../../src/sandbox/control.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { type SandboxAccount, sandboxAccounts } from '../helpers/app.ts';
import { freePort } from '../helpers/net.ts';
import { watchSubscriber } from '../helpers/subscribers.ts';

/**
 * `npm run simulator` in its own process, and sandbox-mode igql using it through
 * SANDBOX_SIMULATOR_URL: the same demo data, `GET /sandbox`, `POST /sandbox/inbound` and webhooks
 * as with the simulator inside igql.
 */

const SECRET = 'remote-simulator-secret';

/** Starts `node src/sandbox/main.ts`; resolves with its base URL once it printed its line. */
async function startSimulator(env: Record<string, string>) {
  const child = spawn(process.execPath, ['src/sandbox/main.ts'], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const base = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}): ${lines}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const match = /^simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
  });
  return { child, base, lines };
}

/**
 * A graphql-ws `messageReceived` subscriber of `account` on igql at `base`, established (igql
 * attached it) when this resolves; `first` resolves with its first result.
 */
async function subscriber(base: string, account: SandboxAccount) {
  const client = createClient({
    url: `${base.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${account.token}` },
  });
  const watch = watchSubscriber();
  const first = new Promise<unknown>((resolve, reject) => {
    client.subscribe(
      {
        query:
          'subscription($a: ID!) { messageReceived(accountId: $a) { message { mid text from { username } } } }',
        variables: { a: account.id },
      },
      {
        next: resolve,
        error: (error) => {
          watch.cancel();
          reject(error);
        },
        complete: () => watch.cancel(),
      },
    );
  });
  await watch.established;
  return { first, dispose: () => client.dispose() };
}

/** A customer writes to `account` through igql's `POST /sandbox/inbound`; resolves with its mid. */
async function inbound(base: string, account: SandboxAccount, from: string, text: string) {
  const res = await fetch(`${base}/sandbox/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId: account.id, from, text }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { mid: string }).mid;
}

/** Sandbox-mode igql on a free port using the simulator at `simulatorUrl`. */
async function startIgql(simulatorUrl: string) {
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: SECRET,
    SANDBOX_SIMULATOR_URL: simulatorUrl,
  });
  const app = createApp({ config, sandbox: await startSandbox({ config }), drainTimeoutMs: 500 });
  return { app, base: (await app.start()).replace(/\/graphql$/, '') };
}

describe('the simulator as its own process (npm run simulator, SANDBOX_SIMULATOR_URL)', () => {
  let simulator: { child: ChildProcess; base: string; lines: string[] };
  let app: App;
  let igql: string;
  let shop: SandboxAccount;
  let local: Sandbox;

  beforeAll(async () => {
    simulator = await startSimulator({ SIMULATOR_PORT: '0', INSTAGRAM_APP_SECRET: SECRET });
    ({ app, base: igql } = await startIgql(simulator.base));
    [shop] = (await sandboxAccounts(igql)) as [SandboxAccount];
    // The simulator inside igql, with the same app secret: what the one apart must match.
    local = await startSandbox({
      config: loadConfig({ LOG_LEVEL: 'silent', INSTAGRAM_APP_SECRET: SECRET }),
    });
  });
  afterAll(async () => {
    await app?.stop();
    await local?.stop();
    if (simulator?.child.exitCode === null) simulator.child.kill('SIGTERM');
  });

  it('prints exactly its base URL once it listens', () => {
    expect(simulator.lines).toEqual([`simulator listening on ${simulator.base}`]);
  });

  it('GET /sandbox lists the demo accounts of the simulator apart, as a simulator inside igql has them', async () => {
    const res = await fetch(`${igql}/sandbox`);
    expect(res.status).toBe(200);
    const info = (await res.json()) as {
      graphUrl: string;
      simulator: { requests: number };
      accounts: SandboxAccount[];
    };
    expect(Object.keys(info)).toEqual(['graphUrl', 'simulator', 'accounts']);
    expect(info.graphUrl).toBe(simulator.base);
    expect(app.upstream.graphUrl).toBe(simulator.base);
    expect(app.sandbox?.simulator).toBeUndefined();
    // The same app secret seeds the same demo: ids and Instagram tokens equal an in-process one's.
    expect(
      info.accounts.map((a) => [a.username, a.igId, a.instagramAccessToken ?? a.pageAccessToken]),
    ).toEqual(
      local
        .accounts()
        .map((a, i) => [
          ['northwind.shop', 'lumen.studio', 'harbor.cafe'][i],
          a.igId,
          a.accessToken,
        ]),
    );
    // What igql stores in its token store (issued when each simulator seeded its demo).
    const stored = (sandbox: Sandbox | undefined) =>
      sandbox?.accounts().map(({ igId, accessToken, status, loginKind, pageId }) => ({
        ...{ igId, accessToken, status, loginKind, pageId },
      }));
    expect(stored(app.sandbox)).toEqual(stored(local));
    // Facebook Login's demo account is stored as such, with its Page.
    expect(stored(app.sandbox)?.map((a) => a.loginKind)).toEqual([
      undefined,
      undefined,
      'FACEBOOK',
    ]);
    expect(info.accounts.map((a) => Object.keys(a))).toEqual([
      ['id', 'igId', 'username', 'token', 'instagramAccessToken'],
      ['id', 'igId', 'username', 'token', 'instagramAccessToken'],
      ['id', 'igId', 'username', 'token', 'loginKind', 'pageId', 'pageAccessToken'],
    ]);
  });

  it('answers a query through igql with a demo conversation read from the simulator apart', async () => {
    const res = await fetch(`${igql}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.token}` },
      body: JSON.stringify({
        query:
          '{ viewer { username conversations(first: 1) { nodes { participants { username } messages(first: 2) { nodes { text from { username } } } } } } }',
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: {
        viewer: {
          username: 'northwind.shop',
          conversations: {
            nodes: [
              {
                participants: [{ username: 'ana.costa' }, { username: 'northwind.shop' }],
                messages: {
                  nodes: [
                    {
                      text: 'Message 60 about the order #4159',
                      from: { username: 'northwind.shop' },
                    },
                    { text: 'Message 59 about the order #4158', from: { username: 'ana.costa' } },
                  ],
                },
              },
            ],
          },
        },
      },
    });
  });

  it('POST /sandbox/inbound reaches a graphql-ws subscriber of igql as the simulator webhook', async () => {
    const subscription = await subscriber(igql, shop);
    try {
      const mid = await inbound(igql, shop, 'remote.customer', 'Over the wire');
      expect(await subscription.first).toEqual({
        data: {
          messageReceived: {
            message: { mid, text: 'Over the wire', from: { username: 'remote.customer' } },
          },
        },
      });
    } finally {
      await subscription.dispose();
    }
  });

  it('opens GraphiQL with the same defaults as a simulator inside igql', async () => {
    expect(await app.sandbox?.graphiql(4000)).toEqual(await local.graphiql(4000));
    const tabs = (await app.sandbox?.graphiql(4000))?.defaultTabs ?? [];
    // The send tab names the demo customer inside the reply window.
    const ana = local.simulator?.store.userByUsername(shop.igId, 'ana.costa')?.igsid ?? '';
    expect(JSON.parse(tabs[1]?.variables ?? '{}').input.recipientId).toBe(
      globalId.participant(shop.igId, ana),
    );
  });

  it('delivers webhooks to one callback, the igql that registered last, as Meta does', async () => {
    const second = await startIgql(simulator.base);
    try {
      const subscription = await subscriber(second.base, shop);
      // Posted through the first igql; the simulator's webhook goes to the second.
      const mid = await inbound(igql, shop, 'remote.customer', 'To the last one');
      expect(await subscription.first).toEqual({
        data: {
          messageReceived: {
            message: { mid, text: 'To the last one', from: { username: 'remote.customer' } },
          },
        },
      });
      await subscription.dispose();
    } finally {
      await second.app.stop();
    }
  });

  it('answers its control surface only when signed with the app secret', async () => {
    const control = (signature?: string) =>
      fetch(`${simulator.base}/control`, {
        headers: signature ? { [SIGNATURE_HEADER]: signature } : {},
      });
    expect((await control()).status).toBe(401);
    expect((await control(signControl('another-secret', 'GET', '/control', ''))).status).toBe(401);
    const stale = signControl(SECRET, 'GET', '/control', '', Date.now() - 10 * 60_000);
    expect((await control(stale)).status).toBe(401);
    const res = await control(signControl(SECRET, 'GET', '/control', ''));
    expect(res.status).toBe(200);
    expect(
      ((await res.json()) as { accounts: { username: string }[] }).accounts.map((a) => a.username),
    ).toEqual(['northwind.shop', 'lumen.studio', 'harbor.cafe']);
  });

  it('refuses igql with another app secret: its webhooks could not be verified either', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      INSTAGRAM_APP_SECRET: 'another-secret',
      SANDBOX_SIMULATOR_URL: simulator.base,
    });
    await expect(startSandbox({ config })).rejects.toThrow(
      `the simulator at ${simulator.base} refused igql's signature: start both with the same INSTAGRAM_APP_SECRET`,
    );
  });

  it('ends with exit code 0 on SIGTERM', async () => {
    const exited = once(simulator.child, 'exit');
    simulator.child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });
});

describe('SANDBOX_SIMULATOR_URL and SIMULATOR_PORT', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('are read from the environment: no simulator apart and port 4100 by default', () => {
    expect(loadConfig({}).simulator).toEqual({ url: undefined, port: 4100 });
    expect(
      loadConfig({ SANDBOX_SIMULATOR_URL: 'http://127.0.0.1:4100/', SIMULATOR_PORT: '0' })
        .simulator,
    ).toEqual({ url: 'http://127.0.0.1:4100', port: 0 });
    expect(
      problemsOf({ SANDBOX_SIMULATOR_URL: 'localhost:4100', SIMULATOR_PORT: '70000' }),
    ).toEqual([
      'SANDBOX_SIMULATOR_URL: expected an http(s) URL (the base URL `npm run simulator` printed)',
      'SIMULATOR_PORT: expected a port number from 0 to 65535',
    ]);
    expect(
      problemsOf({
        INSTAGRAM_APP_ID: '1234',
        INSTAGRAM_APP_SECRET: 's',
        INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'v',
        TOKEN_ENCRYPTION_KEYS: `k:${Buffer.alloc(32).toString('base64')}`,
        SESSION_SECRET: 's'.repeat(32),
        SANDBOX_SIMULATOR_URL: 'http://127.0.0.1:4100',
      }),
    ).toEqual([
      'SANDBOX_SIMULATOR_URL: sandbox mode only (unset INSTAGRAM_APP_ID and FACEBOOK_APP_ID)',
    ]);
  });

  it('igql started against a simulator that is not there exits 1 and says so', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'silent', SANDBOX_SIMULATOR_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    expect(await once(child, 'exit')).toEqual([1, null]);
    expect(stderr).toBe(
      `igql: the simulator at ${url} (SANDBOX_SIMULATOR_URL) cannot be reached (ECONNREFUSED): start it with \`npm run simulator\`\n`,
    );
  });
});
