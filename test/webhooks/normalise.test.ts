import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachment } from '../../src/inbox/attachments.ts';
import type { InboxEventData, MessageEventFields } from '../../src/inbox/events.ts';
import type { Message } from '../../src/inbox/message.ts';
import { UserActions } from '../../src/sandbox/actions.ts';
import { handleSend } from '../../src/sandbox/send.ts';
import { createClock, type SimUser, Store } from '../../src/sandbox/store.ts';
import { WebhookDispatcher } from '../../src/sandbox/webhooks.ts';
import {
  EARLIEST_EVENT_TIME,
  FUTURE_EVENT_SLACK_MS,
  isSaneEventTime,
  messageIdentity,
  normalise,
} from '../../src/webhooks/normalise.ts';
import { verifySignature } from '../../src/webhooks/verify.ts';
import { fixture, fixtureNames, fixtureText } from '../helpers/fixtures.ts';

/** The digest `normalise` puts in the identity of UNKNOWN and OPTIN events. */
const digestOf = (raw: unknown): string =>
  createHash('sha256').update(JSON.stringify(raw)).digest('base64url').slice(0, 22);

/**
 * The fields of a message event: the message from `from` to `to` at `at` (a webhook's message
 * is detailed and names no usernames), and what only the webhook says (none unless given).
 */
const message = (
  { from, to, at }: { from: string; to: string; at: number },
  fields: Partial<Message> & { mid: string },
  extras: Partial<Omit<MessageEventFields, 'message'>> = {},
): MessageEventFields => ({
  message: {
    createdTime: at,
    detailAvailable: true,
    from: { igsid: from, username: null },
    to: [{ igsid: to, username: null }],
    text: null,
    attachments: [],
    reactions: [],
    replyTo: null,
    isUnsupported: false,
    ...fields,
  },
  quickReplyPayload: null,
  referral: null,
  isSelf: false,
  ...extras,
});

/** The change (or item) at `entry[e].<key>[i]` of a fixture, as `raw`. */
const itemOf = (name: string, key: 'changes' | 'messaging', e = 0, i = 0): unknown => {
  const body = fixture(name) as { entry: Record<string, unknown[]>[] };
  return body.entry[e]?.[key]?.[i];
};

const COURIER_TIME = 1459991487970;
/** Courier's customer writes to courier's account; the time keeps its milliseconds. */
const COURIER_IN = { from: '5678', to: '1234567890', at: COURIER_TIME };
const courierText: InboxEventData = {
  kind: 'MESSAGE_RECEIVED',
  igId: '1234567890',
  igsid: '5678',
  occurredAt: COURIER_TIME,
  identity: '1234567890|MESSAGE_RECEIVED|external_id||',
  standby: false,
  ...message(COURIER_IN, { mid: 'external_id', text: 'Hello World' }),
};

const RESTFB_MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDUyNjkxNjAwMDk4OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODUyNTYwOTEwODQ0ODU4MjozMDc2OTU4MTA5OTY0OTI5MzAzMjAwODc1MDUxMTE2MTM0NAZDZD';

const REAL_STORY_MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDQ4MzU5MjQyMjYzOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTM5Njg4ODg2NjMxNTA2NzozMTg0NTA5OTYyMzc3MjgyNzk4MDY5MjUzOTE1OTA4NTA1NgZDZD';
const REAL_STORY_URL =
  'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17927261066947525&signature=Aby32t5RpD76Nztt8BF4Ug5yU_GFaF8-Gr2NpA30vrM-2SfOzQWlZPY8K0m46AdWyXmRVfr0dhON2gZo0PMA377sw-t8OjhaAmQX37tEJLKSNlLIwkSnvUo0SWBu-riXXwc-enClfoRPQC8CuX9oWPR1Ct01nC196I8RitH5Whv0igmffUuMQMH2aSe4zhfyIBb7U4FR1QD-lMLseEK77fgeo0OVDUo';
const REAL_ECHO_MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAxMjcwMTA2NzYyOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTcyOTA1MjAwNjQyMTc3NjozMjI3NDU3NTc1MDk4NDEzNTA1Nzc4MTI1OTA2NTM2MDM4NAZDZD';

const RESTFB_UNSUPPORTED_URL =
  'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17997515821557846&signature=AbyoRMtwJfAwfS_JCQkUSk4cdnDbIxMpTQXNWXt1D5Y9DEBSrgaz6PUk279coBxpvYHihuOmA1dxxabr6j0XitFYd21z2PaGBG82_AH9WFAbok5IY3cDhSTWb8LRadklr0IOm8UP0O8RZnWI4IiUfDuD19-CdVWih_byfkU5WUJTUGJi6PkuOA0rzdyG4O9fOPAshk8gx631mtlydnq63ILMPzyM8sc';

/** The real echo's carousel (Wishlink), every field as Instagram sent it. */
const WISHLINK_SHARE = 'https://www.wishlink.com/share/99c6s.pdf?source=ctk&subId1=580657314703245';
const WISHLINK_REDIRECT =
  'https://www.wishlink.com/redirect/?utm_source=wishlink&utm_medium=ctk&utm_campaign=CTK_Var2&insta_user_id=580657314703245&insta_username=macwan_krishilll_10&type=ctk_nudge&creator=allenchoudhary&post_id=1642115&variant=variant_2';
const openUrl = (url: string, title: string) => ({ type: 'open_url', title, url, payload: null });
const WISHLINK_CAROUSEL = attachment('TEMPLATE', null, {
  type: 'template',
  template: {
    templateType: 'generic',
    text: null,
    elements: [
      {
        title: 'Pilgrim Redensyl 3% + Anagain...',
        subtitle: 'Powered by WISHLINK',
        imageUrl: 'https://m.media-amazon.com/images/I/41AFOYC1ehL.jpg?time=1749608255',
        defaultAction: { type: 'open_url', url: WISHLINK_SHARE },
        buttons: [
          openUrl(WISHLINK_SHARE, 'Shop On Amazon'),
          openUrl(
            'https://www.wishlink.com/allenchoudhary/post/1642115?utm_source=ctk&utm_medium=ctk&utm_campaign=ctk',
            'Visit my Wishlink',
          ),
        ],
      },
      {
        title: 'Wishlink',
        subtitle: 'Open in App',
        imageUrl: 'https://d3g01po1nkka75.cloudfront.net/ctk-experiment/last-card.png',
        defaultAction: { type: 'open_url', url: WISHLINK_REDIRECT },
        buttons: [openUrl(WISHLINK_REDIRECT, 'Shop My Looks')],
      },
    ],
    buttons: [],
  },
});

