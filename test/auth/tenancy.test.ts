import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { globalId } from '../../src/global-id.ts';
import type { Simulator } from '../../src/sandbox/simulator.ts';
import type { SimAccount, SimMessage, SimUser } from '../../src/sandbox/store.ts';
import { signatureHeaders, toMetaJson } from '../../src/sandbox/webhooks.ts';
import { type Gateway, startGateway, T0 } from '../helpers/gateway.ts';
import {
  type LiveSubscription,
  liveOverSse,
  liveOverWebSocket,
  openSocket,
  overHttp,
  overSse,
  overWebSocket,
  type Result,
  socketOutcome,
  upgradeRefusal,
} from '../helpers/transports.ts';

const APP_SECRET = 'test-app-secret';
const INBOX_ORIGIN = 'https://inbox.example.com';
const FORBIDDEN = { code: 4403, reason: 'Forbidden' };

interface Tenant {
  readonly account: SimAccount;
  readonly customer: SimUser;
  readonly message: SimMessage;
}

interface Seeded {
  /** northwind.shop: the session's own account. */
  readonly a: Tenant;
  /** lumen.studio: another tenant. */
  readonly b: Tenant;
}

function seed(sim: Simulator): Seeded {
  const tenant = (username: string, customerName: string): Tenant => {
    const account = sim.addAccount({ username }).account;
    const customer = sim.store.addUser(account.igId, { username: customerName });
    const message = sim.store.addMessage(account.igId, customer.igsid, {
      fromId: customer.igsid,
      text: `Hello ${username}`,
      createdTime: T0 - 10 * 60_000,
    });
    return { account, customer, message };
  };
  return { a: tenant('northwind.shop', 'ana.costa'), b: tenant('lumen.studio', 'mara.voss') };
}

const ids = (t: Tenant) => {
  const conversation = t.message.conversationId;
  return {
    account: globalId.account(t.account.igId),
    conversation: globalId.conversation(t.account.igId, conversation),
    participant: globalId.participant(t.account.igId, t.customer.igsid),
    message: globalId.message(t.account.igId, t.customer.igsid, t.message.mid),
  };
};

type Transport = 'http' | 'sse' | 'ws';
const TRANSPORTS: readonly Transport[] = ['http', 'sse', 'ws'];

