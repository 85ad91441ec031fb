import { createHmac } from 'node:crypto';
import { z } from 'zod';

/** A key that encrypts Instagram tokens at rest; `kid` names it inside every ciphertext. */
export interface EncryptionKey {
  readonly kid: string;
  readonly key: Buffer;
}

export interface Config {
  /** Listen port. Default 4000. */
  readonly port: number;
  /** Listen host. Default 127.0.0.1 in sandbox mode, 0.0.0.0 otherwise. */
  readonly host: string;
  /** Where browsers and Meta reach igql. Default `http://localhost:$PORT`. */
  readonly publicUrl: string;
  /** True when no Instagram app is configured: igql runs against the embedded simulator. */
  readonly sandbox: boolean;
  readonly instagram: {
    readonly appId: string | undefined;
    readonly appSecret: string;
    /** Graph API base without version. Default `https://graph.instagram.com`. */
    readonly graphUrl: string;
    /** Authorize page host. Default `https://www.instagram.com`. */
    readonly oauthUrl: string;
    /** Code-exchange host. Default `https://api.instagram.com`. */
    readonly tokenUrl: string;
    /**
     * Graph API version. Default `v27.0`, the newest (2026-11-04; what igql relies on per version
     * is noted in src/instagram/client.ts).
     */
    readonly apiVersion: string;
    readonly webhookVerifyToken: string;
  };
  /**
   * The second configuration, Instagram API with Facebook Login for Business: accounts linked to
   * a Facebook Page, served through graph.facebook.com with Page access tokens. Off (no app id)
   * unless `FACEBOOK_APP_ID` is set; in sandbox mode it runs against the simulator.
   */
  readonly facebook: {
    /** `FACEBOOK_APP_ID`: the Meta app's own id (not its Instagram app id). */
    readonly appId: string | undefined;
    /** `FACEBOOK_APP_SECRET`: signs this configuration's webhooks and its code exchange. */
    readonly appSecret: string;
    /** `FACEBOOK_GRAPH_URL`: graph.facebook.com's base without version. Default `https://graph.facebook.com`. */
    readonly graphUrl: string;
    /** `FACEBOOK_OAUTH_URL`: the Login dialog's host. Default `https://www.facebook.com`. */
    readonly oauthUrl: string;
    /**
     * `FACEBOOK_LOGIN_CONFIG_ID`: a Facebook Login for Business configuration, sent as
     * `config_id` instead of `scope`. Default: none (the scopes are sent).
     */
    readonly loginConfigId: string | undefined;
  };
  readonly redis: {
    /**
     * `REDIS_URL`: one Redis server. Absent, and no cluster: every piece of shared state is kept
     * in memory (one instance only).
     */
    readonly url: string | undefined;
    /**
     * `REDIS_CLUSTER_NODES`: a Redis Cluster's seed nodes, comma-separated `redis://` or
     * `rediss://` URLs (credentials in the URL, the same scheme and credentials for every node,
     * no database number). Exclusive with `url`.
     */
    readonly clusterNodes: readonly string[] | undefined;
    /** Prefix of every Redis key and channel. Default `igql`. */
    readonly prefix: string;
  };
  readonly sessionSecret: Uint8Array;
  /** The first key encrypts; every key decrypts. */
  readonly tokenEncryptionKeys: readonly EncryptionKey[];
  readonly jwt: {
    readonly jwksUrl: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    /** Claim of an external JWT that lists the IG_IDs its user may use. Default `ig_accounts`. */
    readonly accountsClaim: string;
  };
  /** Browser origins allowed for websockets and CORS. */
  readonly allowedOrigins: readonly string[];
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Serve GraphiQL on `GET /graphql` from a browser. Default: on in sandbox and development. */
  readonly graphiql: boolean;
  /** Answer introspection queries. Default: on where GraphiQL is. */
  readonly introspection: boolean;
  /**
   * `APQ` (`on`/`off`, default on): automatic persisted queries; `TRUSTED_DOCUMENTS`: the path of
   * a JSON file of the only documents that run (then APQ is off). See src/persisted.ts.
   */
  readonly persisted: {
    readonly automatic: boolean;
    readonly trustedDocuments: string | undefined;
  };
  /** Bounds on what clients may ask of igql (README: Limits); each refusal is a typed error. */
  readonly limits: Limits;
  readonly sandboxOptions: {
    /** Latency the simulator adds to every Graph API answer. Default 0. */
    readonly latencyMs: number;
    /** Apply Instagram's documented rate limits in the simulator. Default true. */
    readonly rateLimits: boolean;
  };
  readonly simulator: {
    /**
     * `SANDBOX_SIMULATOR_URL`: a simulator started apart (`npm run simulator`) that sandbox mode
     * uses instead of starting its own. Default: none (the simulator runs inside igql).
     */
    readonly url: string | undefined;
    /** `SIMULATOR_PORT`: where `npm run simulator` listens (on 127.0.0.1); 0 for a free port. Default 4100. */
    readonly port: number;
  };
}

