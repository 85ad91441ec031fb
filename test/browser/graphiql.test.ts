import type { Socket } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, sandboxAccounts, startApp } from '../helpers/app.ts';
import { launchChromium, type TestBrowser } from '../helpers/browser.ts';
import { freePort } from '../helpers/net.ts';

let igql: RunningApp;
let chromium: TestBrowser;
let port: number;

beforeAll(async () => {
  // A real port, as `npm start` has: both loopback origins are then allowed, as in the README.
  port = await freePort();
  igql = await startApp({ PORT: String(port) });
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await igql?.stop();
});

/** Resolves once GraphiQL has read the schema (its introspection answered): it is then ready. */
const introspected = (page: Page) =>
  page.waitForResponse(
    (res) =>
      res.url().endsWith('/graphql') && (res.request().postData() ?? '').includes('__schema'),
    { timeout: 20_000 },
  );

/**
 * GraphiQL opened in a fresh context (empty cache and storage) on `origin`, ready to run: the
 * schema read and the editors' workers running (before that, GraphiQL drops clicks).
 */
async function openGraphiQL(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  const ready = Promise.all([introspected(page), workersRunning(page)]);
  await page.goto(`${origin}/graphql`);
  await ready;
  return page;
}

const tab = (page: Page, name: string) =>
  page.locator('.graphiql-tab').filter({ has: page.locator(`button[title="${name}"]`) });
const response = (page: Page) => page.locator('.graphiql-response');

/** The titles of GraphiQL's tabs, in order. */
const tabTitles = (page: Page) =>
  page
    .locator('.graphiql-tab > button[title]')
    .evaluateAll((buttons) => buttons.map((b) => b.getAttribute('title')));
const activeTab = (page: Page) =>
  page.locator('.graphiql-tab-active > button[title]').getAttribute('title');

/** Opens a tab. GraphiQL can miss the first click while its tabs settle: click until it shows. */
async function selectTab(page: Page, name: string): Promise<void> {
  await expect
    .poll(
      async () => {
        if ((await activeTab(page)) !== name) await tab(page, name).click();
        return activeTab(page);
      },
      { timeout: 10_000 },
    )
    .toBe(name);
  // GraphiQL stores its state a moment after a switch, the operation name with it: run once the
  // store names this tab.
  const index = (await tabTitles(page)).indexOf(name);
  await expect.poll(() => storedActiveTab(page)).toBe(index);
}

const storedActiveTab = (page: Page) =>
  page.evaluate(
    () => JSON.parse(localStorage.getItem('graphiql:tabState') ?? '{}').activeTabIndex as number,
  );

async function run(page: Page, tabName: string): Promise<void> {
  await selectTab(page, tabName);
  await page.locator('.graphiql-execute-button').click();
}

/** Resolves once the editor's three web workers (editor, JSON, GraphQL) run. */
function workersRunning(page: Page): Promise<void> {
  return new Promise((resolve) => {
    const running = new Set<string>();
    page.on('worker', async (worker) => {
      // A worker of a page that is going away never answers: only running ones count.
      if (!(await worker.evaluate(() => true).catch(() => false))) return;
      running.add(new URL(worker.url()).pathname.split('.')[0] ?? '');
      if (running.size === 3) resolve();
    });
  });
}

/** The result pane's text, its white space (the editor's non-breaking spaces, wraps) folded. */
const responseText = async (page: Page) =>
  ((await response(page).textContent()) ?? '').replace(/\s+/g, ' ');

/** The result pane's text once it contains `expected`. */
async function responseContaining(page: Page, expected: string): Promise<string> {
  await expect.poll(() => responseText(page), { timeout: 20_000 }).toContain(expected);
  return responseText(page);
}

