import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';

/**
 * Opaque relay ids. Every id carries what igql needs to reach the object upstream without a
 * lookup: the account (IG_ID) always, and for a message also the other participant, so that a
 * reaction needs no upstream read.
 */
export const globalId = {
  account: (igId: string) => encodeGlobalID('Account', igId),
  conversation: (igId: string, conversationId: string) =>
    encodeGlobalID('Conversation', `${igId}:${conversationId}`),
  participant: (igId: string, igsid: string) => encodeGlobalID('Participant', `${igId}:${igsid}`),
  message: (igId: string, igsid: string, mid: string) =>
    encodeGlobalID('Message', `${igId}:${igsid}:${mid}`),
  media: (igId: string, mediaId: string) => encodeGlobalID('Media', `${igId}:${mediaId}`),
  comment: (igId: string, commentId: string) => encodeGlobalID('Comment', `${igId}:${commentId}`),
};

export interface DecodedId {
  readonly typename: string;
  /** The IG_ID of the account the object belongs to. */
  readonly igId: string;
  /** The rest: conversation id, IGSID, or `IGSID:mid`; empty for an account. */
  readonly rest: string;
}

/** Decodes any igql id; undefined for anything that is not one. */
export function decodeId(id: string): DecodedId | undefined {
  try {
    const { typename, id: inner } = decodeGlobalID(id);
    if (!/^[A-Za-z]+$/.test(typename) || inner === '') return undefined;
    const colon = inner.indexOf(':');
    if (typename === 'Account')
      return /^\d+$/.test(inner) ? { typename, igId: inner, rest: '' } : undefined;
    if (colon <= 0) return undefined;
    return { typename, igId: inner.slice(0, colon), rest: inner.slice(colon + 1) };
  } catch {
    return undefined;
  }
}

/** The rest of a Message id: the conversation's other participant and the mid. */
export function decodeMessageRest(rest: string): { igsid: string; mid: string } {
  const colon = rest.indexOf(':');
  return colon === -1
    ? { igsid: rest, mid: '' }
    : { igsid: rest.slice(0, colon), mid: rest.slice(colon + 1) };
}