const REAL_SEEN_MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDIxOTMwMjE1NzU3OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjI3MDQyNzMzODYwMzc1NTozMjkxMjY4NTE1Mzk3MDQwMzA2MTE4ODU3Nzc3MDYwMjQ5NgZDZD';
const REAL_LIKE_MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA0NjQ1NTkzNDMzOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1ODY0MDc4MjI2ODU3NDAyMjozMjcyNjk1NTA1MjUxNTczODkyODQ3ODE4Mjc3MjMxMDAxNgZDZD';
const REAL_FAQ_MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAxMTYzMTM3NjMzOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTY5MTcxNzE0NjgxMzAxMjozMTg0MTAyNjc2NjgzNDY4MjQ5MDcwNDExNjI3NDE2NzgwOAZDZD';

/** Every webhook fixture, exactly as received, and the events it must give. */
const EXPECTED: Record<string, InboxEventData[]> = {
  // courier's duplicate_msg.json: one event delivered twice in one POST; same identity, so
  // the deduper publishes it once.
  'webhook-batched-two-entries-courier.json': [courierText, courierText],
  'webhook-messages-text-courier.json': [courierText],
  'webhook-messages-image-courier.json': [
    {
      ...courierText,
      ...message(COURIER_IN, {
        mid: 'external_id',
        attachments: [attachment('IMAGE', 'https://image-url/foo.png', { type: 'image' })],
      }),
    },
  ],
  'webhook-messages-like-heart-courier.json': [
    {
      ...courierText,
      ...message(COURIER_IN, {
        mid: 'external_id',
        attachments: [attachment('IMAGE', null, { type: 'like_heart' })],
      }),
    },
  ],
  'webhook-messages-story-mention-courier.json': [
    {
      ...courierText,
      ...message(COURIER_IN, {
        mid: 'external_id',
        attachments: [attachment('STORY_MENTION', 'https://story-url', { type: 'story_mention' })],
      }),
    },
  ],
  'webhook-messages-is-deleted-courier.json': [
    {
      kind: 'MESSAGE_DELETED',
      igId: '1234567890',
      igsid: '5678',
      occurredAt: 1569262485349,
      identity: '1234567890|MESSAGE_DELETED|external_id||1569262485349',
      standby: false,
      mid: 'external_id',
    },
  ],
  // courier's echo keeps the inbound sender/recipient: the customer is the one that is not
  // the account.
  'webhook-messages-echo-courier.json': [
    {
      kind: 'MESSAGE_SENT',
      igId: '1234567890',
      igsid: '5678',
      occurredAt: COURIER_TIME,
      identity: '1234567890|MESSAGE_SENT|qT7ywaK||',
      standby: false,
      ...message({ from: '1234567890', to: '5678', at: COURIER_TIME }, { mid: 'qT7ywaK' }),
    },
  ],
  'webhook-messaging-postbacks-icebreaker-courier.json': [
    {
      kind: 'POSTBACK_RECEIVED',
      igId: '1234567890',
      igsid: '5678',
      occurredAt: COURIER_TIME,
      // Without mid, who tapped is part of the identity.
      identity: `1234567890|POSTBACK_RECEIVED|["5678","icebreaker question","get_started"]||${COURIER_TIME}`,
      standby: false,
      mid: null,
      title: 'icebreaker question',
      payload: 'get_started',
    },
  ],
  'webhook-messages-unsupported-attachment-restfb.json': [
    {
      kind: 'MESSAGE_RECEIVED',
      igId: '17841452691600098',
      igsid: '5614879045272581',
      occurredAt: 1668022333735,
      identity: `17841452691600098|MESSAGE_RECEIVED|${RESTFB_MID}||`,
      standby: false,
      // The unsupported attachment is kept, and makes the message unsupported.
      ...message(
        { from: '5614879045272581', to: '17841452691600098', at: 1668022333735 },
        {
          mid: RESTFB_MID,
          attachments: [
            attachment('UNSUPPORTED', RESTFB_UNSUPPORTED_URL, { type: 'unsupported_type' }),
          ],
          isUnsupported: true,
        },
      ),
    },
  ],
  // A real story reply: the story as an attachment; the time to the millisecond.
  'webhook-messages-story-reply-real.json': [
    {
      kind: 'MESSAGE_RECEIVED',
      igId: '17841448359242263',
      igsid: '469726735841298',
      occurredAt: 1726326309755,
      identity: `17841448359242263|MESSAGE_RECEIVED|${REAL_STORY_MID}||`,
      standby: false,
      ...message(
        { from: '469726735841298', to: '17841448359242263', at: 1726326309755 },
        {
          mid: REAL_STORY_MID,
          text: 'i’m waiting for the giveawayyyyyyyyyyy🥹🥹🥹🥹🥹🥹🥹🥹🥹🥹🥹',
          attachments: [
            attachment('STORY_REPLY', REAL_STORY_URL, {
              storyId: '17927261066947525',
            }),
          ],
        },
      ),
    },
  ],
  // The real echo of another app's carousel: every card, its default action and buttons kept.
  'webhook-messages-echo-generic-template-real.json': [
    {
      kind: 'MESSAGE_SENT',
      igId: '17841401270106762',
      igsid: '580657314703245',
      occurredAt: 1749608257263,
      identity: `17841401270106762|MESSAGE_SENT|${REAL_ECHO_MID}||`,
      standby: false,
      ...message(
        { from: '17841401270106762', to: '580657314703245', at: 1749608257263 },
        { mid: REAL_ECHO_MID, attachments: [WISHLINK_CAROUSEL] },
      ),
    },
  ],
  'webhook-messaging-seen-restfb.json': [
    {
      kind: 'MESSAGES_SEEN',
      igId: '17841452691600098',
      igsid: '5614879045272581',
      occurredAt: 1668022333735,
      identity: '17841452691600098|MESSAGES_SEEN|MESSAGE-ID||1668022333735',
      standby: false,
      mid: 'MESSAGE-ID',
    },
  ],
  // The dashboard test's entry.id "0" and no recipient: the account stays "0"; time in seconds.
  'webhook-comments-facebook-login-restfb.json': [
    {
      kind: 'COMMENT_RECEIVED',
      igId: '0',
      igsid: '1234536447',
      occurredAt: 1519399307000,
      identity: '0|COMMENT_RECEIVED|123456789||',
      standby: false,
      commentId: '123456789',
      text: 'This is an example.',
      mediaId: '76543987',
      mediaProductType: 'FEED',
      parentId: '987654321',
      fromId: '1234536447',
      fromUsername: 'testuser',
      byAccount: false,
      live: false,
      adId: null,
    },
  ],
  'webhook-mentions-comment-restfb.json': [
    {
      kind: 'MENTION_RECEIVED',
      igId: '0',
      igsid: null,
      occurredAt: 1519399310000,
      identity: '0|MENTION_RECEIVED|17887498072083520:17887498072083520||',
      standby: false,
      mediaId: '17887498072083520',
      commentId: '17887498072083520',
    },
  ],
  // Postman's templates: placeholders as ids, "<TIME_…>" as times (no usable time: 0).
  // The account's own comment: `from.self_ig_scoped_id` flags it (no customer).
  'webhook-comments-self-postman.json': [
    {
      kind: 'COMMENT_RECEIVED',
      igId: '<YOUR_APP_USERS_INSTAGRAM_ACCOUNT_ID>',
      igsid: null,
      occurredAt: 0,
      identity: '<YOUR_APP_USERS_INSTAGRAM_ACCOUNT_ID>|COMMENT_RECEIVED|<COMMENT_ID>||',
      standby: false,
      commentId: '<COMMENT_ID>',
      text: '<COMMENT_TEXT>',
      mediaId: '<MEDIA_ID>',
      mediaProductType: '<MEDIA_PRODUCT_TYPE>',
      parentId: null,
      fromId: '<YOUR_APP_USERS_INSTAGRAM_ACCOUNT_ID>',
      fromUsername: '<INSTAGRAM_USER_USERNAME>',
      byAccount: true,
      live: false,
      adId: null,
    },
  ],
  'webhook-message-reactions-postman.json': [
    {
      kind: 'REACTION_CHANGED',
      igId: '<YOUR_APP_USERS_INSTAGRAM_USER_ID>',
      igsid: '<INSTAGRAM_SCOPED_ID>',
      occurredAt: 0,
      identity: '<YOUR_APP_USERS_INSTAGRAM_USER_ID>|REACTION_CHANGED|<MESSAGE_ID>|react|0',
      standby: false,
      mid: '<MESSAGE_ID>',
      action: 'react',
      reaction: 'love',
      emoji: '❤',
    },
  ],
  'webhook-messages-self-echo-postman.json': [
    {
      kind: 'MESSAGE_SENT',
      igId: '<YOUR_APP_USERS_IG_USER_ID>',
      igsid: '<YOUR_APP_USERS_INSTAGRAM_SCOPED_ID>',
      occurredAt: 0,
      identity: '<YOUR_APP_USERS_IG_USER_ID>|MESSAGE_SENT|<MESSAGE_ID>||',
      standby: false,
      ...message(
        { from: '<YOUR_APP_USERS_IG_USER_ID>', to: '<YOUR_APP_USERS_INSTAGRAM_SCOPED_ID>', at: 0 },
        { mid: '<MESSAGE_ID>', text: '<MESSAGE_TEXT>' },
        { isSelf: true },
      ),
    },
  ],
  // Postman's catalogue of message flags: is_deleted wins over everything else.
  'webhook-messages-story-reply-postman.json': [
    {
      kind: 'MESSAGE_DELETED',
      igId: '<YOUR_APP_USERS_INSTAGRAM_USER_ID>',
      igsid: '<RECIPIENT_ID>',
      occurredAt: 0,
      identity: '<YOUR_APP_USERS_INSTAGRAM_USER_ID>|MESSAGE_DELETED|<MESSAGE_ID>||0',
      standby: false,
      mid: '<MESSAGE_ID>',
    },
  ],
  'webhook-messaging-postbacks-self-postman.json': [
    {
      kind: 'POSTBACK_RECEIVED',
      igId: '45202218377435',
      igsid: '<YOUR_APP_USERS_IG_USER_ID>',
      occurredAt: 1743480368714,
      identity: '45202218377435|POSTBACK_RECEIVED|<MESSAGE_ID>||1743480368714',
      standby: false,
      mid: '<MESSAGE_ID>',
      title: 'Start Chatting',
      payload: 'DEVELOPER_DEFINED_PAYLOAD',
    },
  ],

  // A real read without sender and recipient: no customer in the event (the schema reads it
  // from the message); the account from entry.id.
  'webhook-messaging-seen-no-sender-real.json': [
    {
      kind: 'MESSAGES_SEEN',
      igId: '17841421930215757',
      igsid: null,
      occurredAt: 1784200184302,
      identity: `17841421930215757|MESSAGES_SEEN|${REAL_SEEN_MID}||1784200184302`,
      standby: false,
      mid: REAL_SEEN_MID,
    },
  ],
  // num_edit 0 for a brand-new message: no edit happened, so no MESSAGE_EDITED; kept whole.
  'webhook-message-edit-no-sender-reported.json': [
    {
      kind: 'UNKNOWN',
      igId: '17841458318357324',
      igsid: null,
      occurredAt: 1767963330889,
      identity: `17841458318357324|UNKNOWN|message_edit:${digestOf(itemOf('webhook-message-edit-no-sender-reported.json', 'messaging'))}||1767963330889`,
      standby: false,
      field: 'message_edit',
      raw: {
        timestamp: 1767963330889,
        message_edit: {
          mid: 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDU4MzE4MzU3MzI0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjExODk0MjI3MzE3ODI0MTozMjYxMzE2NDUzNzQyMzA0ODA3ODk1NzgxNjE4Mzc4MzQyNAZDZD',
          num_edit: 0,
        },
      },
    },
  ],
  // Not only love: the name and the emoji as they came.
  'webhook-message-reactions-like-real.json': [
    {
      kind: 'REACTION_CHANGED',
      igId: '17841404645593433',
      igsid: '6234380736598057',
      occurredAt: 1774131815375,
      identity: `17841404645593433|REACTION_CHANGED|${REAL_LIKE_MID}|react|1774131815375`,
      standby: false,
      mid: REAL_LIKE_MID,
      action: 'react',
      reaction: 'like',
      emoji: '👍',
    },
  ],
  // A tap on an FAQ set up in the Instagram app: a quick reply with Instagram's own payload.
  'webhook-messages-quick-reply-first-party-faq-real.json': [
    {
      kind: 'MESSAGE_RECEIVED',
      igId: '17841401163137633',
      igsid: '355813534163958',
      occurredAt: 1726105519738,
      identity: `17841401163137633|MESSAGE_RECEIVED|${REAL_FAQ_MID}||`,
      standby: false,
      ...message(
        { from: '355813534163958', to: '17841401163137633', at: 1726105519738 },
        { mid: REAL_FAQ_MID, text: 'How can I purchase your products?' },
        {
          quickReplyPayload:
            '3:IB_FIRST_PARTY:ac65f8133abf5df0f25b12575a30e397d9b057c2:no_response:is_custom',
        },
      ),
    },
  ],
};

