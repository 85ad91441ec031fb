import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../src/logger.ts';

describe('logs', () => {
  it('redact secrets at any depth and inside strings', () => {
    expect(
      redact({
        headers: { authorization: 'Bearer abc.def.ghi', Cookie: 'igql_session=xyz' },
        body: { access_token: 'IGQWRtoken', client_secret: 's3cret', nested: [{ token: 't' }] },
        url: 'https://graph.instagram.com/v25.0/me?fields=id&access_token=IGQWRtoken&x=1',
        text: 'sent with Bearer eyJhbGciOi and {"access_token":"IGQWRtoken"}',
        count: 3,
      }),
    ).toEqual({
      headers: { authorization: '[Redacted]', Cookie: '[Redacted]' },
      body: {
        access_token: '[Redacted]',
        client_secret: '[Redacted]',
        nested: [{ token: '[Redacted]' }],
      },
      url: 'https://graph.instagram.com/v25.0/me?fields=id&access_token=[Redacted]&x=1',
      text: 'sent with Bearer [Redacted] and {"access_token":"[Redacted]"}',
      count: 3,
    });
  });

  it('never write a token to the log stream', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ req: { headers: { authorization: 'Bearer SECRET1' } } }, 'call');
    logger.warn('calling https://x/me?access_token=SECRET2');
    logger.error({ err: new Error('failed for access_token=SECRET3') }, 'upstream');
    const all = lines.join('');
    expect(lines).toHaveLength(3);
    expect(all).not.toMatch(/SECRET\d/);
    expect(JSON.parse(lines[1] ?? '{}').msg).toBe('calling https://x/me?access_token=[Redacted]');
    expect(JSON.parse(lines[2] ?? '{}').err.message).toBe('failed for access_token=[Redacted]');
  });
});

describe('bare Instagram and Facebook tokens', () => {
  const IGAA = 'IGAAKx9vQ2cZBqZAE1hN0ZAbare-token_0123456789abcdefghijklmnopqrstuvwxyz';
  const IGQV = 'IGQVJYeUxNZA2xRZAl9fMTRhTWZA2c0ZA4V2tRUmhYc0dYcGlhbGZA3';
  const EAA = 'EAAGm0PX4ZCpsBAKZCZBZAu5ZBZBZC8ZAZBl2mZCDk0ZD';

  it('are redacted anywhere in a line: the message, an error’s message, nested values', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.warn(
      {
        endpoint: '/me',
        reason: `Invalid token ${IGAA}.`,
        nested: { list: [`a ${IGQV} b`, { deeper: `(${EAA})` }] },
        err: new Error(`refused ${IGAA}`),
      },
      `instagram: Invalid OAuth access token ${IGAA} for ${EAA}`,
    );
    expect(lines).toHaveLength(1);
    const { time, err, ...line } = JSON.parse(lines[0] ?? '{}');
    expect(typeof time).toBe('string');
    expect(line).toEqual({
      level: 40,
      service: 'igql',
      endpoint: '/me',
      reason: 'Invalid token [Redacted].',
      nested: { list: ['a [Redacted] b', { deeper: '([Redacted])' }] },
      msg: 'instagram: Invalid OAuth access token [Redacted] for [Redacted]',
    });
    expect(err.message).toBe('refused [Redacted]');
    expect(err.stack).toMatch(/^Error: refused \[Redacted\]\n/);
    expect(lines[0]).not.toMatch(/IGAA|IGQV|EAA/);
  });

  it('leave words that merely start alike, and short strings, alone', () => {
    expect(
      redact('EAAX short IGAA IGNORED_CONSTANT_NAME_THAT_IS_LONG ideaEAAGm0PX4ZCpsBAKZCZBZAu5ZBZ'),
    ).toBe('EAAX short IGAA IGNORED_CONSTANT_NAME_THAT_IS_LONG ideaEAAGm0PX4ZCpsBAKZCZBZAu5ZBZ');
  });
});
