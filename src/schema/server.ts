import { Repeater } from 'graphql-yoga';
import { badUserInput, unauthenticated } from '../errors.ts';
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
      'The server time, at once and then every `intervalSeconds` (1 to 300), for a session: a client that stops receiving it knows its connection is dead.',
    args: {
      intervalSeconds: t.arg.int({
        required: true,
        defaultValue: 15,
        description: 'Seconds between beats: 1 to 300.',
      }),
    },
    subscribe: (_root, { intervalSeconds }, ctx) => {
      if (!ctx.session) throw unauthenticated();
      if (intervalSeconds < 1 || intervalSeconds > 300) {
        throw badUserInput('intervalSeconds must be between 1 and 300', 'intervalSeconds');
      }
      return beats(intervalSeconds * 1000);
    },
    resolve: (date) => date,
  }),
);

/** Beats until the subscriber leaves: `return()` ends it at once, clearing the timer. */
function beats(intervalMs: number): Repeater<Date> {
  return new Repeater<Date>(async (push, stop) => {
    push(new Date());
    const timer = setInterval(() => push(new Date()), intervalMs);
    await stop;
    clearInterval(timer);
  });
}
