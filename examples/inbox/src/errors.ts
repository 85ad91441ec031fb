import type { CombinedError } from '@urql/core';
import type { UserErrorFieldsFragment } from '../../../schema/generated/graphql.ts';

/** What the page tells a person, with a way out when there is one. */
export interface Notice {
  readonly text: string;
  readonly action?: { readonly label: string; readonly href: string };
}

const relogin = { label: 'Log in again', href: '/auth/instagram/login' };

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
    return { text: 'Can’t reach the server. Check your connection; the page will keep trying.' };
  }
  const extensions = error.graphQLErrors[0]?.extensions ?? {};
  switch (extensions.code) {
    case 'UNAUTHENTICATED':
      return { text: 'Your session has ended. Log in again to go on.', action: relogin };
    case 'REAUTH_REQUIRED':
      return { text: 'Instagram needs this account to log in again.', action: relogin };
    case 'RATE_LIMITED':
    case 'SERVICE_UNAVAILABLE': {
      const retryAfter = typeof extensions.retryAfter === 'number' ? extensions.retryAfter : 60;
      return { text: `Too many requests for now. Try again ${within(retryAfter)}.` };
    }
    case 'UPSTREAM_UNAVAILABLE':
      return { text: 'Instagram didn’t answer. Try again in a moment.' };
    default:
      return { text: 'Something went wrong. Try again, or reload the page.' };
  }
}
