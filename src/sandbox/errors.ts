import { newFbtraceId } from './ids.ts';

/**
 * A Graph API error, rendered as Meta's envelope:
 * `{"error":{"message","type","code","error_subcode"?,"fbtrace_id"}}` (instagram-api.md §6).
 * HTTP statuses follow the decisions of instagram-api.md §9: 400 for validation, permission
 * and rate limits, 403 outside the messaging window, 500 for codes 1 and 2. The client must
 * decide by code and subcode, never by status.
 */
export class GraphError extends Error {
  readonly status: number;
  readonly code: number;
  readonly subcode: number | undefined;
  readonly type: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(options: {
    status: number;
    message: string;
    code: number;
    subcode?: number;
    type?: string;
    headers?: Record<string, string>;
    extra?: Record<string, unknown>;
  }) {
    super(options.message);
    this.status = options.status;
    this.code = options.code;
    this.subcode = options.subcode;
    this.type = options.type ?? 'IGApiException';
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }

  toJSON(): { error: Record<string, unknown> } {
    return {
      error: {
        message: this.message,
        type: this.type,
        code: this.code,
        ...(this.subcode === undefined ? {} : { error_subcode: this.subcode }),
        ...this.extra,
        fbtrace_id: newFbtraceId(),
      },
    };
  }
}

const oauth = (message: string, subcode?: number) =>
  new GraphError({ status: 400, message, code: 190, subcode, type: 'OAuthException' });

/** Token errors: code 190, type OAuthException (instagram-api.md §5). */
export const tokenErrors = {
  // UNCONFIRMED: Graph answers a request without any token with this same parse error on
  // graph.instagram.com per the issue tracker; we use it for missing and malformed alike.
  malformed: () => oauth('Invalid OAuth access token - Cannot parse access token'),
  expired: (expiredAt: number, now: number) =>
    oauth(
      `Error validating access token: Session has expired on ${fbDate(expiredAt)}. The current time is ${fbDate(now)}.`,
      463,
    ),
  invalidated: () =>
    oauth(
      'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
      460,
    ),
};

const invalid = (message: string, subcode?: number) =>
  new GraphError({ status: 400, message, code: 100, subcode });

export const errors = {
  unknownPath: (path: string) =>
    new GraphError({ status: 400, message: `Unknown path components: ${path}`, code: 2500 }),
  unsupportedGet: (id: string) =>
    invalid(
      `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      33,
    ),
  unsupportedPost: (id: string) =>
    invalid(
      `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      33,
    ),
  invalidParameter: (message: string) => invalid(`(#100) ${message}`),
  nonexistingField: (field: string, nodeType: string) =>
    invalid(`(#100) Tried accessing nonexisting field (${field}) on node type (${nodeType})`),
  noMatchingUser: () => invalid('No matching Instagram user', 2534014),
  invalidMessageData: (detail?: string) =>
    invalid(detail ? `Invalid message data: ${detail}` : 'Invalid message data', 2534015),
  invalidComment: () => invalid('The comment is invalid for a private reply', 2534025),
  failedFetch: () => invalid('Failed to fetch the file from the url', 2018008),
  // UNCONFIRMED wording; the code and subcode are Meta's "attachment too large" (§6).
  attachmentTooLarge: () => invalid('The attachment is too large', 2018109),
  outsideWindow: () =>
    new GraphError({
      status: 403,
      message: 'This message is sent outside of allowed window.',
      code: 10,
      subcode: 2534022,
    }),
  // UNCONFIRMED wording for a second private reply; the code follows instagram-api.md §9.
  privateReplyAlreadySent: () =>
    new GraphError({
      status: 400,
      message: '(#10) This comment has already been replied to privately.',
      code: 10,
    }),
  userUnavailable: () =>
    new GraphError({
      status: 400,
      message: "This person isn't available right now.",
      code: 551,
      subcode: 1545041,
    }),
  permission: (permission: string) =>
    new GraphError({
      status: 400,
      message: `(#200) Requires ${permission} permission to manage the object`,
      code: 200,
    }),
  messageTooOld: () =>
    new GraphError({
      status: 400,
      message: 'This Message has been deleted by the user or the business.',
      code: 9000001,
      type: 'OAuthException',
    }),
  reduceData: () =>
    new GraphError({
      status: 500,
      message: "Please reduce the amount of data you're asking for, then retry your request",
      code: 1,
      subcode: 99,
      type: 'OAuthException',
    }),
  transient: () =>
    new GraphError({
      status: 500,
      message: 'An unexpected error has occurred. Please retry your request later.',
      code: 2,
      type: 'OAuthException',
      extra: { is_transient: true },
    }),
  /**
   * graph.facebook.com's answer to a messaging call on an IG_ID (`POST /<IG_ID>/messages`,
   * `GET /<IG_ID>/conversations`, …) with a Page token: those are the Page's. The text is Graph's
   * as quoted by public projects that hit it; the type and status are UNCONFIRMED.
   */
  noCapability: () =>
    new GraphError({
      status: 400,
      message: '(#3) Application does not have the capability to make this API call.',
      code: 3,
      type: 'OAuthException',
    }),
  /** Meta's answer to an `appsecret_proof` that is not the token's HMAC under the app secret. */
  invalidAppSecretProof: () =>
    new GraphError({
      status: 400,
      message: 'Invalid appsecret_proof provided in the API argument',
      code: 100,
      type: 'GraphMethodException',
    }),
  userConsentRequired: () =>
    new GraphError({
      status: 400,
      message: 'User consent is required to access user profile.',
      code: 230,
    }),
};

/**
 * An error as graph.facebook.com gives it to a Page token (Messenger Platform): typed
 * `OAuthException` rather than graph.instagram.com's `IGApiException`, and outside the messaging
 * window as the Messenger Platform's 10/2018278 (MEC) rather than 10/2534022. UNCONFIRMED for
 * Instagram threads on a Page; igql reads both (src/instagram/errors.ts).
 */
export function onFacebookHost(error: GraphError): GraphError {
  const outsideWindow = error.code === 10 && error.subcode === 2534022;
  if (error.type !== 'IGApiException' && !outsideWindow) return error;
  return new GraphError({
    status: error.status,
    code: error.code,
    type: 'OAuthException',
    headers: { ...error.headers },
    extra: { ...error.extra },
    ...(outsideWindow
      ? {
          subcode: 2018278,
          message:
            '(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview',
        }
      : {
          message: error.message,
          ...(error.subcode === undefined ? {} : { subcode: error.subcode }),
        }),
  });
}

/** Meta's dates in token errors: `Tuesday, 24-Nov-26 10:00:00 PST`. Rendered in UTC here. */
function fbDate(ms: number): string {
  const d = new Date(ms);
  const day = d.toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
  const two = (n: number) => String(n).padStart(2, '0');
  const month = d.toLocaleDateString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${day}, ${two(d.getUTCDate())}-${month}-${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`;
}