/**
 * The app secret of sandbox mode when INSTAGRAM_APP_SECRET is not set: known on purpose, so the
 * secrets derived from it (SESSION_SECRET, the token key, the webhook verify token) and the demo
 * data's ids stay the same across restarts. Never used with INSTAGRAM_APP_ID set.
 */
export const SANDBOX_APP_SECRET = 'igql-sandbox';

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Every limit igql applies to clients, with its variable and default (README: Limits). */
export interface Limits {
  /** `MAX_BODY_BYTES`: largest request body (GraphQL and webhooks). Default 1 MiB. */
  readonly bodyBytes: number;
  /** `MAX_CONNECTIONS`: open TCP connections at once. Default 10 000. */
  readonly connections: number;
  /** `HEADERS_TIMEOUT_MS`: time to send a request's headers. Default 10 000 ms. */
  readonly headersTimeoutMs: number;
  /** `REQUEST_TIMEOUT_MS`: time to send a whole request (headers and body). Default 30 000 ms. */
  readonly requestTimeoutMs: number;
  /** `MAX_SUBSCRIPTIONS_PER_CONNECTION`: graphql-ws subscriptions on one socket. Default 50. */
  readonly subscriptionsPerConnection: number;
  /** `MAX_STREAMS_PER_SESSION`: websockets and SSE streams open on one session. Default 20. */
  readonly streamsPerSession: number;
  /** `MAX_STREAMS_PER_ADDRESS`: websockets and SSE streams open from one client address. Default 200. */
  readonly streamsPerAddress: number;
  /**
   * `SUBSCRIBER_BUFFER_BYTES`: what may wait unsent for one websocket or SSE stream before it is
   * closed as stalled (it resumes with its cursor). Default 4 MiB.
   */
  readonly subscriberBufferBytes: number;
  /** `INSTAGRAM_TIMEOUT_MS`: the whole of one Instagram call, retries included. Default 10 000 ms. */
  readonly upstreamTimeoutMs: number;
}

const whole = (what: string) =>
  z.string().regex(/^\d+$/, `expected a whole number (${what})`).transform(Number);

const optional = z
  .string()
  .transform((v) => v.trim())
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const url = (what: string) =>
  z
    .string()
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
      message: `expected an http(s) URL (${what})`,
    })
    .transform((v) => v.replace(/\/+$/, ''));

