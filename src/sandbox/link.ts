import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { type DemoAccount, seedDemo } from './demo.ts';
import { seededRandom, withRandom } from './ids.ts';
import { Simulator } from './simulator.ts';
import type { SimMedia } from './store.ts';

/**
 * A simulated account and its token, as igql's sandbox lists it: a long-lived Instagram token, or
 * for an account of Facebook Login (`loginKind` FACEBOOK) its Page's token, which never expires.
 */
export interface LinkedAccount {
  readonly igId: string;
  readonly username: string;
  readonly accessToken: string;
  readonly issuedAt: number;
  /** Absent for a Page token. */
  readonly expiresAt?: number;
  /** Absent: `INSTAGRAM`. */
  readonly loginKind?: 'FACEBOOK';
  /** Facebook Login: the Page the account is linked to. */
  readonly pageId?: string;
}

/** What the simulator reports at a glance: its request count and its accounts with tokens. */
export interface SimulatorState {
  /** Graph API requests served so far. */
  readonly requests: number;
  readonly accounts: readonly LinkedAccount[];
}

/**
 * Everything igql's sandbox asks of a simulator, the same whether it runs in igql's process
 * (`localLink`) or apart (`connectSimulator` in control.ts, over the simulator's control surface).
 */
export interface SimulatorLink {
  /** The base URL without version: igql's Graph, OAuth and token host. */
  readonly url: string;
  /** The Meta app id its OAuth expects as `client_id`. */
  readonly appId: string;
  /** Random, one per simulator: every igql using it shares `REDIS_PREFIX:sandbox:<id>`. */
  readonly id: string;
  state(): Promise<SimulatorState>;
  /** The IGSID of an account's customer, by username; undefined when there is none. */
  customer(igId: string, username: string): Promise<string | undefined>;
  /**
   * A customer (created on first use) writes to the account: the message arrives at the callback
   * as a webhook. Undefined when the simulator has no such account.
   */
  inbound(
    igId: string,
    from: string,
    text: string,
  ): Promise<{ readonly mid: string; readonly igsid: string } | undefined>;
  /**
   * A customer (created on first use) comments on the account's media `mediaId`, or on its latest
   * post or reel when none is given: the `comments` webhook arrives at the callback. Undefined
   * when the simulator has no such account, or the account no such media (none at all).
   */
  comment(
    igId: string,
    from: string,
    text: string,
    mediaId?: string,
  ): Promise<CommentResult | undefined>;
  /**
   * The app's one webhook callback URL, as on Meta: the last registered replaces any earlier, and
   * each webhook is delivered once, there.
   */
  setCallback(url: string): Promise<void>;
}

/** What a customer may write through `POST /sandbox/inbound`: checked by igql and the simulator. */
export const inboundMessage = z.object({
  from: z
    .string()
    .regex(/^[a-z0-9._]{1,30}$/, 'an Instagram username: 1 to 30 of a-z, 0-9, . and _'),
  text: z
    .string()
    .min(1)
    .refine((t) => Buffer.byteLength(t) <= 1000, 'at most 1000 UTF-8 bytes'),
});

/** What `SimulatorLink.comment` answers. */
export type CommentResult =
  | { readonly commentId: string; readonly mediaId: string; readonly igsid: string }
  /** The media has comments turned off: Instagram lets nobody comment. */
  | { readonly refused: string };

/** What a customer may comment through `POST /sandbox/comment`: checked by igql and the simulator. */
export const customerComment = z.object({
  from: inboundMessage.shape.from,
  // Instagram's limit for a comment: 2,200 characters (the same as a caption; UNCONFIRMED).
  text: z.string().min(1).max(2200),
  mediaId: z.string().regex(/^\d+$/, 'an Instagram media id (digits)').optional(),
});

/** The seed of the demo data's ids: the same app secret, the same ids (see config.ts). */
const demoRandom = (appSecret: string) =>
  seededRandom(createHmac('sha256', appSecret).update('igql sandbox seed').digest());

/**
 * A simulator (not started) with the sandbox's demo data, signing webhooks with the app secret and
 * sending them to `callbackUrl()`: the same ids and tokens for the same app secret.
 */
