import { badUserInput, fromUpstream } from '../errors.ts';
import { InstagramError } from '../instagram/errors.ts';
import type { GraphInsight, GraphMedia } from '../instagram/graph.ts';
import {
  ACCOUNT_SERIES_METRICS,
  ACCOUNT_TOTAL_METRICS,
  type AccountMetric,
  MAX_INSIGHTS_RANGE_MS,
  MEDIA_METRICS,
  type MediaMetric,
} from '../media/insights.ts';
import { Account } from './account.ts';
import { builder } from './builder.ts';
import type { Context } from './context.ts';
import { Media, type MediaShape } from './media.ts';

/**
 * Insights (instagram-api.md §13): `Media.insights(metrics:)` and `Account.insights(…)`. A metric
 * the media's product type or the period does not support is refused before any call.
 */

const upper = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((v) => [v.toUpperCase(), { value: v, description: DESCRIBE[v] }]));

const DESCRIBE: Readonly<Record<string, string>> = {
  views: 'Times it was seen (plays for videos).',
  reach: 'Unique accounts that saw it.',
  likes: 'Likes.',
  comments: 'Comments.',
  saved: 'Times it was saved.',
  saves: 'Times the account’s media were saved.',
  shares: 'Times it was shared.',
  total_interactions: 'Likes, comments, saves and shares together.',
  follows: 'Accounts that followed after seeing it.',
  profile_visits: 'Profile visits from it.',
  profile_activity: 'Actions taken on the profile after seeing it.',
  replies: 'Replies (stories: direct-message replies).',
  navigation: 'Taps forward and back, exits and swipes on a story.',
  ig_reels_avg_watch_time: 'Average watch time of a reel, in milliseconds.',
  ig_reels_video_view_total_time: 'Total watch time of a reel, in milliseconds.',
  accounts_engaged: 'Accounts that interacted with the account’s content.',
  follows_and_unfollows: 'Follows minus unfollows.',
  profile_links_taps: 'Taps on the profile’s links and buttons.',
  follower_count: 'New followers each day (a series; not for the current day).',
};

const MediaInsightMetric = builder.enumType('MediaInsightMetric', {
  description:
    'A media metric, as Instagram names it. Feed posts, reels and stories each support some (see `Media.insights`).',
  values: upper([...new Set(Object.values(MEDIA_METRICS).flat())].sort() as MediaMetric[]),
});

const AccountInsightMetric = builder.enumType('AccountInsightMetric', {
  description:
    'An account metric, as Instagram names it. `FOLLOWER_COUNT` is a series by day; the others are totals over the range (`REACH` both).',
  values: upper([...new Set([...ACCOUNT_TOTAL_METRICS, ...ACCOUNT_SERIES_METRICS])].sort()),
});

const InsightPeriod = builder.enumType('InsightPeriod', {
  description: 'How Instagram aggregates an account metric.',
  values: {
    DAY: { value: 'day', description: 'By day: the only period these metrics support now.' },
    WEEK: { value: 'week', description: 'By week: no longer supported by these metrics.' },
    DAYS_28: { value: 'days_28', description: 'By 28 days: no longer supported.' },
    LIFETIME: { value: 'lifetime', description: 'Lifetime: demographics only, not offered.' },
  } as const,
});

interface MediaInsightShape {
  readonly metric: MediaMetric;
  readonly value: number | null;
}

const MediaInsight = builder.objectRef<MediaInsightShape>('MediaInsight').implement({
  description: 'One metric of a media, over its lifetime.',
  fields: (t) => ({
    metric: t.field({
      type: MediaInsightMetric,
      description: 'Which metric.',
      resolve: (i) => i.metric,
    }),
    value: t.float({
      nullable: true,
      description:
        'Its value; null when Instagram has none (yet: data may lag 48 hours) or, for a story, too few viewers.',
      resolve: (i) => i.value,
    }),
  }),
});

interface PointShape {
  readonly value: number;
  readonly endTime: Date;
}

const InsightPoint = builder.objectRef<PointShape>('InsightPoint').implement({
  description: 'One value of a series: the period ending at `endTime`.',
  fields: (t) => ({
    value: t.float({ description: 'The value for the period.', resolve: (p) => p.value }),
    endTime: t.field({
      type: 'DateTime',
      description: 'When the period ends.',
      resolve: (p) => p.endTime,
    }),
  }),
});

interface AccountInsightShape {
  readonly metric: AccountMetric;
  readonly total: number | null;
  readonly series: readonly PointShape[];
}

const AccountInsight = builder.objectRef<AccountInsightShape>('AccountInsight').implement({
  description: 'One metric of the account over the range asked.',
  fields: (t) => ({
    metric: t.field({
      type: AccountInsightMetric,
      description: 'Which metric.',
      resolve: (i) => i.metric,
    }),
    total: t.float({
      nullable: true,
      description: 'The total over the range; null for a series (`FOLLOWER_COUNT`).',
      resolve: (i) => i.total,
    }),
    series: t.field({
      type: [InsightPoint],
      description: 'The values day by day, for a series; empty for a total.',
      resolve: (i) => [...i.series],
    }),
  }),
});

/** Too few viewers for a story (`(#10) Not enough viewers…`): no values, not an error. */
const notEnoughViewers = (error: unknown) =>
  error instanceof InstagramError && error.reference?.code === 10;

