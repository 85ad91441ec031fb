import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from '../helpers/app.ts';

/**
 * Debian's Chromium (`.ci/run` installs it); never a browser a test tool downloads. Playwright
 * gives it a fresh profile; the flags keep it off this machine's closed network.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let igql: RunningApp;
let browser: Browser;
let profile: string;

beforeAll(async () => {
  igql = await startApp();
  profile = mkdtempSync(join(tmpdir(), 'igql-chromium-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await igql?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('GraphiQL in a real browser', () => {
  it('opens offline in sandbox mode and runs the demo inbox query over the demo session', async () => {
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    await page.goto(igql.url, { waitUntil: 'load' });
    const run = page.locator('.graphiql-execute-button');
    await run.waitFor({ timeout: 15_000 });
    await run.click();
    const result = page.locator('.graphiql-response');
    await expect
      .poll(async () => (await result.textContent()) ?? '', { timeout: 15_000 })
      .toContain('"northwind.shop"');
    const text = (await result.textContent()) ?? '';
    expect(text).toContain('"replyWindow"');
    expect(text).not.toContain('"errors"');
    // Nothing was fetched from outside this machine.
    expect(failed).toEqual([]);
    await page.screenshot({ path: join(profile, 'graphiql.png') });
    await page.close();
  });
});
