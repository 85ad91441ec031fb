import { pino } from 'pino';

export type Logger = pino.Logger;

const SECRET_KEY = /authorization|access_?token|client_?secret|^token$|tokens?$|secret$|cookie/i;
const SECRET_IN_TEXT: readonly [RegExp, string][] = [
  [/((?:^|[?&\s])(?:access_token|client_secret|code)=)[^&\s"']+/gi, '$1[Redacted]'],
  [/("(?:access_token|client_secret)"\s*:\s*")[^"]*/gi, '$1[Redacted]'],
  [/Bearer\s+[^\s"',]+/gi, 'Bearer [Redacted]'],
  // Bare Instagram and Facebook tokens (`IGAA…`, `IGQV…`/`IGQW…`, `EAA…`), wherever they appear.
  [/(?<![A-Za-z0-9])(?:IGAA|IGQ[VW]|EAA)[A-Za-z0-9_-]{20,}/g, '[Redacted]'],
];

/** Replaces every secret-looking value, at any depth, with `[Redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return SECRET_IN_TEXT.reduce(
      (text, [pattern, replacement]) => text.replace(pattern, replacement),
      value,
    );
  }
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    return { type: value.name, message: redact(value.message), stack: redact(value.stack) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? '[Redacted]' : redact(inner, depth + 1);
  }
  return out;
}

/**
 * Structured JSON logs. Values under keys such as `authorization`, `access_token`,
 * `client_secret` or `token` are redacted at any depth, and so are tokens inside strings
 * (`access_token=…` in URLs, `Bearer …`, bare Instagram and Facebook tokens) in messages,
 * error messages and nested values.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level,
      base: { service: 'igql' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => redact(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg));
          method.apply(this, redacted as Parameters<typeof method>);
        },
      },
    },
    destination ?? stdoutDestination(),
  );
}

/** Log output that may wait unwritten for a slow reader of stdout; past it, lines are dropped. */
export const MAX_PENDING_LOG_BYTES = 16 * 1024 * 1024;

let stdoutSink: pino.DestinationStream | undefined;

/**
 * Standard output as a log destination that never holds the process up: once its reader has
 * gone (EPIPE) or it is closed, lines are dropped, and so are they while more than
 * `MAX_PENDING_LOG_BYTES` wait for a slow reader. (pino's own destination retries a broken pipe
 * forever when it flushes at exit: igql then never exited.)
 */
export function stdoutDestination(): pino.DestinationStream {
  if (!stdoutSink) {
    const out = process.stdout;
    // A write error (EPIPE: the reader has gone) destroys the stream, and `writable` turns
    // false; without a listener it would end the process.
    out.on('error', () => {});
    stdoutSink = {
      write: (line: string) => {
        if (out.writable && out.writableLength < MAX_PENDING_LOG_BYTES) out.write(line);
      },
    };
  }
  return stdoutSink;
}
