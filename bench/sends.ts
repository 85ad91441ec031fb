/**
 * Sends per second: `sendTextMessage` through igql, each with an idempotency key of its own and
 * igql's rate limiting on, against the same sends made directly to the simulator's Send API
 * (`POST /{ig-id}/messages`), both limited as Instagram documents (100 a second per account).
 * `clients` loops each send their next message when the last was answered, for `seconds`; a
 * refused send is counted, not retried.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Stack } from './stack.ts';

export interface SendsOptions {
  readonly seconds: number;
  readonly clients: number;
}

export interface SendsRow {
  readonly path: 'igql' | 'direct';
  readonly attempts: number;
  readonly sent: number;
  readonly sentPerSecond: number;
  /** Refused as rate limited (igql's RATE_LIMITED, or the Graph API's limit error). */
  readonly rateLimited: number;
  /** Anything else that was not a sent message, by what it was. */
  readonly failed: Readonly<Record<string, number>>;
}

export interface SendsResult extends SendsOptions {
  readonly rows: readonly SendsRow[];
}

const MUTATION = `mutation($input: SendTextMessageInput!) {
  sendTextMessage(input: $input) { message { id } userErrors { code } }
}`;

interface Customer {
  /** `Participant.id` */
  readonly id: string;
  readonly igsid: string;
}

/** bench.shop's customers, as igql names them and as the Graph API does. */
async function customers(stack: Stack, session: string): Promise<Customer[]> {
  const res = await fetch(`${stack.igql.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
    body: JSON.stringify({
      query: '{ viewer { conversations(first: 25) { nodes { participants { id igsid } } } } }',
    }),
  });
  const body = (await res.json()) as {
    errors?: unknown;
    data?: {
      viewer: { conversations: { nodes: { participants: { id: string; igsid: string }[] }[] } };
    };
  };
  if (!body.data) throw new Error(`customers: ${JSON.stringify(body.errors)}`);
  return body.data.viewer.conversations.nodes.flatMap((c) =>
    c.participants.filter((p) => p.igsid !== stack.bench.igId),
  );
}

export async function sends(stack: Stack, options: SendsOptions): Promise<SendsResult> {
  const session = await stack.session();
  const people = await customers(stack, session);
  if (people.length === 0) throw new Error('sends: bench.shop has no customers');
  let n = 0;
  const igql = new Pool(stack.igql.base, { connections: options.clients });
  const direct = new Pool(stack.simulator.base, { connections: options.clients });
  const paths = {
    igql: async (): Promise<string> => {
      const i = n++;
      const customer = people[i % people.length] as Customer;
      const res = await igql.request({
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
        body: JSON.stringify({
          query: MUTATION,
          variables: {
            input: {
              accountId: stack.bench.id,
              recipientId: customer.id,
              text: `send ${i}`,
              idempotencyKey: `bench-send-${i}`,
            },
          },
        }),
      });
      const body = (await res.body.json()) as {
        errors?: { extensions?: { code?: string } }[];
        data?: { sendTextMessage: { message: unknown; userErrors: { code: string }[] } };
      };
      const outcome = body.data?.sendTextMessage;
      if (outcome?.message) return 'sent';
      return (
        outcome?.userErrors[0]?.code ??
        body.errors?.[0]?.extensions?.code ??
        `HTTP ${res.statusCode}`
      );
    },
    direct: async (): Promise<string> => {
      const i = n++;
      const customer = people[i % people.length] as Customer;
      const res = await direct.request({
        method: 'POST',
        path: `/v25.0/${stack.bench.igId}/messages`,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${stack.bench.instagramAccessToken}`,
        },
        body: JSON.stringify({ recipient: { id: customer.igsid }, message: { text: `send ${i}` } }),
      });
      const body = (await res.body.json()) as { message_id?: string; error?: { code?: number } };
      if (res.statusCode === 200 && body.message_id) return 'sent';
      // The Graph API's rate limit errors: 4 (app), 613 (calls), 80002 (Instagram's).
      if ([4, 17, 613, 80002].includes(body.error?.code ?? 0)) return 'RATE_LIMITED';
      return `Graph error ${body.error?.code ?? res.statusCode}`;
    },
  };
  const rows: SendsRow[] = [];
  for (const path of ['direct', 'igql'] as const) {
    // Each path starts with a full second's allowance: the previous one's window has passed.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const outcomes: Record<string, number> = {};
    const start = performance.now();
    const end = start + options.seconds * 1000;
    await Promise.all(
      Array.from({ length: options.clients }, async () => {
        while (performance.now() < end) {
          const outcome = await paths[path]();
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
      }),
    );
    const elapsed = performance.now() - start;
    const { sent = 0, RATE_LIMITED: rateLimited = 0, ...failed } = outcomes;
    rows.push({
      path,
      attempts: Object.values(outcomes).reduce((a, b) => a + b, 0),
      sent,
      sentPerSecond: (sent * 1000) / elapsed,
      rateLimited,
      failed,
    });
  }
  await Promise.all([igql.close(), direct.close()]);
  return { ...options, rows };
}
