import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { GraphiQLOptions } from 'graphql-yoga';
import type { Route } from '../http.ts';

/**
 * GraphiQL as igql serves it: Yoga's GraphiQL build split into separate, content-hashed files
 * under `/graphiql/` (cached for a year, compressed once with brotli or gzip), a small HTML page
 * that names them, and igql's own fetcher (`client.js`), which sends the headers of GraphiQL's
 * headers editor on every transport: HTTP, and graphql-ws `connectionParams`.
 */
export interface GraphiQL {
  /** The page for Yoga's `renderGraphiQL`. */
  render(options: GraphiQLOptions): string;
  /** `GET /graphiql/<name>.<hash>.<ext>`: the assets. */
  readonly routes: Readonly<Record<string, Route>>;
}

interface Asset {
  readonly path: string;
  readonly type: string;
  readonly body: Buffer;
  /** Compressed bodies, made on first request and kept. */
  readonly encoded: Map<'br' | 'gzip', Promise<Buffer>>;
}

/** What the page tells `client.js`. */
export interface PageOptions {
  readonly endpoint: string;
  readonly workers: Record<'editorWorkerService' | 'json' | 'graphql', string>;
  readonly graphiql: GraphiQLOptions;
}

const compressors = {
  // Quality 5: a fifth of the size, in tens of milliseconds for the 5 MB bundle (11 takes 10 s).
  br: (body: Buffer) =>
    promisify(brotliCompress)(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 5,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  gzip: (body: Buffer) => promisify(gzip)(body, { level: 9 }),
};

const YEAR_S = 365 * 24 * 3600;

/** Loads GraphiQL's files (Yoga's build, graphql-ws's browser client, igql's fetcher). */
export async function createGraphiQL(): Promise<GraphiQL> {
  const yoga = await import('@graphql-yoga/render-graphiql/graphiql');
  const require = createRequire(import.meta.url);
  const graphqlWs = join(dirname(require.resolve('graphql-ws')), '../umd/graphql-ws.min.js');
  const js = 'text/javascript; charset=utf-8';

  const assets = new Map<string, Asset>();
  const add = (name: string, ext: string, type: string, body: Buffer): string => {
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    const path = `/graphiql/${name}.${hash}.${ext}`;
    assets.set(path, { path, type, body, encoded: new Map() });
    return path;
  };
  const favicon = add(
    'favicon',
    'ico',
    'image/x-icon',
    Buffer.from(yoga.favicon.replace(/^data:[^,]*;base64,/, ''), 'base64'),
  );
  const css = add('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(yoga.css));
  const scripts = [
    add('graphiql', 'js', js, Buffer.from(yoga.js)),
    add('graphql-ws', 'js', js, await readFile(graphqlWs)),
    add('igql', 'js', js, await readFile(new URL('./client.js', import.meta.url))),
  ];
  const workers = {
    editorWorkerService: add('editor.worker', 'js', js, Buffer.from(yoga.editorWorkerService)),
    json: add('json.worker', 'js', js, Buffer.from(yoga.jsonWorker)),
    graphql: add('graphql.worker', 'js', js, Buffer.from(yoga.graphqlWorker)),
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const asset = assets.get(new URL(req.url ?? '/', 'http://igql').pathname);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    const encoding = acceptedEncoding(req.headers['accept-encoding']);
    let body = asset.body;
    if (encoding) {
      let encoded = asset.encoded.get(encoding);
      if (!encoded) {
        encoded = compressors[encoding](asset.body);
        asset.encoded.set(encoding, encoded);
      }
      body = await encoded;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      // The name changes with the content: a browser never asks again.
      'cache-control': `public, max-age=${YEAR_S}, immutable`,
      vary: 'accept-encoding',
      ...(body === asset.body ? {} : { 'content-encoding': encoding }),
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };

  return {
    routes: Object.fromEntries([...assets.keys()].map((path) => [`GET ${path}`, serve])),
    render(options) {
      const page: PageOptions = {
        endpoint: options.endpoint ?? '/graphql',
        workers,
        graphiql: { ...options, favicon },
      };
      return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'igql')}</title>
    <link rel="icon" href="${favicon}" />
    <link rel="stylesheet" href="${css}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script id="igql-graphiql" type="application/json">${scriptJson(page)}</script>
${scripts.map((src) => `    <script src="${src}"></script>`).join('\n')}
  </body>
</html>
`;
    },
  };
}

/** Brotli, else gzip, when the client accepts it (`q=0` refuses). */
function acceptedEncoding(header: string | string[] | undefined): 'br' | 'gzip' | undefined {
  const accepted = new Map<string, number>();
  for (const part of String(header ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  if ((accepted.get('br') ?? 0) > 0) return 'br';
  if ((accepted.get('gzip') ?? 0) > 0) return 'gzip';
  return undefined;
}

/** JSON safe inside a `<script>` element. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, (c) => {
      return c === '\u2028' ? '\\u2028' : '\\u2029';
    });

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
