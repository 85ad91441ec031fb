import { getOperationAST, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../src/global-id.ts';
import { compiledRuns, fieldsInExecutorOrder, MAX_COMPILED_FIELDS } from '../src/jit.ts';
import { GraphError } from '../src/sandbox/errors.ts';
import type { Simulator } from '../src/sandbox/simulator.ts';
import type { SimAccount, SimMessage, SimUser } from '../src/sandbox/store.ts';
import { schema } from '../src/schema/index.ts';
import { type Gateway, startGateway, T0 } from './helpers/gateway.ts';

/**
 * Compiled execution (src/jit.ts) answers as Yoga's executor does, byte for byte: each document
 * runs twice (the first run is the executor's, the second compiled where it may be) and both
 * answers must equal the executor's, captured as literals with jit off.
 */

const MINUTE = 60_000;

let gw: Gateway;
let shop: SimAccount;
let studio: SimAccount;
let ana: SimUser;
let ben: SimUser;
let studioUser: SimUser;
let anaMessages: SimMessage[] = [];
let token: string;

beforeAll(async () => {
  gw = await startGateway((sim: Simulator) => {
    shop = sim.addAccount({ username: 'northwind.shop', name: 'Northwind Shop' }).account;
    studio = sim.addAccount({ username: 'lumen.studio' }).account;
    ana = sim.store.addUser(shop.igId, { username: 'ana.costa', name: 'Ana Costa' });
    ben = sim.store.addUser(shop.igId, { username: 'ben_hughes' });
    anaMessages = [
      sim.store.addMessage(shop.igId, ana.igsid, {
        fromId: ana.igsid,
        text: 'Is the green one in stock?',
        createdTime: T0 - 10 * MINUTE,
      }),
      sim.store.addMessage(shop.igId, ana.igsid, {
        fromId: shop.igId,
        text: 'Yes!',
        createdTime: T0 - 9 * MINUTE,
      }),
      sim.store.addMessage(shop.igId, ana.igsid, {
        fromId: ana.igsid,
        createdTime: T0 - 8 * MINUTE,
        attachments: [
          { type: 'image', id: '501', url: 'https://lookaside.fbsbx.com/?asset_id=501' },
          {
            type: 'file',
            id: '504',
            url: 'https://lookaside.fbsbx.com/?asset_id=504',
            name: 'invoice.pdf',
          },
        ],
      }),
    ];
    sim.store.addMessage(shop.igId, ben.igsid, {
      fromId: ben.igsid,
      text: 'Any news?',
      createdTime: T0 - 60 * MINUTE,
    });
    studioUser = sim.store.addUser(studio.igId, { username: 'mara.voss' });
    sim.store.addMessage(studio.igId, studioUser.igsid, {
      fromId: studioUser.igsid,
      text: 'Hi studio',
      createdTime: T0 - 30 * MINUTE,
    });
  });
  token = await gw.session([shop.igId]);
  const version = gw.config.instagram.apiVersion;
  const from = { id: ana.igsid, username: 'ana.costa' };
  const to = { data: [{ id: shop.igId, username: 'northwind.shop' }] };
  const serve = (mid: string, fields: Record<string, unknown>) =>
    gw.sim.serve({
      [`GET /${version}/${mid}`]: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: mid, from, to, ...fields }));
      },
    });
  serve(garbled.mid, { created_time: 'yesterday', message: 'Hello' });
  serve(notText.mid, { created_time: '2026-11-20T11:00:00+0000', message: { text: 'Hello' } });
});
afterAll(() => gw.stop());

/** The answer's bytes, exactly as igql wrote them. */
async function answer(query: string, variables?: Record<string, unknown>): Promise<string> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'accept-encoding': 'identity',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  return `${res.status} ${await res.text()}`;
}

/** A document, its variables, and a fault the simulator answers its next calls with. */
interface Case {
  readonly query: string;
  /** The variables of the first run (0) and the second (1). */
  readonly variables?: (run: number) => Record<string, unknown>;
  /** Before each run: a fault for the simulator to answer with. */
  readonly before?: () => void;
  /** The second run is compiled (the first always runs on the executor). */
  readonly compiled: boolean;
}

