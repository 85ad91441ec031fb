import type { TokenStore } from '../auth/token-store.ts';
import type { InboxEventData } from '../inbox/events.ts';
import { messageFields } from '../instagram/fields.ts';
import { authOf, type GraphMessage, type InstagramApi } from '../instagram/graph.ts';
import type { Logger } from '../logger.ts';

/** What a completing read asks of a message: its parties, and its text for an edit. */
const PARTIES = messageFields({ to: true });
const PARTIES_AND_TEXT = messageFields({ to: true, text: true });

/** How long a delivery waits for its completing reads: past it, events are stored as they came. */
export const ENRICH_TIMEOUT_MS = 2000;

/**
 * Completes, before they are stored, the events Instagram sends without what their subscribers
 * need (instagram-api.md §10): an edit without its text (real deliveries carry none) and a read
 * or edit without sender (no customer). One read of each message named (`GET /<mid>`), at most
 * `ENRICH_TIMEOUT_MS` for a delivery: so every subscriber, and every replay later, sees the text
 * as it was just after the edit and the customer it concerns. An event that cannot be completed
 * (no token, the message past the 20 newest, Instagram away or slow) is stored as it came: its
 * resolvers read what they can when asked, and `customerMissingReason` says why not.
 */
export function eventCompleter(o: {
  readonly api: InstagramApi;
  readonly tokens: TokenStore;
  readonly logger: Logger;
  readonly timeoutMs?: number;
}): (events: readonly InboxEventData[]) => Promise<InboxEventData[]> {
  const complete = async (event: InboxEventData): Promise<InboxEventData> => {
    if (event.kind !== 'MESSAGE_EDITED' && event.kind !== 'MESSAGES_SEEN') return event;
    const wantsText = wantsTextOf(event);
    const wantsCustomer = wantsCustomerOf(event);
    if (!wantsText && !wantsCustomer) return event;
    const stored = await o.tokens.get(event.igId);
    if (stored?.status !== 'ACTIVE') return event;
    const auth = authOf(stored);
    const fields = wantsText ? PARTIES_AND_TEXT : PARTIES;
    const message = await o.api.node<GraphMessage>(auth, event.mid, fields, true);
    if (message.from === undefined) return event; // past the 20 newest: nothing to read
    const customer = [message.from, ...(message.to?.data ?? [])].find(
      (party) => party !== undefined && party.id !== event.igId,
    );
    return {
      ...event,
      ...(wantsCustomer && customer ? { igsid: customer.id } : {}),
      ...(wantsText && event.kind === 'MESSAGE_EDITED' ? { text: message.message ?? '' } : {}),
    } as InboxEventData;
  };
  return async (events) => {
    // Most deliveries (new messages) have nothing to complete: no timer, no promise for them.
    if (!events.some(needsCompletion)) return [...events];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), o.timeoutMs ?? ENRICH_TIMEOUT_MS);
    });
    try {
      return await Promise.all(
        events.map(async (event) => {
          const completed = complete(event).catch((err: unknown) => {
            const { igId, kind, identity } = event;
            o.logger.info({ err, igId, kind, identity }, 'could not complete an inbox event');
            return event;
          });
          const first = await Promise.race([completed, late]);
          return first === 'late' ? event : first;
        }),
      );
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Whether `eventCompleter` reads anything for the event. */
export const needsCompletion = (event: InboxEventData): boolean =>
  wantsTextOf(event) || wantsCustomerOf(event);

const wantsTextOf = (event: InboxEventData): boolean =>
  event.kind === 'MESSAGE_EDITED' && event.text === null && event.numEdit > 0;

const wantsCustomerOf = (event: InboxEventData): boolean =>
  (event.kind === 'MESSAGE_EDITED' || event.kind === 'MESSAGES_SEEN') && event.igsid === null;
