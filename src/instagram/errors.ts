/**
 * What can go wrong calling graph.instagram.com, decided by Graph `code` and `error_subcode`
 * (never by HTTP status, which varies: instagram-api.md §6). The one place the envelope is read.
 */
export type InstagramErrorKind =
  /** 190: the token is expired, revoked or unreadable; the account must log in again. */
  | 'token'
  /** 10 (other than the window), 200–299: a permission is missing. */
  | 'permission'
  /** 4, 17, 32, 613, 80002: throttled; `retryAfterMs` says when to try again. */
  | 'rate_limited'
  /** 100/33, 2500 on a node: the object does not exist or is not this account's. */
  | 'not_found'
  /** 100 and other invalid-request answers. */
  | 'invalid_parameter'
  /** 9000001: a message past the 20 most recent (reads as deleted). */
  | 'message_too_old'
  /** 1 "Please reduce the amount of data": split the page and retry. */
  | 'reduce_data'
  /** 10/2534022, 10/2018278: outside the messaging window. */
  | 'outside_window'
  /** 551, 10/2018108, 100/2534014: the recipient cannot receive messages from the account. */
  | 'recipient_unavailable'
  /** 230: the user never wrote to the account; their profile cannot be read. */
  | 'consent_required'
  /**
   * 100/2534037 (real capture error-not-thread-owner-2534037-real.json), 2018300: another app
   * owns the thread (conversation routing, instagram-api.md §11).
   */
  | 'not_thread_owner'
  /** 2, 1 (other), HTTP 5xx without an envelope, network errors: worth retrying a read. */
  | 'transient'
  /** The call timed out: the outcome is unknown (a send may or may not have gone out). */
  | 'timeout';

/**
 * What support needs to find a failed call in Meta's logs, given to clients in place of
 * Instagram's own message (`extensions.upstream`).
 */
export interface UpstreamReference {
  /** The Graph error code. */
  readonly code: number | null;
  /** The Graph `error_subcode`. */
  readonly subcode: number | null;
  /** Meta's `fbtrace_id`. */
  readonly traceId: string | null;
}

/**
 * A failed call. `message` is Instagram's own text (or igql's, for network failures): for logs
 * only, since it may quote a token or a secret; clients get igql's words and `reference`.
 */
export class InstagramError extends Error {
  override readonly name = 'InstagramError';
  readonly kind: InstagramErrorKind;
  /** The Graph error code, or undefined for network errors and time-outs. */
  readonly code: number | undefined;
  readonly subcode: number | undefined;
  readonly status: number | undefined;
  /** For `rate_limited`: how long to wait. */
  readonly retryAfterMs: number | undefined;
  /** Meta's `fbtrace_id`, when the answer had one. */
  readonly traceId: string | undefined;

  constructor(options: {
    kind: InstagramErrorKind;
    message: string;
    code?: number | undefined;
    subcode?: number | undefined;
    status?: number | undefined;
    retryAfterMs?: number | undefined;
    traceId?: string | undefined;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.kind = options.kind;
    this.code = options.code;
    this.subcode = options.subcode;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.traceId = options.traceId;
  }

  /** The Graph code, subcode and trace id, or undefined for a failure Instagram never answered. */
  get reference(): UpstreamReference | undefined {
    if (this.code === undefined && this.traceId === undefined) return undefined;
    return {
      code: this.code ?? null,
      subcode: this.subcode ?? null,
      traceId: this.traceId ?? null,
    };
  }

  /** The metrics outcome label: the Graph code, or the kind for errors without one. */
  get outcome(): string {
    return this.code === undefined ? this.kind : String(this.code);
  }
}

const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80002]);
const OUTSIDE_WINDOW = new Set([2534022, 2018278]);