const cases: Record<string, Case> = {
  'the inbox page': {
    compiled: true,
    query:
      '{ viewer { conversations(first: 25) { nodes { participants { username } messages(first: 20) { nodes { text from { username } createdTime } } } } } }',
  },
  'a node by id, its type by fragments': {
    compiled: true,
    query:
      'query($id: ID!) { node(id: $id) { __typename id ... on Message { text createdTime from { username } } ... on Conversation { historyComplete } } }',
    variables: () => ({ id: messageId(anaMessages[1]) }),
  },
  'nodes by id: found, another tenant’s, and not an id': {
    compiled: false,
    query:
      'query($ids: [ID!]!) { nodes(ids: $ids) { __typename ...M ... on Node { id } } } fragment M on Message { text isFromViewer }',
    variables: () => ({
      ids: [
        messageId(anaMessages[0]),
        globalId.participant(studio.igId, studioUser.igsid),
        globalId.account(studio.igId),
        'garbage',
      ],
    }),
  },
  'an abstract type through inline and named fragments': {
    compiled: true,
    query:
      '{ viewer { conversations(first: 1) { nodes { messages(first: 1) { nodes { attachments { __typename kind ... on FileAttachment { name url } ...Image } } } } } } } fragment Image on ImageAttachment { url }',
  },
  'skip and include by variable, aliases, and a field merged from two fragments': {
    compiled: false,
    query:
      'query($yes: Boolean!) { viewer { username @include(if: $yes) igId @skip(if: $yes) a: username ...F ...G } } fragment F on Account { name } fragment G on Account { name username }',
    variables: () => ({ yes: true }),
  },
  'fragments before a field, as Apollo Client writes them': {
    compiled: false,
    query:
      '{ viewer { ...A __typename conversations(first: 1) { ...C } } } fragment A on Account { username igId } fragment C on ConversationConnection { nodes { id } __typename }',
  },
  'fragments after the fields': {
    compiled: true,
    query:
      '{ viewer { __typename ...A } } fragment A on Account { username ...B } fragment B on Account { igId }',
  },
  'an error in a nullable nested field, its siblings kept': {
    compiled: true,
    query: '{ viewer { igId name } }',
    before: () =>
      gw.sim.inject({
        endpoint: 'GET /me',
        kind: 'error',
        times: 3,
        error: upstreamError(500, 2),
      }),
  },
  'an error in a non-null field, bubbled to the root': {
    compiled: true,
    query:
      '{ instagramApiVersion viewer { conversations(first: 2) { nodes { participants { username } } } } }',
    before: () =>
      gw.sim.inject({
        endpoint: 'GET /me/conversations',
        kind: 'error',
        error: upstreamError(400, 100),
      }),
  },
  'an unexpected error (a time Instagram garbled), masked and bubbled to the nullable item': {
    compiled: true,
    query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Message { text createdTime } } }',
    variables: () => ({ ids: [messageId(anaMessages[1]), messageId(garbled)] }),
  },
  'a value its scalar cannot represent': {
    compiled: true,
    query: 'query($id: ID!) { node(id: $id) { ... on Message { createdTime text } } }',
    variables: () => ({ id: messageId(notText) }),
  },
  'an argument out of range: BAD_USER_INPUT': {
    compiled: true,
    query: '{ viewer { conversations(first: 51) { nodes { id } } } }',
  },
  'an argument of another tenant: BAD_USER_INPUT with the argument': {
    compiled: true,
    query: 'query($u: ID) { viewer { conversations(withUser: $u) { nodes { id } } } }',
    variables: () => ({ u: globalId.participant(studio.igId, studioUser.igsid) }),
  },
  'a variable of the wrong type': {
    compiled: false,
    query: 'query($n: Int) { viewer { conversations(first: $n) { nodes { id } } } }',
    variables: () => ({ n: 'ten' }),
  },
  'a required variable missing': {
    compiled: false,
    query: 'query($id: ID!) { node(id: $id) { id } }',
    variables: () => ({}),
  },
  'an input object with a missing and an unknown field': {
    compiled: false,
    query:
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } } }',
    variables: () => ({
      input: { accountId: globalId.account(shop.igId), recipientId: 'x', txt: 'Hi' },
    }),
  },
  'a query over the complexity limit by its variables, after a run within it': {
    compiled: true,
    query:
      'query($n: Int!) { viewer { conversations(first: 50) { nodes { participants { name } messages(first: $n) { nodes { text replyTo { text } } } } } } }',
    variables: (run) => ({ n: run === 0 ? 1 : 50 }),
  },
  'a query over the complexity limit': {
    compiled: false,
    query:
      '{ viewer { conversations(first: 50) { nodes { participants { name } messages(first: 50) { nodes { text replyTo { text } } } } } } }',
  },
  'a mutation answered with a user error': {
    compiled: true,
    query:
      'mutation($input: SendTextMessageInput!) { sendTextMessage(input: $input) { message { id } userErrors { __typename code message field } } }',
    variables: () => ({
      input: {
        accountId: globalId.account(shop.igId),
        recipientId: globalId.participant(studio.igId, studioUser.igsid),
        text: 'Hi',
      },
    }),
  },
};

