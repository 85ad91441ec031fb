import { createHmac, randomBytes } from 'node:crypto';
import type { GraphiQLOptions } from 'graphql-yoga';
import { z } from 'zod';
import { signSession } from '../auth/jwt.ts';
import type { StoredAccount } from '../auth/token-store.ts';
import type { Config } from '../config.ts';
import { decodeId, globalId } from '../global-id.ts';
import { BodyTooLargeError, json, type Route, readBody } from '../http.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { Upstream } from '../services.ts';
import { type DemoAccount, seedDemo } from './demo.ts';
import { sandboxGraphiQL } from './graphiql.ts';
import { seededRandom, withRandom } from './ids.ts';
import { Simulator } from './simulator.ts';

export interface Sandbox {
  readonly simulator: Simulator;
  /** Where igql reaches the simulated Instagram: every host is the simulator. */
  readonly upstream: Upstream;
  /**
   * The Redis key and channel prefix of this sandbox: `REDIS_PREFIX:sandbox:<simulator id>`,
   * one per simulator (a random id it gets when first seen here). Instances sharing a simulator
   * share their state; sandboxes with their own simulators on one Redis never see each other's
   * tokens, logs or locks.
   */
  readonly redisPrefix: string;
  /** `GET /sandbox` and `POST /sandbox/inbound`: no auth, sandbox mode only. */
  readonly routes: Readonly<Record<string, Route>>;
  /** The simulated accounts and their Instagram tokens, for igql's token store. */
  accounts(): StoredAccount[];
  /**
   * Sends the simulator's webhooks to igql at `base` (`<base>/webhooks/instagram`), once igql
   * listens. A simulator the caller built keeps its own callback.
   */
  deliverWebhooksTo(base: string): void;
  /** What GraphiQL opens with: a session for the demo accounts and three example tabs. */
  graphiql(port: number): Promise<Pick<GraphiQLOptions, 'headers' | 'defaultTabs'>>;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  readonly config: Config;
  /** Default: a pino logger at `config.logLevel`. */
  readonly logger?: Logger;
  /** A simulator the caller built, seeded and started (tests); default: a new one with demo data. */
  readonly simulator?: Simulator;
}

/** A sandbox session lives 48 hours from the start of its UTC day: at least 24 hours left. */
export const SANDBOX_SESSION_TTL_S = 48 * 3600;
const DAY_S = 24 * 3600;

/**
 * The session token the sandbox hands out (`GET /sandbox`, GraphiQL): the same all day and across
 * restarts with the same SESSION_SECRET, so a saved tab or script keeps working. Issued at the
 * start of `now`'s UTC day, it expires 48 hours later: valid at least 24 hours from `now`.
 * Its `sid` (what logout revokes) and `jti` name the user and the day: a logout ends that day's
 * token only, and the next day's is a new session.
 */
export function sandboxSessionToken(
  secret: Uint8Array,
  sub: string,
  igIds: readonly string[],
  now: number = Date.now(),
): Promise<string> {
  const issuedAt = Math.floor(now / 1000 / DAY_S) * DAY_S;
  const sid = `${sub}:${new Date(issuedAt * 1000).toISOString().slice(0, 10)}`;
  return signSession(secret, { sub, accounts: igIds, sid }, SANDBOX_SESSION_TTL_S, {
    jti: sid,
    issuedAt,
  });
}

const simulatorIds = new WeakMap<Simulator, string>();

/** A simulator's identity for `Sandbox.redisPrefix`: random, the same for every instance using it. */
function simulatorId(simulator: Simulator): string {
  let id = simulatorIds.get(simulator);
  if (!id) {
    id = randomBytes(6).toString('hex');
    simulatorIds.set(simulator, id);
  }
  return id;
}

/** The seed of the demo data's ids: the same app secret, the same ids (see config.ts). */
const demoRandom = (appSecret: string) =>
  seededRandom(createHmac('sha256', appSecret).update('igql sandbox seed').digest());

const inbound = z.object({
  accountId: z.string().min(1),
  from: z
    .string()
    .regex(/^[a-z0-9._]{1,30}$/, 'an Instagram username: 1 to 30 of a-z, 0-9, . and _'),
  text: z
    .string()
    .min(1)
    .refine((t) => Buffer.byteLength(t) <= 1000, 'at most 1000 UTF-8 bytes'),
});