builder.objectField(Media, 'insights', (t) =>
  t.field({
    type: [MediaInsight],
    description:
      'Lifetime metrics of the media. Feed posts: COMMENTS, FOLLOWS, LIKES, PROFILE_ACTIVITY, PROFILE_VISITS, REACH, SAVED, SHARES, TOTAL_INTERACTIONS, VIEWS; reels: COMMENTS, IG_REELS_AVG_WATCH_TIME, IG_REELS_VIDEO_VIEW_TOTAL_TIME, LIKES, REACH, SAVED, SHARES, TOTAL_INTERACTIONS, VIEWS; stories (for 24 hours): FOLLOWS, NAVIGATION, PROFILE_ACTIVITY, PROFILE_VISITS, REACH, REPLIES, SHARES, TOTAL_INTERACTIONS, VIEWS. Another metric is refused (BAD_USER_INPUT) before Instagram is asked. One call per media.',
    args: {
      metrics: t.arg({
        type: [MediaInsightMetric],
        required: true,
        description: '1 to 15 metrics the media’s product type supports.',
      }),
    },
    resolve: async (m, args, ctx) => {
      const metrics = [...new Set(args.metrics)] as MediaMetric[];
      if (metrics.length === 0) throw badUserInput('Give at least one metric', 'metrics');
      const type = await productType(m, ctx);
      const supported: readonly string[] = MEDIA_METRICS[type];
      const refused = metrics.filter((metric) => !supported.includes(metric));
      if (refused.length > 0) {
        const names = refused.map((r) => r.toUpperCase()).join(', ');
        throw badUserInput(`A ${type} media has no ${names} insights`, 'metrics');
      }
      let data: readonly GraphInsight[];
      try {
        data = (await ctx.loaders.insights(m.igId, m.data.id, { metric: metrics.join(',') })).data;
      } catch (error) {
        if (notEnoughViewers(error)) data = [];
        else throw fromUpstream(error, 'Media');
      }
      return metrics.map((metric) => ({
        metric,
        value: data.find((d) => d.name === metric)?.values?.[0]?.value ?? null,
      }));
    },
  }),
);

/** The media's product type (an ad counts as a feed post), read when the page did not carry it. */
async function productType(m: MediaShape, ctx: Context): Promise<keyof typeof MEDIA_METRICS> {
  let value = m.data.media_product_type;
  if (value === undefined) {
    try {
      value = (await ctx.loaders.node<GraphMedia>(m.igId, m.data.id, 'id,media_product_type'))
        .media_product_type;
    } catch (error) {
      throw fromUpstream(error, 'Media');
    }
  }
  return value === 'REELS' || value === 'STORY' ? value : 'FEED';
}

builder.objectField(Account, 'insights', (t) =>
  t.field({
    type: [AccountInsight],
    description:
      'Account metrics between `since` and `until` (at most 30 days apart; default the last day), by day. One call. A metric or period Instagram does not support is refused (BAD_USER_INPUT) before it is asked.',
    args: {
      metrics: t.arg({ type: [AccountInsightMetric], required: true, description: 'The metrics.' }),
      period: t.arg({
        type: InsightPeriod,
        defaultValue: 'day',
        description: 'Only DAY is supported now.',
      }),
      since: t.arg({
        type: 'DateTime',
        description: 'Start of the range (default: a day before `until`).',
      }),
      until: t.arg({ type: 'DateTime', description: 'End of the range (default: now).' }),
    },
    resolve: async (a, args, ctx) => {
      const metrics = [...new Set(args.metrics)] as AccountMetric[];
      if (metrics.length === 0) throw badUserInput('Give at least one metric', 'metrics');
      if (args.period !== 'day') {
        throw badUserInput('Instagram supports these metrics by DAY only', 'period');
      }
      const until = args.until?.getTime() ?? ctx.now();
      const since = args.since?.getTime() ?? until - 24 * 3_600_000;
      if (since >= until || until - since > MAX_INSIGHTS_RANGE_MS) {
        throw badUserInput('`since` must be before `until`, at most 30 days before', 'since');
      }
      const range = {
        since: String(Math.floor(since / 1000)),
        until: String(Math.floor(until / 1000)),
      };
      // Totals and series are separate reads: Instagram refuses them mixed in one.
      const series = metrics.filter((m) => m === 'follower_count');
      const totals = metrics.filter((m) => m !== 'follower_count');
      const read = async (names: readonly string[], total: boolean) => {
        if (names.length === 0) return [];
        const query = {
          metric: names.join(','),
          period: 'day',
          ...(total ? { metric_type: 'total_value' } : {}),
          ...range,
        };
        try {
          return (await ctx.loaders.insights(a.igId, a.igId, query)).data;
        } catch (error) {
          throw fromUpstream(error, 'Account');
        }
      };
      const [totalData, seriesData] = await Promise.all([read(totals, true), read(series, false)]);
      return metrics.map((metric) => {
        const data = [...totalData, ...seriesData].find((d) => d.name === metric);
        return {
          metric,
          total: data?.total_value?.value ?? null,
          series: (data?.values ?? []).flatMap((v) =>
            v.value === undefined || v.end_time === undefined
              ? []
              : [{ value: v.value, endTime: new Date(Date.parse(v.end_time)) }],
          ),
        };
      });
    },
  }),
);
