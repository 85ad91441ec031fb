import type { Session } from './jwt.ts';

/**
 * The tenant rule, in one place: a session may use exactly the accounts it names. Everything
 * else answers as if it did not exist; nothing is ever read for another account.
 */
export const mayUse = (session: Session | null, igId: string): boolean =>
  session?.accounts.includes(igId) ?? false;
