import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../../src/global-id.ts';
import { signatureHeaders } from '../../src/sandbox/webhooks.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import { openSocket } from '../helpers/transports.ts';

/**
 * Property-based fuzzing of every door a stranger can knock on: GraphQL bodies and variables,
 * webhook bodies and signatures, session JWTs and graphql-ws frames. Fixed seed and bounded
 * counts: the same inputs every run, so a failure is reproducible (fast-check prints the seed
 * and the shrunk counterexample). Client input never answers 5xx, nothing unverified is
 * published, and the heap comes back within a bound.
 */
const SEED = 20261129;
const runs = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

let gw: Gateway;
let igId = '';
let igsid = '';
let session = '';
let base = '';

beforeAll(async () => {
  gw = await startGateway((sim) => {
    const { account } = sim.addAccount({ username: 'fuzz.shop' });
    const user = sim.store.addUser(account.igId, { username: 'ana.costa' });
    sim.store.addMessage(account.igId, user.igsid, {
      fromId: user.igsid,
      createdTime: T0 - 60_000,
    });
    igId = account.igId;
    igsid = user.igsid;
  });
  session = await gw.session([igId]);
  base = gw.url.replace(/\/graphql$/, '');
});

afterAll(async () => {
  await gw?.stop();
});

/** Events the pipeline stored as new, of every kind. */
async function published(): Promise<number> {
  const { values } = await gw.app.metrics.inboxEvents.get();
  return values.filter((v) => v.labels.outcome === 'new').reduce((sum, v) => sum + v.value, 0);
}

/** Any body a client might send: text, JSON of any shape, GraphQL-shaped JSON, bytes. */
const bodies = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.json({ maxDepth: 4 }),
  fc
    .record(
      {
        query: fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constantFrom('{ viewer { id } }', '{ __typename }', 'subscription { x }', '{'),
          fc.jsonValue(),
        ),
        variables: fc.jsonValue({ maxDepth: 3 }),
        operationName: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
        extensions: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/graphql-response+json',
  'application/graphql',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
);

/** Asserts a client-input answer: not 5xx, and no masked internal error in a GraphQL body. */
async function expectClientAnswer(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBeLessThan(500);
  expect(text).not.toContain('Unexpected error');
}