const port = z
  .string()
  .regex(/^\d+$/, 'expected a port number from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'expected a port number from 0 to 65535');

const env = z.object({
  PORT: port.default(4000),
  HOST: optional,
  PUBLIC_URL: url('for example https://igql.example.com').optional(),
  INSTAGRAM_APP_ID: z
    .string()
    .regex(/^\d*$/, "expected the Meta app's numeric Instagram app id")
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  INSTAGRAM_APP_SECRET: optional,
  INSTAGRAM_GRAPH_URL: url('default https://graph.instagram.com').default(
    'https://graph.instagram.com',
  ),
  INSTAGRAM_OAUTH_URL: url('default https://www.instagram.com').default(
    'https://www.instagram.com',
  ),
  INSTAGRAM_TOKEN_URL: url('default https://api.instagram.com').default(
    'https://api.instagram.com',
  ),
  INSTAGRAM_API_VERSION: z
    .string()
    .regex(/^v\d+\.0$/, 'expected a Graph API version such as v27.0')
    .default('v27.0'),
  INSTAGRAM_WEBHOOK_VERIFY_TOKEN: optional,
  FACEBOOK_APP_ID: z
    .string()
    .regex(/^\d*$/, "expected the Meta app's numeric app id")
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  FACEBOOK_APP_SECRET: optional,
  FACEBOOK_GRAPH_URL: url('default https://graph.facebook.com').default(
    'https://graph.facebook.com',
  ),
  FACEBOOK_OAUTH_URL: url('default https://www.facebook.com').default('https://www.facebook.com'),
  FACEBOOK_LOGIN_CONFIG_ID: optional,
  REDIS_URL: z
    .string()
    .refine((v) => v === '' || /^rediss?:\/\/\S+$/.test(v), {
      message: 'expected a redis:// or rediss:// URL',
    })
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const nodes = (v ?? '')
        .split(',')
        .map((node) => node.trim())
        .filter(Boolean);
      if (nodes.length === 0) return undefined;
      const seeds: URL[] = [];
      nodes.forEach((node, i) => {
        const checked = checkClusterNode(node);
        if ('url' in checked) seeds.push(checked.url);
        else ctx.addIssue({ code: 'custom', message: `node ${i + 1}${checked.problem}` });
      });
      // node-redis connects to every node it discovers with one set of credentials and one TLS
      // setting (igql takes them from the first seed): seeds that disagree would work or not
      // depending on which one answered first.
      const [first] = seeds;
      if (
        first &&
        seeds.some(
          (url) =>
            url.protocol !== first.protocol ||
            url.username !== first.username ||
            url.password !== first.password,
        )
      )
        ctx.addIssue({
          code: 'custom',
          message: 'every node must use the same scheme and credentials',
        });
      return nodes;
    }),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'expected letters, digits, and _ . : -')
    .default('igql'),
  SESSION_SECRET: z
    .string()
    .refine((v) => Buffer.byteLength(v) >= 32, 'expected at least 32 bytes')
    .optional(),
  TOKEN_ENCRYPTION_KEYS: z.string().optional(),
  JWT_JWKS_URL: url('the identity provider key set').optional(),
  JWT_ISSUER: optional,
  JWT_AUDIENCE: optional,
  JWT_ACCOUNTS_CLAIM: z.string().min(1).default('ig_accounts'),
  ALLOWED_ORIGINS: optional,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SANDBOX_LATENCY_MS: z
    .string()
    .regex(/^\d+$/, 'expected a whole number of milliseconds')
    .transform(Number)
    .default(0),
  SANDBOX_RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  SANDBOX_SIMULATOR_URL: url('the base URL `npm run simulator` printed').optional(),
  SIMULATOR_PORT: port.default(4100),
  GRAPHIQL: z.enum(['on', 'off']).optional(),
  INTROSPECTION: z.enum(['on', 'off']).optional(),
  NODE_ENV: optional,
  APQ: z.enum(['on', 'off']).default('on'),
  TRUSTED_DOCUMENTS: optional,
  MAX_BODY_BYTES: whole('bytes').default(1_048_576),
  MAX_CONNECTIONS: whole('connections').default(10_000),
  HEADERS_TIMEOUT_MS: whole('milliseconds').default(10_000),
  REQUEST_TIMEOUT_MS: whole('milliseconds').default(30_000),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: whole('subscriptions').default(50),
  MAX_STREAMS_PER_SESSION: whole('streams').default(20),
  MAX_STREAMS_PER_ADDRESS: whole('streams').default(200),
  SUBSCRIBER_BUFFER_BYTES: whole('bytes').default(4_194_304),
  INSTAGRAM_TIMEOUT_MS: whole('milliseconds').default(10_000),
});

function parseKeys(value: string, problems: string[]): EncryptionKey[] {
  const keys: EncryptionKey[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    const [kid, b64] = item.split(':');
    const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (!kid || !/^[A-Za-z0-9_-]+$/.test(kid) || key.length !== 32) {
      problems.push(
        'TOKEN_ENCRYPTION_KEYS: expected a comma-separated list of kid:base64key, each key 32 bytes (openssl rand -base64 32)',
      );
      return [];
    }
    keys.push({ kid, key });
  }
  return keys;
}

function parseOrigins(value: string, problems: string[]): string[] {
  const origins = value.split(',').map((s) => s.trim());
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push(`ALLOWED_ORIGINS: expected a comma-separated list of origins, got "${origin}"`);
    }
  }
  return origins;
}