describe('normalise: the fixtures', () => {
  it('covers every webhook fixture', () => {
    const files = fixtureNames().filter((f) => /^webhook-.*\.json$/.test(f));
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const events = normalise(fixture(name));
    expect(events).toEqual(expected);
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
  });

  it('gives the same events for the bytes Meta sends (escaped slashes and unicode)', () => {
    for (const name of Object.keys(EXPECTED)) {
      const metaBytes = JSON.stringify(fixture(name))
        .replaceAll('/', '\\/')
        .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      expect(normalise(JSON.parse(metaBytes))).toEqual(EXPECTED[name]);
    }
  });

  describe('Postman templates with real ids put in (fixtures README)', () => {
    const IG = '17841400000000001';
    const IGSID = '5614879045272581';
    const filled = (name: string, replacements: Record<string, string | number>) => {
      let text = fixtureText(name);
      for (const [from, to] of Object.entries(replacements)) {
        text = text.replaceAll(typeof to === 'number' ? `"${from}"` : from, String(to));
      }
      return normalise(JSON.parse(text));
    };

    it('a self postback: the account is the sender, the customer the recipient', () => {
      const events = filled('webhook-messaging-postbacks-self-postman.json', {
        '45202218377435': IG,
        '<YOUR_APP_USERS_IG_USER_ID>': IG,
        '<YOUR_APP_USERS_INSTAGRAM_SCOPED_ID>': IGSID,
        '<MESSAGE_ID>': 'mid.1',
      });
      expect(events).toEqual([
        {
          kind: 'POSTBACK_RECEIVED',
          igId: IG,
          igsid: IGSID,
          occurredAt: 1743480368714,
          identity: `${IG}|POSTBACK_RECEIVED|mid.1||1743480368714`,
          standby: false,
          mid: 'mid.1',
          title: 'Start Chatting',
          payload: 'DEVELOPER_DEFINED_PAYLOAD',
        },
      ]);
    });

    it('a reaction with numeric times', () => {
      const events = filled('webhook-message-reactions-postman.json', {
        '<YOUR_APP_USERS_INSTAGRAM_USER_ID>': IG,
        '<INSTAGRAM_SCOPED_ID>': IGSID,
        '<MESSAGE_ID>': 'mid.1',
        '<TIME_NOTIFICATION_WAS_SENT>': 1700000000999,
        '<TIME_WEBHOOK_WAS_TRIGGERED>': 1700000000123,
      });
      expect(events).toMatchObject([
        {
          kind: 'REACTION_CHANGED',
          igId: IG,
          igsid: IGSID,
          occurredAt: 1700000000123,
          identity: `${IG}|REACTION_CHANGED|mid.1|react|1700000000123`,
        },
      ]);
    });

    it('a self echo: sender is the account', () => {
      const events = filled('webhook-messages-self-echo-postman.json', {
        '<YOUR_APP_USERS_IG_USER_ID>': IG,
        '<YOUR_APP_USERS_INSTAGRAM_SCOPED_ID>': IGSID,
        '<TIME_META_SENT_THIS_NOTIFICATION>': 1700000000123,
      });
      expect(events).toMatchObject([
        { kind: 'MESSAGE_SENT', igId: IG, igsid: IGSID, occurredAt: 1700000000123 },
      ]);
    });
  });
});

