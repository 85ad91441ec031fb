import { formatGraphTime, type GraphAttachment, type GraphMessage } from '../instagram/graph.ts';
import type { AttachmentBody, SendBody } from './wire.ts';

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
 * The sent message as Instagram will list it, made from the body and Instagram's answer without
 * reading it back: a Graph message igql wrote itself. Null when Instagram gave no `message_id`.
 */
export function sentMessage(body: SendBody, answer: SendAnswer): GraphMessage | null {
  if (!answer.messageId) return null;
  const message = body.message ?? {};
  // A button template's text is in its payload.
  const text = message.text ?? message.attachment?.payload?.text;
  const attachments = [
    ...(message.attachments ?? []),
    ...(message.attachment ? [message.attachment] : []),
  ];
  return {
    id: answer.messageId,
    created_time: formatGraphTime(answer.at),
    from: { id: answer.igId },
    to: { data: answer.recipientId ? [{ id: answer.recipientId }] : [] },
    ...(text ? { message: text } : {}),
    attachments: { data: attachments.flatMap(asGraphAttachment) },
    ...(attachments.some((a) => a.type === 'MEDIA_SHARE') ? { shares: { data: [{}] } } : {}),
  };
}

function asGraphAttachment(a: AttachmentBody): GraphAttachment[] {
  const url = a.payload?.url;
  switch (a.type) {
    case 'image':
      return url ? [{ image_data: { url, preview_url: url } }] : [];
    case 'video':
      return url ? [{ video_data: { url } }] : [];
    case 'audio':
      return [{ mime_type: 'audio/mpeg', ...(url ? { file_url: url } : {}) }];
    case 'file':
      return [{ mime_type: 'application/pdf', ...(url ? { file_url: url } : {}) }];
    case 'like_heart':
      return [{ mime_type: 'image/png' }];
    default:
      return [];
  }
}
