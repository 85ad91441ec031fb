import type { Attachment } from './attachments.ts';

/**
 * igql's own message: plain JSON-serialisable data, the same whichever source it was built from
 * (a Graph read: `fromGraph`; a webhook: `fromWebhook`; a send: `fromSend`). The schema resolves
 * GraphQL `Message` from it; the event log and idempotency records store it.
 */
export interface Message {
  /** Instagram's message id. */
  readonly mid: string;
  /**
   * When it was sent, in ms since the epoch: whole seconds from Graph (`created_time`), to the
   * millisecond from webhooks (`timestamp`) and sends (igql's clock). 0 when the source gave none.
   */
  readonly createdTime: number;
  /**
   * False past the 20 newest messages of a conversation: Graph then gives only the id and time,
   * and every other field is empty (CONV).
   */
  readonly detailAvailable: boolean;
  /** Who sent it; null without detail. */
  readonly from: Participant | null;
  /** Who it was sent to; empty without detail. */
  readonly to: readonly Participant[];
  /** Null for a message without text (Graph gives `""`) or without detail. */
  readonly text: string | null;
  /** Media, shares and stories, in the source's order. */
  readonly attachments: readonly Attachment[];
  /** One per person and reaction (only Graph reads list them; webhooks send reaction events). */
  readonly reactions: readonly Reaction[];
  /** The mid of the message this one replies to (a reply to a story is a STORY_REPLY attachment). */
  readonly replyTo: string | null;
  /** Instagram could not render it through the API. */
  readonly isUnsupported: boolean;
}

/** Someone a message is from or to: a customer's IGSID, or the account's IG_ID. */
export interface Participant {
  readonly igsid: string;
  /** Null where the source does not name it (webhooks, sends): it can be read on demand. */
  readonly username: string | null;
}

/** A reaction someone put on a message. */
export interface Reaction {
  /** As Instagram names it: `love`, `like`, …, or the emoji itself. */
  readonly reaction: string;
  /** The emoji shown (`emojiOf`); absent in data stored before it was added. */
  readonly emoji?: string | null;
  readonly by: Participant;
}

/**
 * The emoji of Messenger's reaction names. Instagram's webhooks report `love` with `❤`
 * (Postman) and `like` with `👍` (real capture webhook-message-reactions-like-real.json); the
 * other names are Messenger's (UNCONFIRMED for Instagram).
 */
const REACTION_EMOJI: Readonly<Record<string, string>> = {
  love: '❤',
  like: '👍',
  dislike: '👎',
  smile: '😆',
  wow: '😮',
  sad: '😢',
  angry: '😡',
};

/**
 * The emoji a reaction shows: the emoji of a known name, the reaction itself when it is no
 * name (MSG: "a valid UTF-8 representation of an emoji"), else null (an unknown name such as
 * `other`).
 */
export function emojiOf(reaction: string): string | null {
  if (Object.hasOwn(REACTION_EMOJI, reaction)) return REACTION_EMOJI[reaction] ?? null;
  return /^[a-z_]+$/.test(reaction) ? null : reaction;
}

/** A message of which only the id and time are known: Graph's answer past the 20 newest. */
export const withoutDetail = (mid: string, createdTime: number): Message => ({
  mid,
  createdTime,
  detailAvailable: false,
  from: null,
  to: [],
  text: null,
  attachments: [],
  reactions: [],
  replyTo: null,
  isUnsupported: false,
});

/** A participant by id, its username when known. */
export const participant = (igsid: string, username: string | null = null): Participant => ({
  igsid,
  username,
});
