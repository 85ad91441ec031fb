import type { GraphiQLOptions } from 'graphql-yoga';
import { globalId } from '../global-id.ts';

const INBOX = `# The demo inbox: 10 conversations with their 5 newest messages, in one call to the
# simulated Instagram. Run it with the ▶ button or Ctrl-Enter.
query Inbox {
  viewer {
    username
    conversations(first: 10) {
      nodes {
        participants { id username }
        replyWindow { state closesAt }
        messages(first: 5) { nodes { text from { username } createdTime } }
      }
    }
  }
}
`;

const SEND = `# Answers a customer whose reply window is open. Expected failures (outside the window,
# rate limited, a re-login needed) come back as userErrors, not as errors.
mutation SendText($input: SendTextMessageInput!) {
  sendTextMessage(input: $input) {
    message { id text createdTime }
    userErrors {
      code
      message
      field
      ... on OutsideMessagingWindowError { closesAt }
      ... on RateLimitedError { retryAfter }
    }
  }
}
`;

const EVENTS = `# Live events of the account over graphql-ws. Run it, then make a customer write:
#   curl -X POST localhost:PORT/sandbox/inbound -H 'content-type: application/json' \\
#     -d '{"accountId": "ACCOUNT_ID", "from": "ana.costa", "text": "Hello!"}'
subscription InboxEvents($accountId: ID!) {
  inboxEvents(accountId: $accountId) {
    cursor
    type
    occurredAt
    customer { username }
    ... on MessageReceivedEvent { message { id text } }
    ... on ReactionChangedEvent { mid action emoji }
  }
}
`;

/**
 * What GraphiQL opens with in sandbox mode: the session in the headers (which every transport
 * sends) and three tabs, an inbox query, a text send to a customer inside the reply window, and
 * the account's live events.
 */
export function sandboxGraphiQL(options: {
  /** A session JWT for the demo accounts. */
  readonly session: string;
  /** The demo account the tabs use and the IGSID of its customer who wrote last (inside the window). */
  readonly igId: string;
  readonly customerIgsid: string | undefined;
  readonly port: number;
}): Pick<GraphiQLOptions, 'headers' | 'defaultTabs'> {
  const { igId, customerIgsid } = options;
  const headers = JSON.stringify({ authorization: `Bearer ${options.session}` }, null, 2);
  const accountId = globalId.account(igId);
  const variables = (value: unknown) => JSON.stringify(value, null, 2);
  return {
    headers,
    defaultTabs: [
      { query: INBOX, variables: null, headers },
      {
        query: SEND,
        variables: variables({
          input: {
            accountId,
            recipientId: customerIgsid ? globalId.participant(igId, customerIgsid) : '',
            text: 'Thanks for your message! We are on it.',
          },
        }),
        headers,
      },
      {
        query: EVENTS.replace('PORT', String(options.port)).replace('ACCOUNT_ID', accountId),
        variables: variables({ accountId }),
        headers,
      },
    ],
  };
}
