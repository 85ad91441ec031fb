import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalId } from '../src/global-id.ts';
import type { Simulator } from '../src/sandbox/simulator.ts';
import { DAY, HOUR, type SimAccount, type SimMessage, type SimUser } from '../src/sandbox/store.ts';
import {
  addAccountOf,
  CONFIGURATIONS,
  type Configuration,
  endpointsOf,
  proofOf,
  tokenOf,
} from './helpers/configurations.ts';
import { type Gateway, startGateway, T0 } from './helpers/gateway.ts';

const MINUTE = 60_000;

interface Seeded {
  shop: SimAccount;
  studio: SimAccount;
  ana: SimUser;
  ben: SimUser;
  cleo: SimUser;
  anaMessages: SimMessage[];
  studioUser: SimUser;
}

/**
 * northwind.shop: ana (newest: every attachment kind, reactions, a reply), ben (wrote 3 days
 * ago), cleo (wrote 8 days ago), never.wrote (no consent), and 22 customers of 22 messages.
 * lumen.studio: one conversation (another tenant).
 */
function seed(sim: Simulator, kind: Configuration): Seeded {
  const { store } = sim;
  const shop = addAccountOf(sim, kind, {
    username: 'northwind.shop',
    name: 'Northwind Shop',
    followersCount: 12840,
    followsCount: 312,
  }).account;
  const studio = sim.addAccount({ username: 'lumen.studio' }).account;
  const post = store.addMedia(shop.igId);
  store.addMedia(shop.igId);
  for (let i = 0; i < 22; i++) {
    const user = store.addUser(shop.igId, { username: `customer${String(i).padStart(2, '0')}` });
    for (let n = 0; n < 22; n++) {
      store.addMessage(shop.igId, user.igsid, {
        fromId: n % 2 === 0 ? user.igsid : shop.igId,
        text: `c${i} m${n}`,
        createdTime: T0 - (i + 1) * HOUR - (22 - n) * MINUTE,
      });
    }
  }
  const ben = store.addUser(shop.igId, { username: 'ben_hughes' });
  store.addMessage(shop.igId, ben.igsid, {
    fromId: ben.igsid,
    text: 'Any news?',
    createdTime: T0 - 3 * DAY,
  });
  const cleo = store.addUser(shop.igId, { username: 'cleo.m' });
  store.addMessage(shop.igId, cleo.igsid, {
    fromId: cleo.igsid,
    text: 'Hello?',
    createdTime: T0 - 8 * DAY,
  });
  // A conversation the customer never wrote in: the account answered a comment privately.
  const stranger = store.addUser(shop.igId, { username: 'never.wrote' });
  store.addMessage(shop.igId, stranger.igsid, {
    fromId: shop.igId,
    text: 'Thanks for your comment!',
    createdTime: T0 - 20 * DAY,
  });

  const ana = store.addUser(shop.igId, {
    username: 'ana.costa',
    name: 'Ana Costa',
    followerCount: 42,
    isUserFollowBusiness: true,
    profilePic: 'https://scontent.cdninstagram.com/ana.jpg',
  });
  const at = (m: number) => T0 - m * MINUTE;
  const q = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    text: 'Is the green one in stock?',
    createdTime: at(10),
  });
  const a = store.addMessage(shop.igId, ana.igsid, {
    fromId: shop.igId,
    text: 'Yes!',
    createdTime: at(9),
    replyTo: { mid: q.mid, isSelfReply: false },
  });
  a.reactions.push({ userId: ana.igsid, reaction: 'love', emoji: '❤' });
  const image = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    createdTime: at(8),
    attachments: [
      {
        type: 'image',
        id: '501',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=501',
      },
    ],
  });
  const media = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    createdTime: at(7),
    attachments: [
      {
        type: 'video',
        id: '502',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=502',
      },
      {
        type: 'audio',
        id: '503',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=503',
        name: 'voice.mp4',
      },
      {
        type: 'file',
        id: '504',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=504',
        name: 'invoice.pdf',
      },
    ],
  });
  const shares = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    createdTime: at(6),
    shares: [
      { link: post.permalink, kind: 'post', mediaId: post.id },
      { link: 'https://www.instagram.com/reel/C1abcdefghi/', kind: 'reel' },
    ],
  });
  const story = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    text: 'Love this look!',
    createdTime: at(5),
    story: {
      kind: 'reply_to',
      id: '18074819347285670',
      link: 'https://lookaside.fbsbx.com/story/1',
    },
  });
  const mention = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    createdTime: at(4),
    story: {
      kind: 'mention',
      id: '18074819347285671',
      link: 'https://lookaside.fbsbx.com/story/2',
    },
  });
  const unsupported = store.addMessage(shop.igId, ana.igsid, {
    fromId: ana.igsid,
    createdTime: at(3),
    isUnsupported: true,
  });
  const studioUser = store.addUser(studio.igId, { username: 'mara.voss' });
  store.addMessage(studio.igId, studioUser.igsid, {
    fromId: studioUser.igsid,
    text: 'Hi studio',
    createdTime: at(30),
  });
  return {
    shop,
    studio,
    ana,
    ben,
    cleo,
    anaMessages: [q, a, image, media, shares, story, mention, unsupported],
    studioUser,
  };
}

