import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * True when `header` (`X-Hub-Signature-256: sha256=<hex>`) is the HMAC-SHA256 of the exact raw
 * body bytes under `appSecret` (instagram-api.md §4). Verify the bytes as received, before any
 * parsing: Meta signs its own serialisation (`\/` and `\uXXXX` escapes). Compared in constant
 * time; a missing or malformed header, or an empty secret, is false.
 */
export function verifySignature(
  raw: Buffer,
  header: string | undefined,
  appSecret: string,
): boolean {
  const hex = header === undefined ? undefined : SIGNATURE.exec(header.trim())?.[1];
  if (hex === undefined || appSecret === '') return false;
  const expected = createHmac('sha256', appSecret).update(raw).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The subscription handshake (`GET <callback>?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`):
 * the `hub.challenge` to answer with (as `text/plain`, status 200) when the mode is `subscribe`
 * and the token matches `verifyToken` (compared in constant time), else `undefined` (answer
 * 403). An empty `verifyToken` never matches.
 */
export function verifyChallenge(query: URLSearchParams, verifyToken: string): string | undefined {
  const challenge = query.get('hub.challenge');
  const token = query.get('hub.verify_token');
  if (query.get('hub.mode') !== 'subscribe' || challenge === null || challenge === '') return;
  if (token === null || verifyToken === '') return;
  // Digests have equal lengths, so the comparison reveals nothing, not even the length.
  return timingSafeEqual(sha256(token), sha256(verifyToken)) ? challenge : undefined;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
