import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { MAX_UPLOAD_BODY_BYTES } from '../../src/http.ts';
import { createLogger } from '../../src/logger.ts';
import { createServices } from '../../src/services.ts';
import { createYogaServer } from '../../src/yoga.ts';

/**
 * Over HTTP, app.ts reads and bounds every body before Yoga sees it. A caller of `yoga.fetch`
 * (no Node request behind it) is bounded by Yoga's own plugin: the same limits.
 */
const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' });
const logger = createLogger('silent');
const services = createServices({ config, logger });
const yoga = createYogaServer({
  config,
  logger,
  services,
  graphiql: () => Promise.reject(new Error('no GraphiQL here')),
});

afterAll(() => services.close());

/** A body of `bytes` bytes, streamed in 1 MiB chunks, with no Content-Length. */
function streamed(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(1024 * 1024, bytes - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
}

describe('yoga.fetch, without app.ts in front', () => {
  it('refuses a streamed body past the upload limit with 413', async () => {
    const res = await yoga.fetch('http://igql/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: streamed(MAX_UPLOAD_BODY_BYTES + 1),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      errors: [
        { message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } },
      ],
    });
  });

  it('refuses a Content-Length past the limit at once, and an invalid one with 400', async () => {
    const big = await yoga.fetch('http://igql/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(MAX_UPLOAD_BODY_BYTES + 1),
      },
      body: '{}',
    });
    expect(big.status).toBe(413);
    const invalid = await yoga.fetch('http://igql/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '12abc' },
      body: '{}',
    });
    expect(invalid.status).toBe(400);
  });

  it('takes a small body as ever', async () => {
    const res = await yoga.fetch('http://igql/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
