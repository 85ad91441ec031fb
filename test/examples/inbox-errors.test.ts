import { CombinedError } from '@urql/core';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { retryable } from '../../examples/inbox/src/client.ts';
import { liveErrorNotice, requestErrorNotice } from '../../examples/inbox/src/errors.ts';

const relogin = { label: 'Log in again', href: '/auth/instagram/login' };

/** What urql gives the page when graphql-ws ends a subscription with this close. */
const closed = (code: number, reason: string) =>
  new CombinedError({
    networkError: new CloseEvent('close', { code, reason }) as unknown as Error,
  });

/** What urql gives the page for an answer with this error. */
const refused = (code: string, message = 'refused', extensions: Record<string, unknown> = {}) =>
  new CombinedError({
    graphQLErrors: [new GraphQLError(message, { extensions: { code, ...extensions } })],
  });

describe('the example inbox: a closed websocket', () => {
  it('is tried again when the network dropped it, not when igql ended the session (4403)', () => {
    expect(retryable(new CloseEvent('close', { code: 1006 }))).toBe(true);
    expect(retryable(new CloseEvent('close', { code: 1001, reason: 'Going away' }))).toBe(true);
    // A browser reports a connection it could not open as an error event, before its close.
    expect(retryable(new Event('error'))).toBe(true);
    expect(retryable(new CloseEvent('close', { code: 4403, reason: 'Forbidden' }))).toBe(false);
    // A protocol error of graphql-ws's own is not the network's.
    expect(retryable(new Error('Invalid message'))).toBe(false);
  });

  it('says why live updates stopped, by its close code', () => {
    expect(liveErrorNotice(closed(4403, 'Forbidden'))).toEqual({
      text: 'Your session has ended. Log in again to go on.',
      action: relogin,
    });
    expect(liveErrorNotice(closed(4429, 'Too many streams for this session'))).toEqual({
      text: 'Too many live connections for this session: close another tab.',
    });
    // Never "the page will keep trying": graphql-ws gave up.
    expect(liveErrorNotice(closed(1011, 'Internal Error'))).toEqual({
      text: 'Live updates stopped. Reload the page to see new messages.',
    });
    expect(liveErrorNotice(refused('TOO_MANY_SUBSCRIPTIONS'))).toEqual({
      text: 'This page asked for too many live updates at once. Reload the page.',
    });
  });
});

describe('the example inbox: a request refused as a whole', () => {
  it('says so in plain words, by its code', () => {
    const notices = Object.fromEntries(
      [
        refused('UNAUTHENTICATED'),
        refused('TOO_MANY_STREAMS'),
        refused('NOT_FOUND'),
        refused('BAD_USER_INPUT', 'At most 50 ids'),
        refused('PERSISTED_QUERY_ONLY'),
        refused('RATE_LIMITED', 'slow down', { retryAfter: 40 }),
        refused('SOMETHING_NEW'),
      ].map((error) => [error.graphQLErrors[0]?.extensions.code, requestErrorNotice(error)]),
    );
    expect(notices).toEqual({
      UNAUTHENTICATED: { text: 'Your session has ended. Log in again to go on.', action: relogin },
      TOO_MANY_STREAMS: { text: 'Too many live connections for this session: close another tab.' },
      NOT_FOUND: { text: 'This conversation or message no longer exists.' },
      BAD_USER_INPUT: { text: 'The server refused this as invalid: At most 50 ids.' },
      PERSISTED_QUERY_ONLY: {
        text: 'This server only runs its listed operations: this page needs one without TRUSTED_DOCUMENTS.',
      },
      RATE_LIMITED: { text: 'Too many requests for now. Try again in 40 seconds.' },
      SOMETHING_NEW: { text: 'Something went wrong. Try again, or reload the page.' },
    });
    // urql does not retry a request that found no server: the page does not say it will.
    expect(
      requestErrorNotice(new CombinedError({ networkError: new TypeError('Failed to fetch') })),
    ).toEqual({ text: 'Can’t reach the server. Check your connection and try again.' });
  });
});
