/**
 * One server of the benchmark in a process of its own, so that its CPU and resident memory are
 * its own: `node --expose-gc bench/server.ts <kind>`, on `PORT` (0: a free one), printing
 * `bench server listening on <base URL>` (igql and the simulators print their own ready lines).
 *
 * - `igql`: `src/main.ts` itself, configured by the environment, as `npm start` runs it.
 * - `yoga`: what a user would otherwise write: graphql-yoga with a minimal schema, one
 *   subscription field publishing a message object from Yoga's in-memory pubsub, served over
 *   graphql-ws as Yoga's documentation shows. `POST /publish` with `{accountId, mid, text}`
 *   publishes.
 * - `floor`: a bare `ws` server: `POST /publish` builds one frame and sends those same bytes to
 *   every socket. No GraphQL: the machine's floor for delivering one event to every socket.
 * - `read-floor`: bench/read-floor.ts, the bare Node proxy of the read path, against the Graph API
 *   at `READ_FLOOR_UPSTREAM` with `READ_FLOOR_TOKEN`, over up to `READ_FLOOR_CONNECTIONS` (10).
 * - `ingest-floor`: a bare `node:http` server that reads each `POST /webhooks/instagram` body,
 *   checks its `X-Hub-Signature-256` (HMAC-SHA256 under `INGEST_FLOOR_SECRET`) and answers 200
 *   `EVENT_RECEIVED` (401 when the signature does not match). No parsing, no Redis: the machine's
 *   floor for acknowledging a signed webhook.
 * - `npm-simulator`: `npm run simulator` (src/sandbox/main.ts), the demo data only.
 * - `simulator`: bench/simulator.ts, the same with the read path's account added.
 *
 * Every kind answers the parent's `{type: 'rss'}` over IPC with its resident memory after two
 * full garbage collections.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { readFloor } from './read-floor.ts';

const gc = (globalThis as { gc?: () => void }).gc;
// BENCH_PAUSES=1 (with BENCH_CHILD_LOG): prints every garbage collection and event-loop stall
// of 5 ms or more, to see where a benchmark's slowest answers come from.
if (process.env.BENCH_PAUSES) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration >= 5)
        console.log(
          `pause gc ${entry.duration.toFixed(1)} ms ${JSON.stringify((entry as { detail?: unknown }).detail)}`,
        );
    }
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 15) console.log(`pause loop ${(now - last - 10).toFixed(1)} ms`);
    last = now;
  }, 10).unref();
}
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'rss') return;
  gc?.();
  gc?.();
  process.send?.({ type: 'rss', rss: process.memoryUsage().rss });
});
// The IPC channel alone keeps no server alive: a parent gone is the end.
process.on('disconnect', () => process.exit(0));

interface Published {
  readonly accountId: string;
  readonly mid: string;
  readonly text: string;
}

async function body(req: IncomingMessage): Promise<Published> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString()) as Published;
}

async function listen(server: Server): Promise<void> {
  await new Promise<void>((resolve) =>
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  console.log(`bench server listening on http://127.0.0.1:${port}`);
}

/** The plain Yoga + graphql-ws server. */
async function yoga(): Promise<void> {
  // One listener per subscriber: without this, Node warns past 10.
  const target = new EventTarget();
  setMaxListeners(0, target);
  const pubsub = createPubSub<{
    messageReceived: [accountId: string, payload: { message: { mid: string; text: string } }];
  }>({ eventTarget: target });
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Query { hello: String }
      type Message { mid: String! text: String }
      type MessageReceivedEvent { message: Message! }
      type Subscription { messageReceived(accountId: ID!): MessageReceivedEvent! }
    `,
    resolvers: {
      Subscription: {
        messageReceived: {
          subscribe: (_: unknown, args: { accountId: string }) =>
            pubsub.subscribe('messageReceived', args.accountId),
          resolve: (payload: unknown) => payload,
        },
      },
    },
  });
  const app = createYoga({ schema, graphiql: false, logging: false });
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/publish') {
      void body(req).then(({ accountId, mid, text }) => {
        pubsub.publish('messageReceived', accountId, { message: { mid, text } });
        res.end('{}');
      });
      return;
    }
    void app(req, res);
  });
  const wss = new WebSocketServer({ server, path: app.graphqlEndpoint });
  // As https://the-guild.dev/graphql/yoga-server/docs/features/subscriptions#graphql-over-websocket-protocol-via-graphql-ws
  type Enveloped = ReturnType<typeof app.getEnveloped>;
  useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = app.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: params.operationName,
          document: enveloped.parse(params.query),
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  await listen(server);
}

/** The bare `ws` floor: one frame built per event, the same bytes sent to every socket. */
async function floor(): Promise<void> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/publish') {
      res.statusCode = 404;
      res.end();
      return;
    }
    void body(req).then(({ mid, text }) => {
      const frame = Buffer.from(
        JSON.stringify({
          id: '1',
          type: 'next',
          payload: { data: { messageReceived: { message: { mid, text } } } },
        }),
      );
      for (const socket of wss.clients) socket.send(frame);
      res.end('{}');
    });
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  await listen(server);
}

/** The ingestion floor: the body read and its signature checked, nothing else. */
async function ingestFloor(): Promise<void> {
  const secret = process.env.INGEST_FLOOR_SECRET ?? '';
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/webhooks/instagram') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const header = req.headers['x-hub-signature-256'];
      const hex = typeof header === 'string' && header.startsWith('sha256=') ? header.slice(7) : '';
      const given = Buffer.from(hex, 'hex');
      const expected = createHmac('sha256', secret).update(Buffer.concat(chunks)).digest();
      const signed =
        secret !== '' && given.length === expected.length && timingSafeEqual(given, expected);
      res.writeHead(signed ? 200 : 401, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(signed ? 'EVENT_RECEIVED' : 'bad signature');
    });
  });
  await listen(server);
}

const kind = process.argv[2];
if (kind === 'igql') await import('../src/main.ts');
else if (kind === 'yoga') await yoga();
else if (kind === 'floor') await floor();
else if (kind === 'ingest-floor') await ingestFloor();
else if (kind === 'read-floor')
  await listen(
    readFloor(
      { url: process.env.READ_FLOOR_UPSTREAM ?? '', token: process.env.READ_FLOOR_TOKEN ?? '' },
      Number(process.env.READ_FLOOR_CONNECTIONS ?? 10),
    ),
  );
else if (kind === 'simulator') await import('./simulator.ts');
else if (kind === 'npm-simulator') await import('../src/sandbox/main.ts');
else throw new Error(`bench/server.ts: unknown kind ${kind}`);
