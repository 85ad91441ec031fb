import { setTimeout as sleep } from 'node:timers/promises';
import { GraphQLError } from 'graphql';
import { builder } from './builder.ts';

builder.queryField('instagramApiVersion', (t) =>
  t.string({
    description: 'The Instagram Graph API version igql speaks, such as `v25.0`.',
    resolve: (_root, _args, ctx) => ctx.apiVersion,
  }),
);

builder.subscriptionField('heartbeat', (t) =>
  t.field({
    type: 'DateTime',
    description:
      'The server time, at once and then every `intervalSeconds` (1 to 300): a client that stops receiving it knows its socket is dead.',
    args: {
      intervalSeconds: t.arg.int({
        required: true,
        defaultValue: 15,
        description: 'Seconds between beats: 1 to 300.',
      }),
    },
    subscribe: (_root, { intervalSeconds }) => {
      if (intervalSeconds < 1 || intervalSeconds > 300) {
        throw new GraphQLError('intervalSeconds must be between 1 and 300', {
          extensions: { code: 'BAD_USER_INPUT' },
        });
      }
      return beats(intervalSeconds * 1000);
    },
    resolve: (date) => date,
  }),
);

async function* beats(intervalMs: number): AsyncGenerator<Date> {
  while (true) {
    yield new Date();
    await sleep(intervalMs);
  }
}
