import type { InboxEventData } from './events.ts';

/**
 * A referral: how a customer reached the account, through an ad (Click to Instagram Direct) or an
 * ig.me link. The same shape arrives as the `messaging_referral` item's `referral` (an existing
 * thread) and as a first message's `message.referral` (WHX, instagram-api.md §4):
 * `{ref, ad_id, source: "ADS", type: "OPEN_THREAD", ads_context_data: {ad_title, photo_url,
 * video_url, post_id?}}`; an ig.me link has only `ref`, `source` and `type`.
 */
export interface Referral {
  readonly ref: string | null;
  /** `ADS`, `IGME`, … as Instagram names it. */
  readonly source: string | null;
  /** `OPEN_THREAD`, … */
  readonly type: string | null;
  readonly adId: string | null;
  readonly adTitle: string | null;
  readonly photoUrl: string | null;
  readonly videoUrl: string | null;
  /** The ad's Instagram post, when Instagram names it (`post_id` is not always sent). */
  readonly postId: string | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** An id: a non-empty string, or a number (odd payloads) as its decimal string. */
const id = (value: unknown): string | null => {
  if (typeof value === 'string') return value === '' ? null : value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
};

/** A referral from its webhook object; null when it is no object. */
export function referralOf(raw: unknown): Referral | null {
  if (!isObject(raw)) return null;
  const ads = isObject(raw.ads_context_data) ? raw.ads_context_data : {};
  return {
    ref: text(raw.ref),
    source: text(raw.source),
    type: text(raw.type),
    adId: id(raw.ad_id),
    adTitle: text(ads.ad_title),
    photoUrl: text(ads.photo_url),
    videoUrl: text(ads.video_url),
    postId: id(ads.post_id),
  };
}

/** The referral an event brings, if any: a first message's, or a `messaging_referral`. */
export function referralOfEvent(event: InboxEventData): Referral | null {
  if (event.kind === 'MESSAGE_RECEIVED') return referralOf(event.referral);
  if (event.kind !== 'REFERRAL_RECEIVED') return null;
  // Events stored before the ad fields existed lack them: null.
  return {
    ref: event.ref,
    source: event.source,
    type: event.type,
    adId: event.adId,
    adTitle: event.adTitle ?? null,
    photoUrl: event.photoUrl ?? null,
    videoUrl: event.videoUrl ?? null,
    postId: event.postId ?? null,
  };
}
