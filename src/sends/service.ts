import { createHash } from 'node:crypto';
import type { Session } from '../auth/jwt.ts';
import type { TokenStore } from '../auth/token-store.ts';
import { upgradeMessage } from '../inbox/legacy.ts';
import type { Message } from '../inbox/message.ts';
import { conversationScopes } from '../inbox/read-cache.ts';
import { InstagramError } from '../instagram/errors.ts';
import { conversationFields } from '../instagram/fields.ts';
import { type Auth, authOf, type InstagramApi, NO_PAGE } from '../instagram/graph.ts';
import { admit, type RateLimiter, type SendLimit, sendBucketFor } from '../instagram/rate-limit.ts';
import { HUMAN_AGENT_MS, lastInbound, replyWindow } from '../instagram/window.ts';
import type { Logger } from '../logger.ts';
import { type IdempotencyStore, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency.ts';
import {
  check,
  type Invalid,
  SENDS,
  type SendMutation,
  type SendSpec,
  UPLOAD,
} from './requests.ts';

/** An expected failure of a mutation, as data (DESIGN.md: `userErrors`). */
export type UserErrorData =
  | { type: 'ValidationError'; code: 'VALIDATION'; message: string; field: readonly string[] }
  | { type: 'RateLimitedError'; code: 'RATE_LIMITED'; message: string; retryAfter: number }
  | {
      type: 'OutsideMessagingWindowError';
      code: 'OUTSIDE_MESSAGING_WINDOW';
      message: string;
      closesAt: string | null;
    }
  | { type: 'RecipientUnavailableError'; code: 'RECIPIENT_UNAVAILABLE'; message: string }
  | { type: 'ReauthRequiredError'; code: 'REAUTH_REQUIRED'; message: string }
  | { type: 'NotFoundError'; code: 'NOT_FOUND'; message: string; field: readonly string[] }
  | { type: 'IdempotencyConflictError'; code: 'IDEMPOTENCY_CONFLICT'; message: string }
  | {
      type: 'UpstreamUnavailableError';
      code: 'UPSTREAM_UNAVAILABLE';
      message: string;
      outcomeUnknown: boolean;
    }
  | {
      type: 'NotThreadOwnerError';
      code: 'NOT_THREAD_OWNER';
      message: string;
      /** The app that owns the thread, read after the refusal; null when that read failed. */
      ownerAppId: string | null;
      /** The account refused (absent from outcomes stored before it was named). */
      igId?: string;
    };

/** What a send answered: JSON, so that an idempotent retry replays it exactly. */
export interface SendOutcome {
  readonly igId: string;
  /** The other participant (for a private reply, the commenter once Instagram named them). */
  readonly igsid: string | null;
  /** The sent message, built from what was sent and the returned id (`fromSend`). */
  readonly message: Message | null;
  /** For reactions: the reacted message's mid. */
  readonly reactedMid: string | null;
  /** For sender actions: Instagram accepted it. */
  readonly ok: boolean;
  /** For an attachment upload: the reusable id Instagram answered with. */
  readonly attachmentId?: string | null;
  /** For a Graph write other than a send (`perform`): what the call answered, as JSON. */
  readonly result?: Readonly<Record<string, unknown>> | null;
  /** For a thread-control call: the app that owns the thread after it, when known. */
  readonly ownerAppId?: string | null;
  readonly userErrors: readonly UserErrorData[];
}

/** An attachment upload, as the schema asks for it: authorised, its input not yet checked. */
export interface UploadRequest {
  /** `type` (IMAGE, AUDIO, VIDEO, FILE) and exactly one of `url` and `file`. */
  readonly input: {
    readonly type: unknown;
    readonly url?: unknown;
    readonly file?: unknown;
  };
  readonly igId: string;
  readonly idempotencyKey?: string | null | undefined;
}

/** One send, as the schema asks for it: authorised, its ids decoded, its input not yet checked. */
export interface SendRequest {
  /** Which send (its spec in `SENDS`); with `input`, the idempotency fingerprint. */
  readonly mutation: SendMutation;
  /** The input for the spec, without `idempotencyKey`; the spec's schema checks it. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly igId: string;
  /** The recipient IGSID, or null for a private reply (Instagram names the commenter). */
  readonly igsid: string | null;
  readonly idempotencyKey?: string | null | undefined;
}

export interface SendServiceOptions {
  readonly api: InstagramApi;
  readonly tokens: TokenStore;
  readonly idempotency: IdempotencyStore;
  readonly limiter: RateLimiter;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * Invalidates the account's entries of the shared read cache (`ReadCache.invalidate`) that a
   * send Instagram accepted changed: a message or a reaction. Its failure is logged, never the
   * send's: the echo webhook invalidates them again, and their TTL bounds the rest.
   */
  readonly invalidate?: (igId: string, scopes: readonly string[]) => Promise<void>;
}

/**
 * Thrown by a write's `call` that found, before writing anything, that the write must not be
 * made: the payload carries `userError`, and the idempotency key stays free.
 */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly userError: UserErrorData;

  constructor(userError: UserErrorData) {
    super(userError.message);
    this.userError = userError;
  }
}

