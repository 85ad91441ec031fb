import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Route } from '../http.ts';

/** The example inbox's build (`npm run build:inbox`), committed: `npm start` needs no build step. */
export const INBOX_DIST = fileURLToPath(new URL('../../examples/inbox/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
/** A file of the build with another extension: served, as bytes the browser will not sniff. */
const OTHER_TYPE = 'application/octet-stream';

const YEAR_S = 365 * 24 * 3600;

/**
 * `GET /sandbox/inbox`: the example inbox (examples/inbox), logged in as the first demo account
 * (the page asks `GET /sandbox` for its session), and its files under `/sandbox/inbox/`. Only
 * the files of the build are routes, read once at start: no other path can be asked for. Vite
 * names the assets by their content, so they are cached for a year; the page is never cached, so
 * that a new build is seen at once. Without a build, the page says how to make one. Each route
 * answers HEAD as well (Node sends no body for it).
 */
export function inboxRoutes(dist: string = INBOX_DIST): Record<string, Route> {
  let names: string[];
  try {
    names = readdirSync(dist, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dist, join(entry.parentPath, entry.name)).replace(/\\/g, '/'));
  } catch {
    names = [];
  }
  const routes: Record<string, Route> = {};
  const route = (path: string, answer: Route) => {
    routes[`GET ${path}`] = answer;
    routes[`HEAD ${path}`] = answer;
  };
  for (const name of names) {
    if (name === 'index.html') continue;
    const type = TYPES[extname(name)] ?? OTHER_TYPE;
    const body = readFileSync(join(dist, name));
    route(`/sandbox/inbox/${name}`, (_req, res) => {
      res.writeHead(200, {
        'content-type': type,
        'content-length': body.length,
        'cache-control': `public, max-age=${YEAR_S}, immutable`,
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    });
  }
  const page = names.includes('index.html') ? readFileSync(join(dist, 'index.html')) : undefined;
  const inbox: Route = (_req, res) => {
    if (!page) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The example inbox is not built: run `npm run build:inbox`.\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(page);
  };
  route('/sandbox/inbox', inbox);
  route('/sandbox/inbox/', inbox);
  return routes;
}
