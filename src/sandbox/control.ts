import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BodyTooLargeError, json, type Route, readBody } from '../http.ts';
import {
  type CommentResult,
  customerComment,
  inboundMessage,
  type SimulatorLink,
  type SimulatorState,
} from './link.ts';

/**
 * The control surface of a simulator running apart (`npm run simulator`): what igql's sandbox
 * asks of a simulator in its own process, over HTTP beside the Graph API.
 *
 * - `GET /control`: `{ id, appId, requests, accounts }` (accounts with their Instagram tokens).
 * - `GET /control/customer?igId=&username=`: `{ igsid }`, or 404.
 * - `PUT /control/callback` `{ url }`: the app's one webhook callback URL; the last one wins.
 * - `POST /control/inbound` `{ igId, from, text }`: a customer writes; 202 `{ mid, igsid }`, or 404.
 * - `POST /control/comment` `{ igId, from, text, mediaId? }`: a customer comments; 202
 *   `{ commentId, mediaId, igsid }`, 200 `{ refused }` (comments turned off), or 404.
 *
 * Every request is signed with the app secret, as Meta's `appsecret_proof` is: the header
 * `x-simulator-signature: t=<ms>,sha256=<hex>`, an HMAC-SHA256 of `<t>\n<METHOD>\n<path and
 * query>\n<body>`, within 5 minutes of the simulator's clock; anything else gets 401. igql and
 * the simulator must share the app secret anyway (webhooks are signed with it), and the surface
 * hands out Instagram tokens and points the simulator's webhooks at any URL: being on loopback is
 * not enough on a shared machine. With the documented sandbox secret this keeps out nobody who
 * reads the README, as `GET /sandbox` does not either; set INSTAGRAM_APP_SECRET for both to make it
 * private.
 */
export const SIGNATURE_HEADER = 'x-simulator-signature';

/** How far a signature's time may be from the simulator's clock. */
const SIGNATURE_WINDOW_MS = 5 * 60_000;
/** Largest control body: an inbound message is at most 1000 bytes of text. */
const CONTROL_BODY_BYTES = 64 * 1024;

const hmac = (appSecret: string, t: number, method: string, path: string, body: string) =>
  createHmac('sha256', appSecret).update(`${t}\n${method}\n${path}\n${body}`).digest();

/** The `x-simulator-signature` value of one control request. */
export function signControl(
  appSecret: string,
  method: string,
  path: string,
  body: string,
  now: number = Date.now(),
): string {
  return `t=${now},sha256=${hmac(appSecret, now, method, path, body).toString('hex')}`;
}

function verified(appSecret: string, req: IncomingMessage, body: string, now: number): boolean {
  const header = req.headers[SIGNATURE_HEADER];
  const match = typeof header === 'string' ? /^t=(\d+),sha256=([0-9a-f]{64})$/.exec(header) : null;
  if (!match) return false;
  const t = Number(match[1]);
  if (Math.abs(now - t) > SIGNATURE_WINDOW_MS) return false;
  const expected = hmac(appSecret, t, req.method ?? '', req.url ?? '', body);
  return timingSafeEqual(expected, Buffer.from(match[2] ?? '', 'hex'));
}

type Handler = (body: unknown, url: URL, res: ServerResponse) => Promise<void>;

/** A control route: the body read (bounded) and the signature checked before `handler` runs. */
const signed =
  (appSecret: string, handler: Handler): Route =>
  async (req, res) => {
    let raw: string;
    try {
      raw = (await readBody(req, CONTROL_BODY_BYTES)).toString();
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      json(res, 413, { error: 'body too large' });
      return;
    }
    if (!verified(appSecret, req, raw, Date.now())) {
      json(res, 401, { error: `expected ${SIGNATURE_HEADER} signed with the app secret` });
      return;
    }
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      json(res, 400, { error: 'expected a JSON body' });
      return;
    }
    await handler(body, new URL(req.url ?? '/', 'http://simulator'), res);
  };

const callbackBody = z.object({
  url: z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)),
});
const inboundBody = inboundMessage.extend({ igId: z.string().regex(/^\d+$/) });
const commentBody = customerComment.extend({ igId: z.string().regex(/^\d+$/) });

