import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, used when it is installed (`apt-get install chromium`). */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  readonly browser: Browser;
  /** `system` (Debian's) or `bundled` (the npm package `@sparticuz/chromium`). */
  readonly kind: 'system' | 'bundled';
  close(): Promise<void>;
}

/**
 * A headless Chromium for the browser tests: Debian's when it is there, unless
 * `IGQL_IGNORE_SYSTEM_CHROMIUM=1`; otherwise the one `npm install` brings (`@sparticuz/chromium`
 * ships its binary inside the package, so nothing is downloaded). Never a browser a test tool
 * downloads. Playwright gives it a fresh profile; the flags keep it off this machine's closed network.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const useSystem = !process.env.IGQL_IGNORE_SYSTEM_CHROMIUM && existsSync(SYSTEM_CHROMIUM);
  const executablePath = useSystem
    ? SYSTEM_CHROMIUM
    : await (await import('@sparticuz/chromium')).default.executablePath();
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--no-zygote',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    browser,
    kind: useSystem ? 'system' : 'bundled',
    close: () => browser.close(),
  };
}
