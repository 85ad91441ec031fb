import type { UserErrorData } from '../sends/service.ts';
import { builder } from './builder.ts';
import { ownerOf, ThreadOwner } from './thread-owner.ts';

const UserErrorCode = builder.enumType('UserErrorCode', {
  description: 'Why a mutation did not do what was asked.',
  values: {
    VALIDATION: { description: 'The input is invalid; nothing was sent.' },
    RATE_LIMITED: {
      description: 'The account is at Instagram’s limit; retry after `retryAfter` seconds.',
    },
    OUTSIDE_MESSAGING_WINDOW: { description: 'The customer last wrote more than 24 hours ago.' },
    RECIPIENT_UNAVAILABLE: {
      description: 'The person cannot receive messages from the account now.',
    },
    REAUTH_REQUIRED: {
      description:
        'The account must log in again (with Instagram, or with Facebook for an account of Facebook Login).',
    },
    NOT_FOUND: { description: 'No such account, participant or message for this session.' },
    IDEMPOTENCY_CONFLICT: { description: 'The idempotency key was used for other content.' },
    UPSTREAM_UNAVAILABLE: { description: 'Instagram did not answer, or failed.' },
    NOT_THREAD_OWNER: {
      description: 'Another app owns the conversation: take or request thread control first.',
    },
  } as const,
});

/** Every expected failure of a mutation (errors as data), with one concrete type per code. */
export const UserError = builder.interfaceRef<UserErrorData>('UserError').implement({
  description: 'An expected failure, returned as data in `userErrors`.',
  fields: (t) => ({
    code: t.field({
      type: UserErrorCode,
      description: 'Why it failed, to branch on; each code has its own concrete type.',
      resolve: (e) => e.code,
    }),
    message: t.string({
      description: 'For a person: what happened and what to do.',
      resolve: (e) => e.message,
    }),
    field: t.stringList({
      nullable: true,
      description: 'The input path that caused it, when one input did: `["input", "text"]`.',
      resolve: (e) => ('field' in e ? [...e.field] : null),
    }),
  }),
});

const implement = <T extends UserErrorData['type']>(name: T, description: string) =>
  builder.objectRef<Extract<UserErrorData, { type: T }>>(name).implement({
    description,
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === name,
  });

implement('ValidationError', 'The input is invalid; nothing was sent.');
implement('RecipientUnavailableError', 'The person cannot receive messages from the account now.');
implement(
  'ReauthRequiredError',
  'igql cannot act for the account with the token it holds (Instagram refused it, or an account of Facebook Login is stored without its Page): log in again (with Instagram, or with Facebook for an account of Facebook Login).',
);
implement('NotFoundError', 'No such account, participant or message for this session.');
implement(
  'IdempotencyConflictError',
  'The idempotency key was already used for different content.',
);

builder
  .objectRef<Extract<UserErrorData, { type: 'RateLimitedError' }>>('RateLimitedError')
  .implement({
    description: 'The account is at Instagram’s limit for this kind of send.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'RateLimitedError',
    fields: (t) => ({
      retryAfter: t.float({
        description: 'Seconds to wait before retrying.',
        resolve: (e) => e.retryAfter,
      }),
    }),
  });

builder
  .objectRef<Extract<UserErrorData, { type: 'OutsideMessagingWindowError' }>>(
    'OutsideMessagingWindowError',
  )
  .implement({
    description:
      'The customer last wrote more than 24 hours ago. Within 7 days a person may still answer with the `HUMAN_AGENT` tag.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'OutsideMessagingWindowError',
    fields: (t) => ({
      closesAt: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'Until when `HUMAN_AGENT` may answer; null when that is over too.',
        resolve: (e) => (e.closesAt ? new Date(e.closesAt) : null),
      }),
    }),
  });

builder
  .objectRef<Extract<UserErrorData, { type: 'UpstreamUnavailableError' }>>(
    'UpstreamUnavailableError',
  )
  .implement({
    description: 'Instagram did not answer or failed.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'UpstreamUnavailableError',
    fields: (t) => ({
      outcomeUnknown: t.boolean({
        description:
          'True when Instagram never answered: the message may have gone out. Look at the conversation before sending again.',
        resolve: (e) => e.outcomeUnknown,
      }),
    }),
  });

builder
  .objectRef<Extract<UserErrorData, { type: 'NotThreadOwnerError' }>>('NotThreadOwnerError')
  .implement({
    description:
      'Instagram refused because another app owns the conversation (conversation routing): nothing was sent.',
    interfaces: [UserError],
    isTypeOf: (value) => (value as UserErrorData).type === 'NotThreadOwnerError',
    fields: (t) => ({
      owner: t.field({
        type: ThreadOwner,
        nullable: true,
        description: 'The app that owns the conversation; null when Instagram would not say.',
        resolve: (e) => ownerOf(e.igId, e.ownerAppId),
      }),
    }),
  });