/** Starts the embedded Instagram simulator (with demo data unless one is given). */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  let igqlBase: string | undefined;
  const simulator =
    options.simulator ??
    new Simulator({
      appSecret: config.instagram.appSecret,
      callbackUrl: () => (igqlBase ? `${igqlBase}/webhooks/instagram` : undefined),
      latencyMs: config.sandboxOptions.latencyMs,
      rateLimits: config.sandboxOptions.rateLimits ? undefined : false,
    });
  let demo: DemoAccount[] = [];
  if (!options.simulator) {
    // Ids and tokens of the demo come from a seed, so that they survive a restart; what is
    // created afterwards draws from the CSPRNG again and never repeats an earlier run's ids.
    demo = withRandom(demoRandom(config.instagram.appSecret), () => seedDemo(simulator));
    await simulator.start();
  }
  logger.info({ graphUrl: simulator.url }, 'sandbox: simulated Instagram is up');
  /** The accounts igql stores tokens for: the demo's, or the caller's simulator's. */
  const listed = () => (demo.length > 0 ? demo : accountsOf(simulator));

  const routes: Record<string, Route> = {
    'GET /sandbox': async (_req, res) => {
      const accounts = listed();
      json(res, 200, {
        graphUrl: simulator.url,
        simulator: { requests: simulator.count() },
        accounts: await Promise.all(
          accounts.map(async ({ account, token }) => ({
            id: globalId.account(account.igId),
            igId: account.igId,
            username: account.username,
            token: await sandboxSessionToken(config.sessionSecret, `sandbox:${account.username}`, [
              account.igId,
            ]),
            instagramAccessToken: token.token,
          })),
        ),
      });
    },
    'POST /sandbox/inbound': async (req, res) => {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, 64 * 1024)).toString());
      } catch (error) {
        const tooLarge = error instanceof BodyTooLargeError;
        json(res, tooLarge ? 413 : 400, {
          error: tooLarge ? 'body too large' : 'expected a JSON body',
        });
        return;
      }
      const parsed = inbound.safeParse(body);
      if (!parsed.success) {
        json(res, 400, {
          error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        });
        return;
      }
      const { accountId, from, text } = parsed.data;
      const decoded = decodeId(accountId);
      const account =
        decoded?.typename === 'Account' ? simulator.store.accounts.get(decoded.igId) : undefined;
      if (!account) {
        json(res, 404, { error: `no sandbox account ${accountId}` });
        return;
      }
      const user = simulator.users.userNamed(account.igId, from);
      const message = simulator.users.sendMessage(account.igId, user.igsid, { text });
      json(res, 202, {
        mid: message.mid,
        messageId: globalId.message(account.igId, user.igsid, message.mid),
      });
    },
  };

  return {
    simulator,
    upstream: { graphUrl: simulator.url, oauthUrl: simulator.url, tokenUrl: simulator.url },
    redisPrefix: `${config.redis.prefix}:sandbox:${simulatorId(simulator)}`,
    routes,
    accounts: () =>
      listed().map(({ account, token }) => ({
        igId: account.igId,
        accessToken: token.token,
        status: 'ACTIVE' as const,
        issuedAt: token.issuedAt,
        expiresAt: token.expiresAt,
      })),
    deliverWebhooksTo(base) {
      igqlBase = base;
    },
    async graphiql(port) {
      const igIds = listed().map(({ account }) => account.igId);
      return sandboxGraphiQL({
        store: simulator.store,
        // The same all day and across restarts: a tab GraphiQL saved keeps working.
        session: await sandboxSessionToken(config.sessionSecret, 'sandbox:graphiql', igIds),
        igId: igIds[0] ?? '',
        customer: 'ana.costa',
        port,
      });
    },
    async stop() {
      if (!options.simulator) await simulator.stop();
    },
  };
}

function accountsOf(simulator: Simulator): DemoAccount[] {
  return [...simulator.store.accounts.values()].flatMap((account) => {
    const token = [...simulator.store.tokens.values()].find(
      (t) => t.igId === account.igId && t.kind === 'long' && !t.revoked,
    );
    return token ? [{ account, token }] : [];
  });
}
