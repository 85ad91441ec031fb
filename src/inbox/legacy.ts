import type { GraphMessage } from '../instagram/graph.ts';
import type { InboxEventData } from './events.ts';
import { fromGraph } from './from-graph.ts';
import { fromWebhook, type WebhookMessage } from './from-webhook.ts';
import type { Message } from './message.ts';

/**
 * Data stored by igql before it had its own `Message` model, read as it would be built now.
 * Delete once no deployment can still hold such data (see each function).
 */

/**
 * The `message` of a message event stored before: the webhook's message as normalise read it
 * (reconciliation wrote the same shape), with what is now on the event itself.
 */
type OldEventMessage = WebhookMessage & {
  readonly quickReplyPayload: string | null;
  readonly referral: unknown;
  readonly isSelf: boolean;
};

/**
 * An event as any igql version stored or published it. The Redis event log keeps each account's
 * newest events without expiry and another instance may still run the old version, so events
 * read from Redis (the log, the bus) go through this: message events stored before carry the
 * old message shape, every other kind is unchanged.
 */
export function upgradeEvent(event: InboxEventData): InboxEventData {
  if (event.kind !== 'MESSAGE_RECEIVED' && event.kind !== 'MESSAGE_SENT') return event;
  const stored = event.message as Message | OldEventMessage;
  if ('createdTime' in stored) return event;
  const envelope = {
    igId: event.igId,
    igsid: event.igsid,
    sent: event.kind === 'MESSAGE_SENT',
    at: event.occurredAt,
  };
  return {
    ...event,
    message: fromWebhook(stored, envelope),
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
  return 'mid' in stored ? stored : fromGraph(stored);
}
