import { readFile } from 'node:fs/promises';
import { Kind, type OperationDefinitionNode, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningApp, type SandboxAccount, sandboxAccounts, startApp } from '../helpers/app.ts';
import { watchSubscriber } from '../helpers/subscribers.ts';

/** The manifest `npm run codegen` writes from schema/operations, as production would load it. */
const MANIFEST = 'schema/generated/persisted-documents.json';

let igql: RunningApp;
let shop: SandboxAccount;
/** Operation name → its id in the manifest. */
const ids = new Map<string, string>();

beforeAll(async () => {
  igql = await startApp({ TRUSTED_DOCUMENTS: MANIFEST });
  const [first] = await sandboxAccounts(igql.base);
  if (!first) throw new Error('no sandbox account');
  shop = first;
  const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as Record<string, string>;
  for (const [id, text] of Object.entries(manifest)) {
    const operation = parse(text).definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    ids.set(operation?.name?.value ?? '', id);
  }
});

afterAll(() => igql?.stop());

/** Runs a listed operation by its id alone, as a client of persisted documents does. */
async function run(name: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(igql.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.token}` },
    body: JSON.stringify({
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: ids.get(name) } },
    }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: each operation's answer is read by its own shape
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  expect(body.errors, name).toBeUndefined();
  return body.data;
}

describe('TRUSTED_DOCUMENTS=schema/generated/persisted-documents.json', () => {
  it('runs every operation of schema/operations by its id, and nothing else', async () => {
    expect([...ids.keys()].sort()).toEqual([
      'Conversation',
      'Inbox',
      'InboxEvents',
      'LoginStatus',
      'MarkSeen',
      'React',
      'SendHeart',
      'SendImage',
      'SendQuickReplies',
      'SendText',
      'Typing',
    ]);
    const { viewer } = await run('Inbox', { first: 5 });
    expect(viewer.username).toBe('northwind.shop');
    const ana = viewer.conversations.nodes[0];
    const customer = ana.participants.find((p: { username: string }) => p.username === 'ana.costa');
    expect(ana.replyWindow.state).toBe('OPEN');
    expect(await run('LoginStatus')).toEqual({
      accounts: [
        { id: shop.id, username: 'northwind.shop', loginKind: 'INSTAGRAM', status: 'ACTIVE' },
      ],
    });
    const { node } = await run('Conversation', { id: ana.id, first: 2 });
    expect(node.messages.nodes.map((m: { text: string }) => m.text)).toEqual([
      'Message 60 about the order #4159',
      'Message 59 about the order #4158',
    ]);

    const to = { accountId: shop.id, recipientId: customer.id };
    const sends = {
      SendText: ['sendTextMessage', { ...to, text: 'Trusted hello' }],
      SendImage: ['sendImageMessage', { ...to, urls: ['https://example.com/photo.jpg'] }],
      SendHeart: ['sendLikeHeart', to],
      SendQuickReplies: [
        'sendQuickReplies',
        {
          ...to,
          text: 'Shall we?',
          quickReplies: [{ contentType: 'TEXT', title: 'Yes', payload: 'YES' }],
        },
      ],
      React: ['reactToMessage', { accountId: shop.id, messageId: node.messages.nodes[1].id }],
      MarkSeen: ['markConversationSeen', to],
      Typing: ['sendTypingIndicator', { ...to, on: true }],
    } as const;
    for (const [name, [field, input]] of Object.entries(sends)) {
      const data = await run(name, { input });
      expect(data[field].userErrors, name).toEqual([]);
    }

    // The subscription, over graphql-ws: the id with an empty `query`.
    const client = createClient({
      url: igql.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${shop.token}` },
    });
    const arrived = new Promise<void>((resolve, reject) => {
      const watch = watchSubscriber();
      client.subscribe(
        {
          query: '',
          variables: { accountId: shop.id },
          extensions: { persistedQuery: { version: 1, sha256Hash: ids.get('InboxEvents') } },
        },
        {
          next: (result) => {
            if (result.errors) reject(new Error(JSON.stringify(result.errors)));
            const event = (result.data as { inboxEvents: { message?: { text: string } } })
              .inboxEvents;
            if (event.message?.text === 'From a trusted subscription') resolve();
          },
          error: reject,
          complete: () => {},
        },
      );
      void watch.established.then(async () => {
        const res = await fetch(`${igql.base}/sandbox/inbound`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            accountId: shop.id,
            from: 'ana.costa',
            text: 'From a trusted subscription',
          }),
        });
        expect(res.status).toBe(202);
      }, reject);
    });
    await arrived;
    await client.dispose();

    // A document that is not listed is refused.
    const res = await fetch(igql.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.token}` },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });
    const refused = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(refused.errors.map((e) => e.extensions.code)).toEqual(['PERSISTED_QUERY_ONLY']);
  });
});
