import type { IncomingMessage, ServerResponse } from 'node:http';
import compression from 'compression';
import type { ErrorCode } from './errors.ts';

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * A request's path, normalised as routes are keyed (`..` and `.` resolved, no query); undefined
 * for a target Node's parser lets through but no URL can be made of (`//[`), on which
 * `new URL` throws.
 */
export function requestPath(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://igql').pathname;
  } catch {
    return undefined;
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** A request body passed `limit` bytes (`readBody`). */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  readonly limit: number;
  constructor(limit: number) {
    super(`body over ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Reads a request body as bytes, counting as it streams: past `limit` bytes (or at once, when
 * `Content-Length` says so) it throws `BodyTooLargeError` and keeps no more of it. The rest is
 * read and thrown away, never buffered, so that the connection stays usable for the client's
 * next request (the server's request time-out bounds how long that may take). The request is
 * never destroyed: answer it (`payloadTooLarge`).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => {
      chunks.length = 0;
      req.off('data', onData).off('end', onEnd);
      req.resume();
      reject(new BodyTooLargeError(limit));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge();
      else chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client went away before the end of its body'));
    });
    if (Number(req.headers['content-length']) > limit) tooLarge();
    else req.on('data', onData).once('end', onEnd);
  });
}

/**
 * The largest `multipart/form-data` GraphQL request (an `uploadAttachment` file): Instagram's
 * largest attachment (25 MB: audio, video, file) and 1 MiB for the operations and part headers.
 */
export const MAX_UPLOAD_BODY_BYTES = 25_000_000 + 1_048_576;

/**
 * Upload bodies read at once by one instance (each up to `MAX_UPLOAD_BODY_BYTES`): past them, a
 * multipart body gets `MAX_BODY_BYTES` (413 when larger).
 */
export const MAX_UPLOADS_IN_FLIGHT = 8;

/**
 * How many bytes a request's body may have: `bodyBytes` (`MAX_BODY_BYTES`), or for a multipart
 * POST (a file upload through the GraphQL multipart request spec) at least `MAX_UPLOAD_BODY_BYTES`,
 * so that a file within Instagram's limits reaches the resolver, which refuses one over its
 * type's limit with a ValidationError.
 */
export function bodyLimitOf(req: IncomingMessage, bodyBytes: number): number {
  const type = req.headers['content-type'] ?? '';
  return /^multipart\/form-data\b/i.test(type)
    ? Math.max(bodyBytes, MAX_UPLOAD_BODY_BYTES)
    : bodyBytes;
}

/**
 * 413 with a GraphQL-style error (`extensions.code` PAYLOAD_TOO_LARGE), on every route: the
 * body passed `limit` bytes. Waiting does not help, so no `retryAfter`.
 */
export function payloadTooLarge(res: ServerResponse, limit: number): void {
  json(res, 413, {
    errors: [
      {
        message: `The request body is larger than ${limit} bytes`,
        extensions: { code: 'PAYLOAD_TOO_LARGE' satisfies ErrorCode, limit },
      },
    ],
  });
}

/** Cookies of a request, by name; a value that is not valid percent-encoding is kept as sent. */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const value = part.slice(at + 1).trim();
    try {
      out[part.slice(0, at).trim()] = decodeURIComponent(value);
    } catch {
      out[part.slice(0, at).trim()] = value;
    }
  }
  return out;
}

/** The token of an `Authorization: Bearer <token>` header. */
export const bearerToken = (header: string | undefined): string | undefined =>
  /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];

/** Bodies smaller than this are sent as they are: compressing them saves less than it costs. */
export const COMPRESS_THRESHOLD = 1024;

/**
 * Compresses responses (brotli or gzip, as the client accepts) above `COMPRESS_THRESHOLD`: JSON,
 * HTML and text, with `Vary: Accept-Encoding`. Never a stream (SSE, multipart), which must reach
 * the client as it is written, nor a body that already names its encoding (GraphiQL's files).
 */
export function compressResponses(): (
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
) => void {
  const middleware = compression({
    threshold: COMPRESS_THRESHOLD,
    filter: (_req, res) =>
      /^(application\/(json|graphql-response\+json)|text\/(html|plain))\b/.test(
        String(res.getHeader('content-type') ?? ''),
      ),
  });
  return (req, res, next) =>
    middleware(
      req as Parameters<typeof middleware>[0],
      res as Parameters<typeof middleware>[1],
      next,
    );
}
