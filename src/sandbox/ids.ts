import { randomBytes, randomInt } from 'node:crypto';

/** Digits from a CSPRNG: ids are opaque and never sequential, as Instagram's are. */
export const digits = (n: number): string =>
  Array.from({ length: n }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(0, 10))).join('');

const b64 = (text: string) => Buffer.from(text).toString('base64').replace(/=+$/, '');

/** An IG professional account id (`<IG_ID>`, the `entry.id` of webhooks): 17841… */
export const newIgId = (): string => `17841${digits(12)}`;
/** An app-scoped user id (`id` of `/me`). */
export const newAppScopedId = (): string => digits(16);
/** An Instagram-scoped user id (IGSID), as a business sees a customer. */
export const newIgsid = (): string => digits(16);
/** A media (post, reel) or comment id: 17–18 digits. */
export const newMediaId = (): string => `18${digits(15)}`;
export const newCommentId = (): string => `17${digits(15)}`;
export const newAttachmentId = (): string => digits(16);
/** Real mids are base64-like strings beginning `aWdfZAG1faXRlbTox…` and ending `…ZDZD`. */
export const newMid = (igId: string): string =>
  `aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOj${b64(`${igId}:${digits(38)}:${digits(38)}`)}ZDZD`;
/** Conversation ids as Instagram prints them: base64 of a thread key, `aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6…`. */
export const newConversationId = (igId: string): string =>
  `aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6${b64(`${igId}:${digits(39)}`)}`;
/** Access tokens of Instagram Login start with `IG`; opaque otherwise. */
export const newAccessToken = (): string =>
  `IGAA${Buffer.from(digits(24) + digits(24))
    .toString('base64url')
    .slice(0, 60)}`;
/** 23 characters starting with `A`, as `A7OjVVCXwSdfpIERKqntSKo`. */
export const newFbtraceId = (): string => `A${randomBytes(17).toString('base64url').slice(0, 22)}`;
