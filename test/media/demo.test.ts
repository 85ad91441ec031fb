import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningApp, type SandboxAccount, sandboxAccounts, startApp } from '../helpers/app.ts';
import type { Loose } from './loose.ts';

let running: RunningApp;
let shop: SandboxAccount;

beforeAll(async () => {
  running = await startApp();
  [shop] = (await sandboxAccounts(running.base)) as [SandboxAccount];
});

afterAll(async () => {
  await running?.stop();
});

it('the sandbox demo has a feed with a carousel, a story, and a thread of comments', async () => {
  const res = await fetch(running.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.token}` },
    body: JSON.stringify({
      query: `{ viewer {
        media { nodes { caption mediaType mediaProductType children { mediaType } } }
        stories { nodes { mediaProductType } }
        first: media(first: 2) { nodes { comments { nodes {
          text hidden byAccount author { username }
          replies { nodes { text byAccount } } } } } }
      } }`,
    }),
  });
  const { data, errors } = (await res.json()) as { data: Loose; errors?: unknown };
  expect(errors).toBeUndefined();
  expect(data.viewer.media.nodes).toEqual([
    {
      caption: 'Two colours, one shirt',
      mediaType: 'CAROUSEL_ALBUM',
      mediaProductType: 'FEED',
      children: [{ mediaType: 'IMAGE' }, { mediaType: 'IMAGE' }],
    },
    {
      caption: 'Autumn collection is here',
      mediaType: 'IMAGE',
      mediaProductType: 'FEED',
      children: [],
    },
    { caption: 'Behind the scenes', mediaType: 'VIDEO', mediaProductType: 'REELS', children: [] },
    {
      caption: 'Linen shirts, five colours',
      mediaType: 'IMAGE',
      mediaProductType: 'FEED',
      children: [],
    },
  ]);
  expect(data.viewer.stories.nodes).toEqual([{ mediaProductType: 'STORY' }]);
  expect(data.viewer.first.nodes[1].comments.nodes).toEqual([
    {
      text: 'Does it come in XL?',
      hidden: false,
      byAccount: false,
      author: { username: 'grace.kim' },
      replies: {
        nodes: [
          { text: 'It does! Sending you the size guide.', byAccount: true },
          { text: 'Same question for L', byAccount: false },
        ],
      },
    },
    {
      text: 'Buy followers at spam.example',
      hidden: true,
      byAccount: false,
      author: { username: 'isla.murray' },
      replies: { nodes: [] },
    },
    {
      text: 'How much is the green one?',
      hidden: false,
      byAccount: false,
      author: { username: 'felix.wagner' },
      replies: { nodes: [] },
    },
    {
      text: 'Gorgeous colours 😍',
      hidden: false,
      byAccount: false,
      author: { username: 'jonas.berg' },
      replies: { nodes: [] },
    },
  ]);
});