/** The executor's answers (Yoga without jit): status and body, byte for byte, by run. */
const expected: Record<string, (run: number) => string> = {
  'the inbox page': () =>
    `200 {"data":{"viewer":{"conversations":{"nodes":[{"participants":[{"username":"ana.costa"},{"username":"northwind.shop"}],"messages":{"nodes":[{"text":null,"from":{"username":"ana.costa"},"createdTime":"2026-11-20T11:52:00.000Z"},{"text":"Yes!","from":{"username":"northwind.shop"},"createdTime":"2026-11-20T11:51:00.000Z"},{"text":"Is the green one in stock?","from":{"username":"ana.costa"},"createdTime":"2026-11-20T11:50:00.000Z"}]}},{"participants":[{"username":"ben_hughes"},{"username":"northwind.shop"}],"messages":{"nodes":[{"text":"Any news?","from":{"username":"ben_hughes"},"createdTime":"2026-11-20T11:00:00.000Z"}]}}]}}}}`,
  'a node by id, its type by fragments': () =>
    `200 {"data":{"node":{"__typename":"Message","id":"${messageId(anaMessages[1])}","text":"Yes!","createdTime":"2026-11-20T11:51:00.000Z","from":{"username":"northwind.shop"}}}}`,
  'nodes by id: found, another tenant’s, and not an id': () =>
    `200 {"data":{"nodes":[{"__typename":"Message","text":"Is the green one in stock?","isFromViewer":false,"id":"${messageId(anaMessages[0])}"},null,null,null]}}`,
  'an abstract type through inline and named fragments': () =>
    `200 {"data":{"viewer":{"conversations":{"nodes":[{"messages":{"nodes":[{"attachments":[{"__typename":"ImageAttachment","kind":"IMAGE","url":"https://lookaside.fbsbx.com/?asset_id=501"},{"__typename":"FileAttachment","kind":"FILE","name":"invoice.pdf","url":"https://lookaside.fbsbx.com/?asset_id=504"}]}]}}]}}}}`,
  'skip and include by variable, aliases, and a field merged from two fragments': () =>
    `200 {"data":{"viewer":{"username":"northwind.shop","a":"northwind.shop","name":"Northwind Shop"}}}`,
  'fragments before a field, as Apollo Client writes them': () =>
    `200 {"data":{"viewer":{"username":"northwind.shop","igId":"${shop.igId}","__typename":"Account","conversations":{"nodes":[{"id":"${conversationId(anaMessages[0])}"}],"__typename":"ConversationConnection"}}}}`,
  'fragments after the fields': () =>
    `200 {"data":{"viewer":{"__typename":"Account","username":"northwind.shop","igId":"${shop.igId}"}}}`,
  'an error in a nullable nested field, its siblings kept': () =>
    `200 {"errors":[{"message":"Instagram is unavailable; retry later","locations":[{"line":1,"column":17}],"path":["viewer","name"],"extensions":{"code":"UPSTREAM_UNAVAILABLE","upstream":{"code":2,"subcode":null,"traceId":"AbC-123_xyz"}}}],"data":{"viewer":{"igId":"${shop.igId}","name":null}}}`,
  'an error in a non-null field, bubbled to the root': () =>
    `200 {"errors":[{"message":"Instagram refused the request as invalid","locations":[{"line":1,"column":32}],"path":["viewer","conversations"],"extensions":{"code":"BAD_USER_INPUT","upstream":{"code":100,"subcode":null,"traceId":"AbC-123_xyz"}}}],"data":null}`,
  'an unexpected error (a time Instagram garbled), masked and bubbled to the nullable item': () =>
    `200 {"errors":[{"message":"Unexpected error.","locations":[{"line":1,"column":67}],"path":["nodes",1,"createdTime"],"extensions":{"code":"INTERNAL_SERVER_ERROR"}}],"data":{"nodes":[{"id":"${messageId(anaMessages[1])}","text":"Yes!","createdTime":"2026-11-20T11:51:00.000Z"},null]}}`,
  'a value its scalar cannot represent': () =>
    `200 {"errors":[{"message":"Unexpected error.","locations":[{"line":1,"column":64}],"path":["node","text"],"extensions":{"code":"INTERNAL_SERVER_ERROR"}}],"data":{"node":{"createdTime":"2026-11-20T11:00:00.000Z","text":null}}}`,
  'an argument out of range: BAD_USER_INPUT': () =>
    `200 {"errors":[{"message":"\`first\` must be between 1 and 50","locations":[{"line":1,"column":12}],"path":["viewer","conversations"],"extensions":{"code":"BAD_USER_INPUT","argument":"first"}}],"data":null}`,
  'an argument of another tenant: BAD_USER_INPUT with the argument': () =>
    `200 {"errors":[{"message":"\`withUser\` must be a Participant.id of this account","locations":[{"line":1,"column":26}],"path":["viewer","conversations"],"extensions":{"code":"BAD_USER_INPUT","argument":"withUser"}}],"data":null}`,
  'a variable of the wrong type': () =>
    `400 {"errors":[{"message":"Variable \\"$n\\" got invalid value \\"ten\\"; Int cannot represent non-integer value: \\"ten\\"","locations":[{"line":1,"column":7}]}]}`,
  'a required variable missing': () =>
    `400 {"errors":[{"message":"Variable \\"$id\\" of required type \\"ID!\\" was not provided.","locations":[{"line":1,"column":7}]}]}`,
  'an input object with a missing and an unknown field': () =>
    `400 {"errors":[{"message":"Variable \\"$input\\" got invalid value { accountId: \\"${globalId.account(shop.igId)}\\", recipientId: \\"x\\", txt: \\"Hi\\" }; Field \\"text\\" of required type \\"String!\\" was not provided.","locations":[{"line":1,"column":10}]},{"message":"Variable \\"$input\\" got invalid value { accountId: \\"${globalId.account(shop.igId)}\\", recipientId: \\"x\\", txt: \\"Hi\\" }; Field \\"txt\\" is not defined by type \\"SendTextMessageInput\\". Did you mean \\"text\\" or \\"tag\\"?","locations":[{"line":1,"column":10}]}]}`,
  'a query over the complexity limit by its variables, after a run within it': (run) =>
    run === 0
      ? `200 {"data":{"viewer":{"conversations":{"nodes":[{"participants":[{"name":"Ana Costa"},{"name":"Northwind Shop"}],"messages":{"nodes":[{"text":null,"replyTo":null}]}},{"participants":[{"name":"ben_hughes"},{"name":"Northwind Shop"}],"messages":{"nodes":[{"text":"Any news?","replyTo":null}]}}]}}}}`
      : `200 {"errors":[{"message":"Query complexity 20402 is over the limit of 10000: ask for fewer fields or smaller pages","locations":[{"line":1,"column":19}],"path":["viewer"],"extensions":{"code":"QUERY_TOO_COMPLEX"}}],"data":null}`,
  'a query over the complexity limit': () =>
    `200 {"errors":[{"message":"Query complexity 20402 is over the limit of 10000: ask for fewer fields or smaller pages","locations":[{"line":1,"column":3}],"path":["viewer"],"extensions":{"code":"QUERY_TOO_COMPLEX"}}],"data":null}`,
  'a mutation answered with a user error': () =>
    `200 {"data":{"sendTextMessage":{"message":null,"userErrors":[{"__typename":"NotFoundError","code":"NOT_FOUND","message":"Participant not found","field":["input","recipientId"]}]}}}`,
};

