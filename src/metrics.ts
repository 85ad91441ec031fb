import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Every call to graph.instagram.com, by method, endpoint template and outcome. */
  readonly upstreamRequests: Counter<'method' | 'endpoint' | 'outcome'>;
  /** Webhook deliveries by outcome: accepted, bad_signature, malformed, too_large, store_failed. */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** Inbox events by kind and outcome: new, duplicate, no_account. */
  readonly inboxEvents: Counter<'kind' | 'outcome'>;
}

/** A registry per app, so that several apps in one process (tests) never share counters. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const upstreamRequests = new Counter({
    name: 'instagram_upstream_requests_total',
    help: 'Requests igql made to the Instagram Graph API, by method, endpoint template and outcome (ok or the Graph error code)',
    labelNames: ['method', 'endpoint', 'outcome'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'igql_webhook_deliveries_total',
    help: 'Webhook deliveries received, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const inboxEvents = new Counter({
    name: 'igql_inbox_events_total',
    help: 'Inbox events by kind and outcome (new, duplicate, no_account)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  return { registry, upstreamRequests, webhookDeliveries, inboxEvents };
}
