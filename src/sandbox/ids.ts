import { createHmac, randomBytes, randomInt } from 'node:crypto';

/** Where ids take their randomness from. */
export interface RandomSource {
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  bytes(n: number): Buffer;
}

/** The default: a CSPRNG, so ids made at run time never repeat those of an earlier run. */
export const cryptoRandom: RandomSource = { int: randomInt, bytes: randomBytes };

/**
 * A deterministic source: HMAC-SHA256 of `key` over a counter, block after block. The same key
 * gives the same ids, which is what makes the sandbox's demo data stable across restarts.
 */
export function seededRandom(key: Uint8Array | string): RandomSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  const bytes = (n: number): Buffer => {
    while (pool.length < n) {
      const block = createHmac('sha256', key).update(`block ${counter++}`).digest();
      pool = Buffer.concat([pool, block]);
    }
    const out = Buffer.from(pool.subarray(0, n));
    pool = pool.subarray(n);
    return out;
  };
  return {
    bytes,
    int(min, max) {
      // Rejection sampling over 32 bits: no modulo bias.
      const range = max - min;
      const limit = 2 ** 32 - (2 ** 32 % range);
      for (;;) {
        const value = bytes(4).readUInt32BE(0);
        if (value < limit) return min + (value % range);
      }
    },
  };
}

let random = cryptoRandom;

/**
 * Runs `fn` (synchronous) with every id below drawn from `source`, then goes back to the
 * CSPRNG. The sandbox seeds its demo data this way.
 */
export function withRandom<T>(source: RandomSource, fn: () => T): T {
  const previous = random;
  random = source;
  try {
    return fn();
  } finally {
    random = previous;
  }
}

/** Random digits: ids are opaque and never sequential, as Instagram's are. */
export const digits = (n: number): string =>
  Array.from({ length: n }, (_, i) => (i === 0 ? random.int(1, 10) : random.int(0, 10))).join('');

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
/**
 * Conversation ids as graph.facebook.com prints them to a Page token (Facebook Login): base64 of
 * `<IG_ID>:<thread key>`, the key 39 digits from `34028236684171030` (ids quoted by public
 * projects calling `/<PAGE_ID>/conversations?platform=instagram`). The simulator's Instagram
 * Login ids (`newConversationId`) share the prefix and draw the key at random: kept as they were,
 * so that the demo's ids stay (a real Instagram Login capture is shorter: `aWdfZAG06` and the
 * key alone).
 */
export const newFacebookConversationId = (igId: string): string =>
  `aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6${b64(`${igId}:34028236684171030${digits(22)}`)}`;
/** A Facebook Page id: 15 digits, as `101234567890123`. */
export const newPageId = (): string => `10${digits(13)}`;
/** Facebook user and Page access tokens start with `EAA`; opaque otherwise. */
export const newFacebookAccessToken = (): string =>
  `EAA${Buffer.from(digits(24) + digits(24) + digits(24))
    .toString('base64url')
    .slice(0, 90)}`;
/** Access tokens of Instagram Login start with `IG`; opaque otherwise. */
export const newAccessToken = (): string =>
  `IGAA${Buffer.from(digits(24) + digits(24))
    .toString('base64url')
    .slice(0, 60)}`;
/** The `signature` of a lookaside CDN URL. */
export const newCdnSignature = (): string => random.bytes(48).toString('base64url');
/** 23 characters starting with `A`, as `A7OjVVCXwSdfpIERKqntSKo`. */
export const newFbtraceId = (): string => `A${random.bytes(17).toString('base64url').slice(0, 22)}`;
