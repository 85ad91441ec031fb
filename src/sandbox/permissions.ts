import { errors } from './errors.ts';
import type { SimToken } from './store.ts';

/**
 * Instagram Login's permission names and their Facebook Login counterparts: the same grants under
 * the names each configuration's tokens carry (instagram-api.md §5; Meta's permissions reference).
 */
const FACEBOOK_NAMES: Readonly<Record<string, string>> = {
  instagram_business_basic: 'instagram_basic',
  instagram_business_manage_messages: 'instagram_manage_messages',
  instagram_business_manage_comments: 'instagram_manage_comments',
  instagram_business_manage_insights: 'instagram_manage_insights',
  instagram_business_content_publish: 'instagram_content_publish',
};

/** The name `permission` (Instagram Login's) has for this token's configuration. */
export function permissionFor(token: SimToken, permission: string): string {
  return token.pageId === undefined ? permission : (FACEBOOK_NAMES[permission] ?? permission);
}

/** Refuses with Graph's permission error (code 10) unless the token carries `permission`. */
export function requirePermission(token: SimToken, permission: string): void {
  const name = permissionFor(token, permission);
  if (!token.permissions.includes(name)) throw errors.permission(name);
}
