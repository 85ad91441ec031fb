import { GraphError } from './errors.ts';

/** Instagram's documented per-account limits (instagram-api.md §6, RL). */
export interface RateLimits {
  /**
   * Send API: text, links, reactions, stickers, and every other send (images, files, templates,
   * sender actions, uploads, routing calls). Default 100 per second.
   */
  readonly send: number;
  /**
   * Text, links, reactions and stickers of an account of Facebook Login (Messenger Platform rate
   * limiting, "Messenger API for Instagram"). Default 300 per second. Its other sends count in
   * `send`, and its other limits are those below, as for Instagram Login.
   */
  readonly sendFacebook: number;
  /** Send API: audio and video. Default 10 per second. */
  readonly sendMedia: number;
  /** Conversations API reads. Default 2 per second. */
  readonly conversations: number;
  /** Private replies to comments on posts and reels. Default 750 per hour. */
  readonly privateReplies: number;
}

export type Bucket = keyof RateLimits;

export const DOCUMENTED_LIMITS: RateLimits = {
  send: 100,
  sendFacebook: 300,
  sendMedia: 10,
  conversations: 2,
  privateReplies: 750,
};

const WINDOW_MS: Readonly<Record<Bucket, number>> = {
  send: 1000,
  sendFacebook: 1000,
  sendMedia: 1000,
  conversations: 1000,
  privateReplies: 3_600_000,
};

/** Sliding-window counters per account and bucket, answered with Meta's codes and usage header. */
export class RateLimiter {
  limits: RateLimits | undefined;
  readonly #calls = new Map<string, number[]>();
  readonly #now: () => number;

  constructor(limits: RateLimits | undefined, now: () => number) {
    this.limits = limits;
    this.#now = now;
  }

  /** Counts a call; throws Meta's rate-limit error when the account is over its limit. */
  take(igId: string, bucket: Bucket): void {
    if (!this.limits) return;
    const now = this.#now();
    const calls = this.#window(igId, bucket, now);
    const limit = this.limits[bucket];
    if (calls.length >= limit) {
      const waitMs = (calls[0] ?? now) + WINDOW_MS[bucket] - now;
      throw this.#error(igId, bucket, waitMs);
    }
    calls.push(now);
  }

  /** `X-Business-Use-Case-Usage` for the account: percentages of the fullest bucket. */
  usageHeader(igId: string, regainMs = 0): string {
    const now = this.#now();
    let percent = 0;
    if (this.limits) {
      for (const bucket of Object.keys(WINDOW_MS) as Bucket[]) {
        const used = this.#window(igId, bucket, now).length / this.limits[bucket];
        percent = Math.max(percent, Math.min(100, Math.round(used * 100)));
      }
    }
    return JSON.stringify({
      [igId]: [
        {
          type: 'instagram',
          call_count: percent,
          total_cputime: Math.min(percent, 1),
          total_time: Math.min(percent, 1),
          // Minutes, as Meta reports it; 0 when access returns within the minute.
          estimated_time_to_regain_access: Math.floor(regainMs / 60_000),
        },
      ],
    });
  }

  reset(): void {
    this.#calls.clear();
  }

  #window(igId: string, bucket: Bucket, now: number): number[] {
    const key = `${igId}:${bucket}`;
    const calls = (this.#calls.get(key) ?? []).filter((t) => t > now - WINDOW_MS[bucket]);
    this.#calls.set(key, calls);
    return calls;
  }

  #error(igId: string, bucket: Bucket, waitMs: number): GraphError {
    const headers = { 'X-Business-Use-Case-Usage': this.usageHeader(igId, waitMs) };
    if (bucket === 'conversations') {
      return new GraphError({
        status: 400,
        code: 80002,
        message:
          'There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
        headers,
      });
    }
    return new GraphError({
      status: 400,
      code: 613,
      subcode: 2534040,
      message: 'Calls to this api have exceeded the rate limit.',
      headers,
    });
  }
}