const messageId = (m: Pick<SimMessage, 'mid'> | undefined) =>
  globalId.message(shop.igId, ana.igsid, m?.mid ?? '');

const conversationId = (m: SimMessage | undefined) =>
  globalId.conversation(shop.igId, m?.conversationId ?? '');

/** Messages only a route of the test serves, as Instagram should never send them. */
const garbled = {
  mid: 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAGlkOjE3ODQxNDAwMDAwMDAwMDAwOjM0MDI4MjM2NjkyMDkzODQ2MzQ2MzM3NDYwNzQzMTc2ODIxMTQ1OA',
};
const notText = {
  mid: 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAGlkOjE3ODQxNDAwMDAwMDAwMDAwOjM0MDI4MjM2NjkyMDkzODQ2MzQ2MzM3NDYwNzQzMTc2ODIxMTQ1OQ',
};

/** A Graph error with a known `fbtrace_id`, as Meta answers it. */
class TracedError extends GraphError {
  override toJSON(): { error: Record<string, unknown> } {
    return { error: { ...super.toJSON().error, fbtrace_id: 'AbC-123_xyz' } };
  }
}

const upstreamError = (status: number, code: number) =>
  new TracedError({ status, code, message: 'Invalid parameter' });

describe('answers, byte for byte', () => {
  it.each(Object.keys(cases))('%s', async (name) => {
    const c = cases[name] as Case;
    for (const run of [0, 1]) {
      c.before?.();
      const before = compiledRuns.count;
      expect(await answer(c.query, c.variables?.(run))).toBe(expected[name]?.(run));
      expect(compiledRuns.count - before).toBe(run === 1 && c.compiled ? 1 : 0);
    }
  });
});