export function demoSimulator(
  config: Config,
  callbackUrl: () => string | undefined,
): { simulator: Simulator; demo: DemoAccount[] } {
  const simulator = new Simulator({
    appSecret: config.instagram.appSecret,
    // Facebook Login's webhooks and appsecret_proof: the same secret unless FACEBOOK_APP_SECRET.
    facebookAppSecret: config.facebook.appSecret,
    callbackUrl,
    latencyMs: config.sandboxOptions.latencyMs,
    rateLimits: config.sandboxOptions.rateLimits ? undefined : false,
  });
  // Ids and tokens of the demo come from a seed, so that they survive a restart; what is
  // created afterwards draws from the CSPRNG again and never repeats an earlier run's ids.
  const demo = withRandom(demoRandom(config.instagram.appSecret), () => seedDemo(simulator));
  return { simulator, demo };
}

const simulatorIds = new WeakMap<Simulator, string>();

/** A simulator's identity for `SimulatorLink.id`: random, the same for every igql using it. */
function simulatorId(simulator: Simulator): string {
  let id = simulatorIds.get(simulator);
  if (!id) {
    id = randomBytes(6).toString('hex');
    simulatorIds.set(simulator, id);
  }
  return id;
}

/**
 * Every account of a simulator with a live token of its configuration: for an account served
 * with Facebook Login its Page's token, else a long-lived Instagram token (the same preference
 * as `Routing.ownAppIdOf`).
 */
export function accountsOf(simulator: Simulator): DemoAccount[] {
  return [...simulator.store.accounts.values()].flatMap((account) => {
    const page = simulator.store.pageOf(account.igId);
    // The simulator's own app's tokens (another app's act as that app). An account of Instagram
    // Login may be linked to a Page too: its Instagram token serves it then.
    const live = [...simulator.store.tokens.values()].filter(
      (t) => t.appId === undefined && !t.revoked,
    );
    const token =
      live.find((t) => page !== undefined && t.pageId === page.id && t.kind === 'page') ??
      live.find((t) => t.igId === account.igId && t.kind === 'long');
    return token ? [{ account, token }] : [];
  });
}

/** An account of the simulator's store as the link lists it. */
export const linked = ({ account, token }: DemoAccount): LinkedAccount =>
  token.pageId === undefined
    ? {
        igId: account.igId,
        username: account.username,
        accessToken: token.token,
        issuedAt: token.issuedAt,
        expiresAt: token.expiresAt,
      }
    : {
        igId: account.igId,
        username: account.username,
        accessToken: token.token,
        issuedAt: token.issuedAt,
        loginKind: 'FACEBOOK',
        pageId: token.pageId,
      };

/**
 * The link to a simulator in this process (started). `listed`: the accounts igql uses;
 * `setCallback`: where the caller keeps the callback URL its simulator reads.
 */
export function localLink(
  simulator: Simulator,
  listed: () => readonly DemoAccount[],
  setCallback: (url: string) => void,
): SimulatorLink {
  return {
    url: simulator.url,
    appId: simulator.appId,
    id: simulatorId(simulator),
    async state() {
      return { requests: simulator.count(), accounts: listed().map(linked) };
    },
    async customer(igId, username) {
      return simulator.store.userByUsername(igId, username)?.igsid;
    },
    async inbound(igId, from, text) {
      if (!simulator.store.accounts.has(igId)) return undefined;
      const user = simulator.users.userNamed(igId, from);
      const message = simulator.users.sendMessage(igId, user.igsid, { text });
      return { mid: message.mid, igsid: user.igsid };
    },
    async comment(igId, from, text, mediaId) {
      if (!simulator.store.accounts.has(igId)) return undefined;
      const media =
        mediaId === undefined ? latestPost(simulator, igId) : simulator.store.media.get(mediaId);
      if (!media || media.accountIgId !== igId || media.parentId !== undefined) return undefined;
      if (!media.commentsEnabled)
        return { refused: `comments are turned off on media ${media.id}` };
      const user = simulator.users.userNamed(igId, from);
      const comment = simulator.users.comment(igId, media.id, user.igsid, text);
      return { commentId: comment.id, mediaId: media.id, igsid: user.igsid };
    },
    async setCallback(url) {
      setCallback(url);
    },
  };
}

/** The account's newest post or reel (stories and carousel items are not commented on here). */
function latestPost(simulator: Simulator, igId: string) {
  let latest: SimMedia | undefined;
  for (const media of simulator.store.media.values()) {
    if (media.accountIgId !== igId || media.parentId !== undefined) continue;
    if (media.mediaProductType === 'STORY') continue;
    if (!latest || media.timestamp >= latest.timestamp) latest = media;
  }
  return latest;
}