describe('normalise: what the simulator sends', () => {
  const SECRET = 'test-instagram-app-secret';
  const IG = '17841400000000001';
  const T = 1_700_000_000_123;
  let store: Store;
  let users: UserActions;
  let dispatcher: WebhookDispatcher;
  let alice: SimUser;
  let sent: { body: string; signature: string | undefined }[];

  beforeEach(() => {
    store = new Store(createClock(T, true));
    const account = store.addAccount({ igId: IG, username: 'shop' });
    for (const field of [
      'messages',
      'message_reactions',
      'messaging_seen',
      'messaging_postbacks',
      'messaging_referral',
      'message_edit',
      'message_echoes',
      'comments',
    ]) {
      account.subscribedFields.add(field);
    }
    sent = [];
    dispatcher = new WebhookDispatcher({
      store,
      appSecret: SECRET,
      callbackUrl: () => 'http://igql.invalid/webhooks/instagram',
      fetch: async (_url, init) => {
        const headers = new Headers(init?.headers);
        sent.push({
          body: String(init?.body),
          signature: headers.get('x-hub-signature-256') ?? undefined,
        });
        return new Response(null, { status: 200 });
      },
    });
    users = new UserActions(store, dispatcher);
    alice = users.userNamed(IG, 'alice');
  });

  afterEach(() => dispatcher.close());

  /** Runs the actions, waits for the deliveries, checks their signatures, normalises each. */
  const deliveries = async (act: () => void): Promise<InboxEventData[][]> => {
    sent.length = 0;
    act();
    await dispatcher.idle();
    return sent.map(({ body, signature }) => {
      expect(verifySignature(Buffer.from(body), signature, SECRET)).toBe(true);
      return normalise(JSON.parse(body));
    });
  };
  const deliver = async (act: () => void): Promise<InboxEventData[]> => {
    const all = await deliveries(act);
    expect(all).toHaveLength(1);
    return all[0] ?? [];
  };
  const now = () => store.clock.now();
  /** Alice writes to the account, now. */
  const fromAlice = () => ({ from: alice.igsid, to: IG, at: now() });
  const inbound = (kind: string, ids: string, action = '') => ({
    igId: IG,
    igsid: alice.igsid,
    occurredAt: now(),
    // A mid alone identifies a message: its identity has no time (see messageIdentity).
    identity:
      kind === 'MESSAGE_RECEIVED'
        ? messageIdentity(IG, kind, ids)
        : `${IG}|${kind}|${ids}|${action}|${now()}`,
    standby: false,
  });

  it('a text message', async () => {
    let mid = '';
    const events = await deliver(() => {
      mid = users.sendMessage(IG, alice.igsid, { text: 'Hello World' }).mid;
    });
    expect(events).toEqual([
      {
        kind: 'MESSAGE_RECEIVED',
        ...inbound('MESSAGE_RECEIVED', mid),
        ...message(fromAlice(), { mid, text: 'Hello World' }),
      },
    ]);
  });

  it('every attachment type, typed, with everything its payload carries', async () => {
    let mid = '';
    const events = await deliver(() => {
      mid = users.sendMessage(IG, alice.igsid, {
        attachments: [
          { type: 'image', url: 'https://cdn.test/a.png' },
          { type: 'video', url: 'https://cdn.test/a.mp4' },
          { type: 'audio', url: 'https://cdn.test/a.m4a' },
          { type: 'file', url: 'https://cdn.test/a.pdf' },
          { type: 'like_heart' },
          {
            type: 'ig_reel',
            url: 'https://cdn.test/reel',
            reelVideoId: '18000000000000001',
            title: 'R',
          },
          {
            type: 'ig_post',
            url: 'https://cdn.test/post',
            mediaId: '18000000000000002',
            title: 'Spring linen',
          },
          { type: 'unsupported_type', url: 'https://cdn.test/x' },
        ],
        storyMention: { url: 'https://cdn.test/story', id: '18000000000000003' },
      }).mid;
    });
    expect(events).toEqual([
      {
        kind: 'MESSAGE_RECEIVED',
        ...inbound('MESSAGE_RECEIVED', mid),
        ...message(fromAlice(), {
          mid,
          // `unsupported_type` is kept and makes the message unsupported.
          attachments: [
            attachment('IMAGE', 'https://cdn.test/a.png', { type: 'image' }),
            attachment('VIDEO', 'https://cdn.test/a.mp4', { type: 'video' }),
            attachment('AUDIO', 'https://cdn.test/a.m4a', { type: 'audio' }),
            attachment('FILE', 'https://cdn.test/a.pdf', { type: 'file' }),
            attachment('IMAGE', null, { type: 'like_heart' }),
            attachment('REEL', 'https://cdn.test/reel', {
              type: 'ig_reel',
              mediaId: '18000000000000001',
              title: 'R',
            }),
            attachment('POST', 'https://cdn.test/post', {
              type: 'ig_post',
              mediaId: '18000000000000002',
              title: 'Spring linen',
            }),
            attachment('UNSUPPORTED', 'https://cdn.test/x', { type: 'unsupported_type' }),
            // The simulator's story_mention payload carries the url only (courier).
            attachment('STORY_MENTION', 'https://cdn.test/story', { type: 'story_mention' }),
          ],
          isUnsupported: true,
        }),
      },
    ]);
  });

  it('replies, story replies, quick replies, referrals and unsupported messages', async () => {
    let first = '';
    await deliver(() => {
      first = users.sendMessage(IG, alice.igsid, { text: 'first' }).mid;
    });
    const run = async (content: Parameters<UserActions['sendMessage']>[2]) => {
      const events = await deliver(() => users.sendMessage(IG, alice.igsid, content));
      return events[0]?.kind === 'MESSAGE_RECEIVED' ? events[0] : undefined;
    };
    expect(await run({ text: 'reply', replyTo: first })).toMatchObject({
      message: { text: 'reply', replyTo: first },
    });
    // A reply to a story is the story it replies to, as an attachment.
    expect(
      await run({
        text: 'story',
        storyReply: { id: '18000000000000009', url: 'https://cdn.test/s' },
      }),
    ).toMatchObject({
      message: {
        replyTo: null,
        attachments: [
          attachment('STORY_REPLY', 'https://cdn.test/s', { storyId: '18000000000000009' }),
        ],
      },
    });
    expect(await run({ text: 'Red', quickReplyPayload: 'COLOR_RED' })).toMatchObject({
      quickReplyPayload: 'COLOR_RED',
    });
    expect(
      await run({
        text: 'ad',
        referral: {
          ref: 'spring',
          adId: '6000000000001',
          source: 'ADS',
          type: 'OPEN_THREAD',
          adsContextData: { adTitle: 'Spring sale', photoUrl: 'https://cdn.test/ad.jpg' },
        },
      }),
    ).toMatchObject({
      referral: {
        ref: 'spring',
        ad_id: '6000000000001',
        source: 'ADS',
        type: 'OPEN_THREAD',
        ads_context_data: { ad_title: 'Spring sale', photo_url: 'https://cdn.test/ad.jpg' },
      },
    });
    expect(await run({ unsupported: true })).toMatchObject({
      message: { text: null, attachments: [], isUnsupported: true },
    });
  });

  it('reactions: react, unreact, react again are three events', async () => {
    let mid = '';
    await deliver(() => {
      mid = users.sendMessage(IG, alice.igsid, { text: 'hi' }).mid;
    });
    store.clock.advance(1000);
    const love = await deliver(() => users.react(IG, alice.igsid, mid));
    expect(love).toEqual([
      {
        kind: 'REACTION_CHANGED',
        ...inbound('REACTION_CHANGED', mid, 'react'),
        mid,
        action: 'react',
        reaction: 'love',
        emoji: '❤',
      },
    ]);
    store.clock.advance(1000);
    const unreact = await deliver(() => users.unreact(IG, alice.igsid, mid));
    expect(unreact).toEqual([
      {
        kind: 'REACTION_CHANGED',
        ...inbound('REACTION_CHANGED', mid, 'unreact'),
        mid,
        action: 'unreact',
        reaction: null,
        emoji: null,
      },
    ]);
    store.clock.advance(1000);
    const wow = await deliver(() => users.react(IG, alice.igsid, mid, '😮'));
    expect(wow).toMatchObject([{ action: 'react', reaction: 'wow', emoji: '😮' }]);
    const identities = [love, unreact, wow].map((events) => events[0]?.identity);
    expect(new Set(identities).size).toBe(3);
  });

  it('read, edit and unsend', async () => {
    let mid = '';
    await deliver(() => {
      mid = users.sendMessage(IG, alice.igsid, { text: 'typo' }).mid;
    });
    store.clock.advance(1000);
    expect(await deliver(() => users.read(IG, alice.igsid, mid))).toEqual([
      { kind: 'MESSAGES_SEEN', ...inbound('MESSAGES_SEEN', mid), mid },
    ]);
    store.clock.advance(1000);
    expect(await deliver(() => users.edit(IG, alice.igsid, mid, 'fixed'))).toEqual([
      { kind: 'MESSAGE_EDITED', ...inbound('MESSAGE_EDITED', mid), mid, text: 'fixed', numEdit: 1 },
    ]);
    store.clock.advance(1000);
    expect(await deliver(() => users.delete(IG, alice.igsid, mid))).toEqual([
      { kind: 'MESSAGE_DELETED', ...inbound('MESSAGE_DELETED', mid), mid },
    ]);
  });

  it('reads and edits without sender and recipient, exactly as the real captures', async () => {
    let mid = '';
    await deliver(() => {
      mid = users.sendMessage(IG, alice.igsid, { text: 'typo' }).mid;
    });
    store.clock.advance(1000);
    /** The keys of a delivery, in order, at every depth (the values differ). */
    const keys = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(keys)
        : typeof value === 'object' && value !== null
          ? Object.entries(value).map(([k, v]) => [k, keys(v)])
          : typeof value;
    const seen = await deliver(() => users.read(IG, alice.igsid, mid, { withoutParties: true }));
    expect(keys(JSON.parse(sent[0]?.body ?? ''))).toEqual(
      keys(fixture('webhook-messaging-seen-no-sender-real.json')),
    );
    const stamp = `${now()}`;
    const senderless = { igId: IG, igsid: null, occurredAt: now(), standby: false };
    expect(seen).toEqual([
      {
        kind: 'MESSAGES_SEEN',
        ...senderless,
        identity: `${IG}|MESSAGES_SEEN|${mid}||${stamp}`,
        mid,
      },
    ]);
    const fresh = await deliver(() =>
      users.newMessageEdit(IG, alice.igsid, mid, { withoutParties: true }),
    );
    expect(keys(JSON.parse(sent[0]?.body ?? ''))).toEqual(
      keys(fixture('webhook-message-edit-no-sender-reported.json')),
    );
    const raw = { timestamp: now(), message_edit: { mid, num_edit: 0 } };
    expect(fresh).toEqual([
      {
        kind: 'UNKNOWN',
        ...senderless,
        identity: `${IG}|UNKNOWN|message_edit:${digestOf(raw)}||${stamp}`,
        field: 'message_edit',
        raw,
      },
    ]);
    store.clock.advance(1000);
    const edited = await deliver(() =>
      users.edit(IG, alice.igsid, mid, 'fixed', { withoutParties: true, withoutText: true }),
    );
    expect(JSON.parse(sent[0]?.body ?? '').entry[0].messaging).toEqual([
      { timestamp: now(), message_edit: { mid, num_edit: 1 } },
    ]);
    expect(edited).toEqual([
      {
        kind: 'MESSAGE_EDITED',
        ...senderless,
        occurredAt: now(),
        identity: `${IG}|MESSAGE_EDITED|${mid}||${now()}`,
        mid,
        text: null,
        numEdit: 1,
      },
    ]);
  });

  it('postbacks with and without mid, and referrals', async () => {
    expect(
      await deliver(() =>
        users.postback(IG, alice.igsid, { title: 'Get started', payload: 'GET_STARTED' }),
      ),
    ).toEqual([
      {
        kind: 'POSTBACK_RECEIVED',
        ...inbound('POSTBACK_RECEIVED', `["${alice.igsid}","Get started","GET_STARTED"]`),
        mid: null,
        title: 'Get started',
        payload: 'GET_STARTED',
      },
    ]);
    expect(
      await deliver(() =>
        users.postback(IG, alice.igsid, { title: 'Buy', payload: 'BUY_1', mid: 'mid.postback' }),
      ),
    ).toEqual([
      {
        kind: 'POSTBACK_RECEIVED',
        ...inbound('POSTBACK_RECEIVED', 'mid.postback'),
        mid: 'mid.postback',
        title: 'Buy',
        payload: 'BUY_1',
      },
    ]);
    expect(
      await deliver(() => users.referral(IG, alice.igsid, { ref: 'summer', source: 'IGME' })),
    ).toEqual([
      {
        kind: 'REFERRAL_RECEIVED',
        ...inbound('REFERRAL_RECEIVED', 'summer'),
        ref: 'summer',
        source: 'IGME',
        type: 'OPEN_THREAD',
        adId: null,
        adTitle: null,
        photoUrl: null,
        videoUrl: null,
        postId: null,
      },
    ]);
  });

  it('a comment: COMMENT_RECEIVED, time from entry.time in seconds', async () => {
    const media = store.addMedia(IG, { id: '18000000000000100' });
    let commentId = '';
    const events = await deliver(() => {
      commentId = users.comment(IG, media.id, alice.igsid, 'Nice!').id;
    });
    expect(events).toEqual([
      {
        kind: 'COMMENT_RECEIVED',
        igId: IG,
        igsid: alice.igsid,
        occurredAt: Math.floor(T / 1000) * 1000,
        identity: `${IG}|COMMENT_RECEIVED|${commentId}||`,
        standby: false,
        commentId,
        text: 'Nice!',
        mediaId: media.id,
        mediaProductType: 'FEED',
        parentId: null,
        fromId: alice.igsid,
        fromUsername: 'alice',
        byAccount: false,
        live: false,
        adId: null,
      },
    ]);
  });

  it("the echo of the account's own send", async () => {
    await deliver(() => users.sendMessage(IG, alice.igsid, { text: 'hi' }));
    store.clock.advance(1000);
    const account = store.accounts.get(IG);
    if (!account) throw new Error('no account');
    const ctx = { store, account, token: store.issueToken(IG), webhooks: dispatcher };
    let mid = '';
    const events = await deliver(() => {
      const response = handleSend(ctx, {
        recipient: { id: alice.igsid },
        message: { text: 'Hello back' },
      });
      mid = String(response.message_id);
    });
    expect(events).toEqual([
      {
        kind: 'MESSAGE_SENT',
        igId: IG,
        igsid: alice.igsid,
        occurredAt: now(),
        identity: messageIdentity(IG, 'MESSAGE_SENT', mid),
        standby: false,
        ...message({ from: IG, to: alice.igsid, at: now() }, { mid, text: 'Hello back' }),
      },
    ]);
  });

  it('a batched delivery gives every event in timestamp order', async () => {
    const bob = users.userNamed(IG, 'bob');
    const all = await deliveries(() => {
      dispatcher.hold();
      users.sendMessage(IG, alice.igsid, { text: 'one' });
      store.clock.advance(5);
      users.sendMessage(IG, bob.igsid, { text: 'two' });
      store.clock.advance(5);
      users.sendMessage(IG, alice.igsid, { text: 'three' });
      dispatcher.release();
    });
    expect(all).toHaveLength(1);
    const body = JSON.parse(sent[0]?.body ?? '') as { entry: unknown[] };
    expect(body.entry).toHaveLength(3);
    expect(
      all[0]?.map((e) => [
        e.occurredAt - T,
        e.igsid,
        e.kind === 'MESSAGE_RECEIVED' && e.message.text,
      ]),
    ).toEqual([
      [0, alice.igsid, 'one'],
      [5, bob.igsid, 'two'],
      [10, alice.igsid, 'three'],
    ]);
  });

  it('a redelivery gives the same identities', async () => {
    const all = await deliveries(() => {
      dispatcher.duplicate();
      users.sendMessage(IG, alice.igsid, { text: 'twice' });
    });
    expect(all).toHaveLength(2);
    expect(all[0]).toEqual(all[1]);
  });
});

