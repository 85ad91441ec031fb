import { newMediaId } from './ids.ts';
import type { Simulator } from './simulator.ts';
import { DAY, HOUR, type SimAccount, type SimToken } from './store.ts';

const MINUTE = 60_000;

const CUSTOMERS = [
  'ana.costa',
  'ben_hughes',
  'chloe.martin',
  'dev.patel',
  'emma_rossi',
  'felix.wagner',
  'grace.kim',
  'hugo_lefevre',
  'isla.murray',
  'jonas.berg',
  'kira_sato',
  'liam.oconnor',
  'maya.cohen',
  'noah_silva',
  'olivia.brown',
  'pablo.ruiz',
  'quinn.taylor',
  'rosa_mendes',
  'sam.nguyen',
  'tara.singh',
  'umar.farouk',
  'vera.novak',
  'will_james',
  'xena.papas',
  'yuki.tanaka',
  'zoe.dubois',
  'adam.clarke',
  'bella.russo',
  'carl.jensen',
  'dina.haddad',
];

const LINES: readonly (readonly [string, string])[] = [
  ['Hi! Is the linen shirt still available in M?', 'Yes, it is! Shall I reserve one for you?'],
  ['Do you ship to Portugal?', 'We do, 3 to 5 working days.'],
  ['My order has not arrived yet', 'Sorry about that. Could you send me the order number?'],
  ['Can I return a gift?', 'Of course, within 30 days with the receipt.'],
];

export interface DemoAccount {
  readonly account: SimAccount;
  readonly token: SimToken;
}

/**
 * Demo data that makes GraphiQL interesting and exercises paging. The first account has 30
 * conversations (text, images, a reel share, a story reply, reactions, replies), among them
 * one of 60 messages whose customer wrote 30 minutes ago (inside the 24-hour window) and one
 * whose customer last wrote 3 days ago (outside it); the second account has 3 conversations.
 * The third, harbor.cafe, logged in with Facebook Login (its Page's token, graph.facebook.com):
 * 2 conversations in its Page's inbox, a message request, and a post with a comment.
 */
export function seedDemo(sim: Simulator): DemoAccount[] {
  const { store } = sim;
  const now = sim.clock.now();
  const shop = sim.addAccount({
    username: 'northwind.shop',
    name: 'Northwind Shop',
    followersCount: 12840,
    followsCount: 312,
  });
  const studio = sim.addAccount({
    username: 'lumen.studio',
    name: 'Lumen Studio',
    accountType: 'Media_Creator',
    followersCount: 3021,
    followsCount: 188,
  });
  const shopId = shop.account.igId;
  const post = store.addMedia(shopId, { caption: 'Autumn collection is here' });
  const reel = store.addMedia(shopId, { mediaProductType: 'REELS', caption: 'Behind the scenes' });
  store.addMedia(shopId, { caption: 'Linen shirts, five colours' });

  CUSTOMERS.forEach((username, i) => {
    const user = store.addUser(shopId, {
      username,
      followerCount: 100 + i * 37,
      isUserFollowBusiness: i % 2 === 0,
      isVerifiedUser: i === 7,
    });
    const inbound = (text: string, at: number, extra = {}) =>
      store.addMessage(shopId, user.igsid, { fromId: user.igsid, text, createdTime: at, ...extra });
    const outbound = (text: string, at: number, extra = {}) =>
      store.addMessage(shopId, user.igsid, { fromId: shopId, text, createdTime: at, ...extra });

    if (i === 0) {
      // 60 messages, the customer's last one 30 minutes ago: inside the reply window.
      for (let n = 0; n < 60; n++) {
        const at = now - (60 - n) * 20 * MINUTE + 10 * MINUTE;
        const text = `Message ${n + 1} about the order #${4100 + n}`;
        if (n % 2 === 0) inbound(text, at);
        else outbound(text, at);
      }
      return;
    }
    if (i === 1) {
      // The customer last wrote 3 days ago: outside the window (HUMAN_AGENT still applies).
      const asked = inbound('Any news about my refund?', now - 3 * DAY - HOUR);
      outbound('We are checking with the bank.', now - 3 * DAY, {
        replyTo: { mid: asked.mid, isSelfReply: false },
      });
      return;
    }
    const start = now - (i * 7 + 2) * HOUR;
    const [question, answer] = LINES[i % LINES.length] ?? ['Hello', 'Hi!'];
    const asked = inbound(question, start);
    if (i === 2) {
      store.addMessage(shopId, user.igsid, {
        fromId: user.igsid,
        createdTime: start + MINUTE,
        attachments: [
          {
            type: 'image',
            id: `90000000000000${i}1`,
            url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=901&signature=demo',
          },
        ],
      });
    }
    if (i === 3) {
      store.addMessage(shopId, user.igsid, {
        fromId: user.igsid,
        createdTime: start + MINUTE,
        shares: [
          {
            link: `https://www.instagram.com/reel/${reel.id.slice(-11)}/`,
            kind: 'reel',
            mediaId: reel.id,
          },
        ],
      });
    }
    if (i === 4) {
      store.addMessage(shopId, user.igsid, {
        fromId: user.igsid,
        createdTime: start + MINUTE,
        text: 'Love this look!',
        story: {
          kind: 'reply_to',
          id: '18074819347285670',
          link: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18074819347285670&signature=demo',
        },
      });
    }
    const answered = outbound(answer, start + 5 * MINUTE, {
      replyTo: { mid: asked.mid, isSelfReply: false },
    });
    if (i % 3 === 0) answered.reactions.push({ userId: user.igsid, reaction: 'love', emoji: '❤' });
    if (i === 5) {
      store.addComment(post.id, {
        id: '17900000000000005',
        fromIgsid: user.igsid,
        fromUsername: user.username,
        text: 'How much is the green one?',
        createdTime: now - HOUR,
      });
    }
  });

  const studioId = studio.account.igId;
  ['mara.voss', 'theo.grant', 'lena.ito'].forEach((username, i) => {
    const user = store.addUser(studioId, { username });
    const at = now - (i + 1) * 5 * HOUR;
    store.addMessage(studioId, user.igsid, {
      fromId: user.igsid,
      text: 'Are you available for a shoot in May?',
      createdTime: at,
    });
    store.addMessage(studioId, user.igsid, {
      fromId: studioId,
      text: 'Yes! Which dates?',
      createdTime: at + 30 * MINUTE,
    });
  });
  store.addMedia(studioId, { mediaProductType: 'REELS', caption: 'Spring portraits' });
  seedMedia(sim, shopId, now);
  // Seeded last, so that the ids drawn before stay what they were.
  const cafe = seedCafe(sim, now);

  return [shop, studio, cafe];
}

