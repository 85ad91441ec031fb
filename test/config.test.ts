import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SANDBOX_APP_SECRET } from '../src/config.ts';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('turns GraphiQL and introspection on in sandbox and development, off in production', () => {
    const production = {
      INSTAGRAM_APP_ID: '1',
      INSTAGRAM_APP_SECRET: 's',
      INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'v',
      SESSION_SECRET: 'x'.repeat(32),
      TOKEN_ENCRYPTION_KEYS: `k:${Buffer.alloc(32).toString('base64')}`,
    };
    const flags = (env: Record<string, string>) => {
      const { graphiql, introspection } = loadConfig(env);
      return { graphiql, introspection };
    };
    expect(flags({})).toEqual({ graphiql: true, introspection: true });
    expect(flags(production)).toEqual({ graphiql: false, introspection: false });
    expect(flags({ ...production, NODE_ENV: 'development' })).toEqual({
      graphiql: true,
      introspection: true,
    });
    expect(flags({ ...production, GRAPHIQL: 'on' })).toEqual({
      graphiql: true,
      introspection: true,
    });
    expect(flags({ ...production, INTROSPECTION: 'on' })).toEqual({
      graphiql: false,
      introspection: true,
    });
    expect(flags({ GRAPHIQL: 'on', INTROSPECTION: 'off' })).toEqual({
      graphiql: true,
      introspection: false,
    });
    expect(problemsOf({ GRAPHIQL: 'yes' })).toEqual([
      'GRAPHIQL: Invalid option: expected one of "on"|"off"',
    ]);
  });

  it('defaults to sandbox mode on loopback with secrets derived from a known one', () => {
    const config = loadConfig({});
    expect(config.sandbox).toBe(true);
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl).toBe('http://localhost:4000');
    expect(config.instagram.graphUrl).toBe('https://graph.instagram.com');
    expect(config.instagram.oauthUrl).toBe('https://www.instagram.com');
    expect(config.instagram.tokenUrl).toBe('https://api.instagram.com');
    expect(config.instagram.apiVersion).toBe('v27.0');
    expect(config.instagram.appSecret).toBe('igql-sandbox');
    expect(config.instagram.appSecret).toBe(SANDBOX_APP_SECRET);
    expect(config.instagram.webhookVerifyToken).toBe('5e501094decd2ff029233f3e61da2820');
    expect(config.instagram.webhookVerifyToken).toBe(
      createHmac('sha256', 'igql-sandbox')
        .update('igql sandbox webhook verify token')
        .digest('hex')
        .slice(0, 32),
    );
    expect(config.sessionSecret.byteLength).toBe(64);
    expect(config.tokenEncryptionKeys).toHaveLength(1);
    expect(config.tokenEncryptionKeys[0]?.key.length).toBe(32);
    expect(config.redis).toEqual({ url: undefined, prefix: 'igql' });
    expect(config.allowedOrigins).toEqual(['http://localhost:4000', 'http://127.0.0.1:4000']);
    expect(config.jwt.accountsClaim).toBe('ig_accounts');
    expect(config.logLevel).toBe('info');
    expect(config.sandboxOptions).toEqual({ latencyMs: 0, rateLimits: true });
  });

  it('derives sandbox secrets from the app secret, so instances sharing it agree', () => {
    const [one, two] = [
      loadConfig({ INSTAGRAM_APP_SECRET: 's3' }),
      loadConfig({ INSTAGRAM_APP_SECRET: 's3' }),
    ];
    expect(one.sessionSecret).toEqual(two.sessionSecret);
    expect(one.tokenEncryptionKeys).toEqual(two.tokenEncryptionKeys);
    const other = loadConfig({ INSTAGRAM_APP_SECRET: 's4' });
    expect(other.sessionSecret).not.toEqual(one.sessionSecret);
    expect(other.tokenEncryptionKeys[0]?.key).not.toEqual(one.tokenEncryptionKeys[0]?.key);
    expect(other.instagram.webhookVerifyToken).not.toBe(one.instagram.webhookVerifyToken);
    expect(other.instagram.webhookVerifyToken).toMatch(/^[0-9a-f]{32}$/);
    // Without INSTAGRAM_APP_SECRET too: a restart keeps the sandbox's sessions valid.
    const [fresh, again] = [loadConfig({}), loadConfig({})];
    expect(fresh.sessionSecret).toEqual(again.sessionSecret);
    expect(fresh.tokenEncryptionKeys).toEqual(again.tokenEncryptionKeys);
    expect(fresh.instagram.webhookVerifyToken).toBe(again.instagram.webhookVerifyToken);
    expect(fresh.sessionSecret).not.toEqual(one.sessionSecret);
    expect(Buffer.from(fresh.sessionSecret).toString()).toBe(
      createHmac('sha256', 'igql-sandbox').update('igql sandbox session secret').digest('hex'),
    );
  });

  it('is frozen all the way down', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.instagram)).toBe(true);
    expect(Object.isFrozen(config.allowedOrigins)).toBe(true);
  });

  it('reads a production environment', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const old = Buffer.alloc(32, 9).toString('base64');
    const config = loadConfig({
      PORT: '8080',
      PUBLIC_URL: 'https://igql.example.com/',
      INSTAGRAM_APP_ID: '1234567890',
      INSTAGRAM_APP_SECRET: 'app-secret',
      INSTAGRAM_WEBHOOK_VERIFY_TOKEN: 'verify-me',
      SESSION_SECRET: 's'.repeat(32),
      TOKEN_ENCRYPTION_KEYS: `k2:${key},k1:${old}`,
      REDIS_URL: 'redis://cache:6379/0',
      REDIS_PREFIX: 'igql-prod',
      ALLOWED_ORIGINS: 'https://inbox.example.com,https://crm.example.com',
      SANDBOX_RATE_LIMITS: 'off',
    });
    expect(config.sandbox).toBe(false);
    expect(config.host).toBe('0.0.0.0');
    expect(config.publicUrl).toBe('https://igql.example.com');
    expect(config.instagram.appSecret).toBe('app-secret');
    expect(config.tokenEncryptionKeys.map((k) => k.kid)).toEqual(['k2', 'k1']);
    expect(config.tokenEncryptionKeys[1]?.key).toEqual(Buffer.alloc(32, 9));
    expect(config.redis).toEqual({ url: 'redis://cache:6379/0', prefix: 'igql-prod' });
    expect(config.allowedOrigins).toEqual(['https://inbox.example.com', 'https://crm.example.com']);
  });

  it('reports every bad variable at once, by name, with what was expected', () => {
    expect(
      problemsOf({
        PORT: 'eighty',
        INSTAGRAM_API_VERSION: '25',
        REDIS_URL: 'http://cache:6379',
        LOG_LEVEL: 'loud',
        SANDBOX_LATENCY_MS: '-5',
        SESSION_SECRET: 'short',
      }),
    ).toEqual([
      'PORT: expected a port number from 0 to 65535',
      'INSTAGRAM_API_VERSION: expected a Graph API version such as v27.0',
      'REDIS_URL: expected a redis:// or rediss:// URL',
      'SESSION_SECRET: expected at least 32 bytes',
      'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
      'SANDBOX_LATENCY_MS: expected a whole number of milliseconds',
    ]);
  });

  it('reads REDIS_CLUSTER_NODES as a list of seed nodes, each trimmed, empty entries dropped', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES:
        ' rediss://10.0.0.1:7000 ,rediss://10.0.0.2:7001,, rediss://10.0.0.3:7002/ ',
    });
    expect(config.redis).toEqual({
      url: undefined,
      clusterNodes: ['rediss://10.0.0.1:7000', 'rediss://10.0.0.2:7001', 'rediss://10.0.0.3:7002/'],
      prefix: 'igql',
    });
    expect(Object.isFrozen(config.redis.clusterNodes)).toBe(true);
    // Empty, or only separators: no cluster, as when unset.
    for (const nodes of ['', ' , '])
      expect(loadConfig({ REDIS_CLUSTER_NODES: nodes }).redis.clusterNodes).toBeUndefined();
  });

  it('refuses REDIS_CLUSTER_NODES with REDIS_URL, and every seed node that is not redis://host:port', () => {
    expect(
      problemsOf({ REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000' }),
    ).toEqual([
      'REDIS_CLUSTER_NODES: exclusive with REDIS_URL (set one: a single Redis, or a Redis Cluster)',
    ]);
    expect(
      problemsOf({
        REDIS_CLUSTER_NODES:
          'redis://10.0.0.1:7000,http://10.0.0.2:7001,,10.0.0.3:7002,redis://10.0.0.4,redis://h:7000/1,localhost:7000',
      }),
    ).toEqual([
      // Numbered as written, empty entries not counted.
      'REDIS_CLUSTER_NODES: node 2 (http://10.0.0.2:7001): expected a redis:// or rediss:// URL',
      'REDIS_CLUSTER_NODES: node 3: expected a redis:// or rediss:// URL',
      'REDIS_CLUSTER_NODES: node 4 (redis://10.0.0.4): expected a host and a port',
      'REDIS_CLUSTER_NODES: node 5 (redis://h:7000): a cluster has no database number: remove the path',
      'REDIS_CLUSTER_NODES: node 6: expected a redis:// or rediss:// URL',
    ]);
  });

  it('names a refused seed node by its scheme, host and port, never its credentials', () => {
    const nodes = [
      'rediss://appuser:s3cret@h:7000/1',
      // An `@` in the password: the last one ends the credentials.
      'rediss://appuser:p@ssW0rd@h:7001/2',
      // An unencoded `/` or `#` in the password ends the host early: what would be named as
      // the host (`appuser:97`) is the password's beginning.
      'rediss://appuser:Pa/Ss@h:7002',
      'rediss://appuser:97/Zk@h:7003',
      'rediss://appuser:97#Zk@h:7004',
    ];
    const problems = problemsOf({ REDIS_CLUSTER_NODES: nodes.join(',') });
    expect(problems).toEqual([
      'REDIS_CLUSTER_NODES: node 1 (rediss://h:7000): a cluster has no database number: remove the path',
      'REDIS_CLUSTER_NODES: node 2 (rediss://h:7001): a cluster has no database number: remove the path',
      'REDIS_CLUSTER_NODES: node 3: expected a redis:// or rediss:// URL (percent-encode / ? # in a password)',
      'REDIS_CLUSTER_NODES: node 4: expected a redis:// or rediss:// URL (percent-encode / ? # in a password)',
      'REDIS_CLUSTER_NODES: node 5: expected a redis:// or rediss:// URL (percent-encode / ? # in a password)',
    ]);
    for (const secret of ['appuser', 's3cret', 'p@ss', 'W0rd', 'Pa', 'Ss', '97', 'Zk'])
      expect(problems.join('\n')).not.toContain(secret);
  });

  it('refuses seed nodes that differ in scheme or credentials (node-redis uses one set for every node)', () => {
    const same = 'REDIS_CLUSTER_NODES: every node must use the same scheme and credentials';
    for (const nodes of [
      'redis://10.0.0.1:7000,rediss://10.0.0.2:7001',
      'redis://app:one@10.0.0.1:7000,redis://app:two@10.0.0.2:7001',
      'redis://app:one@10.0.0.1:7000,redis://other:one@10.0.0.2:7001',
      'redis://app:one@10.0.0.1:7000,redis://10.0.0.2:7001',
    ])
      expect(problemsOf({ REDIS_CLUSTER_NODES: nodes })).toEqual([same]);
    // The same password, one percent-encoded: the same credentials.
    expect(
      loadConfig({
        REDIS_CLUSTER_NODES: 'rediss://app:p@ss@10.0.0.1:7000,rediss://app:p%40ss@10.0.0.2:7001',
      }).redis.clusterNodes,
    ).toEqual(['rediss://app:p@ss@10.0.0.1:7000', 'rediss://app:p%40ss@10.0.0.2:7001']);
  });

  it('names every secret a real Instagram app needs', () => {
    expect(problemsOf({ INSTAGRAM_APP_ID: '42' })).toEqual([
      'INSTAGRAM_APP_SECRET: required when INSTAGRAM_APP_ID is set (the Meta app secret)',
      'INSTAGRAM_WEBHOOK_VERIFY_TOKEN: required when INSTAGRAM_APP_ID is set (any secret string)',
      'TOKEN_ENCRYPTION_KEYS: required when INSTAGRAM_APP_ID is set (kid:base64 of 32 bytes)',
      'SESSION_SECRET: required when INSTAGRAM_APP_ID is set (at least 32 bytes)',
    ]);
  });

  it('refuses short encryption keys and malformed origins', () => {
    expect(
      problemsOf({
        TOKEN_ENCRYPTION_KEYS: 'k1:c2hvcnQ=',
        ALLOWED_ORIGINS: 'https://a.example/path',
      }),
    ).toEqual([
      'TOKEN_ENCRYPTION_KEYS: expected a comma-separated list of kid:base64key, each key 32 bytes (openssl rand -base64 32)',
      'ALLOWED_ORIGINS: expected a comma-separated list of origins, got "https://a.example/path"',
    ]);
  });

  it('requires issuer and audience with an external key set', () => {
    expect(problemsOf({ JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' })).toEqual([
      'JWT_ISSUER: required with JWT_JWKS_URL',
      'JWT_AUDIENCE: required with JWT_JWKS_URL',
    ]);
  });
});

describe('npm start with a bad environment', () => {
  it('exits 1 before listening and names the variable', () => {
    const result = spawnSync(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'nope', REDIS_URL: 'mysql://x' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT: expected a port number from 0 to 65535');
    expect(result.stderr).toContain('REDIS_URL: expected a redis:// or rediss:// URL');
    expect(result.stdout).not.toContain('GraphiQL');
  });
});