/** One operation over one transport, with the session as a Bearer token; its single result. */
async function run(
  gw: Gateway,
  transport: Transport,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Result> {
  const auth = { authorization: `Bearer ${token}` };
  if (transport === 'ws') return overWebSocket(gw.url, token, query, variables);
  if (transport === 'sse') {
    const sse = await overSse(gw.url, auth, query, variables);
    expect([sse.status, sse.contentType, sse.results.length]).toEqual([
      200,
      'text/event-stream',
      1,
    ]);
    return sse.results[0] ?? {};
  }
  const http = await overHttp(gw.url, auth, query, variables);
  expect(http.status).toBe(200);
  return http.body;
}

/** A webhook delivery of one incoming message, signed as Meta signs it. */
async function deliver(gw: Gateway, t: Tenant, mid: string, text: string) {
  const timestamp = gw.sim.clock.now();
  const raw = toMetaJson({
    object: 'instagram',
    entry: [
      {
        time: timestamp,
        id: t.account.igId,
        messaging: [
          {
            sender: { id: t.customer.igsid },
            recipient: { id: t.account.igId },
            timestamp,
            message: { mid, text },
          },
        ],
      },
    ],
  });
  const res = await fetch(gw.url.replace(/\/graphql$/, '/webhooks/instagram'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(raw, APP_SECRET) },
    body: raw,
  });
  expect([res.status, await res.text()]).toEqual([200, 'EVENT_RECEIVED']);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// ---- igql's own sessions --------------------------------------------------------------------

describe('igql sessions', () => {
  let gw: Gateway;
  let s: Seeded;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway(
      (sim) => {
        s = seed(sim);
      },
      { env: { ALLOWED_ORIGINS: INBOX_ORIGIN } },
    );
    token = await gw.session([s.a.account.igId]);
  });
  afterAll(() => gw?.stop());

  /**
   * An access token exactly as igql signs one (HS256, `igql-access+jwt`, iss and aud `igql`,
   * `sub`, `jti`, `accounts`, `sid`, 10 minutes), with one property changed.
   */
  async function forge(
    change: {
      header?: Partial<JWTHeaderParameters>;
      claims?: JWTPayload;
      omit?: readonly string[];
      secret?: Uint8Array;
    } = {},
  ): Promise<string> {
    const claims: JWTPayload = {
      iss: 'igql',
      aud: 'igql',
      sub: 'user-1',
      jti: randomUUID(),
      iat: now(),
      exp: now() + 600,
      accounts: [s.a.account.igId],
      sid: randomUUID(),
      ...change.claims,
    };
    for (const name of change.omit ?? []) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'igql-access+jwt', ...change.header })
      .sign(change.secret ?? gw.config.sessionSecret);
  }

  describe('a bad token is refused on every transport', () => {
    const VIEWER = '{ viewer { igId } }';

    const cases: readonly [string, () => Promise<string>, string][] = [
      [
        'a tampered signature',
        async () => {
          const [header, payload, signature = ''] = (await forge()).split('.');
          const flipped = signature[10] === 'A' ? 'B' : 'A';
          return `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`;
        },
        'the session token is not valid',
      ],
      [
        'a payload that names another account, under the original signature',
        async () => {
          const [header, payload = '', signature] = (await forge()).split('.');
          const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as JWTPayload;
          return `${header}.${b64({ ...claims, accounts: [s.b.account.igId] })}.${signature}`;
        },
        'the session token is not valid',
      ],
      ['an expired token', () => forge({ claims: { exp: now() - 60 } }), 'the session has expired'],
      [
        'a wrong audience',
        () => forge({ claims: { aud: 'another-service' } }),
        'the session token is not valid',
      ],
      [
        'a wrong issuer',
        () => forge({ claims: { iss: 'https://idp.example' } }),
        'the session token is not valid',
      ],
      [
        'alg: none',
        async () =>
          `${b64({ alg: 'none', typ: 'igql-access+jwt' })}.${b64({
            iss: 'igql',
            aud: 'igql',
            sub: 'user-1',
            jti: randomUUID(),
            iat: now(),
            exp: now() + 600,
            accounts: [s.a.account.igId],
            sid: randomUUID(),
          })}.`,
        'the session token is not valid',
      ],
      [
        'a refresh token',
        () =>
          signToken(
            gw.config.sessionSecret,
            'refresh',
            { sub: 'user-1', accounts: [s.a.account.igId], sid: randomUUID() },
            600,
          ),
        'the session token is not valid',
      ],
      [
        'a state token',
        () =>
          signToken(
            gw.config.sessionSecret,
            'state',
            { sub: 'login', nonce: randomUUID(), next: null },
            600,
          ),
        'the session token is not valid',
      ],
      [
        'a token without a type',
        () => forge({ header: { typ: undefined } }),
        'the session token is not valid',
      ],
      [
        'a token signed with another secret',
        () => forge({ secret: randomBytes(32) }),
        'the session token is not valid',
      ],
      [
        'an HS256 token with no accounts',
        () => forge({ omit: ['accounts'] }),
        'the session names no account',
      ],
      [
        'an HS256 token with an empty account list',
        () => forge({ claims: { accounts: [] } }),
        'the session names no account',
      ],
    ];

    it('accepts the unchanged token (the control)', async () => {
      const good = await forge();
      for (const transport of TRANSPORTS) {
        expect(await run(gw, transport, good, VIEWER)).toEqual({
          data: { viewer: { igId: s.a.account.igId } },
        });
      }
    });

    it.each(cases)(
      '%s: 401 UNAUTHENTICATED over HTTP and SSE, 4403 on a websocket',
      async (_name, make, reason) => {
        const bad = await make();
        const refusal = {
          errors: [
            { message: `Invalid session: ${reason}`, extensions: { code: 'UNAUTHENTICATED' } },
          ],
        };
        const auth = { authorization: `Bearer ${bad}` };
        expect(await overHttp(gw.url, auth, VIEWER)).toEqual({ status: 401, body: refusal });
        const sse = await overSse(gw.url, auth, VIEWER);
        expect([sse.status, sse.results]).toEqual([401, [refusal]]);
        const cookieOnly = await overHttp(gw.url, { cookie: `igql_session=${bad}` }, VIEWER);
        expect(cookieOnly).toEqual({ status: 401, body: refusal });
        expect(await socketOutcome(gw.url, `Bearer ${bad}`)).toEqual(FORBIDDEN);
      },
    );

    it('a request without any session: UNAUTHENTICATED, and a websocket without one: 4403', async () => {
      expect(await overHttp(gw.url, {}, VIEWER)).toEqual({
        status: 401,
        body: {
          data: null,
          errors: [
            {
              message: 'Send a valid session: Authorization: Bearer <session JWT>',
              locations: [{ line: 1, column: 3 }],
              path: ['viewer'],
              extensions: { code: 'UNAUTHENTICATED' },
            },
          ],
        },
      });
      const socket = await openSocket(gw.url);
      expect(await socket.closed).toEqual(FORBIDDEN);
      expect(await socketOutcome(gw.url, 'Basic dXNlcjpwYXNz')).toEqual(FORBIDDEN);
    });
  });

  describe('a session of account A cannot reach account B', () => {
    const READ = `query($account: ID!, $conversation: ID!, $message: ID!, $ids: [ID!]!) {
      account: node(id: $account) { id }
      conversation: node(id: $conversation) { id }
      message: node(id: $message) { id }
      nodes(ids: $ids) { id }
    }`;

    it.each(TRANSPORTS)(
      'query over %s: B’s objects answer null, with no upstream call',
      async (transport) => {
        const b = ids(s.b);
        // A forged id: B's conversation and message under A's IG_ID.
        const forgedConversation = globalId.conversation(
          s.a.account.igId,
          s.b.message.conversationId,
        );
        const forgedMessage = globalId.message(
          s.a.account.igId,
          s.b.customer.igsid,
          s.b.message.mid,
        );
        let result: Result = {};
        const calls = await gw.upstreamCalls(async () => {
          result = await run(gw, transport, token, READ, {
            account: b.account,
            conversation: b.conversation,
            message: b.message,
            ids: [b.account, b.conversation, b.message, b.participant],
          });
        });
        expect(result).toEqual({
          data: {
            account: null,
            conversation: null,
            message: null,
            nodes: [null, null, null, null],
          },
        });
        expect(calls).toBe(0);

        // Under A's IG_ID, B's objects are read with A's token, and Instagram knows none of them.
        const forged = await run(gw, transport, token, READ, {
          account: globalId.account(s.a.account.igId),
          conversation: forgedConversation,
          message: forgedMessage,
          ids: [forgedConversation, forgedMessage, ids(s.a).conversation],
        });
        expect(forged).toEqual({
          data: {
            account: { id: globalId.account(s.a.account.igId) },
            conversation: null,
            message: null,
            nodes: [null, null, { id: ids(s.a).conversation }],
          },
        });
        expect(
          await run(gw, transport, token, '{ viewer { igId username } accounts { igId } }'),
        ).toEqual({
          data: {
            viewer: { igId: s.a.account.igId, username: 'northwind.shop' },
            accounts: [{ igId: s.a.account.igId }],
          },
        });
      },
    );

    const USER_ERRORS = 'userErrors { __typename code message field }';
    const SEND = `mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } ${USER_ERRORS} } }`;
    const REACT = `mutation($input: ReactToMessageInput!) { reactToMessage(input: $input) { message { id } ${USER_ERRORS} } }`;
    const notFound = (what: string, field: string) => ({
      message: null,
      userErrors: [
        {
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          message: `${what} not found`,
          field: ['input', field],
        },
      ],
    });

    it.each(TRANSPORTS)(
      'mutate over %s: NotFoundError, with no upstream call',
      async (transport) => {
        const a = ids(s.a);
        const b = ids(s.b);
        const attempts: [string, Record<string, unknown>, string, unknown][] = [
          [
            SEND,
            { accountId: b.account, recipientId: b.participant, text: 'Hi' },
            'sendTextMessage',
            notFound('Account', 'accountId'),
          ],
          [
            SEND,
            { accountId: a.account, recipientId: b.participant, text: 'Hi' },
            'sendTextMessage',
            notFound('Participant', 'recipientId'),
          ],
          [
            REACT,
            { accountId: b.account, messageId: b.message },
            'reactToMessage',
            notFound('Account', 'accountId'),
          ],
          [
            REACT,
            { accountId: a.account, messageId: b.message },
            'reactToMessage',
            notFound('Message', 'messageId'),
          ],
        ];
        const calls = await gw.upstreamCalls(async () => {
          for (const [document, input, field, expected] of attempts) {
            expect(await run(gw, transport, token, document, { input })).toEqual({
              data: { [field]: expected },
            });
          }
        });
        expect(calls).toBe(0);
        expect(gw.sim.store.conversations.get(s.b.message.conversationId)?.messages).toEqual([
          s.b.message,
        ]);
      },
    );

    it.each(TRANSPORTS)(
      'subscribe over %s: B’s account or conversation is NOT_FOUND',
      async (transport) => {
        const notFoundAt = (what: string, column: number, field: string) => ({
          errors: [
            {
              message: `${what} not found`,
              locations: [{ line: 1, column }],
              path: [field],
              extensions: { code: 'NOT_FOUND' },
            },
          ],
        });
        const INBOX =
          'subscription($a: ID!, $c: ID) { inboxEvents(accountId: $a, conversationId: $c) { cursor } }';
        const calls = await gw.upstreamCalls(async () => {
          expect(
            await run(
              gw,
              transport,
              token,
              'subscription($a: ID!) { messageReceived(accountId: $a) { cursor } }',
              { a: ids(s.b).account },
            ),
          ).toEqual(notFoundAt('Account', 25, 'messageReceived'));
          expect(
            await run(gw, transport, token, INBOX, {
              a: ids(s.b).account,
              c: ids(s.b).conversation,
            }),
          ).toEqual(notFoundAt('Account', 33, 'inboxEvents'));
          expect(
            await run(gw, transport, token, INBOX, {
              a: ids(s.a).account,
              c: ids(s.b).conversation,
            }),
          ).toEqual(notFoundAt('Conversation', 33, 'inboxEvents'));
        });
        expect(calls).toBe(0);
      },
    );

    it('a subscriber of A receives nothing when B gets a webhook, over SSE and graphql-ws', async () => {
      const query =
        'subscription($a: ID!) { messageReceived(accountId: $a) { message { mid text } } }';
      const variables = { a: ids(s.a).account };
      const subscribers: LiveSubscription[] = [
        await liveOverWebSocket(gw.url, token, query, variables),
        await liveOverSse(gw.url, { authorization: `Bearer ${token}` }, query, variables),
      ];
      try {
        await deliver(gw, s.b, 'mid.for.b', 'for lumen.studio only');
        await new Promise((resolve) => setTimeout(resolve, 300));
        for (const sub of subscribers) expect(sub.received).toEqual([]);
        await deliver(gw, s.a, 'mid.for.a', 'for northwind.shop');
        for (const sub of subscribers) {
          expect(await sub.next(1)).toEqual([
            {
              data: {
                messageReceived: { message: { mid: 'mid.for.a', text: 'for northwind.shop' } },
              },
            },
          ]);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        for (const sub of subscribers) expect(sub.received).toHaveLength(1);
      } finally {
        for (const sub of subscribers) await sub.close();
      }
    });
  });

  describe('websockets: Origin, cookies and expiry', () => {
    it('refuses an upgrade from a foreign Origin with 403', async () => {
      expect(await upgradeRefusal(gw.url, { origin: 'https://evil.example' })).toBe(403);
      expect(
        await upgradeRefusal(gw.url, {
          origin: 'https://evil.example',
          cookie: `igql_session=${token}`,
        }),
      ).toBe(403);
    });

    it('takes a cookie only from a page of an allowed Origin; without an Origin, 4403', async () => {
      const fromPage = await openSocket(gw.url, {
        headers: { origin: INBOX_ORIGIN, cookie: `igql_session=${token}` },
      });
      expect((await fromPage.frame('connection_ack')).type).toBe('connection_ack');
      await fromPage.close();

      const noOrigin = await openSocket(gw.url, { headers: { cookie: `igql_session=${token}` } });
      expect(await noOrigin.closed).toEqual(FORBIDDEN);
    });

    it('closes a socket with 4403 when its access token expires while it is open', async () => {
      const shortLived = await forge({ claims: { exp: now() + 2 } });
      const socket = await openSocket(gw.url, {
        connectionParams: { authorization: `Bearer ${shortLived}` },
      });
      await socket.frame('connection_ack');
      const opened = Date.now();
      expect(await socket.closed).toEqual({ code: 4403, reason: 'Session expired' });
      expect(Date.now() - opened).toBeLessThan(3000);
    });
  });
});

