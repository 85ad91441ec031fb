import { type Attachment, attachment, webhookAttachment } from './attachments.ts';
import { type Message, participant } from './message.ts';

/**
 * A webhook's `message` as `webhooks/normalise.ts` reads it from the body (instagram-api.md §4):
 * typed, Meta's attachment types kept.
 */
export interface WebhookMessage {
  readonly mid: string;
  readonly text: string | null;
  /** `attachments`, each exactly as received (typed by `webhookAttachment`). */
  readonly attachments: readonly unknown[];
  readonly replyTo: WebhookReplyTo | null;
  /** `is_unsupported: true`. */
  readonly isUnsupported: boolean;
}

/** `reply_to`: a message (`mid`) or a story (`story{url,id}`). */
export type WebhookReplyTo =
  | { readonly mid: string }
  | { readonly story: { readonly id: string | null; readonly url: string | null } };

/** Where a webhook message goes, read from its envelope. */
export interface WebhookEnvelope {
  /** The account (IG_ID). */
  readonly igId: string;
  /** The customer (IGSID); null when the body names none. */
  readonly igsid: string | null;
  /** An echo (`is_echo`): the account sent it. */
  readonly sent: boolean;
  /** The item's `timestamp`, in ms. */
  readonly at: number;
}

/** A message as a webhook gives it: detailed, to the millisecond, without usernames. */
export function fromWebhook(item: WebhookMessage, envelope: WebhookEnvelope): Message {
  const account = participant(envelope.igId);
  const customer = envelope.igsid === null ? null : participant(envelope.igsid);
  const received = item.attachments.map(webhookAttachment);
  // From 2025-11-03 to 2026-04-27 Instagram sent each post share twice, as the legacy `share`
  // and as `ig_post` with the same content (webhooks/new, instagram-api.md §10): the legacy copy
  // is left out where both came.
  const twice = received.some((a) => a.type === 'ig_post');
  const attachments: Attachment[] = twice ? received.filter((a) => a.type !== 'share') : received;
  const replyTo = item.replyTo;
  if (replyTo && 'story' in replyTo) {
    attachments.push(attachment('STORY_REPLY', replyTo.story.url, { storyId: replyTo.story.id }));
  }
  const to = envelope.sent ? customer : account;
  return {
    mid: item.mid,
    createdTime: envelope.at,
    detailAvailable: true,
    from: envelope.sent ? account : customer,
    to: to ? [to] : [],
    text: item.text ? item.text : null,
    attachments,
    reactions: [],
    replyTo: replyTo && 'mid' in replyTo ? replyTo.mid : null,
    // restfb's capture marks an unsupported message only by its attachment type.
    isUnsupported: item.isUnsupported || received.some((a) => a.kind === 'UNSUPPORTED'),
  };
}