/**
 * Thrown by a write's `call` when a read it makes before writing (a check) failed: nothing was
 * written, so Instagram's error is answered as one that did not reach it (the idempotency key
 * stays free, and no answer at all is not "may or may not have been made").
 */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
  readonly error: InstagramError;

  constructor(error: InstagramError) {
    super(error.message);
    this.error = error;
  }
}

const failed = (
  igId: string,
  igsid: string | null,
  ...userErrors: UserErrorData[]
): SendOutcome => ({
  igId,
  igsid,
  message: null,
  reactedMid: null,
  ok: false,
  userErrors,
});

/** The outcome of input refused before any call: a ValidationError for each problem. */
export const validationErrors = (igId: string, invalid: readonly Invalid[]): SendOutcome =>
  failed(
    igId,
    null,
    ...invalid.map((i): UserErrorData => ({ type: 'ValidationError', code: 'VALIDATION', ...i })),
  );

export const notFound = (igId: string, field: string, what: string): SendOutcome =>
  failed(igId, null, {
    type: 'NotFoundError',
    code: 'NOT_FOUND',
    message: `${what} not found`,
    field: ['input', field],
  });

/**
 * Sends through the Send API by the request's spec: validation, idempotency, the per-account
 * rate limit, the body, the call, and the mapping of Instagram's answer to a payload.
 * Authorisation happens before.
 */
export class SendService {
  readonly #o: SendServiceOptions;

  constructor(options: SendServiceOptions) {
    this.#o = options;
  }

