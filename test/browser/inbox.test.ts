import { mkdir } from 'node:fs/promises';
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningApp,
  type SandboxAccount,
  sandboxAccounts,
  startApp,
  customerWrites as writes,
} from '../helpers/app.ts';
import { launchChromium, type TestBrowser } from '../helpers/browser.ts';
import { subscribeInbox } from '../helpers/inbox-events.ts';
import { freePort } from '../helpers/net.ts';

/** Kept after the run (git-ignored): what the page looked like at each step. */
const ARTEFACTS = 'test/artifacts/inbox';

let igql: RunningApp;
let chromium: TestBrowser;
let origin: string;
let shop: SandboxAccount;

beforeAll(async () => {
  // A real port, as `npm start` has: the page's origin is then one the websocket check allows.
  const port = await freePort();
  igql = await startApp({ PORT: String(port) });
  origin = `http://localhost:${port}`;
  chromium = await launchChromium();
  const [first] = await sandboxAccounts(igql.base);
  if (!first) throw new Error('no sandbox account');
  shop = first;
  await mkdir(ARTEFACTS, { recursive: true });
});

afterAll(async () => {
  await chromium?.close();
  await igql?.stop();
});

/** The operation names of the page's GraphQL requests over HTTP, in order. */
function graphqlRequests(page: Page): string[] {
  const names: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname !== '/graphql') return;
    const body = request.postData();
    names.push(
      body
        ? (JSON.parse(body) as { operationName: string }).operationName
        : (url.searchParams.get('operationName') ?? ''),
    );
  });
  return names;
}

/**
 * The page's websocket to /graphql, through a route the test can cut: `drop()` closes both sides
 * and refuses new connections (as a network that went away) until `restore()`. Every frame the
 * page sent and received is kept. After `forgeSession(authorization)`, the `connection_init` of
 * each new connection carries that instead of the page's session.
 */
async function cuttableWebsocket(page: Page) {
  let offline = false;
  let forged: string | undefined;
  let current: { page: WebSocketRoute; server: WebSocketRoute } | undefined;
  const received: string[] = [];
  const sent: string[] = [];
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    if (offline) {
      void ws.close({ code: 1006, reason: 'offline' });
      return;
    }
    const server = ws.connectToServer();
    current = { page: ws, server };
    ws.onMessage((message) => {
      let frame = String(message);
      if (forged !== undefined && parse(frame).type === 'connection_init') {
        frame = JSON.stringify({ type: 'connection_init', payload: { authorization: forged } });
      }
      sent.push(frame);
      server.send(frame);
    });
    server.onMessage((frame) => {
      received.push(String(frame));
      ws.send(frame);
    });
  });
  return {
    received,
    sent,
    async drop() {
      offline = true;
      // A page may close a websocket with 1000 or 4000-4999 only; the page's side sees what a
      // lost network gives, 1006.
      await current?.server.close({ code: 1000, reason: 'dropped' });
      await current?.page.close({ code: 1006, reason: 'dropped' });
    },
    restore() {
      offline = false;
    },
    forgeSession(authorization: string) {
      forged = authorization;
    },
  };
}

/** A graphql-ws message, as the page sent or received it. */
interface Frame {
  readonly type: string;
  readonly payload?: {
    readonly authorization?: string;
    readonly variables?: Record<string, unknown>;
    readonly data?: { readonly inboxEvents?: InboxEvent };
  };
}
interface InboxEvent {
  readonly cursor: string;
  readonly message?: { readonly mid: string; readonly text: string | null };
}
const parse = (frame: string) => JSON.parse(frame) as Frame;

/** The inbox events of these frames (`next`), in order. */
const eventsOf = (frames: readonly string[]): InboxEvent[] =>
  frames.flatMap((f) => parse(f).payload?.data?.inboxEvents ?? []);

/** The frames of this type, in order. */
const framesOf = (frames: readonly string[], type: string) =>
  frames.map(parse).filter((f) => f.type === type);

/** The texts of the messages shown, oldest first (an older message without detail as "—"). */
const shownMessages = (page: Page) =>
  page
    .locator('#messages .message')
    .evaluateAll((items) => items.map((item) => item.querySelector('.text')?.textContent ?? '—'));

/** Resolves once `count` elements match `selector`, and checks there are no more. */
async function shown(page: Page, selector: string, count: number): Promise<void> {
  await page
    .locator(selector)
    .nth(count - 1)
    .waitFor({ timeout: 20_000 });
  expect(await page.locator(selector).count()).toBe(count);
}

const liveState = (page: Page) => page.locator('#live').getAttribute('data-state');

async function subscribers(): Promise<number> {
  const text = await (await fetch(`${igql.base}/metrics`)).text();
  return Number(/^igql_subscribers (\d+)$/m.exec(text)?.[1]);
}

