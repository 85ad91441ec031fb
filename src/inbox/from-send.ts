import type { SendBody } from '../instagram/send-api.ts';
import { attachment, kindOfType } from './attachments.ts';
import { type Message, participant } from './message.ts';

/** Instagram's answer to a send, with who sent it and when. */
export interface SendAnswer {
  /** The IG_ID of the account that sent. */
  readonly igId: string;
  /** Instagram's `recipient_id`, else the IGSID sent to; null when neither is known. */
  readonly recipientId: string | null;
  /** Instagram's `message_id`; null when it gave none (sender actions). */
  readonly messageId: string | null;
  /** When igql sent it, in ms since the epoch. */
  readonly at: number;
}

/**
 * The message a send made, from the Send API body and Instagram's answer, without reading it
 * back; null when Instagram gave no `message_id`. What the body does not say (a sent URL's
 * preview, MIME type or name, a shared post's link) stays null.
 */
export function fromSend(body: SendBody, answer: SendAnswer): Message | null {
  if (!answer.messageId) return null;
  const message = body.message ?? {};
  const sent = [
    ...(message.attachments ?? []),
    ...(message.attachment ? [message.attachment] : []),
  ];
  return {
    mid: answer.messageId,
    createdTime: answer.at,
    detailAvailable: true,
    from: participant(answer.igId),
    to: answer.recipientId ? [participant(answer.recipientId)] : [],
    // A button template's text is in its payload.
    text: message.text ?? message.attachment?.payload?.text ?? null,
    // Templates are the message's body, not shown as its attachments (kindOfType: null); a
    // shared post's id is its media id.
    attachments: sent.flatMap((a) => {
      const kind = kindOfType(a.type);
      const more = { type: a.type, mediaId: a.payload?.id ?? null };
      return kind ? [attachment(kind, a.payload?.url ?? null, more)] : [];
    }),
    reactions: [],
    replyTo: null,
    isUnsupported: false,
  };
}