describe('normalise: order, standby, odd values, bad entries', () => {
  const IG = '17841400000000001';
  const IGSID = '5614879045272581';
  const text = (mid: string, timestamp: unknown, extra: Record<string, unknown> = {}) => ({
    sender: { id: IGSID },
    recipient: { id: IG },
    timestamp,
    message: { mid, text: mid },
    ...extra,
  });
  const entry = (items: unknown[], fields: Record<string, unknown> = {}) => ({
    time: 1_700_000_009_000,
    id: IG,
    messaging: items,
    ...fields,
  });
  const mids = (events: InboxEventData[]) =>
    events.map((e) => ('message' in e ? e.message.mid : 'mid' in e ? e.mid : e.kind));

  it('sorts every event of every entry by time, keeping body order for equal times', () => {
    const events = normalise({
      object: 'instagram',
      entry: [
        entry([text('c', 3000)]),
        entry([text('a', 1000), text('b1', 2000)]),
        entry([text('b2', 2000)]),
        entry([text('b3', 2000)]),
      ],
    });
    expect(mids(events)).toEqual(['a', 'b1', 'b2', 'b3', 'c']);
    expect(events.map((e) => e.occurredAt)).toEqual([1000, 2000, 2000, 2000, 3000]);
  });

  it('standby items give the same events with standby: true, beside messaging ones', () => {
    const events = normalise({
      object: 'instagram',
      entry: [
        { time: 5, id: IG, standby: [text('s', 2000)], messaging: [text('m', 1000)] },
        {
          time: 5,
          id: IG,
          standby: [
            { sender: { id: IGSID }, recipient: { id: IG }, timestamp: 3000, read: { mid: 's' } },
          ],
        },
      ],
    });
    expect(events.map((e) => [e.kind, e.standby])).toEqual([
      ['MESSAGE_RECEIVED', false],
      ['MESSAGE_RECEIVED', true],
      ['MESSAGES_SEEN', true],
    ]);
    expect(events[1]).toEqual({
      kind: 'MESSAGE_RECEIVED',
      igId: IG,
      igsid: IGSID,
      occurredAt: 2000,
      identity: `${IG}|MESSAGE_RECEIVED|s||`,
      standby: true,
      ...message({ from: IGSID, to: IG, at: 2000 }, { mid: 's', text: 's' }),
    });
  });

  it('entry.id "0" (the dashboard test): the account from recipient, or sender for an echo', () => {
    const echo = {
      sender: { id: IG },
      recipient: { id: IGSID },
      timestamp: 2000,
      message: { mid: 'e', is_echo: true },
    };
    const events = normalise({
      object: 'instagram',
      entry: [entry([text('in', 1000)], { id: '0' }), entry([echo], { id: '0' })],
    });
    expect(events.map((e) => [e.kind, e.igId, e.igsid])).toEqual([
      ['MESSAGE_RECEIVED', IG, IGSID],
      ['MESSAGE_SENT', IG, IGSID],
    ]);
    expect(events[0]?.identity).toBe(`${IG}|MESSAGE_RECEIVED|in||`);
  });

  it('identifies a message by its mid alone, as messageIdentity does', () => {
    const echo = (mid: string, timestamp: number) => ({
      sender: { id: IG },
      recipient: { id: IGSID },
      timestamp,
      message: { mid, is_echo: true },
    });
    const events = normalise({
      object: 'instagram',
      entry: [entry([text('m', 1000), echo('e', 1500)]), entry([text('m', 1001)])],
    });
    expect(events.map((e) => e.identity)).toEqual([
      messageIdentity(IG, 'MESSAGE_RECEIVED', 'm'),
      messageIdentity(IG, 'MESSAGE_RECEIVED', 'm'),
      messageIdentity(IG, 'MESSAGE_SENT', 'e'),
    ]);
    expect(messageIdentity(IG, 'MESSAGE_SENT', 'e')).toBe(`${IG}|MESSAGE_SENT|e||`);
  });

  it('times as numeric strings, missing timestamps and unusable times', () => {
    const events = normalise({
      object: 'instagram',
      entry: [
        entry([text('string', '1700000000500')]),
        entry([text('from-entry', undefined)], { time: '1700000000400' }),
        entry([text('none', 'soon')], { time: 'later' }),
        {
          id: 1234567890,
          messaging: [{ ...text('numeric-ids', 1700000000600), sender: { id: 42 } }],
        },
      ],
    });
    expect(events.map((e) => [mids([e])[0], e.occurredAt, e.igId, e.igsid])).toEqual([
      ['none', 0, IG, IGSID],
      ['from-entry', 1700000000400, IG, IGSID],
      ['string', 1700000000500, IG, IGSID],
      ['numeric-ids', 1700000000600, '1234567890', '42'],
    ]);
  });

  it('a timestamp that is there but unreadable is no time (0), never entry.time in its place', () => {
    // 1e400 in JSON text parses as Infinity.
    const body = JSON.parse(
      JSON.stringify({
        object: 'instagram',
        entry: [
          entry([text('nan', 'NaN')]),
          entry([text('null', null)]),
          entry([text('infinite', '<INFINITY>')]),
          entry([text('fraction', 1_700_000_000_000.5)]),
          entry([text('missing', undefined)]),
        ],
      }).replace('"<INFINITY>"', '1e400'),
    );
    expect(normalise(body).map((e) => [mids([e])[0], e.occurredAt])).toEqual([
      ['nan', 0],
      ['null', 0],
      ['infinite', 0],
      // Read as it is; the pipeline refuses it (isSaneEventTime).
      ['fraction', 1_700_000_000_000.5],
      ['missing', 1_700_000_009_000],
    ]);
  });

  it('a changes entry whose time is no whole number of seconds has no time (0); one in ms or none is kept', () => {
    const times: Record<string, unknown> = {
      whole: 1_519_399_307,
      string: '1519399307',
      fraction: 1_519_399_307.5,
      unreadable: 'soon',
      infinite: Number.POSITIVE_INFINITY,
      milliseconds: 1_519_399_307_123,
      missing: undefined,
    };
    const events = normalise(
      {
        object: 'instagram',
        entry: Object.entries(times).map(([id, time]) => ({
          id: IG,
          time,
          changes: [{ field: 'comments', value: { id } }],
        })),
      },
      1_764_000_000_000,
    );
    expect(
      events.map((e) => [
        e.kind === 'UNKNOWN' && (e.raw as { value: { id: string } }).value.id,
        e.occurredAt,
      ]),
    ).toEqual([
      ['fraction', 0],
      ['unreadable', 0],
      ['infinite', 0],
      ['whole', 1_519_399_307_000],
      ['string', 1_519_399_307_000],
      ['milliseconds', 1_519_399_307_123],
      ['missing', 1_764_000_000_000],
    ]);
  });

  it('isSaneEventTime: whole ms within [2010-01-01, now + 1 day], both bounds included', () => {
    const now = Date.parse('2026-11-20T12:00:00Z');
    expect(EARLIEST_EVENT_TIME).toBe(Date.parse('2010-01-01T00:00:00Z'));
    expect(FUTURE_EVENT_SLACK_MS).toBe(86_400_000);
    const latest = now + 86_400_000;
    const cases: [number, boolean][] = [
      [EARLIEST_EVENT_TIME, true],
      [latest, true],
      [now, true],
      [EARLIEST_EVENT_TIME - 1, false],
      [latest + 1, false],
      [now + 0.5, false],
      [0, false],
      [8.64e15 + 1, false],
      [Number.NaN, false],
      [Number.POSITIVE_INFINITY, false],
    ];
    expect(cases.map(([ms]) => [ms, isSaneEventTime(ms, now)])).toEqual(cases);
  });

  it('a bad entry among good ones becomes UNKNOWN and loses nothing else', () => {
    const body = {
      object: 'instagram',
      entry: [
        entry([text('first', 1000)]),
        null,
        'not an entry',
        { id: IG, time: 1_700_000_000_000 },
        { id: IG, time: 1_700_000_000_000, messaging: { mid: 'not a list' } },
        entry([42, text('last', 2000)]),
      ],
    };
    const events = normalise(body);
    const unknown = (raw: unknown, igId = '', occurredAt = 0) => ({
      kind: 'UNKNOWN',
      igId,
      igsid: null,
      occurredAt,
      identity: `${igId}|UNKNOWN|:${digestOf(raw)}||`,
      standby: false,
      field: null,
      raw,
    });
    expect(events).toEqual([
      unknown(null),
      unknown('not an entry'),
      expect.objectContaining({ kind: 'MESSAGE_RECEIVED', occurredAt: 1000 }),
      expect.objectContaining({ kind: 'MESSAGE_RECEIVED', occurredAt: 2000 }),
      unknown(body.entry[3], IG, 1_700_000_000_000),
      unknown(body.entry[4], IG, 1_700_000_000_000),
      unknown(42, IG, 1_700_000_009_000),
    ]);
  });

  it('a body that is not a delivery is one UNKNOWN; an empty one is nothing', () => {
    for (const body of [null, 'text', [], { object: 'instagram' }, { entry: {} }]) {
      expect(normalise(body)).toEqual([
        {
          kind: 'UNKNOWN',
          igId: '',
          igsid: null,
          occurredAt: 0,
          identity: `|UNKNOWN|:${digestOf(body)}||`,
          standby: false,
          field: null,
          raw: body,
        },
      ]);
    }
    expect(normalise({ object: 'instagram', entry: [] })).toEqual([]);
  });

  it('unknown payloads and payloads missing their ids are kept raw, named by their key', () => {
    const base = { sender: { id: IGSID }, recipient: { id: IG }, timestamp: 1000 };
    const items = [
      { ...base, app_roles: { '123': ['primary_receiver'] } },
      { ...base, message: { text: 'no mid' } },
      { ...base, reaction: { mid: 'm', action: 'wave' } },
      { ...base, read: {} },
      { ...base, message_edit: { text: 'no mid' } },
      { ...base, postback: 'tap' },
      { ...base, referral: null },
      { ...base },
    ];
    const events = normalise({ object: 'instagram', entry: [entry(items)] });
    const fields = [
      'app_roles',
      'message',
      'reaction',
      'read',
      'message_edit',
      'postback',
      'referral',
      null,
    ];
    expect(events).toEqual(
      items.map((raw, i) => ({
        kind: 'UNKNOWN',
        igId: IG,
        igsid: IGSID,
        occurredAt: 1000,
        identity: `${IG}|UNKNOWN|${fields[i] ?? ''}:${digestOf(raw)}||1000`,
        standby: false,
        field: fields[i],
        raw,
      })),
    );
  });

  it('optins are kept raw; edits without text; num_edit 0 is no edit; referrals from ads', () => {
    const base = { sender: { id: IGSID }, recipient: { id: IG }, timestamp: 1000 };
    const optin = { type: 'notification_messages', payload: 'P', notification_messages_token: 't' };
    const events = normalise({
      object: 'instagram',
      entry: [
        entry([
          { ...base, optin },
          { ...base, message_edit: { mid: 'm', num_edit: 2 } },
          { ...base, message_edit: { mid: 'm.new', num_edit: 0 } },
          { ...base, referral: { ad_id: 6000000000001, source: 'ADS', type: 'OPEN_THREAD' } },
        ]),
      ],
    });
    const head = { igId: IG, igsid: IGSID, occurredAt: 1000, standby: false };
    expect(events).toEqual([
      {
        kind: 'OPTIN_RECEIVED',
        ...head,
        identity: `${IG}|OPTIN_RECEIVED|${digestOf(optin)}||1000`,
        raw: optin,
      },
      {
        kind: 'MESSAGE_EDITED',
        ...head,
        identity: `${IG}|MESSAGE_EDITED|m||1000`,
        mid: 'm',
        text: null,
        numEdit: 2,
      },
      {
        kind: 'UNKNOWN',
        ...head,
        identity: `${IG}|UNKNOWN|message_edit:${digestOf({ ...base, message_edit: { mid: 'm.new', num_edit: 0 } })}||1000`,
        field: 'message_edit',
        raw: { ...base, message_edit: { mid: 'm.new', num_edit: 0 } },
      },
      {
        kind: 'REFERRAL_RECEIVED',
        ...head,
        identity: `${IG}|REFERRAL_RECEIVED|||1000`,
        ref: null,
        source: 'ADS',
        type: 'OPEN_THREAD',
        adId: '6000000000001',
        adTitle: null,
        photoUrl: null,
        videoUrl: null,
        postId: null,
      },
    ]);
  });

  it('never throws and always returns JSON, whatever any value of a real body is replaced by', () => {
    const odd: unknown[] = [null, 0, -1, '', '0', 'x', true, [], {}, [null], { id: {} }];
    /** Every copy of `value` with one node (at any depth) replaced by `replacement`. */
    const variants = (value: unknown, replacement: unknown): unknown[] => {
      if (value === null || typeof value !== 'object') return [];
      const entries = Object.entries(value);
      return entries.flatMap(([key, inner]) => {
        const rebuild = (v: unknown) =>
          Array.isArray(value)
            ? value.map((x, i) => (String(i) === key ? v : x))
            : { ...value, [key]: v };
        return [rebuild(replacement), ...variants(inner, replacement).map(rebuild)];
      });
    };
    let bodies = 0;
    for (const name of Object.keys(EXPECTED)) {
      for (const replacement of odd) {
        for (const body of variants(fixture(name), replacement)) {
          bodies++;
          const events = normalise(body);
          // Only an empty list (`entry: []`, `messaging: []`) may give nothing.
          if (!Array.isArray(replacement) || replacement.length > 0) {
            expect(events.length).toBeGreaterThan(0);
          }
          expect(JSON.parse(JSON.stringify(events))).toEqual(events);
          for (const event of events) {
            expect(typeof event.igId).toBe('string');
            expect(Number.isFinite(event.occurredAt)).toBe(true);
          }
        }
      }
    }
    expect(bodies).toBeGreaterThan(2000);
  });
});

describe('normalise: one attachment alone, as an object', () => {
  it('reads `attachments: {…}` as a list of one', () => {
    const [event] = normalise({
      object: 'instagram',
      entry: [
        {
          id: '17841400000000001',
          time: 1_764_000_000_000,
          messaging: [
            {
              sender: { id: '5614879045272581' },
              recipient: { id: '17841400000000001' },
              timestamp: 1_764_000_000_000,
              message: {
                mid: 'mid.single',
                attachments: { type: 'image', payload: { url: 'https://cdn/one.jpg' } },
              },
            },
          ],
        },
      ],
    });
    expect((event as { message?: Message }).message?.attachments).toEqual([
      attachment('IMAGE', 'https://cdn/one.jpg', { type: 'image' }),
    ]);
  });
});
