import type { GraphMessage } from '../instagram/graph.ts';
import { upgradeAttachment } from './attachments.ts';
import type { InboxEventData } from './events.ts';
import { fromGraph } from './from-graph.ts';
import { fromWebhook, type WebhookMessage } from './from-webhook.ts';
import type { Message } from './message.ts';

/**
 * Data stored by igql before it had its own `Message` model, or before a field was added to it,
 * read as it would be built now. Delete once no deployment can still hold such data (see each
 * function).
 */

/** An attachment as normalise read it before the Message model: its type, url and payload. */
interface OldWebhookAttachment {
  readonly type: string;
  readonly url: string | null;
  readonly payload?: unknown;
}

/**
 * The `message` of a message event stored before: the webhook's message as normalise read it
 * (reconciliation wrote the same shape), with what is now on the event itself.
 */
type OldEventMessage = Omit<WebhookMessage, 'attachments'> & {
  readonly attachments: readonly OldWebhookAttachment[];
  readonly quickReplyPayload: string | null;
  readonly referral: unknown;
  readonly isSelf: boolean;
};

/**
 * An event as any igql version stored or published it. The Redis event log keeps each account's
 * newest events without expiry and another instance may still run the old version, so events
 * read from Redis (the log, the bus) go through this: message events stored before carry the
 * old message shape or attachments without the fields added since, every other kind is
 * unchanged.
 */
export function upgradeEvent(event: InboxEventData): InboxEventData {
  if (event.kind !== 'MESSAGE_RECEIVED' && event.kind !== 'MESSAGE_SENT') return event;
  const stored = event.message as Message | OldEventMessage;
  if ('createdTime' in stored) {
    const message = upgradeModel(stored);
    return message === stored ? event : { ...event, message };
  }
  const envelope = {
    igId: event.igId,
    igsid: event.igsid,
    sent: event.kind === 'MESSAGE_SENT',
    at: event.occurredAt,
  };
  return {
    ...event,
    message: fromWebhook({ ...stored, attachments: stored.attachments.map(asReceived) }, envelope),
    quickReplyPayload: stored.quickReplyPayload,
    referral: stored.referral,
    isSelf: stored.isSelf,
  };
}

/**
 * A sent message stored with an idempotency key (`SendOutcome.message`, kept 24 hours): before,
 * a Graph message igql wrote itself from the send, which reads as it did then.
 */
export function upgradeMessage(stored: Message | GraphMessage): Message {
  return 'mid' in stored ? upgradeModel(stored) : fromGraph(stored);
}

/** A Message whose attachments may lack the fields added since (`type`, `mediaId`, …). */
function upgradeModel(stored: Message): Message {
  if (stored.attachments.every((a) => Object.hasOwn(a, 'raw'))) return stored;
  return { ...stored, attachments: stored.attachments.map(upgradeAttachment) };
}

/** An old attachment back in the shape Instagram sent it, for `webhookAttachment`. */
function asReceived(old: OldWebhookAttachment): unknown {
  const payload = typeof old.payload === 'object' && old.payload !== null ? old.payload : {};
  const url = old.url === null ? {} : { url: old.url };
  // like_heart came without payload (courier): none is made up for it.
  const merged = { ...url, ...payload };
  return Object.keys(merged).length === 0
    ? { type: old.type }
    : { type: old.type, payload: merged };
}