/** An account of Facebook Login: a café's Instagram account, linked to its Facebook Page. */
function seedCafe(sim: Simulator, now: number): DemoAccount {
  const { store } = sim;
  const cafe = sim.addFacebookAccount({
    username: 'harbor.cafe',
    name: 'Harbor Café',
    followersCount: 2204,
    followsCount: 97,
  });
  const cafeId = cafe.account.igId;
  const talk = (username: string, ago: number, question: string, answer?: string) => {
    const user = store.addUser(cafeId, { username });
    store.addMessage(cafeId, user.igsid, {
      fromId: user.igsid,
      text: question,
      createdTime: now - ago,
    });
    if (answer !== undefined) {
      store.addMessage(cafeId, user.igsid, {
        fromId: cafeId,
        text: answer,
        createdTime: now - ago + 10 * MINUTE,
      });
    }
    return user;
  };
  const nora = talk(
    'nora.lind',
    2 * HOUR,
    'Can I book a table for 8 on Friday?',
    'Of course! At what time?',
  );
  talk('omar.haddad', 26 * HOUR, 'Do you have oat milk?', 'We do, and almond too.');
  // A message request: in the Page's `pending` folder (`conversations(folder: PENDING)`).
  const stranger = talk('pat.unknown', 40 * MINUTE, 'Are you hiring baristas?');
  const request = store.conversationWith(cafeId, stranger.igsid);
  if (request) request.folder = 'pending';
  const post = store.addMedia(cafeId, {
    caption: 'Cinnamon buns, fresh at 8',
    timestamp: now - DAY,
    likeCount: 64,
  });
  store.addComment(post.id, {
    fromIgsid: nora.igsid,
    fromUsername: nora.username,
    text: 'Save me two!',
    createdTime: now - 5 * HOUR,
  });
  return cafe;
}

/**
 * The shop's feed beyond the first three posts: a carousel of two, a story of this morning, likes
 * and a thread of comments (replies, a hidden one, the shop's own answer). Seeded last, so that
 * the ids drawn before stay what they were.
 */
function seedMedia(sim: Simulator, shopId: string, now: number): void {
  const { store } = sim;
  const feed = [...store.media.values()].filter((m) => m.accountIgId === shopId);
  feed.forEach((m, i) => {
    m.timestamp = now - (i + 2) * DAY;
    m.likeCount = 120 - i * 31;
  });
  const itemIds = [newMediaId(), newMediaId()];
  const carousel = store.addMedia(shopId, {
    mediaType: 'CAROUSEL_ALBUM',
    caption: 'Two colours, one shirt',
    timestamp: now - DAY,
    likeCount: 88,
    children: itemIds,
  });
  for (const id of itemIds)
    store.addMedia(shopId, { id, timestamp: now - DAY, parentId: carousel.id });
  store.addMedia(shopId, {
    mediaProductType: 'STORY',
    mediaType: 'IMAGE',
    timestamp: now - 3 * HOUR,
  });

  const post = feed[0];
  if (!post) return;
  const customer = (username: string) => {
    const user = store.userByUsername(shopId, username);
    if (!user) throw new Error(`no demo customer ${username}`);
    return user;
  };
  const say = (username: string, text: string, at: number, extra = {}) => {
    const user = customer(username);
    return store.addComment(post.id, {
      fromIgsid: user.igsid,
      fromUsername: user.username,
      text,
      createdTime: at,
      ...extra,
    });
  };
  const asked = say('grace.kim', 'Does it come in XL?', now - 5 * HOUR, { likeCount: 3 });
  store.addComment(post.id, {
    fromIgsid: shopId,
    fromUsername: 'northwind.shop',
    text: 'It does! Sending you the size guide.',
    createdTime: now - 4 * HOUR,
    parentId: asked.id,
  });
  say('hugo_lefevre', 'Same question for L', now - 3 * HOUR, { parentId: asked.id });
  say('isla.murray', 'Buy followers at spam.example', now - 2 * HOUR, { hidden: true });
  say('jonas.berg', 'Gorgeous colours 😍', now - 20 * MINUTE, { likeCount: 1 });
}
