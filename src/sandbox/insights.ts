import { errors, GraphError } from './errors.ts';
import type { SimAccount, SimMedia, Store } from './store.ts';
import { DAY } from './store.ts';

/**
 * Media and account insights (Meta's Instagram Media Insights and Instagram User Insights
 * references, 2026: `impressions`, `plays`, `video_views`, `clips_replays_count` and
 * `ig_reels_aggregated_all_plays_count` are gone). Values are derived from the simulated media,
 * so that they are stable. Which metric each product type supports is the reference's table as
 * far as found; the rest is UNCONFIRMED and strict.
 */

type Json = Record<string, unknown>;

/** Metrics per media product type (carousel items have none). */
export const MEDIA_METRICS: Readonly<Record<'FEED' | 'REELS' | 'STORY', readonly string[]>> = {
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
};

/** Account metrics read as `metric_type=total_value` with `period=day`. */
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
/** Account metrics read as a time series (`period=day`, no `metric_type`). */
export const ACCOUNT_SERIES_METRICS = ['follower_count', 'reach'] as const;
/** `since` and `until` may lie at most 30 days apart (User Insights reference). */
export const MAX_INSIGHTS_RANGE_S = 30 * 24 * 3600;

/** `GET /<MEDIA_ID>/insights?metric=…` */
export function mediaInsights(store: Store, media: SimMedia, query: URLSearchParams): Json {
  const metrics = metricList(query);
  if (media.parentId !== undefined) {
    // "Insights data is not available for any media within an album."
    throw errors.invalidParameter('Insights are not available for media within an album');
  }
  // LIVE media never come here: routeMedia refuses their insights.
  const type = (media.mediaProductType === 'AD' ? 'FEED' : media.mediaProductType) as
    | 'FEED'
    | 'REELS'
    | 'STORY';
  const supported = MEDIA_METRICS[type];
  const refused = metrics.filter((m) => !supported.includes(m));
  if (refused.length > 0) {
    // Real wording: "(#100) The Media Insights API does not support the impressions, replies
    // metric for this media product type." (reported for v20.0).
    throw errors.invalidParameter(
      `The Media Insights API does not support the ${refused.join(', ')} metric for this media product type.`,
    );
  }
  const values = mediaValues(store, media);
  if (type === 'STORY' && (values.reach ?? 0) < 5) {
    throw new GraphError({
      status: 400,
      code: 10,
      message: '(#10) Not enough viewers for the media to show insights.',
    });
  }
  return {
    data: metrics.map((name) => ({
      name,
      period: 'lifetime',
      values: [{ value: values[name] ?? 0 }],
      title: name,
      id: `${media.id}/insights/${name}/lifetime`,
    })),
  };
}

function mediaValues(store: Store, media: SimMedia): Record<string, number> {
  const comments = [...store.comments.values()].filter((c) => c.mediaId === media.id).length;
  const likes = media.likeCount;
  const saved = Math.floor(likes / 10);
  const shares = Math.floor(likes / 20);
  return {
    likes,
    comments,
    saved,
    shares,
    reach: likes * 7 + comments,
    views: likes * 9 + comments,
    total_interactions: likes + comments + saved + shares,
  };
}

/**
 * `GET /<IG_ID>/insights?metric=…&period=day[&metric_type=total_value][&since&until]`: the
 * account's totals (sums over its media) or its follower count, day by day.
 */
export function accountInsights(
  store: Store,
  account: SimAccount,
  query: URLSearchParams,
  now: number,
): Json {
  const metrics = metricList(query);
  const period = query.get('period');
  if (period !== 'day') {
    // UNCONFIRMED: other periods (week, days_28, lifetime) served by some metrics; strict.
    throw errors.invalidParameter('period must be one of the following values: day');
  }
  const total = query.get('metric_type') === 'total_value';
  const allowed: readonly string[] = total ? ACCOUNT_TOTAL_METRICS : ACCOUNT_SERIES_METRICS;
  for (const metric of metrics) {
    if (!allowed.includes(metric)) {
      throw errors.invalidParameter(
        total
          ? `The following metrics (${metric}) should be specified without the metric_type=total_value parameter.`
          : `The following metrics (${metric}) should be specified with parameter metric_type=total_value`,
      );
    }
  }
  const until = seconds(query.get('until')) ?? Math.floor(now / 1000);
  const since = seconds(query.get('since')) ?? until - DAY / 1000;
  if (since >= until || until - since > MAX_INSIGHTS_RANGE_S) {
    throw errors.invalidParameter(
      'There cannot be more than 30 days (2592000 s) between since and until',
    );
  }
  const media = [...store.media.values()].filter((m) => m.accountIgId === account.igId);
  const sum = (name: string) => media.reduce((n, m) => n + (mediaValues(store, m)[name] ?? 0), 0);
  return {
    data: metrics.map((name) => {
      const head = { name, period: 'day', title: name };
      const id = `${account.igId}/insights/${name}/day`;
      if (total) return { ...head, total_value: { value: sum(name) }, id };
      const days = Math.ceil((until - since) / (DAY / 1000));
      return {
        ...head,
        values: Array.from({ length: days }, (_, i) => ({
          value: name === 'follower_count' ? account.followersCount : sum(name),
          end_time: new Date((since + (i + 1) * (DAY / 1000)) * 1000)
            .toISOString()
            .replace(/\.\d{3}Z$/, '+0000'),
        })),
        id,
      };
    }),
  };
}

function metricList(query: URLSearchParams): string[] {
  const raw = query.get('metric');
  if (!raw) throw errors.invalidParameter('The parameter metric is required');
  return raw.split(',').map((m) => m.trim());
}

function seconds(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}
