import type { IncomingMessage, ServerResponse } from 'node:http';
import compression from 'compression';

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reads a request body as bytes, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(`body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
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
 * HTML and text. Never a stream (SSE, multipart), which must reach the client as it is written,
 * nor a body that already names its encoding (GraphiQL's files).
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