// ---- External identity provider (JWT_JWKS_URL) ----------------------------------------------

describe('external identity provider mode', () => {
  const ISSUER = 'https://idp.example';
  const AUDIENCE = 'igql-inbox';
  const KID = 'idp-key-1';
  let gw: Gateway;
  let s: Seeded;
  let jwks: Server;
  let privateKey: CryptoKey;
  let publicPem: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
    jwks = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    gw = await startGateway(
      (sim) => {
        s = seed(sim);
      },
      {
        env: {
          JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
          JWT_ISSUER: ISSUER,
          JWT_AUDIENCE: AUDIENCE,
        },
      },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    jwks?.closeAllConnections();
    await new Promise<void>((resolve) => (jwks ? jwks.close(() => resolve()) : resolve()));
  });

  /** A token of the provider: RS256 with its key, `ig_accounts` naming A. */
  const provider = (
    change: { claims?: JWTPayload; omit?: readonly string[]; key?: CryptoKey; kid?: string } = {},
  ) => {
    const claims: JWTPayload = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'alice',
      iat: now(),
      exp: now() + 600,
      ig_accounts: [s.a.account.igId],
      ...change.claims,
    };
    for (const name of change.omit ?? []) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: change.kid ?? KID })
      .sign(change.key ?? privateKey);
  };

  it.each(TRANSPORTS)(
    'an RS256 token of the provider reads A and not B, over %s',
    async (transport) => {
      const token = await provider();
      const b = ids(s.b);
      expect(
        await run(
          gw,
          transport,
          token,
          `query($b: ID!, $bc: ID!) { viewer { igId username } accounts { igId } b: node(id: $b) { id } bc: node(id: $bc) { id } }`,
          { b: b.account, bc: b.conversation },
        ),
      ).toEqual({
        data: {
          viewer: { igId: s.a.account.igId, username: 'northwind.shop' },
          accounts: [{ igId: s.a.account.igId }],
          b: null,
          bc: null,
        },
      });
      expect(
        await run(
          gw,
          transport,
          token,
          'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } userErrors { code field } } }',
          { input: { accountId: b.account, recipientId: b.participant, text: 'Hi' } },
        ),
      ).toEqual({
        data: {
          sendTextMessage: {
            message: null,
            userErrors: [{ code: 'NOT_FOUND', field: ['input', 'accountId'] }],
          },
        },
      });
    },
  );

  it('still accepts igql’s own sessions', async () => {
    expect(
      await run(gw, 'http', await gw.session([s.b.account.igId]), '{ viewer { igId } }'),
    ).toEqual({ data: { viewer: { igId: s.b.account.igId } } });
  });

  const refusals: readonly [string, () => Promise<string>, string][] = [
    [
      'a wrong audience',
      () => provider({ claims: { aud: 'another-app' } }),
      'the session token is not valid',
    ],
    [
      'a wrong issuer',
      () => provider({ claims: { iss: 'https://other-idp.example' } }),
      'the session token is not valid',
    ],
    [
      'no accounts claim',
      () => provider({ omit: ['ig_accounts'] }),
      'the token has no ig_accounts claim',
    ],
    [
      'an accounts claim that is not a list of IG_IDs',
      () => provider({ claims: { ig_accounts: s.a.account.igId } }),
      'the token has no ig_accounts claim',
    ],
    [
      'an expired token',
      () => provider({ claims: { exp: now() - 60 } }),
      'the session has expired',
    ],
    [
      'HS256 forged with the provider’s public key as the secret',
      () =>
        new SignJWT({
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'alice',
          exp: now() + 600,
          ig_accounts: [s.a.account.igId],
        })
          .setProtectedHeader({ alg: 'HS256', kid: KID })
          .sign(new TextEncoder().encode(publicPem)),
      'the session token is not valid',
    ],
    [
      'a key the provider does not publish',
      async () =>
        provider({ key: (await generateKeyPair('RS256')).privateKey, kid: 'unknown-key' }),
      'the session token is not valid',
    ],
    [
      'another key under the provider’s kid',
      async () => provider({ key: (await generateKeyPair('RS256')).privateKey }),
      'the session token is not valid',
    ],
  ];

  it.each(refusals)(
    'refuses %s: 401 over HTTP, 4403 on a websocket',
    async (_name, make, reason) => {
      const bad = await make();
      expect(
        await overHttp(gw.url, { authorization: `Bearer ${bad}` }, '{ viewer { igId } }'),
      ).toEqual({
        status: 401,
        body: {
          errors: [
            { message: `Invalid session: ${reason}`, extensions: { code: 'UNAUTHENTICATED' } },
          ],
        },
      });
      expect(await socketOutcome(gw.url, `Bearer ${bad}`)).toEqual(FORBIDDEN);
    },
  );
});
