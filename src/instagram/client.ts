import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { fromResponse, InstagramError, isErrorEnvelope, tokenRefusalReason } from './errors.ts';
import { admit, MemoryRateLimiter, type RateLimiter } from './rate-limit.ts';

/** One call to Instagram. */
export interface GraphRequest {
  /** No default. */
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path after the version (or the host): `me/conversations`, `<id>`, `<ig_id>/messages`. */
  readonly path: string;
  /** The metrics label, a path template: `/me/conversations`, `/{id}`, `/oauth/access_token`. */
  readonly endpoint: string;
  /**
   * `graph` (graph.instagram.com), `token` (the code-exchange host) or `facebook`
   * (graph.facebook.com: accounts of Facebook Login for Business, and its OAuth). Default `graph`.
   */
  readonly host?: 'graph' | 'token' | 'facebook';
  /** Whether the path follows the API version; the token endpoints have none. Default true. */
  readonly versioned?: boolean;
  /** An Instagram token, sent as a Bearer header, never in the URL. Default: none. */
  readonly token?: string;
  /**
   * The account whose token the call carries (in `token` or `credentials`): Instagram throttles
   * per account and so does igql, and a refusal of that token (190) is reported through
   * `onTokenRejected`. Default: none, for calls made before an account exists (the OAuth
   * exchanges, the login's `/me`): neither throttled per account nor reported.
   */
  readonly igId?: string;
  /** Query parameters; undefined ones are left out. Default: none. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  /**
   * Secrets Instagram takes only in the query string (the long-lived exchange, the refresh),
   * appended after `query`. The client never logs a URL, and keeps no network error's cause for
   * such a call (it could quote the URL). Default: none.
   */
  readonly credentials?: Readonly<Record<string, string>>;
  /** A JSON body. Default: none. */
  readonly body?: unknown;
  /** An `application/x-www-form-urlencoded` body (the code exchange). Default: none. */
  readonly form?: Readonly<Record<string, string>>;
  /**
   * A `multipart/form-data` body (the attachment upload of a file: a JSON `message` field and
   * the bytes in `filedata`). Default: none.
   */
  readonly multipart?: Multipart;
  /** A Conversations API read: paced to Instagram's per-account limit. Default false. */
  readonly conversations?: boolean;
  /**
   * Retry after a transient failure or a time-out. Default: true for a GET, false otherwise (a
   * send that timed out may have gone out). The token endpoints say false: each call issues a
   * token, and a code works once.
   */
  readonly retry?: boolean;
}

/** A multipart body: text fields, then files, each under its part name. */
export interface Multipart {
  readonly fields: Readonly<Record<string, string>>;
  readonly files: Readonly<
    Record<string, { readonly name: string; readonly type: string; readonly bytes: Uint8Array }>
  >;
}

/**
 * Encodes `multipart/form-data` (RFC 7578) itself: undici's FormData takes only its own File
 * class, and Yoga's and Node's are others. Names are quoted with `"` and line breaks escaped.
 */