/**
 * Reads the environment into a frozen config. Every bad variable is reported at once, by name,
 * in one `ConfigError`.
 */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  // Sandbox mode: no Meta app of either configuration.
  const sandbox = e.INSTAGRAM_APP_ID === undefined && e.FACEBOOK_APP_ID === undefined;
  const appName = e.INSTAGRAM_APP_ID !== undefined ? 'INSTAGRAM_APP_ID' : 'FACEBOOK_APP_ID';
  const required = (name: keyof typeof e, why: string) => {
    if (!sandbox && e[name] === undefined) problems.push(`${name}: required ${why}`);
  };
  if (e.INSTAGRAM_APP_ID !== undefined && e.INSTAGRAM_APP_SECRET === undefined) {
    problems.push(
      'INSTAGRAM_APP_SECRET: required when INSTAGRAM_APP_ID is set (the Meta app secret)',
    );
  }
  if (e.FACEBOOK_APP_ID !== undefined && e.FACEBOOK_APP_SECRET === undefined) {
    problems.push(
      'FACEBOOK_APP_SECRET: required when FACEBOOK_APP_ID is set (the Meta app secret)',
    );
  }
  required('INSTAGRAM_WEBHOOK_VERIFY_TOKEN', `when ${appName} is set (any secret string)`);
  required('TOKEN_ENCRYPTION_KEYS', `when ${appName} is set (kid:base64 of 32 bytes)`);
  if (!sandbox && e.SESSION_SECRET === undefined && e.JWT_JWKS_URL === undefined) {
    problems.push(`SESSION_SECRET: required when ${appName} is set (at least 32 bytes)`);
  }
  if (!sandbox && e.SANDBOX_SIMULATOR_URL !== undefined) {
    problems.push(
      'SANDBOX_SIMULATOR_URL: sandbox mode only (unset INSTAGRAM_APP_ID and FACEBOOK_APP_ID)',
    );
  }
  if (e.REDIS_URL !== undefined && e.REDIS_CLUSTER_NODES !== undefined) {
    problems.push(
      'REDIS_CLUSTER_NODES: exclusive with REDIS_URL (set one: a single Redis, or a Redis Cluster)',
    );
  }
  if (e.JWT_JWKS_URL !== undefined) {
    if (e.JWT_ISSUER === undefined) problems.push('JWT_ISSUER: required with JWT_JWKS_URL');
    if (e.JWT_AUDIENCE === undefined) problems.push('JWT_AUDIENCE: required with JWT_JWKS_URL');
  }
  // Sandbox secrets not given derive from the app secret, so that sandbox instances sharing a
  // Redis and an INSTAGRAM_APP_SECRET agree, and so that a restart with the same settings keeps
  // the demo's ids and the session tokens `GET /sandbox` hands out (a saved GraphiQL tab or
  // script keeps working). Without INSTAGRAM_APP_SECRET the sandbox uses a known, documented
  // secret. That is acceptable in sandbox mode only (production requires the secret above): the
  // data is the simulator's demo, `GET /sandbox` hands a session to anyone who asks anyway, and
  // the sandbox binds loopback unless HOST says otherwise. A sandbox reachable by others that
  // should be private sets its own INSTAGRAM_APP_SECRET.
  const appSecret = e.INSTAGRAM_APP_SECRET ?? e.FACEBOOK_APP_SECRET ?? SANDBOX_APP_SECRET;
  const derive = (purpose: string) => createHmac('sha256', appSecret).update(purpose).digest();
  const keys =
    e.TOKEN_ENCRYPTION_KEYS === undefined
      ? [{ kid: 'sandbox', key: derive('igql sandbox token key') }]
      : parseKeys(e.TOKEN_ENCRYPTION_KEYS, problems);
  const publicUrl = e.PUBLIC_URL ?? `http://localhost:${e.PORT}`;
  const loopbackOrigins = sandbox
    ? [`http://localhost:${e.PORT}`, `http://127.0.0.1:${e.PORT}`]
    : [new URL(publicUrl).origin];
  const allowedOrigins =
    e.ALLOWED_ORIGINS === undefined
      ? [...new Set([new URL(publicUrl).origin, ...loopbackOrigins])]
      : parseOrigins(e.ALLOWED_ORIGINS, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  // Production (an Instagram app, NODE_ENV not development) shows neither unless told to.
  const graphiql =
    e.GRAPHIQL === undefined ? sandbox || e.NODE_ENV === 'development' : e.GRAPHIQL === 'on';

  return deepFreeze({
    port: e.PORT,
    host: e.HOST ?? (sandbox ? '127.0.0.1' : '0.0.0.0'),
    publicUrl,
    sandbox,
    instagram: {
      appId: e.INSTAGRAM_APP_ID,
      appSecret,
      graphUrl: e.INSTAGRAM_GRAPH_URL,
      oauthUrl: e.INSTAGRAM_OAUTH_URL,
      tokenUrl: e.INSTAGRAM_TOKEN_URL,
      apiVersion: e.INSTAGRAM_API_VERSION,
      webhookVerifyToken:
        e.INSTAGRAM_WEBHOOK_VERIFY_TOKEN ??
        derive('igql sandbox webhook verify token').toString('hex').slice(0, 32),
    },
    facebook: {
      appId: e.FACEBOOK_APP_ID,
      // In sandbox mode the simulator signs both configurations' webhooks with the one secret.
      appSecret: e.FACEBOOK_APP_SECRET ?? appSecret,
      graphUrl: e.FACEBOOK_GRAPH_URL,
      oauthUrl: e.FACEBOOK_OAUTH_URL,
      loginConfigId: e.FACEBOOK_LOGIN_CONFIG_ID,
    },
    redis: { url: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES, prefix: e.REDIS_PREFIX },
    sessionSecret: new TextEncoder().encode(
      e.SESSION_SECRET ?? derive('igql sandbox session secret').toString('hex'),
    ),
    tokenEncryptionKeys: keys,
    jwt: {
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accountsClaim: e.JWT_ACCOUNTS_CLAIM,
    },
    allowedOrigins,
    logLevel: e.LOG_LEVEL,
    graphiql,
    introspection: e.INTROSPECTION === undefined ? graphiql : e.INTROSPECTION === 'on',
    persisted: { automatic: e.APQ === 'on', trustedDocuments: e.TRUSTED_DOCUMENTS },
    limits: {
      bodyBytes: e.MAX_BODY_BYTES,
      connections: e.MAX_CONNECTIONS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      subscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
      streamsPerSession: e.MAX_STREAMS_PER_SESSION,
      streamsPerAddress: e.MAX_STREAMS_PER_ADDRESS,
      subscriberBufferBytes: e.SUBSCRIBER_BUFFER_BYTES,
      upstreamTimeoutMs: e.INSTAGRAM_TIMEOUT_MS,
    },
    sandboxOptions: { latencyMs: e.SANDBOX_LATENCY_MS, rateLimits: e.SANDBOX_RATE_LIMITS === 'on' },
    simulator: { url: e.SANDBOX_SIMULATOR_URL, port: e.SIMULATOR_PORT },
  });
}