describe('which operations compile', () => {
  const fields = (text: string) => {
    const document = parse(text);
    const operation = getOperationAST(document);
    return operation ? fieldsInExecutorOrder(schema, document, operation) : Number.NaN;
  };

  it('counts the fields of one in the executor’s order, fragments and possible types expanded', () => {
    expect(
      fields(
        '{ viewer { conversations(first: 25) { nodes { participants { username } messages(first: 20) { nodes { text from { username } createdTime } } } } } }',
      ),
    ).toBe(11);
    // `node`, then `id` on each of Node's six object types (Account, Conversation, Message,
    // Media, Comment, PublishJob), and `text` on Message.
    expect(fields('{ node(id: "x") { id ... on Message { text } } }')).toBe(1 + 6 + 1);
  });

  it('refuses one jit would answer in another order, or past MAX_COMPILED_FIELDS', () => {
    expect(fields('{ viewer { ...A igId } } fragment A on Account { username }')).toBe(-1);
    expect(
      fields(
        '{ viewer { ...A ...B } } fragment A on Account { username } fragment B on Account { igId }',
      ),
    ).toBe(-1);
    expect(fields('query($x: Boolean!) { viewer { igId @skip(if: $x) igId } }')).toBe(-1);
    const wide = `{ ${Array.from({ length: MAX_COMPILED_FIELDS + 1 }, (_, i) => `f${i}: instagramApiVersion`).join(' ')} }`;
    expect(fields(wide)).toBe(-1);
    expect(fields(wide.replace(/f0: instagramApiVersion /, ''))).toBe(MAX_COMPILED_FIELDS);
  });
});