export function encodeMultipart(parts: Multipart): { contentType: string; body: Buffer } {
  const boundary = `----igql${randomBytes(12).toString('hex')}`;
  const quote = (value: string) => value.replace(/[\r\n"]/g, (c) => encodeURIComponent(c));
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(parts.fields)) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`,
      ),
    );
  }
  for (const [name, file] of Object.entries(parts.files)) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"; filename="${quote(file.name)}"\r\nContent-Type: ${file.type || 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.from(file.bytes),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

export interface InstagramClientOptions {
  /** Graph API base without version, read at every call (a test server may bind after). */
  readonly graphUrl: () => string;
  /** Code-exchange host, read at every call. Default `https://api.instagram.com`. */
  readonly tokenUrl?: () => string;
  /** graph.facebook.com's base without version, read at every call. Default `https://graph.facebook.com`. */
  readonly facebookGraphUrl?: () => string;
  /**
   * The Facebook app secret (`FACEBOOK_APP_SECRET`): every call to graph.facebook.com that carries
   * a token then carries `appsecret_proof`, the hex HMAC-SHA256 of the token keyed by it. Meta's
   * "Securing Graph API Requests" recommends it for every call from a server, and an app with
   * "Require App Secret" on refuses calls without it. graph.instagram.com documents no such
   * parameter, so Instagram Login's calls never carry it. Default: none (no proof sent).
   */
  readonly facebookAppSecret?: string;
  /**
   * The Graph API version, such as `v27.0` (`INSTAGRAM_API_VERSION`). No default.
   *
   * What igql relies on, by version (instagram-api.md §8, §10), so that moving the default is a
   * checked step:
   * - v25.0 (2026-02-18): every IG-Login sample; the Send API, Conversations API, webhooks and
   *   OAuth shapes igql reads.
   * - v26.0 (2026-07-29): nothing igql uses changed in the notes found.
   * - v27.0 (2026-11-04, Meta's blog "Introducing Graph API v27.0"), the default since issue 15:
   *   new apps may no longer use multi-ID requests (`?ids=`), field aliases, method override or
   *   batch requests, on every version. igql uses none of them (nested field expansion instead,
   *   instagram-api.md §7, §9).
   * - Dated changes follow the day, not the version (every version): images by `attachment_id`
   *   (2026-03-13), several images per message out of beta (2026-05-06), `ig_post` replacing
   *   `share` in webhooks (2026-04-27), `reply_to` beside `message` for Instagram Login
   *   (2026-09-21), email and phone-number quick replies disabled (2026-10-05).
   * - `GET /<IG_ID>/conversations` answers without `platform=instagram` (a real capture, no
   *   version named); igql still sends it, which every version accepts.
   * - A version no longer usable is served as the next oldest usable one (Meta's versioning
   *   page), so a stale setting degrades rather than fails.
   */
  readonly apiVersion: string;
  /** Counts every call in `instagram_upstream_requests_total`. No default. */
  readonly metrics: Metrics;
  /** Logs failed calls by endpoint and igId; never a URL, a token or a secret. */
  readonly logger: Logger;
  /**
   * The deadline of one call, everything included: the pacing wait, every attempt and the
   * backoff between them (`INSTAGRAM_TIMEOUT_MS`). A read that hangs fails with kind `timeout`
   * once it passes, without another attempt. Default 10 000 ms.
   */
  readonly timeoutMs?: number;
  /**
   * Retries of a read after a transient failure, within the call's deadline. Default 2. Writes
   * are never retried, nor a call that timed out (its deadline has passed).
   */
  readonly readRetries?: number;
  /** Base of the jittered exponential backoff between read retries. Default 100 ms. */
  readonly retryBaseMs?: number;
  /**
   * The per-account limiter Conversations API reads are paced through (bucket
   * `conversationReads`), the deployment's shared one (Redis across instances). Default: a
   * `MemoryRateLimiter` of this client.
   */
  readonly limiter?: RateLimiter;
  /**
   * Pace Conversations API reads to Instagram's 2 a second per account: a read whose slot is
   * at most 2 s away (`MAX_PACING_WAIT_MS`) takes it and waits; one further away is refused at
   * once with `rate_limited` and the wait (nothing queues longer). False lifts it (the sandbox
   * with its limits off, load tests). Default true.
   */
  readonly paceReads?: boolean;
  /**
   * Called when Instagram refuses the token of a call made for an account (`igId`) with 190
   * (`kind: 'token'`), before the call rejects: the app marks the account REAUTH_REQUIRED and
   * tells its subscribers. `reason` is igql's words for the refusal (`tokenRefusalReason`),
   * never Instagram's text. A failure here is logged, never thrown. Default: nothing.
   */
  readonly onTokenRejected?: (igId: string, reason: string) => void | Promise<void>;
  /** Sockets kept open per origin. Default 32. */
  readonly connections?: number;
  /** The clock of per-account throttling. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * How long a Conversations API read may wait for its account's slot: a slot further away is
 * refused at once (`rate_limited`, with the wait), so no read is ever queued longer.
 */
export const MAX_PACING_WAIT_MS = 2000;

/** Usage Instagram reported for an account (`X-Business-Use-Case-Usage`), in percent. */
export interface AccountUsage {
  readonly callCount: number;
  readonly totalTime: number;
  readonly totalCputime: number;
  readonly regainAccessMs: number;
}

/**
 * Every call igql makes to Instagram (Graph reads and sends, the OAuth exchanges, the token
 * refresh): one keep-alive pool, one deadline for every call (retries included), answers mapped
 * to `InstagramError` in one place (a 2xx carrying Graph's error envelope is that error),
 * jittered retries for reads only, Conversations API reads paced per account (never queued
 * past 2 s), per-account throttling that stops calling an account Instagram throttled until it may call
 * again, and one report of a refused token. Every call is counted in
 * `instagram_upstream_requests_total`.
 */
export class InstagramClient {
  readonly #options: InstagramClientOptions;
  readonly #agent: Agent;
  readonly #limiter: RateLimiter;
  readonly #blockedUntil = new Map<string, number>();
  readonly #usage = new Map<string, AccountUsage>();
  readonly #now: () => number;

  constructor(options: InstagramClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#limiter = options.limiter ?? new MemoryRateLimiter();
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

  /**
   * Calls Instagram; resolves with the parsed JSON or rejects with an `InstagramError`, within
   * `timeoutMs` in all (kind `timeout` when it passes).
   */
  async call<T>(req: GraphRequest): Promise<T> {
    const retries = (req.retry ?? req.method === 'GET') ? (this.#options.readRetries ?? 2) : 0;
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    const deadline = { signal: AbortSignal.timeout(timeoutMs), at: performance.now() + timeoutMs };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(req, deadline);
      } catch (error) {
        const retryable = error instanceof InstagramError && error.kind === 'transient';
        if (!retryable || attempt >= retries) throw error;
        const base = this.#options.retryBaseMs ?? 100;
        const backoffMs = Math.random() * base * 2 ** attempt;
        // A retry that could not start before the deadline is not made.
        if (performance.now() + backoffMs >= deadline.at) throw error;
        await sleep(backoffMs);
      }
    }
  }

  /**
   * Reports an account's token as refused, through `onTokenRejected`: what every call does when
   * Instagram answers 190, for a caller that knows without asking (a token past its expiry).
   */
  async reportTokenRejected(igId: string, reason: string): Promise<void> {
    try {
      await this.#options.onTokenRejected?.(igId, reason);
    } catch (err) {
      this.#options.logger.warn({ err, igId }, 'marking a refused token failed');
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #once<T>(req: GraphRequest, deadline: { signal: AbortSignal; at: number }): Promise<T> {
    const { igId } = req;
    if (igId !== undefined && req.conversations && (this.#options.paceReads ?? true)) {
      // Never a slot the deadline would not let the call use.
      const maxWaitMs = Math.min(MAX_PACING_WAIT_MS, Math.max(0, deadline.at - performance.now()));
      const waitMs = await admit(this.#limiter, igId, 'conversationReads', maxWaitMs);
      if (waitMs > 0) {
        throw new InstagramError({
          kind: 'rate_limited',
          message: 'Too many conversation reads for this account',
          retryAfterMs: waitMs,
        });
      }
    }
    const blocked = igId === undefined ? 0 : (this.#blockedUntil.get(igId) ?? 0) - this.#now();
    if (blocked > 0) {
      throw new InstagramError({
        kind: 'rate_limited',
        message: 'Instagram throttled this account; igql waits before calling it again',
        retryAfterMs: blocked,
      });
    }
    const host =
      req.host === 'token'
        ? (this.#options.tokenUrl?.() ?? 'https://api.instagram.com')
        : req.host === 'facebook'
          ? (this.#options.facebookGraphUrl?.() ?? 'https://graph.facebook.com')
          : this.#options.graphUrl();
    const version = (req.versioned ?? true) ? `/${this.#options.apiVersion}` : '';
    const url = new URL(`${host}${version}/${req.path}`);
    for (const [name, value] of Object.entries({ ...req.query, ...req.credentials })) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const proof = this.#appSecretProof(req);
    if (proof !== undefined) url.searchParams.set('appsecret_proof', proof);
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    const headers: Record<string, string> = {};
    if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
    let body: string | Buffer | undefined;
    if (req.multipart !== undefined) {
      const encoded = encodeMultipart(req.multipart);
      headers['content-type'] = encoded.contentType;
      body = encoded.body;
    } else if (req.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    } else if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    let status: number;
    let text: string;
    let usageHeader: string | undefined;
    try {
      const res = await request(url, {
        method: req.method,
        dispatcher: this.#agent,
        headers,
        body,
        signal: deadline.signal,
      });
      status = res.statusCode;
      const header = res.headers['x-business-use-case-usage'];
      usageHeader = Array.isArray(header) ? header[0] : header;
      text = await res.body.text();
    } catch (cause) {
      const timedOut =
        deadline.signal.aborted ||
        (cause instanceof Error &&
          (cause.name === 'TimeoutError' || /timeout/i.test(cause.message)));
      const error = new InstagramError({
        kind: timedOut ? 'timeout' : 'transient',
        message: timedOut
          ? `Instagram did not answer within ${timeoutMs} ms`
          : 'Instagram could not be reached',
        cause: req.credentials || proof !== undefined ? undefined : cause,
      });
      this.#count(req, error.outcome);
      throw error;
    }
    const regainMs = igId === undefined ? 0 : this.#readUsage(igId, usageHeader);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    // Decided by the body, not the status: a 2xx carrying Graph's error envelope is that error.
    if (status >= 200 && status < 300 && parsed !== undefined && !isErrorEnvelope(parsed)) {
      this.#count(req, 'ok');
      return parsed as T;
    }
    const error = fromResponse(status, parsed, regainMs > 0 ? regainMs : undefined);
    this.#count(req, error.outcome);
    if (igId !== undefined && error.kind === 'rate_limited') {
      this.#blockedUntil.set(igId, this.#now() + (error.retryAfterMs ?? 1000));
    }
    // Instagram's own message stays in the log (redacted there); clients never see it.
    this.#options.logger.warn(
      {
        endpoint: req.endpoint,
        igId,
        code: error.code,
        subcode: error.subcode,
        traceId: error.traceId,
        status,
      },
      `instagram: ${error.message}`,
    );
    if (igId !== undefined && error.kind === 'token') {
      await this.reportTokenRejected(igId, tokenRefusalReason(error));
    }
    throw error;
  }

  /** `appsecret_proof` for a call to graph.facebook.com with a token, when the secret is set. */
  #appSecretProof(req: GraphRequest): string | undefined {
    const secret = this.#options.facebookAppSecret;
    if (req.host !== 'facebook' || req.token === undefined || !secret) return undefined;
    return createHmac('sha256', secret).update(req.token).digest('hex');
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