// The same read path for an account of either configuration (issue 19).
describe.each(CONFIGURATIONS)('%s Login', (kind) => {
  let gw: Gateway;
  let s: Seeded;
  let token: string;

  beforeAll(async () => {
    gw = await startGateway((sim) => {
      s = seed(sim, kind);
    });
    token = await gw.session([s.shop.igId]);
  });
  afterAll(() => gw.stop());

  const INBOX = `{
  viewer { conversations(first: 25) { nodes { participants { username } messages(first: 20) { nodes { text from { username } createdTime } } } } }
}`;

  describe('the inbox query', () => {
    it('costs exactly one upstream request for 25 conversations × 20 messages', async () => {
      let result: Awaited<ReturnType<Gateway['query']>> | undefined;
      const calls = await gw.upstreamCalls(async () => {
        result = await gw.query(token, INBOX);
      });
      expect(calls).toBe(1);
      expect(gw.sim.requests.at(-1)?.query).toEqual({
        platform: 'instagram',
        fields: 'id,participants,messages.limit(20){id,created_time,from,message}',
        limit: '25',
        ...proofOf(kind, tokenOf(gw.sim, s.shop.igId)),
      });
      const nodes = (
        (result?.body.data ?? {}) as {
          viewer: {
            conversations: {
              nodes: { participants: { username: string }[]; messages: { nodes: unknown[] } }[];
            };
          };
        }
      ).viewer.conversations.nodes;
      expect(result?.body.errors).toBeUndefined();
      expect(nodes).toHaveLength(25);
      expect(nodes[0]?.participants).toEqual([
        { username: 'ana.costa' },
        { username: 'northwind.shop' },
      ]);
      expect(nodes[0]?.messages.nodes[0]).toEqual({
        text: null,
        from: { username: 'ana.costa' },
        createdTime: '2026-11-20T11:57:00.000Z',
      });
      expect(nodes[0]?.messages.nodes[7]).toEqual({
        text: 'Is the green one in stock?',
        from: { username: 'ana.costa' },
        createdTime: '2026-11-20T11:50:00.000Z',
      });
      expect(nodes[1]?.messages.nodes).toHaveLength(20);
    });
  });

  describe('Account', () => {
    it('reads every profile field with one call for the account', async () => {
      let res: Awaited<ReturnType<Gateway['query']>> | undefined;
      const calls = await gw.upstreamCalls(async () => {
        res = await gw.query(
          token,
          '{ viewer { id igId username name accountType profilePictureUrl followersCount followsCount mediaCount status loginKind } accounts { igId } }',
        );
      });
      expect(calls).toBe(1);
      // Instagram Login's `/me`; Facebook Login's IG User by its IG_ID, without `account_type`,
      // which graph.facebook.com does not have.
      const read = gw.sim.requests.at(-1);
      expect([read?.host, read?.path, read?.query.fields]).toEqual(
        kind === 'FACEBOOK'
          ? [
              'facebook',
              `/facebook/v27.0/${s.shop.igId}`,
              'username,name,profile_picture_url,followers_count,follows_count,media_count',
            ]
          : [
              'instagram',
              '/v27.0/me',
              'username,name,account_type,profile_picture_url,followers_count,follows_count,media_count',
            ],
      );
      expect(res?.body).toEqual({
        data: {
          viewer: {
            id: globalId.account(s.shop.igId),
            igId: s.shop.igId,
            username: 'northwind.shop',
            name: 'Northwind Shop',
            accountType: kind === 'FACEBOOK' ? null : 'Business',
            profilePictureUrl: s.shop.profilePictureUrl,
            followersCount: 12840,
            followsCount: 312,
            mediaCount: 2,
            status: 'ACTIVE',
            loginKind: kind,
          },
          accounts: [{ igId: s.shop.igId }],
        },
      });
    });
  });

  describe('Conversation', () => {
    const byUser = async (user: SimUser, selection: string) => {
      const res = await gw.query(
        token,
        `query($u: ID) { viewer { conversations(first: 1, withUser: $u) { nodes { ${selection} } } } }`,
        { u: globalId.participant(s.shop.igId, user.igsid) },
      );
      expect(res.body.errors).toBeUndefined();
      return (res.body.data as { viewer: { conversations: { nodes: Record<string, unknown>[] } } })
        .viewer.conversations.nodes[0];
    };

    it('gives the reply window from the customer’s last message', async () => {
      expect(
        await byUser(s.ana, 'updatedTime replyWindow { state closesAt } historyComplete'),
      ).toEqual({
        updatedTime: '2026-11-20T11:57:00.000Z',
        replyWindow: { state: 'OPEN', closesAt: '2026-11-21T11:57:00.000Z' },
        historyComplete: true,
      });
      expect(await byUser(s.ben, 'replyWindow { state closesAt }')).toEqual({
        replyWindow: { state: 'HUMAN_AGENT_ONLY', closesAt: '2026-11-24T12:00:00.000Z' },
      });
      expect(await byUser(s.cleo, 'replyWindow { state closesAt }')).toEqual({
        replyWindow: { state: 'CLOSED', closesAt: null },
      });
    });

    it('reads participant profiles only when asked, once per participant, null without consent', async () => {
      const stranger = gw.sim.store.userByUsername(s.shop.igId, 'never.wrote') as SimUser;
      let node: Record<string, unknown> | undefined;
      const calls = await gw.upstreamCalls(async () => {
        node = await byUser(
          s.ana,
          'participants { id igsid username name profilePicture followerCount followsAccount followedByAccount isVerified } same: participants { name }',
        );
      });
      // The conversation list, then one profile read for ana and one /me for the account.
      expect(calls).toBe(3);
      expect(node).toEqual({
        participants: [
          {
            id: globalId.participant(s.shop.igId, s.ana.igsid),
            igsid: s.ana.igsid,
            username: 'ana.costa',
            name: 'Ana Costa',
            profilePicture: 'https://scontent.cdninstagram.com/ana.jpg',
            followerCount: 42,
            followsAccount: true,
            followedByAccount: false,
            isVerified: false,
          },
          {
            id: globalId.participant(s.shop.igId, s.shop.igId),
            igsid: s.shop.igId,
            username: 'northwind.shop',
            name: 'Northwind Shop',
            profilePicture: s.shop.profilePictureUrl,
            followerCount: 12840,
            followsAccount: null,
            followedByAccount: null,
            isVerified: null,
          },
        ],
        same: [{ name: 'Ana Costa' }, { name: 'Northwind Shop' }],
      });
      expect(await byUser(stranger, 'participants { username name followerCount }')).toEqual({
        participants: [
          { username: 'never.wrote', name: null, followerCount: null },
          { username: 'northwind.shop', name: 'Northwind Shop', followerCount: 12840 },
        ],
      });
    });

    it('marks history incomplete past the 20 newest messages, where details stop', async () => {
      const user = gw.sim.store.userByUsername(s.shop.igId, 'customer00') as SimUser;
      const node = await byUser(
        user,
        'historyComplete messages(first: 22) { nodes { text detailAvailable from { username } isFromViewer to { username } attachments { kind } reactions { emoji } } pageInfo { hasNextPage } }',
      );
      const messages = ((node?.messages ?? {}) as { nodes: Record<string, unknown>[] }).nodes;
      expect(node?.historyComplete).toBe(false);
      expect(messages).toHaveLength(22);
      expect(messages[19]).toEqual({
        text: 'c0 m2',
        detailAvailable: true,
        from: { username: 'customer00' },
        isFromViewer: false,
        to: [{ username: 'northwind.shop' }],
        attachments: [],
        reactions: [],
      });
      expect(messages[20]).toEqual({
        text: null,
        detailAvailable: false,
        from: null,
        isFromViewer: null,
        to: [],
        attachments: [],
        reactions: [],
      });
    });
  });

  describe('Message', () => {
    it('types every attachment kind, with its URL', async () => {
      const res = await gw.query(
        token,
        `query($u: ID) { viewer { conversations(first: 1, withUser: $u) { nodes { messages(first: 8) { nodes {
        text isUnsupported isFromViewer
        attachments { __typename kind url ... on ImageAttachment { previewUrl } ... on FileAttachment { name mimeType } ... on AudioAttachment { mimeType } ... on StoryReplyAttachment { storyId } ... on StoryMentionAttachment { storyId } }
        reactions { reaction emoji by { username } }
        replyTo { text from { username } }
      } } } } } }`,
        { u: globalId.participant(s.shop.igId, s.ana.igsid) },
      );
      expect(res.body.errors).toBeUndefined();
      const nodes =
        (
          res.body.data as {
            viewer: {
              conversations: { nodes: { messages: { nodes: Record<string, unknown>[] } }[] };
            };
          }
        ).viewer.conversations.nodes[0]?.messages.nodes ?? [];
      const lookaside = (id: string) =>
        `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${id}`;
      const none = { reactions: [], replyTo: null, isFromViewer: false };
      expect(nodes).toEqual([
        { text: null, isUnsupported: true, attachments: [], ...none },
        {
          text: null,
          isUnsupported: false,
          attachments: [
            {
              __typename: 'StoryMentionAttachment',
              kind: 'STORY_MENTION',
              url: 'https://lookaside.fbsbx.com/story/2',
              storyId: '18074819347285671',
            },
          ],
          ...none,
        },
        {
          text: 'Love this look!',
          isUnsupported: false,
          attachments: [
            {
              __typename: 'StoryReplyAttachment',
              kind: 'STORY_REPLY',
              url: 'https://lookaside.fbsbx.com/story/1',
              storyId: '18074819347285670',
            },
          ],
          ...none,
        },
        {
          text: null,
          isUnsupported: false,
          attachments: [
            {
              __typename: 'PostAttachment',
              kind: 'POST',
              url: gw.sim.store.media.get([...gw.sim.store.media.keys()][0] ?? '')?.permalink,
            },
            {
              __typename: 'ReelAttachment',
              kind: 'REEL',
              url: 'https://www.instagram.com/reel/C1abcdefghi/',
            },
          ],
          ...none,
        },
        {
          text: null,
          isUnsupported: false,
          attachments: [
            { __typename: 'VideoAttachment', kind: 'VIDEO', url: lookaside('502') },
            {
              __typename: 'AudioAttachment',
              kind: 'AUDIO',
              url: lookaside('503'),
              mimeType: 'audio/mpeg',
            },
            {
              __typename: 'FileAttachment',
              kind: 'FILE',
              url: lookaside('504'),
              name: 'invoice.pdf',
              mimeType: 'application/pdf',
            },
          ],
          ...none,
        },
        {
          text: null,
          isUnsupported: false,
          attachments: [
            {
              __typename: 'ImageAttachment',
              kind: 'IMAGE',
              url: lookaside('501'),
              previewUrl: lookaside('501'),
            },
          ],
          ...none,
        },
        {
          text: 'Yes!',
          isUnsupported: false,
          isFromViewer: true,
          attachments: [],
          reactions: [{ reaction: 'love', emoji: '❤', by: { username: 'ana.costa' } }],
          replyTo: { text: 'Is the green one in stock?', from: { username: 'ana.costa' } },
        },
        { text: 'Is the green one in stock?', isUnsupported: false, attachments: [], ...none },
      ]);
    });

    it('resolves a reply from the page already read, and a message by id with one call', async () => {
      const [question, answer] = s.anaMessages;
      const id = globalId.message(s.shop.igId, s.ana.igsid, answer?.mid ?? '');
      let res: Awaited<ReturnType<Gateway['query']>> | undefined;
      const calls = await gw.upstreamCalls(async () => {
        res = await gw.query(
          token,
          `query($id: ID!) { node(id: $id) { id ... on Message { mid text createdTime replyTo { mid text } } } }`,
          { id },
        );
      });
      expect(calls).toBe(2);
      expect(res?.body).toEqual({
        data: {
          node: {
            id,
            mid: answer?.mid,
            text: 'Yes!',
            createdTime: '2026-11-20T11:51:00.000Z',
            replyTo: { mid: question?.mid, text: 'Is the green one in stock?' },
          },
        },
      });
    });
  });

  describe('node and nodes', () => {
    it('resolve the session’s own objects and answer null for another tenant’s, as if absent', async () => {
      const conversation = gw.sim.store.conversationWith(s.shop.igId, s.ana.igsid);
      const foreign = gw.sim.store.conversationWith(s.studio.igId, s.studioUser.igsid);
      const ids = [
        globalId.account(s.shop.igId),
        globalId.conversation(s.shop.igId, conversation?.id ?? ''),
        globalId.account(s.studio.igId),
        globalId.conversation(s.studio.igId, foreign?.id ?? ''),
        globalId.message(s.studio.igId, s.studioUser.igsid, foreign?.messages[0]?.mid ?? ''),
        // A forged id: another tenant's conversation under this account's IG_ID.
        globalId.conversation(s.shop.igId, foreign?.id ?? ''),
        'not-an-id',
      ];
      const res = await gw.query(
        token,
        'query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Conversation { participants { username } } } }',
        { ids },
      );
      expect(res.body).toEqual({
        data: {
          nodes: [
            { __typename: 'Account', id: ids[0] },
            {
              __typename: 'Conversation',
              id: ids[1],
              participants: [{ username: 'ana.costa' }, { username: 'northwind.shop' }],
            },
            null,
            null,
            null,
            null,
            null,
          ],
        },
      });
    });
  });

  describe('paging', () => {
    type Page = {
      edges: { cursor: string; node: { participants: { username: string }[] } }[];
      pageInfo: {
        hasNextPage: boolean;
        hasPreviousPage: boolean;
        startCursor: string | null;
        endCursor: string | null;
      };
    };
    const page = async (args: string, variables: Record<string, unknown> = {}) => {
      const declared = Object.keys(variables).map((name) => `$${name}: String`);
      const res = await gw.query(
        token,
        `query${declared.length > 0 ? `(${declared.join(', ')})` : ''} { viewer { conversations(${args}) { edges { cursor node { participants { username } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`,
        variables,
      );
      expect(res.body.errors).toBeUndefined();
      return (res.body.data as { viewer: { conversations: Page } }).viewer.conversations;
    };
    const names = (p: Page) => p.edges.map((e) => e.node.participants[0]?.username);
    const expected = [
      'ana.costa',
      ...Array.from({ length: 22 }, (_, i) => `customer${String(i).padStart(2, '0')}`),
      'ben_hughes',
      'cleo.m',
      'never.wrote',
    ];

    it('walks forward through the whole list and back again, with real pageInfo', async () => {
      const forward: Page[] = [];
      let after: string | null = null;
      do {
        const p: Page = await page('first: 10, after: $after', { after });
        forward.push(p);
        after = p.pageInfo.hasNextPage ? p.pageInfo.endCursor : null;
      } while (after);
      expect(forward.map((p) => p.edges.length)).toEqual([10, 10, 6]);
      expect(forward.flatMap(names)).toEqual(expected);
      expect(forward.map((p) => [p.pageInfo.hasPreviousPage, p.pageInfo.hasNextPage])).toEqual([
        [false, true],
        [true, true],
        [true, false],
      ]);
      const back = await page('last: 10, before: $before', {
        before: forward[2]?.pageInfo.startCursor,
      });
      expect(names(back)).toEqual(expected.slice(10, 20));
      expect([back.pageInfo.hasPreviousPage, back.pageInfo.hasNextPage]).toEqual([true, true]);
      const first = await page('last: 10, before: $before', { before: back.pageInfo.startCursor });
      expect(names(first)).toEqual(expected.slice(0, 10));
      expect(first.pageInfo.hasPreviousPage).toBe(false);
    });

    it('resumes after and before any edge, not only the page ends', async () => {
      const p = await page('first: 10');
      const fromFourth = await page('first: 3, after: $after', { after: p.edges[3]?.cursor });
      expect(names(fromFourth)).toEqual(expected.slice(4, 7));
      const beforeSixth = await page('last: 2, before: $before', { before: p.edges[5]?.cursor });
      expect(names(beforeSixth)).toEqual(expected.slice(3, 5));
    });

    it('pages a conversation’s messages with their own call', async () => {
      const user = gw.sim.store.userByUsername(s.shop.igId, 'customer03') as SimUser;
      const q = `query($u: ID, $after: String) { viewer { conversations(first: 1, withUser: $u) { nodes { messages(first: 5, after: $after) { nodes { text } pageInfo { endCursor hasNextPage } } } } } }`;
      const u = globalId.participant(s.shop.igId, user.igsid);
      type M = {
        viewer: {
          conversations: {
            nodes: {
              messages: {
                nodes: { text: string }[];
                pageInfo: { endCursor: string; hasNextPage: boolean };
              };
            }[];
          };
        };
      };
      const one = (await gw.query(token, q, { u })).body.data as M;
      const first = one.viewer.conversations.nodes[0]?.messages;
      expect(first?.nodes.map((m) => m.text)).toEqual([
        'c3 m21',
        'c3 m20',
        'c3 m19',
        'c3 m18',
        'c3 m17',
      ]);
      const two = (await gw.query(token, q, { u, after: first?.pageInfo.endCursor })).body
        .data as M;
      expect(two.viewer.conversations.nodes[0]?.messages.nodes.map((m) => m.text)).toEqual([
        'c3 m16',
        'c3 m15',
        'c3 m14',
        'c3 m13',
        'c3 m12',
      ]);
      expect(gw.sim.requests.at(-1)?.endpoint).toBe('/{id}/messages');
    });
  });

  describe('errors', () => {
    it('refuses bad arguments with BAD_USER_INPUT before any upstream call', async () => {
      for (const args of [
        'first: 51',
        'first: 0',
        'last: 51',
        'first: 2, last: 2',
        'first: 2, after: "garbage"',
      ]) {
        let res: Awaited<ReturnType<Gateway['query']>> | undefined;
        const calls = await gw.upstreamCalls(async () => {
          res = await gw.query(token, `{ viewer { conversations(${args}) { nodes { id } } } }`);
        });
        expect(calls).toBe(0);
        expect(res?.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      const other = await gw.query(
        token,
        'query($u: ID) { viewer { conversations(withUser: $u) { nodes { id } } } }',
        {
          u: globalId.participant(s.studio.igId, s.studioUser.igsid),
        },
      );
      expect(other.body.errors?.[0]).toMatchObject({
        message: '`withUser` must be a Participant.id of this account',
        extensions: { code: 'BAD_USER_INPUT', argument: 'withUser' },
      });
    });

    it('refuses queries over the depth, cost and alias limits before any upstream call', async () => {
      const deep =
        '{ viewer { conversations { edges { node { messages { edges { node { replyTo { replyTo { replyTo { replyTo { replyTo { text } } } } } } } } } } } } }';
      const costly =
        '{ viewer { conversations(first: 50) { nodes { participants { name } messages(first: 50) { nodes { text replyTo { text } } } } } } }';
      const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: instagramApiVersion`).join(' ')} }`;
      const answers: unknown[] = [];
      const calls = await gw.upstreamCalls(async () => {
        for (const query of [deep, costly, aliases])
          answers.push((await gw.query(token, query)).body);
      });
      expect(calls).toBe(0);
      expect(answers).toEqual([
        {
          data: null,
          errors: [
            expect.objectContaining({
              message:
                'Query depth 13 is over the limit of 12: ask for fewer fields or smaller pages',
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          ],
        },
        {
          data: null,
          errors: [
            expect.objectContaining({
              message:
                'Query complexity 20402 is over the limit of 10000: ask for fewer fields or smaller pages',
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          ],
        },
        {
          errors: [
            {
              message: 'Aliases limit of 15 exceeded, found 16.',
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            },
          ],
        },
      ]);
    });

    it('answers UNAUTHENTICATED without a session, and 401 with a bad one', async () => {
      const anonymous = await gw.query(null, '{ instagramApiVersion viewer { igId } }');
      expect(anonymous.body).toEqual({
        data: null,
        errors: [
          expect.objectContaining({ path: ['viewer'], extensions: { code: 'UNAUTHENTICATED' } }),
        ],
      });
      const forged = await gw.query(`${token}x`, '{ viewer { igId } }');
      expect(forged.status).toBe(401);
      expect(forged.body.errors?.[0]).toMatchObject({
        message: 'Invalid session: the session token is not valid',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    });

    it('keeps partial data when one field fails upstream, without leaking tokens', async () => {
      gw.sim.inject({ endpoint: endpointsOf(kind).account, kind: 'server-error', times: 3 });
      const res = await gw.query(token, '{ viewer { igId name } instagramApiVersion }');
      expect(res.body.data).toEqual({
        viewer: { igId: s.shop.igId, name: null },
        instagramApiVersion: 'v27.0',
      });
      expect(res.body.errors).toEqual([
        {
          message: 'Instagram is unavailable; retry later',
          locations: [{ line: 1, column: 17 }],
          path: ['viewer', 'name'],
          extensions: { code: 'UPSTREAM_UNAVAILABLE' },
        },
      ]);
      expect(JSON.stringify(res.body)).not.toContain('IGAA');
    });

    it('retries a transient read and answers', async () => {
      gw.sim.inject({ endpoint: endpointsOf(kind).account, kind: 'transient' });
      let res: Awaited<ReturnType<Gateway['query']>> | undefined;
      const calls = await gw.upstreamCalls(async () => {
        res = await gw.query(token, '{ viewer { username } }');
      });
      expect(calls).toBe(2);
      expect(res?.body).toEqual({ data: { viewer: { username: 'northwind.shop' } } });
    });

    it('answers RATE_LIMITED with retryAfter, and stops calling the throttled account', async () => {
      gw.sim.inject({ endpoint: endpointsOf(kind).conversations, kind: 'rate-limit', code: 80002 });
      const first = await gw.query(
        token,
        '{ viewer { conversations(first: 1) { nodes { id } } } }',
      );
      expect(first.body.errors?.[0]).toMatchObject({
        extensions: { code: 'RATE_LIMITED', retryAfter: 1 },
      });
      const calls = await gw.upstreamCalls(() =>
        gw.query(token, '{ viewer { conversations(first: 1) { nodes { id } } } }'),
      );
      expect(calls).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    });

    it('answers REAUTH_REQUIRED when Instagram refuses the token, and remembers it', async () => {
      const studioToken = await gw.session([s.studio.igId]);
      gw.sim.inject({ endpoint: 'GET /me', kind: 'expired-token' });
      const res = await gw.query(studioToken, '{ viewer { username } }');
      expect(res.body.errors?.[0]).toMatchObject({
        message:
          'Instagram refused this account’s token: log in again (with Instagram, or with Facebook for an account of Facebook Login) to reconnect it',
        extensions: { code: 'REAUTH_REQUIRED' },
      });
      const calls = await gw.upstreamCalls(async () => {
        const again = await gw.query(studioToken, '{ viewer { status username } }');
        // `viewer` and `username` are non-null: the error nulls the whole answer.
        expect(again.body.data).toBeNull();
        expect(again.body.errors?.[0]?.extensions?.code).toBe('REAUTH_REQUIRED');
        const status = await gw.query(studioToken, '{ viewer { status } }');
        expect(status.body.data).toEqual({ viewer: { status: 'REAUTH_REQUIRED' } });
      });
      expect(calls).toBe(0);
    });
  });
});

describe('reduce the amount of data', () => {
  let big: Gateway;
  let bigToken: string;
  beforeAll(async () => {
    big = await startGateway((sim) => {
      const { account } = sim.addAccount({ username: 'bulk.shop' });
      for (let i = 0; i < 50; i++) {
        const user = sim.store.addUser(account.igId, { username: `bulk${i}` });
        for (let n = 0; n < 30; n++) {
          sim.store.addMessage(account.igId, user.igsid, {
            fromId: user.igsid,
            text: `${i}.${n}`,
            createdTime: T0 - i * HOUR - n * MINUTE,
          });
        }
      }
    });
    bigToken = await big.session([[...big.sim.store.accounts.keys()][0] ?? '']);
  });
  afterAll(() => big.stop());

  it('splits a page Instagram finds too large and answers it whole', async () => {
    let res: Awaited<ReturnType<Gateway['query']>> | undefined;
    const calls = await big.upstreamCalls(async () => {
      res = await big.query(
        bigToken,
        '{ viewer { conversations(first: 50) { nodes { messages(first: 30) { nodes { text } } } } } }',
      );
    });
    // 50 × 30 = 1500 messages > 1000: refused, then 25 + 25 (750 each) answered.
    expect(calls).toBe(3);
    const nodes = (
      (res?.body.data ?? {}) as {
        viewer: { conversations: { nodes: { messages: { nodes: { text: string | null }[] } }[] } };
      }
    ).viewer.conversations.nodes;
    expect(nodes).toHaveLength(50);
    expect(nodes[49]?.messages.nodes[0]?.text).toBe('49.0');
    expect(nodes.every((n) => n.messages.nodes.length === 30)).toBe(true);
  });
});

describe('under Instagram’s real limits', () => {
  it('paces a split page within 2 conversation reads a second instead of failing', async () => {
    const limited = await startGateway(
      (sim) => {
        const { account } = sim.addAccount({ username: 'limited.shop' });
        for (let i = 0; i < 30; i++) {
          const user = sim.store.addUser(account.igId, { username: `busy${i}` });
          for (let n = 0; n < 50; n++) {
            sim.store.addMessage(account.igId, user.igsid, {
              fromId: user.igsid,
              text: `${i}.${n}`,
              createdTime: T0 - i * HOUR - n * MINUTE,
            });
          }
        }
      },
      { rateLimits: true, runningClock: true },
    );
    try {
      const session = await limited.session([...limited.sim.store.accounts.keys()]);
      const res = await limited.query(
        session,
        '{ viewer { conversations(first: 30) { nodes { messages(first: 50) { nodes { text } } } } } }',
      );
      expect(res.body.errors).toBeUndefined();
      // Refused (1,500 messages), then 15 + 15: the third call waited for the next second.
      expect(limited.sim.requests.map((r) => [r.status, r.query.limit])).toEqual([
        [500, '30'],
        [200, '15'],
        [200, '15'],
      ]);
      const nodes = ((res.body.data ?? {}) as { viewer: { conversations: { nodes: unknown[] } } })
        .viewer.conversations.nodes;
      expect(nodes).toHaveLength(30);
    } finally {
      await limited.stop();
    }
  });
});