  async send(session: Session, request: SendRequest): Promise<SendOutcome> {
    const spec: SendSpec<unknown> = SENDS[request.mutation];
    const checked = check(spec.schema, request.input);
    if (!checked.ok) return validationErrors(request.igId, checked.errors);
    const { igId, igsid } = request;
    return this.#idempotent(
      session,
      request,
      () => JSON.stringify([request.mutation, request.input]),
      () =>
        this.#attempt(igId, igsid, spec.bucket, 'message', async (auth, at) => {
          const body = spec.body(checked.value);
          const response = await this.#o.api.send(auth, body);
          const recipientId = response.recipient_id ?? igsid;
          const answer = { igId, recipientId, messageId: response.message_id ?? null, at };
          const sent = spec.sent(checked.value, body, answer);
          // A message or a reaction changes the conversation's pages; a sender action does not.
          if (body.message !== undefined || sent.reactedMid !== null)
            await this.#invalidate(igId, recipientId, sent.reactedMid);
          return { igsid: recipientId, ...sent };
        }),
    );
  }

  /**
   * Any other write of the account (thread control, the messaging profile): the same
   * idempotency, per-account limit and mapping of refusals as a send. `content` is the
   * idempotency fingerprint; `call` makes the one upstream call.
   */
  async write(
    session: Session,
    request: Pick<SendRequest, 'igId' | 'igsid' | 'idempotencyKey'> & {
      readonly content: string;
      readonly what: Refused;
      readonly call: (
        auth: Auth,
        api: InstagramApi,
      ) => Promise<Pick<SendOutcome, 'ownerAppId' | 'result'>>;
    },
  ): Promise<SendOutcome> {
    const { igId, igsid } = request;
    return this.#idempotent(
      session,
      request,
      () => request.content,
      () =>
        this.#attempt(igId, igsid, 'send', request.what, async (auth) => ({
          igsid,
          message: null,
          reactedMid: null,
          ...(await request.call(auth, this.#o.api)),
        })),
    );
  }

  /**
   * Uploads media to Instagram's attachment upload API for reuse: by URL, or a file igql
   * received, whose size is checked first. The same idempotency and limits as a send; a file's
   * fingerprint is its bytes' hash.
   */
  async upload(session: Session, request: UploadRequest): Promise<SendOutcome> {
    const checked = check(UPLOAD.schema, request.input);
    if (!checked.ok) return validationErrors(request.igId, checked.errors);
    const input = checked.value;
    const received = input.file ?? undefined;
    const file = received && {
      name: received.name,
      type: received.type || mediaTypeOf(String(input.type), received.name),
      bytes: new Uint8Array(await received.arrayBuffer()),
    };
    const content = () => {
      const described = file && {
        name: file.name,
        type: file.type,
        size: file.bytes.length,
        sha256: createHash('sha256').update(file.bytes).digest('hex'),
      };
      return JSON.stringify(['uploadAttachment', { type: input.type, url: input.url, described }]);
    };
    return this.#idempotent(session, { ...request, igsid: null }, content, () =>
      this.#attempt(request.igId, null, UPLOAD.bucket(input.type), 'attachment', async (auth) => {
        const response = await this.#o.api.uploadAttachment(auth, UPLOAD.body(input), file);
        if (typeof response.attachment_id !== 'string' || response.attachment_id === '') {
          // Answered, but with nothing to send by: whether it was kept is unknown.
          throw new InstagramError({
            kind: 'timeout',
            message: 'Instagram answered the upload without an attachment_id',
          });
        }
        return {
          igsid: null,
          message: null,
          reactedMid: null,
          attachmentId: response.attachment_id,
        };
      }),
    );
  }

  /** `SendServiceOptions.invalidate` after a send to `igsid`; never rejects. */
  async #invalidate(igId: string, igsid: string | null, reactedMid: string | null): Promise<void> {
    const { invalidate, logger } = this.#o;
    await invalidate?.(igId, conversationScopes(igsid, reactedMid)).catch((error: unknown) => {
      logger.warn({ err: error, igId }, 'could not invalidate the read cache after a send');
    });
  }

  /** Runs `attempt` once per idempotency key (when there is one), replaying what it answered. */
  async #idempotent(
    session: Session,
    request: Pick<SendRequest, 'igId' | 'igsid' | 'idempotencyKey'>,
    content: () => string | Promise<string>,
    attempt: () => Promise<Attempted>,
  ): Promise<SendOutcome> {
    if ((request.idempotencyKey?.length ?? 0) > MAX_IDEMPOTENCY_KEY_LENGTH) {
      // Refused before anything is stored under it.
      return validationErrors(request.igId, [
        {
          field: ['input', 'idempotencyKey'],
          message: `input.idempotencyKey must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
        },
      ]);
    }
    // JSON, not a colon join: a `sub` may contain colons ("a:1" + "2" ≠ "a" + "1:2").
    const key = request.idempotencyKey
      ? JSON.stringify([session.sub, request.igId, request.idempotencyKey])
      : undefined;
    if (!key) return strip(await attempt());
    const fingerprint = createHash('sha256')
      .update(await content())
      .digest('hex');
    const claim = await this.#o.idempotency.claim(request.igId, key, fingerprint);
    if (claim.kind === 'replay') return replayed(claim.result);
    if (claim.kind === 'conflict') {
      return failed(request.igId, request.igsid, {
        type: 'IdempotencyConflictError',
        code: 'IDEMPOTENCY_CONFLICT',
        message: 'This idempotency key was already used with different content: use a new key',
      });
    }
    let outcome: Attempted | undefined;
    try {
      outcome = await attempt();
    } finally {
      // Only attempts that reached Instagram are kept; refusals before it may be retried.
      if (outcome?.reached)
        await this.#o.idempotency.complete(
          request.igId,
          key,
          fingerprint,
          JSON.stringify(strip(outcome)),
        );
      else await this.#o.idempotency.release(request.igId, key);
    }
    return strip(outcome);
  }

  /**
   * The account's token and limit, then `call`; Instagram's refusals become user errors about
   * `what` was refused.
   */
  async #attempt(
    igId: string,
    igsid: string | null,
    bucket: SendLimit,
    what: Refused,
    call: (
      auth: Auth,
      at: number,
    ) => Promise<
      Pick<
        SendOutcome,
        'igsid' | 'message' | 'reactedMid' | 'attachmentId' | 'ownerAppId' | 'result'
      >
    >,
  ): Promise<Attempted> {
    const stored = await this.#o.tokens.get(igId);
    if (!stored) return notFound(igId, 'accountId', 'Account');
    let auth: Auth;
    try {
      auth = authOf(stored);
    } catch (error) {
      // An account of Facebook Login stored without its Page: nothing can be sent for it (its
      // record also reads as REAUTH_REQUIRED; this says why).
      if (!(error instanceof InstagramError)) throw error;
      return failed(igId, igsid, { ...reauth(), message: NO_PAGE });
    }
    if (stored.status === 'REAUTH_REQUIRED') return failed(igId, igsid, reauth());
    // Facebook Login's Send API takes more text sends a second, through the Page (rate-limit.ts).
    const wait = await admit(this.#o.limiter, igId, sendBucketFor(bucket, auth));
    if (wait > 0) return failed(igId, igsid, rateLimited(wait));
    const at = (this.#o.now ?? Date.now)();
    try {
      const done = await call(auth, at);
      return { igId, ...done, ok: true, userErrors: [], reached: true };
    } catch (error) {
      if (error instanceof Refusal)
        return { ...failed(igId, igsid, error.userError), reached: false };
      if (error instanceof CheckFailed) {
        const userError = await this.#userError(error.error, auth, igsid, what, false);
        return { ...failed(igId, igsid, userError), reached: false };
      }
      // A refused token (190) was reported by the client, which marked the account.
      if (!(error instanceof InstagramError)) throw error;
      const userError = await this.#userError(error, auth, igsid, what);
      // A refusal by our own throttle (no status, no code) never reached Instagram.
      const reached = !(error.kind === 'rate_limited' && error.status === undefined);
      return { ...failed(igId, igsid, userError), reached };
    }
  }

  async #userError(
    error: InstagramError,
    auth: { igId: string; token: string },
    igsid: string | null,
    what: Refused,
    /** False for a read before the write (CheckFailed): then nothing was written. */
    writing = true,
  ): Promise<UserErrorData> {
    switch (error.kind) {
      case 'outside_window':
        return this.#outsideWindow(auth, igsid);
      case 'not_thread_owner':
        return this.#notThreadOwner(auth, igsid);
      case 'recipient_unavailable':
        return {
          type: 'RecipientUnavailableError',
          code: 'RECIPIENT_UNAVAILABLE',
          message: 'This person isn’t receiving messages from the account right now',
        };
      case 'permission':
        // A private reply (no recipient yet) refused with code 10 and no subcode: the comment
        // was already answered privately (instagram-api.md §9), not a token problem.
        if (
          what === 'message' &&
          igsid === null &&
          error.code === 10 &&
          error.subcode === undefined
        ) {
          return {
            type: 'ValidationError',
            code: 'VALIDATION',
            message: `Instagram allows one private reply per comment: this one was already answered${reference(error)}`,
            field: ['input', 'commentId'],
          };
        }
        // A comment write refused: the comment is not the account's to moderate (another
        // user's comment on other media, a mention's), which logging in again would not change.
        if (what === 'comment') {
          return {
            type: 'NotFoundError',
            code: 'NOT_FOUND',
            message: `Instagram does not let this account change that comment${reference(error)}`,
            field: ['input'],
          };
        }
        return reauth();
      case 'token':
        return reauth();
      case 'rate_limited':
        return rateLimited(error.retryAfterMs ?? 1000);
      // igql's words: Instagram's message may quote a token (the client logs it, redacted).
      case 'not_found':
        return {
          type: 'NotFoundError',
          code: 'NOT_FOUND',
          message: `Instagram found no such object${reference(error)}`,
          field: ['input'],
        };
      case 'invalid_parameter':
        return {
          type: 'ValidationError',
          code: 'VALIDATION',
          message: `Instagram refused the ${what} as invalid${reference(error)}`,
          field: ['input'],
        };
      default: {
        // No answer at all (time-out, dropped connection): the message may have gone out.
        const outcomeUnknown = writing && error.status === undefined;
        return {
          type: 'UpstreamUnavailableError',
          code: 'UPSTREAM_UNAVAILABLE',
          message: outcomeUnknown
            ? what === 'message'
              ? 'Instagram did not answer: the message may or may not have been sent. Check the conversation before sending again'
              : what === 'attachment'
                ? 'Instagram did not answer: the attachment may or may not have been uploaded. Upload again with a new idempotency key (the same key answers this again)'
                : `Instagram did not answer: the ${what} may or may not have been made. Check before trying again with a new idempotency key (the same key answers this again)`
            : writing
              ? 'Instagram is unavailable; nothing was sent. Retry later'
              : `Instagram is unavailable; the ${what} was not changed. Retry later`,
          outcomeUnknown,
        };
      }
    }
  }

  /**
   * Another app owns the thread (100/2534037): reads which one (`GET thread_owner`), so that
   * the error names it; null when that read fails too.
   */
  async #notThreadOwner(auth: Auth, igsid: string | null): Promise<UserErrorData> {
    let ownerAppId: string | null = null;
    try {
      if (igsid) ownerAppId = await this.#o.api.threadOwner(auth, igsid);
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'could not read the thread owner after a refusal');
    }
    return {
      type: 'NotThreadOwnerError',
      code: 'NOT_THREAD_OWNER',
      message:
        'Another app owns this conversation: take thread control (takeThreadControl) or ask for it (requestThreadControl) before sending',
      ownerAppId,
      igId: auth.igId,
    };
  }

  /** Reads when the customer last wrote, to say whether `HUMAN_AGENT` can still answer. */
  async #outsideWindow(
    auth: { igId: string; token: string },
    igsid: string | null,
  ): Promise<UserErrorData> {
    let last: Date | undefined;
    try {
      if (igsid) {
        const list = await this.#o.api.conversations(auth, {
          limit: 1,
          userId: igsid,
          fields: conversationFields({ messages: { limit: 20, fields: {} } }),
        });
        last = lastInbound(list.data[0]?.messages?.data ?? [], auth.igId);
      }
    } catch (error) {
      this.#o.logger.warn(
        { err: error },
        'could not read the conversation after an outside-window refusal',
      );
    }
    const window = replyWindow(last, (this.#o.now ?? Date.now)());
    // Instagram refused the send: only HUMAN_AGENT may still answer, until 7 days after.
    const humanAgentUntil =
      last && window.state !== 'CLOSED' ? new Date(last.getTime() + HUMAN_AGENT_MS) : undefined;
    return {
      type: 'OutsideMessagingWindowError',
      code: 'OUTSIDE_MESSAGING_WINDOW',
      message: humanAgentUntil
        ? `The customer last wrote more than 24 hours ago. A person may still answer with the HUMAN_AGENT tag until ${humanAgentUntil.toISOString()}`
        : 'The customer has not written in the last 7 days: they must write first',
      closesAt: humanAgentUntil?.toISOString() ?? null,
    };
  }
}

/** The Graph code, subcode and trace id of a refusal, for support: ` (Graph error 100/2018008, trace Ab1…)`. */
function reference(error: InstagramError): string {
  const ref = error.reference;
  if (!ref) return '';
  const code = [ref.code, ref.subcode].filter((part) => part !== null).join('/');
  const parts = [code && `Graph error ${code}`, ref.traceId && `trace ${ref.traceId}`];
  return ` (${parts.filter(Boolean).join(', ')})`;
}

function reauth(): UserErrorData {
  return {
    type: 'ReauthRequiredError',
    code: 'REAUTH_REQUIRED',
    message:
      'Instagram refused this account’s token: log in again (with Instagram, or with Facebook for an account of Facebook Login) to reconnect it',
  };
}

function rateLimited(waitMs: number): UserErrorData {
  return {
    type: 'RateLimitedError',
    code: 'RATE_LIMITED',
    message: 'The account is at Instagram’s sending limit; retry after `retryAfter` seconds',
    retryAfter: Math.ceil(waitMs / 100) / 10,
  };
}

/** A stored outcome; one stored by an igql without its `Message` model holds a Graph message. */
function replayed(result: string): SendOutcome {
  const outcome = JSON.parse(result) as SendOutcome;
  return outcome.message ? { ...outcome, message: upgradeMessage(outcome.message) } : outcome;
}

/** What Instagram refused, in its user errors' words. */
export type Refused =
  | 'message'
  | 'attachment'
  | 'thread control'
  | 'messaging profile'
  | 'welcome message flow'
  | 'comment'
  | 'media';

/** An outcome, and whether the attempt reached Instagram (kept under its idempotency key). */
type Attempted = SendOutcome & { reached?: boolean };

function strip(outcome: Attempted | undefined): SendOutcome {
  if (!outcome) throw new Error('send failed');
  const { reached: _reached, ...rest } = outcome;
  return rest;
}

/**
 * The MIME type of an upload the client sent without one, from its upload type and extension:
 * Instagram wants an audio part typed as audio (Messenger's "Saving assets"), and so on.
 */
export function mediaTypeOf(uploadType: string, name: string): string {
  const extension = /\.([^.]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';
  const known = MEDIA_TYPES_BY_EXTENSION[extension];
  const family = uploadType.toLowerCase();
  if (family === 'file') return known ?? 'application/octet-stream';
  if (known?.startsWith(`${family}/`)) return known;
  // No extension: the family's most common type; mp4 is audio or video by what it was
  // uploaded as; otherwise the family with the extension.
  if (extension === '') return family === 'image' ? 'image/jpeg' : `${family}/mp4`;
  return extension === 'mp4' ? `${family}/mp4` : `${family}/${extension}`;
}

const MEDIA_TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  aac: 'audio/aac',
  m4a: 'audio/mp4',
  wav: 'audio/wav',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
  webm: 'video/webm',
  ogg: 'video/ogg',
  pdf: 'application/pdf',
};