describe('GraphiQL in a real browser', { timeout: 60_000 }, () => {
  it(`runs on ${process.env.IGQL_IGNORE_SYSTEM_CHROMIUM ? 'the bundled' : 'a'} Chromium`, () => {
    // The kind that ran is part of the record; CI ignores the system browser to prove the fallback.
    expect(['system', 'bundled']).toContain(chromium.kind);
    if (process.env.IGQL_IGNORE_SYSTEM_CHROMIUM) expect(chromium.kind).toBe('bundled');
  });

  it('opens with the demo session and three example tabs, and runs the inbox query', async () => {
    const context = await chromium.browser.newContext();
    const page = await openGraphiQL(context, `http://localhost:${port}`);
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    expect(await tabTitles(page)).toEqual(['Inbox', 'SendText', 'InboxEvents']);
    await run(page, 'Inbox');
    const text = await responseContaining(page, '"northwind.shop"');
    expect(text).toContain('"replyWindow"');
    expect(text).not.toContain('"errors"');
    // Nothing was fetched from outside this machine.
    expect(failed).toEqual([]);
    await context.close();
  });

  it('sends the text of the mutation tab with its variables', async () => {
    const context = await chromium.browser.newContext();
    const page = await openGraphiQL(context, `http://localhost:${port}`);
    await run(page, 'SendText');
    const text = await responseContaining(page, '"userErrors"');
    expect(text).toContain('"text": "Thanks for your message! We are on it."');
    expect(text).toContain('"userErrors": []');
    await context.close();
  });

  it('runs the subscription tab over graphql-ws with the headers shown, from 127.0.0.1', async () => {
    const context = await chromium.browser.newContext();
    const page = await openGraphiQL(context, `http://127.0.0.1:${port}`);
    const sockets: string[] = [];
    page.on('websocket', (socket) => {
      sockets.push(socket.url());
      socket.on('framesent', ({ payload }) => {
        if (String(payload).includes('connection_init')) sockets.push(String(payload));
      });
    });
    await run(page, 'InboxEvents');
    // The server holds the subscription: only then can a message be missed by no one.
    await expect
      .poll(async () => /^igql_subscribers 1$/m.test(await metrics()), { timeout: 20_000 })
      .toBe(true);
    const [account] = await sandboxAccounts(igql.base);
    const inbound = await fetch(`${igql.base}/sandbox/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        accountId: account?.id,
        from: 'ana.costa',
        text: 'Live from Chromium',
      }),
    });
    expect(inbound.status).toBe(202);
    const text = await responseContaining(page, '"Live from Chromium"');
    expect(text).toContain('"type": "MESSAGE_RECEIVED"');
    expect(text).toContain('"username": "ana.costa"');
    // The headers editor's Authorization went out as graphql-ws connectionParams.
    expect(sockets[0]).toBe(`ws://127.0.0.1:${port}/graphql`);
    expect(sockets[1]).toMatch(/"payload":\{"authorization":"Bearer ey[\w-]+\.[\w-]+\.[\w-]+"\}/);
    await context.close();
  });

  it('reloads to the tab that was open and runs it', async () => {
    const context = await chromium.browser.newContext();
    const page = await openGraphiQL(context, `http://localhost:${port}`);
    await selectTab(page, 'SendText');
    page.removeAllListeners('worker');
    const ready = Promise.all([introspected(page), workersRunning(page)]);
    await page.reload();
    await ready;
    expect(await activeTab(page)).toBe('SendText');
    await page.locator('.graphiql-execute-button').click();
    const text = await responseContaining(page, '"userErrors"');
    expect(text).toContain('"userErrors": []');
    expect(text).not.toContain('Syntax Error');
    await context.close();
  });

  it('is light: at most 3 MB on the wire at first, 100 KB on a reload', async () => {
    // What igql wrote to the browser's connections, headers included: what crossed the wire.
    const sockets = new Set<Socket>();
    const count = (socket: Socket) => sockets.add(socket);
    igql.app.server.on('connection', count);
    const written = () => [...sockets].reduce((sum, socket) => sum + socket.bytesWritten, 0);
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    // Loaded: the schema read and the editor's workers running.
    const load = async (go: () => Promise<unknown>) => {
      const before = written();
      const ready = Promise.all([introspected(page), workersRunning(page)]);
      await go();
      await ready;
      return written() - before;
    };
    const first = await load(() => page.goto(`http://localhost:${port}/graphql`));
    page.removeAllListeners('worker');
    const reload = await load(() => page.reload());
    igql.app.server.off('connection', count);
    console.log(`GraphiQL on the wire: first load ${first} bytes, reload ${reload} bytes`);
    expect(first).toBeLessThanOrEqual(3_000_000);
    expect(reload).toBeLessThanOrEqual(100_000);
    await context.close();
  });

  it('logs in with Business Login from 127.0.0.1, where the login started', async () => {
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/auth/instagram/login`);
    await expect
      .poll(async () => ((await page.locator('body').textContent()) ?? '').toLowerCase(), {
        timeout: 20_000,
      })
      .toContain('connected');
    expect(new URL(page.url()).origin).toBe(`http://127.0.0.1:${port}`);
    const cookies = await context.cookies();
    expect(cookies.map((c) => `${c.name} ${c.domain} ${c.path}`).sort()).toEqual([
      'igql_login 127.0.0.1 /auth/instagram',
      'igql_refresh 127.0.0.1 /auth',
      'igql_session 127.0.0.1 /',
    ]);
    await context.close();
  });
});

async function metrics(): Promise<string> {
  return (await fetch(`${igql.base}/metrics`)).text();
}
