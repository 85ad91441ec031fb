import { decodeId } from '../global-id.ts';

/**
 * Instagram's id of a media or comment given either as igql's global id (`Media.id`,
 * `Comment.id`) or as Instagram's own id. A global id of that type answers its Instagram id, or
 * null when it belongs to another account (the caller reports it as not found); anything else is
 * returned as it is, for the caller's own checks.
 */
export function instagramIdOf(
  igId: string,
  typename: 'Media' | 'Comment',
  value: string,
): string | null {
  const decoded = /^\d+$/.test(value) ? undefined : decodeId(value);
  if (decoded?.typename !== typename) return value;
  return decoded.igId === igId ? decoded.rest : null;
}
