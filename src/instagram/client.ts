import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { fromResponse, InstagramError } from './errors.ts';

export interface GraphRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path after the version: `me/conversations`, `<id>`, `<ig_id>/messages`. */
  readonly path: string;
  /** The metrics label, a path template: `/me/conversations`, `/{id}`, `/{id}/messages`. */
  readonly endpoint: string;
  /** The account's Instagram token: sent as a Bearer header, never in the URL. */
  readonly token: string;
  /** The account the call is for: Instagram throttles per account, and so does igql. */
  readonly igId: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  /** A Conversations API read: paced to Instagram's per-account limit. */
  readonly conversations?: boolean;
}

export interface InstagramClientOptions {
  /** Graph API base without version (read at every call: the sandbox sets it at start). */
  readonly graphUrl: () => string;
  /** Default `v25.0`. */
  readonly apiVersion: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Time-out of one call. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Retries of a read after a transient failure or time-out. Default 2. Writes are never retried. */
  readonly readRetries?: number;
  /** Base of the jittered exponential backoff between read retries. Default 100 ms. */
  readonly retryBaseMs?: number;
  /**
   * Conversations API reads per second per account that igql allows itself, queueing briefly
   * beyond (Instagram allows 2, RL). 0 lifts it (the sandbox with its limits off). Default 2.
   */
  readonly conversationsPerSecond?: number;
  /**
   * Shared pacing of Conversations API reads, for several instances (a Redis limiter): resolves
   * 0 once the call may go, or the wait when it would be too long. Default: paced in this
   * process at `conversationsPerSecond`.
   */
  readonly pacer?: (igId: string) => Promise<number>;
  /** Sockets kept open per origin. Default 32. */
  readonly connections?: number;
  readonly now?: () => number;
}

/** Added to every pacing wait: Instagram counts a call when it arrives, not when it leaves. */
const PACING_MARGIN_MS = 100;

const tooManyReads = (waitMs: number) =>
  new InstagramError({
    kind: 'rate_limited',
    message: 'Too many conversation reads for this account',
    retryAfterMs: waitMs,
  });

/** Usage Instagram reported for an account (`X-Business-Use-Case-Usage`), in percent. */
export interface AccountUsage {
  readonly callCount: number;
  readonly totalTime: number;
  readonly totalCputime: number;
  readonly regainAccessMs: number;
}

/**
 * The graph.instagram.com client: one keep-alive pool, a time-out on every call, the error
 * envelope mapped to `InstagramError` in one place, jittered retries for reads only, and
 * per-account throttling that stops calling an account Instagram throttled until it may
 * call again. Every call is counted in `instagram_upstream_requests_total`.
 */
export class InstagramClient {
  readonly #options: InstagramClientOptions;
  readonly #agent: Agent;
  readonly #blockedUntil = new Map<string, number>();
  readonly #usage = new Map<string, AccountUsage>();
  readonly #conversationCalls = new Map<string, number[]>();
  readonly #now: () => number;

