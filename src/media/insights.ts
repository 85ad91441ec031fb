/**
 * Which insights Instagram serves (Meta's Instagram Media Insights and User Insights references,
 * 2026; `impressions`, `plays` and `video_views` are gone): checked before any call, so that a
 * metric a media or period does not support is refused with igql's words.
 */

/** Lifetime metrics per media product type (an ad counts as a feed post). */
export const MEDIA_METRICS = {
  FEED: [
    'comments',
    'follows',
    'likes',
    'profile_activity',
    'profile_visits',
    'reach',
    'saved',
    'shares',
    'total_interactions',
    'views',
  ],
  REELS: [
    'comments',
    'ig_reels_avg_watch_time',
    'ig_reels_video_view_total_time',
    'likes',
    'reach',
    'saved',
    'shares',
    'total_interactions',
    'views',
  ],
  STORY: [
    'follows',
    'navigation',
    'profile_activity',
    'profile_visits',
    'reach',
    'replies',
    'shares',
    'total_interactions',
    'views',
  ],
} as const;

export type MediaMetric = (typeof MEDIA_METRICS)[keyof typeof MEDIA_METRICS][number];

/** Account metrics read as totals (`metric_type=total_value`, `period=day`). */
export const ACCOUNT_TOTAL_METRICS = [
  'accounts_engaged',
  'comments',
  'follows_and_unfollows',
  'likes',
  'profile_links_taps',
  'reach',
  'replies',
  'saves',
  'shares',
  'total_interactions',
  'views',
] as const;

/** Account metrics read day by day (no `metric_type`). */
export const ACCOUNT_SERIES_METRICS = ['follower_count'] as const;

export type AccountMetric =
  | (typeof ACCOUNT_TOTAL_METRICS)[number]
  | (typeof ACCOUNT_SERIES_METRICS)[number];

/** `since` and `until` may lie at most 30 days apart. */
export const MAX_INSIGHTS_RANGE_MS = 30 * 24 * 3_600_000;
