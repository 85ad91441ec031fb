import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphiQLOptions } from 'graphql-yoga';
import { z } from 'zod';
import { signSession } from '../auth/jwt.ts';
import type { StoredAccount } from '../auth/token-store.ts';
import type { Config } from '../config.ts';
import { decodeId, globalId } from '../global-id.ts';
import { BodyTooLargeError, json, type Route, readBody } from '../http.ts';
import { sandboxPrefix } from '../keys.ts';
import { createLogger, type Logger } from '../logger.ts';
import { instagramIdOf } from '../media/ids.ts';
import type { Upstream } from '../services.ts';
import { connectSimulator, SimulatorLinkError } from './control.ts';
import type { DemoAccount } from './demo.ts';
import { sandboxGraphiQL } from './graphiql.ts';
import { inboxRoutes } from './inbox.ts';
import {
  accountsOf,
  customerComment,
  demoSimulator,
  inboundMessage,
  type LinkedAccount,
  linked,
  localLink,
  type SimulatorLink,
} from './link.ts';
import { FACEBOOK_PREFIX, type Simulator } from './simulator.ts';

export interface Sandbox {
  /** The simulator in this process; undefined when igql uses one apart (SANDBOX_SIMULATOR_URL). */
  readonly simulator: Simulator | undefined;
  /** The Meta app id the simulator's OAuth expects as `client_id`. */
  readonly appId: string;
  /** Where igql reaches the simulated Instagram: every host is the simulator. */
  readonly upstream: Upstream;
  /**
   * The Redis key and channel prefix of this sandbox: `REDIS_PREFIX:sandbox:<simulator id>`,
   * one per simulator (a random id it gets when first seen here). Instances sharing a simulator
   * share their state; sandboxes with their own simulators on one Redis never see each other's
   * tokens, logs or locks.
   */
  readonly redisPrefix: string;
  /**
   * `GET /sandbox`, `POST /sandbox/inbound`, `POST /sandbox/comment` and the example inbox
   * (`GET /sandbox/inbox`): no auth, sandbox mode only.
   */
  readonly routes: Readonly<Record<string, Route>>;
  /**
   * The simulated accounts and their tokens, for igql's token store (Instagram tokens, or for an
   * account of Facebook Login its Page's token with `loginKind` and `pageId`): of a simulator
   * apart, as it listed them when igql connected.
   */
  accounts(): StoredAccount[];
  /**
   * Sends the simulator's webhooks to igql at `base` (`<base>/webhooks/instagram`), once igql
   * listens. A simulator the caller built keeps its own callback. A simulator apart has one
   * callback, as a Meta app does: the igql that registered last gets every webhook.
   */
  deliverWebhooksTo(base: string): Promise<void>;
  /** What GraphiQL opens with: a session for the demo accounts and three example tabs. */
  graphiql(port: number): Promise<Pick<GraphiQLOptions, 'headers' | 'defaultTabs'>>;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  readonly config: Config;
  /** Default: a pino logger at `config.logLevel`. */
  readonly logger?: Logger;
  /**
   * A simulator the caller built, seeded and started (tests). Default: the one at
   * `config.simulator.url` (SANDBOX_SIMULATOR_URL), else a new one with demo data.
   */
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

const inbound = inboundMessage.extend({ accountId: z.string().min(1) });
const comment = customerComment.extend({
  accountId: z.string().min(1),
  mediaId: z.string().min(1).optional(),
});

/**
 * Starts the sandbox: igql's way to the simulated Instagram. With a simulator given, that one; else
 * with SANDBOX_SIMULATOR_URL, the simulator running apart there (throws `SimulatorLinkError` when
 * it cannot be used); else a new simulator in this process, with demo data.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  if (!options.simulator && config.simulator.url) {
    const link = await connectSimulator(config.simulator.url, config.instagram.appSecret);
    // igql stores these tokens once, at start; `GET /sandbox` asks the simulator every time.
    const { accounts } = await link.state();
    logger.info({ graphUrl: link.url }, 'sandbox: using the simulated Instagram running apart');
    return sandboxOver({ config, link, simulator: undefined, listed: () => accounts });
  }
  let callback: string | undefined;
  let simulator = options.simulator;
  let demo: DemoAccount[] = [];
  if (!simulator) {
    ({ simulator, demo } = demoSimulator(config, () => callback));
    await simulator.start();
  }
  const own = simulator;
  logger.info({ graphUrl: own.url }, 'sandbox: simulated Instagram is up');
  /** The accounts igql stores tokens for: the demo's, or the caller's simulator's. */
  const listed = () => (demo.length > 0 ? demo : accountsOf(own));
  const link = localLink(own, listed, (url) => {
    callback = url;
  });
  const sandbox = sandboxOver({
    config,
    link,
    simulator: own,
    listed: () => listed().map(linked),
  });
  return {
    ...sandbox,
    async stop() {
      if (!options.simulator) await own.stop();
    },
  };
}