  constructor(options: InstagramClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#agent = new Agent({
      connections: options.connections ?? 32,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs ?? 10_000,
      bodyTimeout: options.timeoutMs ?? 10_000,
    });
  }

  /** The last usage Instagram reported for the account, if any. */
  usage(igId: string): AccountUsage | undefined {
    return this.#usage.get(igId);
  }

  /** Calls the Graph API; resolves with the parsed JSON or rejects with an `InstagramError`. */
  async call<T>(req: GraphRequest): Promise<T> {
    const retries = req.method === 'GET' ? (this.#options.readRetries ?? 2) : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(req);
      } catch (error) {
        const retryable =
          error instanceof InstagramError &&
          (error.kind === 'transient' || error.kind === 'timeout');
        if (!retryable || attempt >= retries) throw error;
        const base = this.#options.retryBaseMs ?? 100;
        await sleep(Math.random() * base * 2 ** attempt);
      }
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /**
   * Waits until the account may make another Conversations API call (a sliding second), at
   * most 2 s; past that the caller gets RATE_LIMITED rather than a long wait.
   */
  async #pace(igId: string): Promise<void> {
    const limit = this.#options.conversationsPerSecond ?? 2;
    if (limit <= 0) return;
    if (this.#options.pacer) {
      const waitMs = await this.#options.pacer(igId);
      if (waitMs > 0) throw tooManyReads(waitMs);
      return;
    }
    for (;;) {
      const now = this.#now();
      const calls = (this.#conversationCalls.get(igId) ?? []).filter((t) => t > now - 1000);
      this.#conversationCalls.set(igId, calls);
      if (calls.length < limit) {
        calls.push(now);
        return;
      }
      // Instagram counts a call when it arrives, a little after we send it: keep a margin.
      const waitMs = (calls[calls.length - limit] ?? now) + 1000 + PACING_MARGIN_MS - now;
      if (waitMs > 2000) throw tooManyReads(waitMs);
      await sleep(waitMs);
    }
  }

  async #once<T>(req: GraphRequest): Promise<T> {
    if (req.conversations) await this.#pace(req.igId);
    const blocked = (this.#blockedUntil.get(req.igId) ?? 0) - this.#now();
    if (blocked > 0) {
      throw new InstagramError({
        kind: 'rate_limited',
        message: 'Instagram throttled this account; igql waits before calling it again',
        retryAfterMs: blocked,
      });
    }
    const url = new URL(`${this.#options.graphUrl()}/${this.#options.apiVersion}/${req.path}`);
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    let status: number;
    let text: string;
    let usageHeader: string | undefined;
    try {
      const res = await request(url, {
        method: req.method,
        dispatcher: this.#agent,
        headers: {
          authorization: `Bearer ${req.token}`,
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      const header = res.headers['x-business-use-case-usage'];
      usageHeader = Array.isArray(header) ? header[0] : header;
      text = await res.body.text();
    } catch (cause) {
      const timedOut =
        cause instanceof Error && (cause.name === 'TimeoutError' || /timeout/i.test(cause.message));
      const error = new InstagramError({
        kind: timedOut ? 'timeout' : 'transient',
        message: timedOut
          ? `Instagram did not answer within ${timeoutMs} ms`
          : 'Instagram could not be reached',
        cause,
      });
      this.#count(req, error.outcome);
      throw error;
    }
    const regainMs = this.#readUsage(req.igId, usageHeader);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300 && body !== undefined) {
      this.#count(req, 'ok');
      return body as T;
    }
    const error = fromResponse(status, body, regainMs > 0 ? regainMs : undefined);
    this.#count(req, error.outcome);
    if (error.kind === 'rate_limited') {
      this.#blockedUntil.set(req.igId, this.#now() + (error.retryAfterMs ?? 1000));
    }
    this.#options.logger.warn(
      { endpoint: req.endpoint, igId: req.igId, code: error.code, subcode: error.subcode, status },
      `instagram: ${error.message}`,
    );
    throw error;
  }

  #count(req: GraphRequest, outcome: string): void {
    this.#options.metrics.upstreamRequests.inc({
      method: req.method,
      endpoint: req.endpoint,
      outcome,
    });
  }

  /** Reads `X-Business-Use-Case-Usage`; returns the wait it announces, in ms (0 = none). */
  #readUsage(igId: string, header: string | undefined): number {
    if (!header) return 0;
    try {
      const parsed = JSON.parse(header) as Record<string, Record<string, number>[]>;
      const entry = (parsed[igId] ?? Object.values(parsed)[0])?.[0];
      if (!entry) return 0;
      // Meta gives the time to regain access in minutes.
      const regainAccessMs = (entry.estimated_time_to_regain_access ?? 0) * 60_000;
      this.#usage.set(igId, {
        callCount: entry.call_count ?? 0,
        totalTime: entry.total_time ?? 0,
        totalCputime: entry.total_cputime ?? 0,
        regainAccessMs,
      });
      return regainAccessMs;
    } catch {
      return 0;
    }
  }
}
