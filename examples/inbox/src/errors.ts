import type { CombinedError } from '@urql/core';
import type { UserErrorFieldsFragment } from '../../../schema/generated/graphql.ts';
import { CLOSE_SESSION_ENDED, closeCode } from './client.ts';

/** What the page tells a person, with a way out when there is one. */
export interface Notice {
  readonly text: string;
  readonly action?: { readonly label: string; readonly href: string };
}

const relogin = { label: 'Log in again', href: '/auth/instagram/login' };
const sessionEnded: Notice = {
  text: 'Your session has ended. Log in again to go on.',
  action: relogin,
};
const tooManyStreams: Notice = {
  text: 'Too many live connections for this session: close another tab.',
};
/** What igql closes a websocket with past the streams of its session or address. */
const CLOSE_TOO_MANY_STREAMS = 4429;

/** "in 40 seconds", "in 3 minutes". */
const within = (seconds: number) =>
  seconds < 90
    ? `in ${Math.max(1, Math.ceil(seconds))} seconds`
    : `in ${Math.ceil(seconds / 60)} minutes`;

/** A send's expected failure (`userErrors`), by its code. */
export function userErrorNotice(error: UserErrorFieldsFragment): Notice {
  switch (error.code) {
    case 'OUTSIDE_MESSAGING_WINDOW':
      return {
        text: 'You can’t reply to this conversation any more: the customer last wrote more than 24 hours ago. They need to write to you first.',
      };
    case 'RATE_LIMITED':
      return {
        text: `Instagram is holding back messages from this account for now. Try again ${within('retryAfter' in error ? error.retryAfter : 60)}.`,
      };
    case 'REAUTH_REQUIRED':
      return {
        text: 'Instagram needs this account to log in again before it can send.',
        action: relogin,
      };
    case 'RECIPIENT_UNAVAILABLE':
      return { text: 'This person can’t receive messages from you right now.' };
    case 'NOT_THREAD_OWNER':
      return { text: 'Another app is handling this conversation: take it over before replying.' };
    case 'NOT_FOUND':
      return { text: 'This conversation or message no longer exists.' };
    case 'UPSTREAM_UNAVAILABLE':
      return { text: 'Instagram didn’t answer. Try again in a moment.' };
    case 'VALIDATION':
      if (error.field?.includes('urls')) {
        return { text: 'The image must be an https:// link to a PNG, JPEG or GIF file.' };
      }
      return { text: `This can’t be sent: ${error.message}.` };
    default:
      // IDEMPOTENCY_CONFLICT: igql's message says what happened.
      return { text: error.message };
  }
}

/** A request that failed as a whole: no connection, no session, a limit. */
export function requestErrorNotice(error: CombinedError): Notice {
  if (error.networkError && error.graphQLErrors.length === 0) {
    // urql does not retry a request: saying so is the page's part.
    return { text: 'Can’t reach the server. Check your connection and try again.' };
  }
  const first = error.graphQLErrors[0];
  const extensions = first?.extensions ?? {};
  switch (extensions.code) {
    case 'UNAUTHENTICATED':
      return sessionEnded;
    case 'REAUTH_REQUIRED':
      return { text: 'Instagram needs this account to log in again.', action: relogin };
    case 'RATE_LIMITED':
    case 'SERVICE_UNAVAILABLE': {
      const retryAfter = typeof extensions.retryAfter === 'number' ? extensions.retryAfter : 60;
      return { text: `Too many requests for now. Try again ${within(retryAfter)}.` };
    }
    case 'UPSTREAM_UNAVAILABLE':
      return { text: 'Instagram didn’t answer. Try again in a moment.' };
    case 'TOO_MANY_SUBSCRIPTIONS':
      return { text: 'This page asked for too many live updates at once. Reload the page.' };
    case 'TOO_MANY_STREAMS':
      return tooManyStreams;
    case 'NOT_FOUND':
      return { text: 'This conversation or message no longer exists.' };
    case 'BAD_USER_INPUT':
      return { text: `The server refused this as invalid: ${first?.message.replace(/\.?$/, '.')}` };
    case 'PERSISTED_QUERY_ONLY':
      return {
        text: 'This server only runs its listed operations: this page needs one without TRUSTED_DOCUMENTS.',
      };
    default:
      return { text: 'Something went wrong. Try again, or reload the page.' };
  }
}

/**
 * Why live updates stopped. graphql-ws retries a lost connection by itself, so an error here is
 * final: a close it does not retry (an ended session, too many connections), or igql refusing
 * the subscription.
 */
export function liveErrorNotice(error: CombinedError): Notice {
  if (error.graphQLErrors.length > 0) return requestErrorNotice(error);
  switch (closeCode(error.networkError)) {
    case CLOSE_SESSION_ENDED:
      return sessionEnded;
    case CLOSE_TOO_MANY_STREAMS:
      return tooManyStreams;
    default:
      return { text: 'Live updates stopped. Reload the page to see new messages.' };
  }
}