describe('fuzzed client input', () => {
  it('no HTTP body, content type or session answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, contentTypes, fc.boolean(), async (body, type, withSession) => {
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: {
            'content-type': type,
            'x-graphql-yoga-csrf': '1',
            ...(withSession ? { authorization: `Bearer ${session}` } : {}),
          },
          body,
        });
        await expectClientAnswer(res);
      }),
      runs(300),
    );
  });

  it('no query string of a GET answers 5xx', async () => {
    const params = fc.dictionary(
      fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'x'),
      fc.oneof(fc.string({ maxLength: 120 }), fc.json({ maxDepth: 3 })),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(params, async (query) => {
        const res = await fetch(`${gw.url}?${new URLSearchParams(query)}`, {
          headers: {
            accept: 'application/graphql-response+json',
            'x-graphql-yoga-csrf': '1',
            authorization: `Bearer ${session}`,
          },
        });
        await expectClientAnswer(res);
      }),
      runs(200),
    );
  });

  it('no variables, of any JSON shape, answer 5xx', async () => {
    const operations = [
      'query($id: ID!, $first: Int) { node(id: $id) { id ... on Conversation { messages(first: $first) { nodes { id } } } } }',
      'query($after: String, $last: Int, $before: String) { viewer { conversations(after: $after, last: $last, before: $before) { nodes { id } } } }',
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } userErrors { code } } }',
      'mutation($input: ReactToMessageInput!) { reactToMessage(input: $input) { userErrors { code } } }',
    ];
    const ids = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constant(globalId.account(igId)),
      fc.constant(globalId.participant(igId, igsid)),
      fc
        .string({ maxLength: 40 })
        .map((s) => Buffer.from(`Conversation:${igId}:${s}`).toString('base64')),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64')),
    );
    const variables = fc.record(
      {
        id: fc.oneof(ids, fc.jsonValue({ maxDepth: 1 })),
        first: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.jsonValue({ maxDepth: 1 })),
        last: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constant(null)),
        after: fc.oneof(fc.string({ maxLength: 80 }), fc.constant(null)),
        before: fc.oneof(fc.string({ maxLength: 80 }), fc.constant(null)),
        input: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record(
            {
              accountId: fc.oneof(ids, fc.constant(globalId.account(igId))),
              recipientId: fc.oneof(ids, fc.constant(globalId.participant(igId, igsid))),
              messageId: ids,
              text: fc.oneof(
                fc.string({ maxLength: 50 }),
                fc.string({ minLength: 990, maxLength: 1100 }),
              ),
              reaction: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('love', 'LOVE')),
              idempotencyKey: fc.oneof(
                fc.string({ maxLength: 40 }),
                fc.string({ minLength: 250, maxLength: 400 }),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...operations), variables, async (query, vars) => {
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
          body: JSON.stringify({ query, variables: vars }),
        });
        await expectClientAnswer(res);
      }),
      runs(300),
    );
  });

  it('every token but a valid session answers 401, never 5xx', async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const [head, payload, signature] = session.split('.') as [string, string, string];
    const tokens = fc.oneof(
      fc.string({ maxLength: 200 }).filter((s) => s.trim() !== '' && !/[\r\n]/.test(s)),
      // Structured forgeries: any header and claims, a random or missing signature.
      fc
        .tuple(
          fc.record(
            { alg: fc.constantFrom('none', 'HS256', 'RS256', 'ES256', 'HS512'), typ: fc.string() },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
          fc.oneof(fc.constant(''), fc.base64String({ maxLength: 60 })),
        )
        .map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s}`),
      // The valid session with one character changed.
      fc.tuple(fc.nat(), fc.constantFrom(...'ABCDEFabcdef0123456789-_')).map(([at, c]) => {
        const i = at % session.length;
        const changed = `${session.slice(0, i)}${c}${session.slice(i + 1)}`;
        return changed === session ? `${head}.${payload}.${signature}x` : changed;
      }),
    );
    await fc.assert(
      fc.asyncProperty(tokens, async (token) => {
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ viewer { id } }' }),
        });
        const text = await res.text();
        expect([res.status, text]).toEqual([401, expect.stringContaining('UNAUTHENTICATED')]);
      }),
      runs(200),
    );
  });

  it('no unsigned or forged webhook is published or answers 5xx', async () => {
    const before = await published();
    const signatures = fc.oneof(
      fc.constant<Record<string, string>>({}),
      fc
        .string({ maxLength: 80 })
        .map((s) => ({ 'X-Hub-Signature-256': s.replace(/[\r\n]/g, '') })),
      fc
        .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
        .map((h) => ({ 'X-Hub-Signature-256': `sha256=${h}` })),
      fc.constant('wrong-secret').map((secret) => ({ secret })),
    );
    const hooks = fc.oneof(
      bodies,
      fc.jsonValue({ maxDepth: 2 }).map((mid) =>
        JSON.stringify({
          object: 'instagram',
          entry: [
            {
              id: igId,
              time: T0,
              messaging: [
                {
                  sender: { id: igsid },
                  recipient: { id: igId },
                  timestamp: T0,
                  message: { mid: `fuzz-${JSON.stringify(mid)}`, text: 'forged' },
                },
              ],
            },
          ],
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(hooks, signatures, async (body, signature) => {
        const raw = typeof body === 'string' ? body : body.toString('latin1');
        const headers =
          'secret' in signature
            ? signatureHeaders(raw, signature.secret as string)
            : (signature as Record<string, string>);
        const res = await fetch(`${base}/webhooks/instagram`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: typeof body === 'string' ? body : new Uint8Array(body),
        });
        await res.arrayBuffer();
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }),
      runs(300),
    );
    expect(await published()).toBe(before);
  });

  it('signed webhooks of any shape answer without 5xx', async () => {
    const items = fc.record(
      {
        sender: fc.oneof(
          fc.record({ id: fc.oneof(fc.constant(igsid), fc.string()) }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        recipient: fc.oneof(fc.constant({ id: igId }), fc.jsonValue({ maxDepth: 1 })),
        timestamp: fc.oneof(
          fc.constant(T0),
          fc.integer(),
          fc.double(),
          fc.constantFrom(8.64e15 + 1, -1, 0, Number.MAX_SAFE_INTEGER),
          fc.string({ maxLength: 10 }),
        ),
        message: fc.oneof(
          fc.record(
            {
              mid: fc.string({ maxLength: 30 }),
              text: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
              attachments: fc.jsonValue({ maxDepth: 3 }),
              is_echo: fc.jsonValue({ maxDepth: 0 }),
              reply_to: fc.jsonValue({ maxDepth: 2 }),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        reaction: fc.jsonValue({ maxDepth: 2 }),
        read: fc.jsonValue({ maxDepth: 2 }),
        postback: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    );
    const payloads = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        object: fc.constantFrom('instagram', 'page', 'user'),
        entry: fc.array(
          fc.record(
            {
              id: fc.oneof(fc.constant(igId), fc.string({ maxLength: 12 })),
              time: fc.oneof(fc.integer(), fc.constant(T0)),
              messaging: fc.oneof(fc.array(items, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
              changes: fc.jsonValue({ maxDepth: 3 }),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(payloads, async (payload) => {
        const raw = JSON.stringify(payload);
        const res = await fetch(`${base}/webhooks/instagram`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...signatureHeaders(raw, 'test-app-secret'),
          },
          body: raw,
        });
        const text = await res.text();
        expect(res.status, text).toBeLessThan(500);
      }),
      runs(300),
    );
  });

  it('no graphql-ws frame closes a socket with an internal error', async () => {
    const frames = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      // Well-formed messages a client must not send (the server's own types) and repeated ids.
      fc.constantFrom(
        { type: 'next', id: '1', payload: { data: null } },
        { type: 'error', id: '1', payload: [{ message: 'x' }] },
        { type: 'connection_ack' },
        { type: 'subscribe', id: 'same', payload: { query: 'subscription { __typename }' } },
        { type: 'complete', id: 'unknown' },
      ),
      fc.record(
        {
          id: fc.oneof(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 0 })),
          type: fc.constantFrom(
            'subscribe',
            'complete',
            'ping',
            'pong',
            'connection_init',
            'next',
            'x',
          ),
          payload: fc.oneof(
            fc.jsonValue({ maxDepth: 3 }),
            fc.record(
              {
                query: fc.oneof(fc.string({ maxLength: 100 }), fc.constant('{ viewer { id } }')),
                variables: fc.jsonValue({ maxDepth: 2 }),
                operationName: fc.jsonValue({ maxDepth: 0 }),
                extensions: fc.jsonValue({ maxDepth: 2 }),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frames, { minLength: 1, maxLength: 4 }), async (sent) => {
        const socket = await openSocket(gw.url, {
          connectionParams: { authorization: `Bearer ${session}` },
        });
        await socket.frame('connection_ack');
        for (const frame of sent) socket.send(frame as Record<string, unknown>);
        // A ping answered means the server read every frame before it (or closed the socket).
        socket.send({ type: 'ping' });
        const outcome = await Promise.race([
          socket.closed,
          socket.frame('pong').then(() => ({ code: 0, reason: 'open' })),
        ]);
        await socket.close();
        // 4400 (invalid message), 4409 (duplicate id), 4429 (too many) are the client's; 1011
        // and 4500 would be the server's fault.
        expect([0, 1000, 4400, 4409, 4429]).toContain(outcome.code);
      }),
      runs(150),
    );
  });
});

describe('memory after the storm', () => {
  it('a hundred distinct 800 KB documents leave the heap within 64 MiB of where it started', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const start = process.memoryUsage().heapUsed;
    const big = JSON.stringify({ query: `{ viewer { id } } # ${'x'.repeat(800_000)}` });
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const res = await fetch(gw.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
            // Each document different, so no cache can serve it twice.
            body: big.replace('# x', `# ${round}-${i} x`),
          });
          await res.arrayBuffer();
          expect(res.status).toBeLessThan(500);
        }),
      );
    }
    gc();
    const grown = process.memoryUsage().heapUsed - start;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });
});