const customerWrites = (text: string) => writes(igql.base, shop.id, text);

async function openInbox(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/sandbox/inbox`);
  await page.waitForSelector('#conversations li');
  await page.waitForSelector('#live[data-state="live"]');
  return page;
}

describe('the example inbox in a real browser', { timeout: 60_000 }, () => {
  it('reads a conversation, sends, receives live, and resumes after a dropped connection', async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    const requests = graphqlRequests(page);
    const socket = await cuttableWebsocket(page);
    await page.goto(`${origin}/sandbox/inbox`);
    await page.waitForSelector('#conversations li');
    await page.waitForSelector('#live[data-state="live"]');
    expect(await page.locator('#account').textContent()).toBe('Northwind Shop (@northwind.shop)');

    // The list, newest first, with each reply window.
    const rows = page.locator('#conversations li');
    expect(await rows.count()).toBe(20);
    expect(
      await rows.locator('.who').evaluateAll((w) => w.slice(0, 3).map((e) => e.textContent)),
    ).toEqual(['ana.costa', 'chloe.martin', 'dev.patel']);
    expect(await rows.first().locator('.preview').textContent()).toBe(
      'You: Message 60 about the order #4159',
    );
    expect(await rows.first().getAttribute('data-window')).toBe('OPEN');
    await page.screenshot({ path: `${ARTEFACTS}/1-inbox.png` });

    // The conversation: its 20 newest messages, oldest first; then 20 older ones.
    await rows.first().locator('button').click();
    await shown(page, '#messages .message', 20);
    expect(await shownMessages(page)).toEqual(
      Array.from({ length: 20 }, (_, i) => `Message ${41 + i} about the order #${4140 + i}`),
    );
    expect(await page.locator('#window').getAttribute('data-state')).toBe('OPEN');
    await page.locator('#older').click();
    await shown(page, '#messages .message', 40);
    // Instagram details the 20 newest messages only: older ones say so.
    expect((await shownMessages(page)).slice(0, 21)).toEqual([
      ...Array.from({ length: 20 }, () => '—'),
      'Message 41 about the order #4140',
    ]);
    expect(await page.locator('#messages .message .muted').first().textContent()).toBe(
      'An older message: Instagram gives its detail for the 20 newest only.',
    );
    await page.screenshot({ path: `${ARTEFACTS}/2-conversation.png` });

    // A text sent.
    await page.locator('#text').fill('It ships today!');
    await page.locator('#text').press('Enter');
    await page
      .locator('#messages .message.outgoing .text', { hasText: 'It ships today!' })
      .waitFor();

    // The customer answers: it arrives live.
    await customerWrites('Great, thank you!');
    await page
      .locator('#messages .message.incoming .text', { hasText: 'Great, thank you!' })
      .waitFor();
    expect((await shownMessages(page)).slice(-2)).toEqual(['It ships today!', 'Great, thank you!']);
    expect(await rows.first().locator('.preview').textContent()).toBe('Great, thank you!');
    await page.screenshot({ path: `${ARTEFACTS}/3-live.png` });

    // The connection drops; the customer writes meanwhile (igql has it: another subscriber got
    // it); the connection comes back, and the page resumes from the last event's cursor.
    const watcher = await subscribeInbox(igql.url, shop.token, shop.id);
    expect(await subscribers()).toBe(2);
    const before = requests.length;
    const sentBefore = socket.sent.length;
    const receivedBefore = socket.received.length;
    const lastSeen = eventsOf(socket.received).at(-1);
    expect(lastSeen?.message?.text).toBe('Great, thank you!');
    await socket.drop();
    await page.waitForSelector('#live[data-state="reconnecting"]');
    await expect.poll(subscribers, { timeout: 10_000 }).toBe(1);
    await customerWrites('Are you still there?');
    await watcher.until((event) => event.message?.text === 'Are you still there?');
    await watcher.dispose();
    expect(await page.locator('#messages .text', { hasText: 'Are you still there?' }).count()).toBe(
      0,
    );
    await page.screenshot({ path: `${ARTEFACTS}/4-offline.png` });
    socket.restore();
    await page
      .locator('#messages .message.incoming .text', { hasText: 'Are you still there?' })
      .waitFor();
    expect(await liveState(page)).toBe('live');
    // Every message once: the send's answer and its echo event are the same message.
    expect(await shownMessages(page)).toEqual([
      ...Array.from({ length: 20 }, () => '—'),
      ...Array.from({ length: 20 }, (_, i) => `Message ${41 + i} about the order #${4140 + i}`),
      'It ships today!',
      'Great, thank you!',
      'Are you still there?',
    ]);
    // It came through the subscription, resumed after the last event the page had, alone (not
    // what the page had already), and not through a read.
    expect(framesOf(socket.sent.slice(sentBefore), 'subscribe').map((f) => f.payload)).toEqual([
      expect.objectContaining({ variables: { accountId: shop.id, after: lastSeen?.cursor } }),
    ]);
    expect(eventsOf(socket.received.slice(receivedBefore)).map((e) => e.message?.text)).toEqual([
      'Are you still there?',
    ]);
    expect(requests.slice(before).filter((name) => name !== 'MarkSeen')).toEqual([]);
    await page.screenshot({ path: `${ARTEFACTS}/5-resumed.png` });

    // Nothing was fetched from outside this machine.
    expect(failed).toEqual([]);
    // The account first (the subscription needs it), then the list, once subscribed.
    expect(requests.slice(0, 4)).toEqual(['LoginStatus', 'Inbox', 'Conversation', 'MarkSeen']);
    await context.close();
  });

  it('says, in words, why a reply cannot go out', async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await openInbox(context);
    const notice = page.locator('#notice');
    // The next page of the list holds conversations whose customer wrote over 7 days ago.
    await page.locator('#more').click();
    await shown(page, '#conversations li', 30);
    const closed = page.locator('#conversations li', { hasText: 'yuki.tanaka' });
    expect(await closed.getAttribute('data-window')).toBe('CLOSED');
    await closed.locator('button').click();
    await page.waitForSelector('#window[data-state="CLOSED"]');
    expect(await page.locator('#window').textContent()).toBe(
      'Closed: the customer must write first',
    );
    await page.locator('#text').fill('Hello again!');
    await page.locator('#send').click();
    await page.waitForSelector('#notice:not([hidden])');
    expect(await notice.textContent()).toBe(
      'You can’t reply to this conversation any more: the customer last wrote more than 24 hours ago. They need to write to you first.',
    );
    await page.screenshot({ path: `${ARTEFACTS}/6-outside-window.png` });

    // An image at a link that is not https: refused before Instagram sees it.
    await page.locator('#conversations li').first().locator('button').click();
    await page.waitForSelector('#window[data-state="OPEN"]');
    expect(await notice.isHidden()).toBe(true);
    await page.locator('#image-url').fill('http://example.com/photo.jpg');
    await page.locator('#send-image').click();
    await page.waitForSelector('#notice:not([hidden])');
    expect(await notice.textContent()).toBe(
      'The image must be an https:// link to a PNG, JPEG or GIF file.',
    );
    await context.close();
  });

  it('reads again after a reconnection with nothing to resume from, and stops when igql ends the session', async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const requests = graphqlRequests(page);
    const socket = await cuttableWebsocket(page);
    await page.goto(`${origin}/sandbox/inbox`);
    await page.waitForSelector('#live[data-state="live"]');
    const rows = page.locator('#conversations li');
    await rows.first().locator('.who', { hasText: 'ana.costa' }).waitFor();
    await rows.first().locator('button').click();
    await shown(page, '#messages .message', 20);
    // No event yet: no cursor to resume from.
    expect(eventsOf(socket.received)).toEqual([]);

    // The connection drops; the customer writes meanwhile; the page comes back with nothing to
    // resume from, so it reads the list and the conversation again.
    const watcher = await subscribeInbox(igql.url, shop.token, shop.id);
    const before = requests.length;
    await socket.drop();
    await page.waitForSelector('#live[data-state="reconnecting"]');
    await customerWrites('Hello while you were away');
    await watcher.until((event) => event.message?.text === 'Hello while you were away');
    await watcher.dispose();
    socket.restore();
    await page
      .locator('#messages .message.incoming .text', { hasText: 'Hello while you were away' })
      .waitFor();
    expect(requests.slice(before)).toEqual(['Inbox', 'Conversation']);
    expect((await shownMessages(page)).at(-1)).toBe('Hello while you were away');
    expect(await rows.first().locator('.preview').textContent()).toBe('Hello while you were away');
    expect(eventsOf(socket.received)).toEqual([]);
    await page.waitForSelector('#live[data-state="live"]');

    // The session ends: igql refuses it when the page connects again (4403). The page stops
    // trying, and says so.
    socket.forgeSession('Bearer not-a-session');
    await socket.drop();
    socket.restore();
    await page.waitForSelector('#live[data-state="ended"]');
    expect(await page.locator('#notice').textContent()).toBe(
      'Your session has ended. Log in again to go on. Log in again',
    );
    expect(await page.locator('#notice a').getAttribute('href')).toBe('/auth/instagram/login');
    // The first connection, the one after the first drop, and the refused one: no other.
    const inits = framesOf(socket.sent, 'connection_init').map((f) => f.payload?.authorization);
    const session = inits[0];
    expect(session).toMatch(/^Bearer ey/);
    expect(inits).toEqual([session, session, 'Bearer not-a-session']);
    await page.screenshot({ path: `${ARTEFACTS}/7-session-ended.png` });
    await context.close();
  });
});
