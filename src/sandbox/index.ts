import { z } from 'zod';
import { signSession } from '../auth/session.ts';
import type { StoredAccount } from '../auth/token-store.ts';
import type { Config } from '../config.ts';
import { decodeId, globalId } from '../global-id.ts';
import { BodyTooLargeError, json, type Route, readBody } from '../http.ts';
import type { Logger } from '../logger.ts';
import { type DemoAccount, seedDemo } from './demo.ts';
import { Simulator } from './simulator.ts';

export interface Sandbox {
  readonly simulator: Simulator;
  /** `GET /sandbox` and `POST /sandbox/inbound`: no auth, sandbox mode only. */
  readonly routes: Readonly<Record<string, Route>>;
  /** The simulated accounts and their Instagram tokens, for igql's token store. */
  accounts(): StoredAccount[];
  stop(): Promise<void>;
}

export interface SandboxOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** igql's own base URL once it listens: webhooks go to `<base>/webhooks/instagram`. */
  readonly igqlUrl: () => string;
  /** A simulator the caller built, seeded and started (tests); default: a new one with demo data. */
  readonly simulator?: Simulator;
}

const SESSION_TTL_S = 24 * 3600;

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
  const { config, logger } = options;
  const simulator =
    options.simulator ??
    new Simulator({
      appSecret: config.instagram.appSecret,
      callbackUrl: () => `${options.igqlUrl()}/webhooks/instagram`,
      latencyMs: config.sandboxOptions.latencyMs,
      rateLimits: config.sandboxOptions.rateLimits ? undefined : false,
    });
  let demo: DemoAccount[] = [];
  if (!options.simulator) {
    demo = seedDemo(simulator);
    await simulator.start();
  }
  logger.info({ graphUrl: simulator.url }, 'sandbox: simulated Instagram is up');

  const routes: Record<string, Route> = {
    'GET /sandbox': async (_req, res) => {
      const accounts = demo.length > 0 ? demo : accountsOf(simulator);
      json(res, 200, {
        graphUrl: simulator.url,
        simulator: { requests: simulator.count() },
        accounts: await Promise.all(
          accounts.map(async ({ account, token }) => ({
            id: globalId.account(account.igId),
            igId: account.igId,
            username: account.username,
            token: await signSession(
              config.sessionSecret,
              { sub: `sandbox:${account.username}`, accounts: [account.igId] },
              SESSION_TTL_S,
            ),
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
    routes,
    accounts: () =>
      (demo.length > 0 ? demo : accountsOf(simulator)).map(({ account, token }) => ({
        igId: account.igId,
        accessToken: token.token,
        status: 'ACTIVE' as const,
        issuedAt: token.issuedAt,
        expiresAt: token.expiresAt,
      })),
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