/** The control routes of a simulator (`Simulator.serve`), answering for `link`. */
export function controlRoutes(link: SimulatorLink, appSecret: string): Record<string, Route> {
  const invalid = (res: ServerResponse, error: z.ZodError) =>
    json(res, 400, {
      error: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  return {
    'GET /control': signed(appSecret, async (_body, _url, res) => {
      json(res, 200, { id: link.id, appId: link.appId, ...(await link.state()) });
    }),
    'GET /control/customer': signed(appSecret, async (_body, url, res) => {
      const igsid = await link.customer(
        url.searchParams.get('igId') ?? '',
        url.searchParams.get('username') ?? '',
      );
      if (igsid) json(res, 200, { igsid });
      else json(res, 404, { error: 'no such customer' });
    }),
    'PUT /control/callback': signed(appSecret, async (body, _url, res) => {
      const parsed = callbackBody.safeParse(body);
      if (!parsed.success) return invalid(res, parsed.error);
      await link.setCallback(parsed.data.url);
      res.writeHead(204).end();
    }),
    'POST /control/inbound': signed(appSecret, async (body, _url, res) => {
      const parsed = inboundBody.safeParse(body);
      if (!parsed.success) return invalid(res, parsed.error);
      const { igId, from, text } = parsed.data;
      const sent = await link.inbound(igId, from, text);
      if (sent) json(res, 202, sent);
      else json(res, 404, { error: `no account ${igId}` });
    }),
    'POST /control/comment': signed(appSecret, async (body, _url, res) => {
      const parsed = commentBody.safeParse(body);
      if (!parsed.success) return invalid(res, parsed.error);
      const { igId, from, text, mediaId } = parsed.data;
      const made = await link.comment(igId, from, text, mediaId);
      if (!made) json(res, 404, { error: `no media to comment on for account ${igId}` });
      else json(res, 'refused' in made ? 200 : 202, made);
    }),
  };
}

/** A simulator apart that cannot be reached, refuses igql's signature, or answers oddly. */
export class SimulatorLinkError extends Error {
  override readonly name = 'SimulatorLinkError';
}

/**
 * The link to a simulator running apart at `url` (SANDBOX_SIMULATOR_URL), over its control
 * surface, signed with `appSecret`. Reads its identity and app id once; throws
 * `SimulatorLinkError` when it cannot.
 */
export async function connectSimulator(url: string, appSecret: string): Promise<SimulatorLink> {
  /** One signed control call: its status and JSON body (undefined for 204). */
  const call = async (method: string, path: string, payload?: unknown) => {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signControl(appSecret, method, path, body),
        },
        ...(body === '' ? {} : { body }),
      });
    } catch (error) {
      const { cause } = error as { cause?: { code?: string; message?: string } };
      const why = cause?.code ?? cause?.message ?? String(error);
      throw new SimulatorLinkError(
        `the simulator at ${url} (SANDBOX_SIMULATOR_URL) cannot be reached (${why}): start it with \`npm run simulator\``,
      );
    }
    if (res.status === 401) {
      throw new SimulatorLinkError(
        `the simulator at ${url} refused igql's signature: start both with the same INSTAGRAM_APP_SECRET`,
      );
    }
    const text = await res.text();
    if (res.status < 300 || res.status === 404) {
      try {
        return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
      } catch {}
    }
    throw new SimulatorLinkError(
      `the simulator at ${url} answered ${method} ${path} with ${res.status}: is it \`npm run simulator\`?`,
    );
  };
  const state = async () => {
    const { status, body } = await call('GET', '/control');
    if (status !== 200) {
      throw new SimulatorLinkError(
        `${url} (SANDBOX_SIMULATOR_URL) has no simulator control surface: is it \`npm run simulator\`?`,
      );
    }
    return body as SimulatorState & { readonly id: string; readonly appId: string };
  };
  const first = await state();
  return {
    url,
    appId: first.appId,
    id: first.id,
    async state() {
      const { requests, accounts } = await state();
      return { requests, accounts };
    },
    async customer(igId, username) {
      const query = new URLSearchParams({ igId, username });
      const { status, body } = await call('GET', `/control/customer?${query}`);
      return status === 200 ? (body as { igsid: string }).igsid : undefined;
    },
    async inbound(igId, from, text) {
      const { status, body } = await call('POST', '/control/inbound', { igId, from, text });
      return status === 202 ? (body as { mid: string; igsid: string }) : undefined;
    },
    async comment(igId, from, text, mediaId) {
      const { status, body } = await call('POST', '/control/comment', {
        igId,
        from,
        text,
        ...(mediaId === undefined ? {} : { mediaId }),
      });
      return status === 404 ? undefined : (body as CommentResult);
    },
    async setCallback(callbackUrl) {
      await call('PUT', '/control/callback', { url: callbackUrl });
    },
  };
}
