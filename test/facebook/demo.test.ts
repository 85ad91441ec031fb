import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningApp, type SandboxAccount, sandboxAccounts, startApp } from '../helpers/app.ts';

/**
 * The sandbox's Facebook Login account (issue 19): harbor.cafe, served through its Page on the
 * simulator's graph.facebook.com, with an inbox, a message request and a commented post.
 */

let running: RunningApp;
let cafe: SandboxAccount;

beforeAll(async () => {
  running = await startApp();
  cafe = (await sandboxAccounts(running.base)).find(
    (a) => a.username === 'harbor.cafe',
  ) as SandboxAccount;
});

afterAll(async () => {
  await running?.stop();
});

it('answers for harbor.cafe through its Page: the inbox, a folder, a post and a send', async () => {
  const query = async (q: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${cafe.token}` },
      body: JSON.stringify({ query: q, variables }),
    });
    return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  };
  const read = await query(`{ viewer {
    username name loginKind accountType followersCount
    inbox: conversations { nodes { participants { username } messages(first: 1) { nodes { text } } } }
    requests: conversations(folder: PENDING) { nodes { participants { username } } }
    media(first: 1) { nodes { caption comments { nodes { text author { username } } } } }
  } }`);
  expect(read).toEqual({
    data: {
      viewer: {
        username: 'harbor.cafe',
        name: 'Harbor Café',
        loginKind: 'FACEBOOK',
        accountType: null,
        followersCount: 2204,
        inbox: {
          nodes: [
            {
              participants: [{ username: 'nora.lind' }, { username: 'harbor.cafe' }],
              messages: { nodes: [{ text: 'Of course! At what time?' }] },
            },
            {
              participants: [{ username: 'omar.haddad' }, { username: 'harbor.cafe' }],
              messages: { nodes: [{ text: 'We do, and almond too.' }] },
            },
          ],
        },
        requests: {
          nodes: [{ participants: [{ username: 'pat.unknown' }, { username: 'harbor.cafe' }] }],
        },
        media: {
          nodes: [
            {
              caption: 'Cinnamon buns, fresh at 8',
              comments: { nodes: [{ text: 'Save me two!', author: { username: 'nora.lind' } }] },
            },
          ],
        },
      },
    },
  });
  const customer = await query(
    '{ viewer { conversations(first: 1) { nodes { participants { id username } } } } }',
  );
  const nora = (
    customer.data as {
      viewer: { conversations: { nodes: { participants: { id: string; username: string }[] }[] } };
    }
  ).viewer.conversations.nodes[0]?.participants[0];
  const sent = await query(
    'mutation($i: SendTextMessageInput!) { sendTextMessage(input: $i) { message { text to { username } } userErrors { code } } }',
    { i: { accountId: cafe.id, recipientId: nora?.id, text: '8 pm works!' } },
  );
  expect(sent).toEqual({
    data: {
      sendTextMessage: {
        message: { text: '8 pm works!', to: [{ username: 'nora.lind' }] },
        userErrors: [],
      },
    },
  });
});
