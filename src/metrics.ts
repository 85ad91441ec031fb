import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Every call to Instagram (Graph API, token host), by method, endpoint template, outcome. */
  readonly upstreamRequests: Counter<'method' | 'endpoint' | 'outcome'>;
  /** Webhook deliveries by outcome: accepted, bad_signature, malformed, too_large, store_failed, publish_failed, pending (another delivery of an event is still being stored: 503). */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** Inbox events by kind and outcome: new, duplicate, pending, no_account, bad_time. */
  readonly inboxEvents: Counter<'kind' | 'outcome'>;
  /** Events webhooks never delivered, found by reconciliation. */
  readonly reconciled: Counter;
  /** Accounts whose webhook subscription Meta dropped, subscribed again. */
  readonly resubscriptions: Counter;
  readonly reconcileLastRun: Gauge;
  /** Live subscriptions on this instance. */
  readonly subscribers: Gauge;
  /** Reads of the shared inbox cache by outcome: hit, miss, coalesced, bypass. */
  readonly readCache: Counter<'outcome'>;
  /** Invalidations of the shared inbox cache by source: webhook, send, account. */
  readonly readCacheInvalidations: Counter<'source'>;
}

/** A registry per app, so that several apps in one process (tests) never share counters. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const upstreamRequests = new Counter({
    name: 'instagram_upstream_requests_total',
    help: 'Requests igql made to Instagram (the Graph API and its token endpoints), by method, endpoint template and outcome (ok or the Graph error code)',
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
    help: 'Inbox events by kind and outcome (new, duplicate, pending, no_account, bad_time)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const reconciled = new Counter({
    name: 'igql_reconciled_events_total',
    help: 'Inbox events that webhooks never delivered, found by reconciliation with the Conversations API',
    registers: [registry],
  });
  const resubscriptions = new Counter({
    name: 'igql_webhook_resubscriptions_total',
    help: 'Accounts whose webhook subscription Meta had dropped, subscribed again by the watchdog',
    registers: [registry],
  });
  const reconcileLastRun = new Gauge({
    name: 'igql_reconcile_last_run_timestamp_seconds',
    help: 'When reconciliation and the subscription watchdog last finished a run',
    registers: [registry],
  });
  const readCache = new Counter({
    name: 'igql_read_cache_total',
    help: 'Instagram reads of the shared inbox cache, by outcome (hit, miss, coalesced: another read loaded it; bypass: the cache was down)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const readCacheInvalidations = new Counter({
    name: 'igql_read_cache_invalidations_total',
    help: 'Invalidations of the shared inbox cache, by source (webhook: an inbox event stored; send: a send through igql; account: a login)',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const subscribers = new Gauge({
    name: 'igql_subscribers',
    help: 'Live subscriptions on this instance',
    registers: [registry],
  });
  return {
    registry,
    upstreamRequests,
    webhookDeliveries,
    inboxEvents,
    reconciled,
    resubscriptions,
    reconcileLastRun,
    subscribers,
    readCache,
    readCacheInvalidations,
  };
}