/**
 * `node` as a Redis Cluster seed node, or why it cannot be one: a `redis://` or `rediss://` URL
 * with a host and a port, and no database number (a cluster has database 0 only; node-redis would
 * send SELECT, which a cluster refuses). The problem is printed at start, so it names the node by
 * its scheme, host and port alone (` (redis://h:7000): …`), never its credentials; and not at all
 * when it does not parse as a URL, or when an `@` follows its host (a password's unencoded `/`,
 * `?` or `#` ended the host early: what looks like the host is part of the password).
 */
function checkClusterNode(node: string): { url: URL } | { problem: string } {
  const unparsed = {
    problem: node.includes('@')
      ? ': expected a redis:// or rediss:// URL (percent-encode / ? # in a password)'
      : ': expected a redis:// or rediss:// URL',
  };
  let url: URL;
  try {
    url = new URL(node);
  } catch {
    return unparsed;
  }
  if (`${url.pathname}${url.search}${url.hash}`.includes('@') || url.host === '') return unparsed;
  const named = (problem: string) => ({ problem: ` (${url.protocol}//${url.host}): ${problem}` });
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    return named('expected a redis:// or rediss:// URL');
  if (url.port === '') return named('expected a host and a port');
  if (url.pathname !== '' && url.pathname !== '/')
    return named('a cluster has no database number: remove the path');
  return { url };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
