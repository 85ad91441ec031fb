import { createHmac } from 'node:crypto';
import { Simulator, type SimulatorOptions } from '../../src/sandbox/simulator.ts';
import {
  createClock,
  type SimAccount,
  type SimPage,
  type SimToken,
} from '../../src/sandbox/store.ts';
import { APP_SECRET, FACEBOOK_APP_SECRET, T0 } from './gateway.ts';

/**
 * The two configurations an account may log in with (issue 19): Instagram Login
 * (graph.instagram.com, an Instagram token) and Facebook Login (graph.facebook.com, the token of
 * the Page the account is linked to). Suites whose behaviour is the same for both run once for
 * each: `describe.each`.
 */
export const CONFIGURATIONS = ['INSTAGRAM', 'FACEBOOK'] as const;
export type Configuration = (typeof CONFIGURATIONS)[number];

export interface SeededAccount {
  readonly account: SimAccount;
  readonly token: SimToken;
  /** Facebook Login: the Page the account is linked to. */
  readonly page?: SimPage;
}

/** Creates an account of `kind` in the simulator: `addAccount`, or `addFacebookAccount`. */
export function addAccountOf(
  sim: Simulator,
  kind: Configuration,
  fields: Parameters<Simulator['addAccount']>[0],
): SeededAccount {
  return kind === 'FACEBOOK' ? sim.addFacebookAccount(fields) : sim.addAccount(fields);
}

/**
 * The endpoints (method and template, as the simulator's faults and counts name them) of the
 * account's own reads: Instagram Login's `/me`, Facebook Login's `/<IG_ID>` and `/<PAGE_ID>/…`.
 */
export const endpointsOf = (kind: Configuration) =>
  kind === 'FACEBOOK'
    ? { account: 'GET /{id}', conversations: 'GET /{id}/conversations' }
    : { account: 'GET /me', conversations: 'GET /me/conversations' };

/**
 * What igql adds to the query of each graph.facebook.com call with `token`: its
 * `appsecret_proof`, made with the Facebook app's secret (test/helpers/gateway.ts's unless
 * `appSecret`). Nothing for Instagram Login.
 */
export const proofOf = (
  kind: Configuration,
  token: string,
  appSecret = FACEBOOK_APP_SECRET,
): { appsecret_proof?: string } =>
  kind === 'FACEBOOK'
    ? { appsecret_proof: createHmac('sha256', appSecret).update(token).digest('hex') }
    : {};

/** The token igql holds for the account `igId` (its Page's token for Facebook Login). */
export function tokenOf(sim: Simulator, igId: string): string {
  const tokens = [...sim.store.tokens.values()].filter((t) => t.igId === igId && !t.revoked);
  const token = tokens.at(-1);
  if (!token) throw new Error(`no token for ${igId}`);
  return token.token;
}

/**
 * A simulator on its own (not started), as test/helpers/gateway.ts's: the Instagram app and the
 * Facebook app with their own secrets (`APP_SECRET`, `FACEBOOK_APP_SECRET`), its clock frozen at
 * T0, its limits lifted; `options` over these.
 */
export const newSimulator = (options: Partial<SimulatorOptions> = {}): Simulator =>
  new Simulator({
    appSecret: APP_SECRET,
    facebookAppSecret: FACEBOOK_APP_SECRET,
    rateLimits: false,
    clock: createClock(T0, true),
    ...options,
  });
