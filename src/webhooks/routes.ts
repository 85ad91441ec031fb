import type { Counter } from 'prom-client';
import { BodyTooLargeError, json, payloadTooLarge, type Route, readBody } from '../http.ts';
import type { Logger } from '../logger.ts';
import { normalise } from './normalise.ts';
import type { Accepted, EventPipeline } from './pipeline.ts';
import { verifyChallenge, verifySignature } from './verify.ts';

/** Meta batches up to 1,000 updates a delivery; 1 MiB is far above any real one. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

/**
 * `Retry-After` of a delivery refused because another delivery of one of its events holds the
 * claim (`Deduper.claim` answered `pending`): that one usually stores it within milliseconds;
 * if it fails, its claim lapses after `DEDUPE_PENDING_SECONDS`.
 */
export const PENDING_RETRY_AFTER_S = 5;

export interface WebhookRouteOptions {
  /** Signs Instagram Login's deliveries: the Instagram app secret (`INSTAGRAM_APP_SECRET`). */
  readonly appSecret: string;
  /**
   * Signs Facebook Login's deliveries (`object: "instagram"` too, one callback for both): the
   * Facebook app secret (`FACEBOOK_APP_SECRET`). A delivery signed with either secret is
   * accepted. Default: none (only `appSecret`).
   */
  readonly facebookAppSecret?: string;
  readonly verifyToken: string;
  readonly pipeline: EventPipeline;
  readonly logger: Logger;
  /** `igql_webhook_deliveries_total{outcome}`. */
  readonly deliveries: Counter<'outcome'>;
  /**
   * Largest delivery body (`MAX_BODY_BYTES`); a larger one answers 413 PAYLOAD_TOO_LARGE.
   * Default `MAX_WEBHOOK_BYTES`.
   */
  readonly bodyBytes?: number;
}

/**
 * `GET /webhooks/instagram`: the subscription handshake. `POST`: a delivery, signed over its raw
 * bytes, stored and published before the 200 (well inside Meta's time-out); 503 when Redis
 * could not take it, or when another delivery of one of its events is still storing that event
 * (with `Retry-After`), so that Meta delivers it again: never a 200 for an event not stored.
 */
export function webhookRoutes(o: WebhookRouteOptions): Record<string, Route> {
  return {
    'GET /webhooks/instagram': (req, res) => {
      const query = new URL(req.url ?? '/', 'http://igql').searchParams;
      const challenge = verifyChallenge(query, o.verifyToken);
      if (challenge === undefined) {
        o.deliveries.inc({ outcome: 'handshake_refused' });
        json(res, 403, { error: 'verification failed' });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(challenge);
    },
    'POST /webhooks/instagram': async (req, res) => {
      const limit = o.bodyBytes ?? MAX_WEBHOOK_BYTES;
      let raw: Buffer;
      try {
        raw = await readBody(req, limit);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        o.deliveries.inc({ outcome: 'too_large' });
        // What follows is drained, not kept: the connection serves Meta's next delivery.
        payloadTooLarge(res, limit);
        return;
      }
      const header = req.headers['x-hub-signature-256'];
      const signature = typeof header === 'string' ? header : undefined;
      const signed =
        verifySignature(raw, signature, o.appSecret) ||
        (o.facebookAppSecret !== undefined && verifySignature(raw, signature, o.facebookAppSecret));
      if (!signed) {
        o.deliveries.inc({ outcome: 'bad_signature' });
        o.logger.warn(
          { bytes: raw.length },
          'webhook refused: missing or wrong X-Hub-Signature-256',
        );
        json(res, 401, { error: 'invalid signature' });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        o.deliveries.inc({ outcome: 'malformed' });
        o.logger.error(
          { bytes: raw.length, start: raw.subarray(0, 200).toString() },
          'signed webhook is not JSON',
        );
        json(res, 400, { error: 'body is not JSON' });
        return;
      }
      let stored: Accepted;
      try {
        // Stored, then published (and confirmed) before the 200: what Meta sees acknowledged
        // has reached the bus, so a Redis that dies now (and may come back empty, without the
        // log) loses nothing acknowledged.
        stored = await o.pipeline.accept(normalise(body, Date.now()));
      } catch (error) {
        // Not stored: a 5xx makes Meta deliver it again.
        o.deliveries.inc({ outcome: 'store_failed' });
        o.logger.error({ err: error }, 'webhook events could not be stored; Meta will retry');
        json(res, 503, { error: 'could not store the events; retry' });
        return;
      }
      if (!stored.published) {
        o.deliveries.inc({ outcome: 'publish_failed' });
        json(res, 503, { error: 'could not publish the events; retry' });
        return;
      }
      if (stored.pending > 0) {
        // Another delivery holds the claim and may yet fail: only a redelivery of this one is
        // sure to find the event stored (a duplicate) or its claim lapsed (stored then).
        o.deliveries.inc({ outcome: 'pending' });
        res.writeHead(503, {
          'content-type': 'application/json; charset=utf-8',
          'retry-after': String(PENDING_RETRY_AFTER_S),
        });
        res.end(
          JSON.stringify({ error: 'these events are being stored by another delivery; retry' }),
        );
        return;
      }
      o.deliveries.inc({ outcome: 'accepted' });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('EVENT_RECEIVED');
    },
  };
}
