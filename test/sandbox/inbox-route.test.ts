import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxRoutes } from '../../src/sandbox/inbox.ts';
import { PRODUCTION_ENV, type RunningApp, startApp } from '../helpers/app.ts';
import { openRaw } from '../helpers/raw-http.ts';

const DIST = 'examples/inbox/dist';
/** Inside the repository (git-ignored), like every file a test reads. */
const SCRATCH = 'test/artifacts';

let igql: RunningApp;
beforeAll(async () => {
  igql = await startApp();
});
afterAll(() => igql?.stop());

const port = () => (igql.app.server.address() as AddressInfo).port;

describe('GET /sandbox/inbox: the example inbox, in sandbox mode', () => {
  it('serves the page, never cached, at /sandbox/inbox and /sandbox/inbox/', async () => {
    const page = await readFile(`${DIST}/index.html`, 'utf8');
    for (const path of ['/sandbox/inbox', '/sandbox/inbox/']) {
      const res = await fetch(`${igql.base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(page);
    }
  });

  it('serves its content-named files for a year, with their types', async () => {
    const assets = (await readdir(`${DIST}/assets`)).sort();
    expect(assets.map((name) => name.split('.').at(-1)).sort()).toEqual(['css', 'js']);
    for (const name of assets) {
      const res = await fetch(`${igql.base}/sandbox/inbox/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(
        name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
      );
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(
        await readFile(`${DIST}/assets/${name}`),
      );
    }
    expect((await fetch(`${igql.base}/sandbox/inbox/assets/index-00000000.js`)).status).toBe(404);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const [asset] = await readdir(`${DIST}/assets`);
    for (const [path, file] of [
      ['/sandbox/inbox', 'index.html'],
      [`/sandbox/inbox/assets/${asset}`, `assets/${asset}`],
    ] as const) {
      const get = await fetch(`${igql.base}${path}`, {
        headers: { 'accept-encoding': 'identity' },
      });
      const head = await fetch(`${igql.base}${path}`, { method: 'HEAD' });
      expect(head.status, path).toBe(200);
      for (const name of ['content-type', 'cache-control', 'x-content-type-options']) {
        expect(head.headers.get(name), `${path} ${name}`).toBe(get.headers.get(name));
      }
      expect(await head.text(), path).toBe('');
      expect(await get.text(), path).toBe(await readFile(`${DIST}/${file}`, 'utf8'));
    }
    const [js] = (await readdir(`${DIST}/assets`)).filter((name) => name.endsWith('.js'));
    const head = await fetch(`${igql.base}/sandbox/inbox/assets/${js}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(
      String((await readFile(`${DIST}/assets/${js}`)).length),
    );
  });

  it('serves every file of a build, one of another type as bytes, whatever the dist path', async () => {
    await mkdir(SCRATCH, { recursive: true });
    const dist = await mkdtemp(join(SCRATCH, 'inbox-build-'));
    try {
      await mkdir(join(dist, 'assets', 'fonts'), { recursive: true });
      await writeFile(join(dist, 'index.html'), '<!doctype html>');
      await writeFile(join(dist, 'assets', 'index-abcdefgh.js'), 'export {};');
      await writeFile(join(dist, 'assets', 'fonts', 'inter-abcdefgh.woff2'), 'wOF2');
      // With and without the trailing slash, the routes are the same.
      for (const root of [dist, `${dist}/`]) {
        const routes = inboxRoutes(root);
        expect(Object.keys(routes).sort()).toEqual(
          [
            '/sandbox/inbox',
            '/sandbox/inbox/',
            '/sandbox/inbox/assets/fonts/inter-abcdefgh.woff2',
            '/sandbox/inbox/assets/index-abcdefgh.js',
          ]
            .flatMap((path) => [`GET ${path}`, `HEAD ${path}`])
            .sort(),
        );
        const font = await answer(routes, '/sandbox/inbox/assets/fonts/inter-abcdefgh.woff2');
        expect(font.status).toBe(200);
        expect(font.headers.get('content-type')).toBe('application/octet-stream');
        expect(font.headers.get('x-content-type-options')).toBe('nosniff');
        expect(await font.text()).toBe('wOF2');
      }
    } finally {
      await rm(dist, { recursive: true, force: true });
    }
  });

  it('serves nothing else: a path that climbs out is not found', async () => {
    const raw = await openRaw(port());
    for (const path of [
      '/sandbox/inbox/../../package.json',
      '/sandbox/inbox/%2e%2e/%2e%2e/package.json',
      '/sandbox/inbox/assets/..%2f..%2f..%2f..%2fpackage.json',
      '/sandbox/inbox/index.html/../../../src/main.ts',
      '/sandbox/inbox/vite.config.ts',
    ]) {
      const res = await raw.request('GET', path, { accept: 'application/json' });
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('igql');
    }
    raw.socket.destroy();
  });

  it('says how to build it when there is no build', async () => {
    const routes = inboxRoutes('examples/inbox/no-such-dist/');
    expect(Object.keys(routes).sort()).toEqual([
      'GET /sandbox/inbox',
      'GET /sandbox/inbox/',
      'HEAD /sandbox/inbox',
      'HEAD /sandbox/inbox/',
    ]);
    const res = await answer(routes, '/sandbox/inbox');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('The example inbox is not built: run `npm run build:inbox`.\n');
  });
});

/** `GET path` answered by `routes` alone, on a server of its own. */
async function answer(routes: ReturnType<typeof inboxRoutes>, path: string): Promise<Response> {
  const server = createServer((req, res) => void routes[`GET ${req.url}`]?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('GET /sandbox/inbox in production mode', () => {
  it('is not served', async () => {
    const production = await startApp(PRODUCTION_ENV);
    try {
      const assets = await readdir(`${DIST}/assets`);
      for (const path of ['/sandbox/inbox', ...assets.map((a) => `/sandbox/inbox/assets/${a}`)]) {
        expect((await fetch(`${production.base}${path}`)).status, path).toBe(404);
      }
    } finally {
      await production.stop();
    }
  });
});
