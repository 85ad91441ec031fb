import { pino } from 'pino';

export type Logger = pino.Logger;

const SECRET_KEY = /authorization|access_?token|client_?secret|^token$|tokens?$|secret$|cookie/i;
const SECRET_IN_TEXT: readonly [RegExp, string][] = [
  [/((?:^|[?&\s])(?:access_token|client_secret|code)=)[^&\s"']+/gi, '$1[Redacted]'],
  [/("(?:access_token|client_secret)"\s*:\s*")[^"]*/gi, '$1[Redacted]'],
  [/Bearer\s+[^\s"',]+/gi, 'Bearer [Redacted]'],
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
 * (`access_token=…` in URLs, `Bearer …`).
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
    destination,
  );
}