/** Classifies a Graph error envelope `{ error: { code, error_subcode, message } }`. */
export function classify(
  code: number,
  subcode: number | undefined,
  message: string,
): InstagramErrorKind {
  if (code === 190) return 'token';
  if (RATE_LIMIT_CODES.has(code)) return 'rate_limited';
  if (code === 9000001) return 'message_too_old';
  if (code === 1 && (subcode === 99 || /reduce the amount of data/i.test(message)))
    return 'reduce_data';
  if (code === 1 || code === 2) return 'transient';
  if (code === 10 && subcode !== undefined && OUTSIDE_WINDOW.has(subcode)) return 'outside_window';
  if (
    code === 551 ||
    (code === 10 && subcode === 2018108) ||
    (code === 100 && subcode === 2534014)
  ) {
    return 'recipient_unavailable';
  }
  if (code === 230) return 'consent_required';
  if ((code === 100 && subcode === 2534037) || code === 2018300 || subcode === 2018300)
    return 'not_thread_owner';
  if (code === 10 || (code >= 200 && code <= 299)) return 'permission';
  if ((code === 100 && subcode === 33) || code === 2500) return 'not_found';
  return 'invalid_parameter';
}

/**
 * Reads a failed answer: Graph's envelope, or api.instagram.com's flat body; anything else is
 * transient on 5xx and 429 (and on a 2xx that is not JSON), invalid otherwise.
 */
export function fromResponse(status: number, body: unknown, retryAfterMs?: number): InstagramError {
  const flat = body as { code?: unknown; error_message?: unknown } | null | undefined;
  if (typeof flat?.error_message === 'string') {
    // The code exchange answers `{error_type, code, error_message}` rather than Graph's envelope.
    return new InstagramError({
      kind: 'invalid_parameter',
      message: flat.error_message,
      code: typeof flat.code === 'number' ? flat.code : undefined,
      status,
    });
  }
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error.code !== 'number') {
    const unreadable = status >= 500 || status === 429 || (status >= 200 && status < 300);
    return new InstagramError({
      kind: unreadable ? 'transient' : 'invalid_parameter',
      message: `Instagram answered HTTP ${status} without an error envelope`,
      status,
    });
  }
  const subcode = typeof error.error_subcode === 'number' ? error.error_subcode : undefined;
  const message = typeof error.message === 'string' ? error.message : 'Instagram error';
  const kind = classify(error.code, subcode, message);
  return new InstagramError({
    kind,
    message,
    code: error.code,
    subcode,
    status,
    retryAfterMs: kind === 'rate_limited' ? (retryAfterMs ?? 1000) : undefined,
    // Shown to clients for support: kept only when it looks like Meta's (letters, digits, - _).
    traceId:
      typeof error.fbtrace_id === 'string' && /^[\w-]{1,64}$/.test(error.fbtrace_id)
        ? error.fbtrace_id
        : undefined,
  });
}

/** Whether a parsed answer is Graph's error envelope `{"error":{…}}`, whatever its status. */
export function isErrorEnvelope(body: unknown): boolean {
  const error = (body as { error?: unknown } | null | undefined)?.error;
  return typeof error === 'object' && error !== null;
}

/** Why Instagram refused a token (190), by subcode, in igql's words (instagram-api.md §6). */
const TOKEN_REASONS: Readonly<Record<number, string>> = {
  458: 'Instagram refused the access token: the user removed the app',
  459: 'Instagram refused the access token: the user must log in to Instagram to unlock the account',
  460: 'Instagram refused the access token: the session was invalidated (a password change or a security check)',
  463: 'Instagram refused the access token: it expired',
  464: 'Instagram refused the access token: the user must confirm their account on Instagram',
  467: 'Instagram refused the access token: it is no longer valid',
  492: 'Instagram refused the access token: the user is no longer allowed to use the account',
};

/**
 * Why an account must log in again, for a person (`AccountStatusChangedEvent.reason`): igql's
 * words for the refusal's subcode, never Instagram's text (it may quote a token).
 */
export function tokenRefusalReason(error: InstagramError): string {
  return (
    (error.subcode === undefined ? undefined : TOKEN_REASONS[error.subcode]) ??
    'Instagram refused the access token'
  );
}