/** The sandbox over a link: its routes, accounts, callback and GraphiQL defaults. */
function sandboxOver(options: {
  readonly config: Config;
  readonly link: SimulatorLink;
  readonly simulator: Simulator | undefined;
  /** The accounts igql stores tokens for. */
  readonly listed: () => readonly LinkedAccount[];
}): Sandbox {
  const { config, link, listed } = options;
  /** A route that answers 502 when a simulator apart fails it. */
  const linkRoute =
    (route: Route): Route =>
    async (req, res) => {
      try {
        await route(req, res);
      } catch (error) {
        if (!(error instanceof SimulatorLinkError) || res.headersSent) throw error;
        json(res, 502, { error: error.message });
      }
    };

  const routes: Record<string, Route> = {
    'GET /sandbox': linkRoute(async (_req, res) => {
      const { requests, accounts } = await link.state();
      json(res, 200, {
        graphUrl: link.url,
        simulator: { requests },
        accounts: await Promise.all(
          accounts.map(async (account) => ({
            id: globalId.account(account.igId),
            igId: account.igId,
            username: account.username,
            token: await sandboxSessionToken(config.sessionSecret, `sandbox:${account.username}`, [
              account.igId,
            ]),
            // Its Graph token, to call the simulator directly: Instagram Login's, for
            // graph.instagram.com (`graphUrl`); an account of Facebook Login says so, names its
            // Page and gives the Page's token, for graph.facebook.com (`<graphUrl>/facebook`).
            ...(account.loginKind === undefined
              ? { instagramAccessToken: account.accessToken }
              : {
                  loginKind: account.loginKind,
                  pageId: account.pageId,
                  pageAccessToken: account.accessToken,
                }),
          })),
        ),
      });
    }),
    'POST /sandbox/inbound': linkRoute(async (req, res) => {
      const parsed = await parseBody(req, res, inbound);
      if (!parsed) return;
      const { accountId, from, text } = parsed;
      const decoded = decodeId(accountId);
      const sent =
        decoded?.typename === 'Account' ? await link.inbound(decoded.igId, from, text) : undefined;
      if (!decoded || !sent) {
        json(res, 404, { error: `no sandbox account ${accountId}` });
        return;
      }
      json(res, 202, {
        mid: sent.mid,
        messageId: globalId.message(decoded.igId, sent.igsid, sent.mid),
      });
    }),
    'POST /sandbox/comment': linkRoute(async (req, res) => {
      const parsed = await parseBody(req, res, comment);
      if (!parsed) return;
      const { accountId, from, text } = parsed;
      const decoded = decodeId(accountId);
      if (decoded?.typename !== 'Account') {
        json(res, 404, { error: `no sandbox account ${accountId}` });
        return;
      }
      const { igId } = decoded;
      // A `Media.id` of the account, or Instagram's media id.
      const mediaId =
        parsed.mediaId === undefined ? undefined : instagramIdOf(igId, 'Media', parsed.mediaId);
      if (mediaId !== undefined && mediaId !== null && !/^\d+$/.test(mediaId)) {
        json(res, 400, { error: 'mediaId: a Media.id or an Instagram media id' });
        return;
      }
      const made = mediaId === null ? undefined : await link.comment(igId, from, text, mediaId);
      if (!made) {
        json(res, 404, {
          error:
            parsed.mediaId === undefined
              ? `no sandbox account ${accountId} with a post to comment on`
              : `no media ${parsed.mediaId} of sandbox account ${accountId}`,
        });
        return;
      }
      if ('refused' in made) {
        json(res, 400, { error: made.refused });
        return;
      }
      json(res, 202, {
        commentId: made.commentId,
        id: globalId.comment(igId, made.commentId),
        mediaId: made.mediaId,
        customerId: globalId.participant(igId, made.igsid),
      });
    }),
    ...inboxRoutes(),
  };

  return {
    simulator: options.simulator,
    appId: link.appId,
    upstream: {
      graphUrl: link.url,
      oauthUrl: link.url,
      tokenUrl: link.url,
      facebookGraphUrl: `${link.url}/${FACEBOOK_PREFIX}`,
      facebookOauthUrl: `${link.url}/${FACEBOOK_PREFIX}`,
    },
    redisPrefix: sandboxPrefix(config.redis.prefix, link.id),
    routes,
    accounts: () =>
      listed().map((account) => ({
        igId: account.igId,
        accessToken: account.accessToken,
        status: 'ACTIVE' as const,
        issuedAt: account.issuedAt,
        ...(account.expiresAt === undefined ? {} : { expiresAt: account.expiresAt }),
        // Facebook Login: the Page's token, used on graph.facebook.com (the simulator's /facebook).
        ...(account.loginKind === undefined
          ? {}
          : { loginKind: account.loginKind, pageId: account.pageId }),
      })),
    async deliverWebhooksTo(base) {
      await link.setCallback(`${base}/webhooks/instagram`);
    },
    async graphiql(port) {
      const igIds = listed().map((account) => account.igId);
      const igId = igIds[0] ?? '';
      return sandboxGraphiQL({
        // The same all day and across restarts: a tab GraphiQL saved keeps working.
        session: await sandboxSessionToken(config.sessionSecret, 'sandbox:graphiql', igIds),
        igId,
        customerIgsid: await link.customer(igId, 'ana.costa'),
        port,
      });
    },
    async stop() {},
  };
}

/** A route's JSON body checked by `schema`; undefined once it answered 400 or 413. */
async function parseBody<T>(
  req: IncomingMessage,
  res: ServerResponse,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, 64 * 1024)).toString());
  } catch (error) {
    const tooLarge = error instanceof BodyTooLargeError;
    json(res, tooLarge ? 413 : 400, {
      error: tooLarge ? 'body too large' : 'expected a JSON body',
    });
    return undefined;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    json(res, 400, {
      error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
    return undefined;
  }
  return parsed.data;
}
