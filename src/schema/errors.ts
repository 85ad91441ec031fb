import type { Session } from '../auth/jwt.ts';
import { unauthenticated } from '../errors.ts';

/** The request's session; UNAUTHENTICATED without one. */
export function requireSession(ctx: { readonly session: Session | null }): Session {
  if (!ctx.session) throw unauthenticated();
  return ctx.session;
}
