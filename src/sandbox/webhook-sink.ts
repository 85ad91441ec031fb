/**
 * Where the simulated Instagram puts the webhook events it raises. The dispatcher
 * (`webhooks.ts`) batches them into deliveries exactly as Meta does (instagram-api.md §4).
 */
export interface WebhookSink {
  /**
   * Queues one messaging event for the account: the object that goes inside
   * `entry[].messaging[]` (`{sender, recipient, timestamp, message|reaction|read|postback|…}`),
   * under the webhook field that must be subscribed for it to be sent (`messages`,
   * `message_reactions`, `messaging_seen`, `messaging_postbacks`, `messaging_referral`,
   * `message_edit`, `messaging_optins`, `message_echoes`).
   */
  messaging(igId: string, field: string, event: Record<string, unknown>): void;
  /** Queues one change for the account: `entry[].changes[]` item `{field, value}` (`comments`, `mentions`). */
  change(igId: string, field: string, value: Record<string, unknown>): void;
}
