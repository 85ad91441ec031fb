import { idOf, isObject, stringOf } from '../instagram/payload.ts';
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

/** A referral from its webhook object; null when it is no object. */
export function referralOf(raw: unknown): Referral | null {
  if (!isObject(raw)) return null;
  const ads = isObject(raw.ads_context_data) ? raw.ads_context_data : {};
  return {
    ref: stringOf(raw.ref),
    source: stringOf(raw.source),
    type: stringOf(raw.type),
    adId: idOf(raw.ad_id),
    adTitle: stringOf(ads.ad_title),
    photoUrl: stringOf(ads.photo_url),
    videoUrl: stringOf(ads.video_url),
    postId: idOf(ads.post_id),
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
