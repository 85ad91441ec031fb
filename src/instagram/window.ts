import { type GraphMessage, parseGraphTime } from './graph.ts';

/** Instagram lets the account answer within 24 hours of the customer's last message (MSG). */
export const WINDOW_MS = 24 * 3_600_000;
/** With the `HUMAN_AGENT` tag, a person may answer within 7 days. */
export const HUMAN_AGENT_MS = 7 * 24 * 3_600_000;

export interface ReplyWindow {
  readonly state: 'OPEN' | 'HUMAN_AGENT_ONLY' | 'CLOSED';
  /** When the current state ends; null when closed. */
  readonly closesAt: Date | null;
}

/** The customer's last message among `messages` (newest first), by its sender. */
export function lastInbound(messages: readonly GraphMessage[], igId: string): Date | undefined {
  const last = messages.find((m) => m.from !== undefined && m.from.id !== igId);
  return last?.created_time ? parseGraphTime(last.created_time) : undefined;
}

export function replyWindow(lastInbound: Date | undefined, now: number): ReplyWindow {
  if (!lastInbound) return { state: 'CLOSED', closesAt: null };
  const t = lastInbound.getTime();
  if (now < t + WINDOW_MS) return { state: 'OPEN', closesAt: new Date(t + WINDOW_MS) };
  if (now < t + HUMAN_AGENT_MS) {
    return { state: 'HUMAN_AGENT_ONLY', closesAt: new Date(t + HUMAN_AGENT_MS) };
  }
  return { state: 'CLOSED', closesAt: null };
}
