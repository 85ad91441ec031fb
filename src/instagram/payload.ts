/**
 * Readers of what Instagram sends (webhook bodies, Graph answers): each takes any value and
 * answers the shape asked for, or null (an empty list), never throwing on an odd payload.
 */

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const stringOf = (value: unknown): string | null =>
  typeof value === 'string' ? value : null;

/** An id: a non-empty string, or a number (odd payloads) as its decimal string. */
export const idOf = (value: unknown): string | null => {
  if (typeof value === 'string') return value === '' ? null : value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
};

/** A number, or a numeric string ("1459991487970"); anything else (Postman's "<TIME_…>") is null. */
export const numberOf = (value: unknown): number | null => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : null;
};

/** A list, or Graph's `{data: [...]}` wrapper of one (restfb's product template). */
export const listOf = (value: unknown): readonly unknown[] => {
  if (Array.isArray(value)) return value;
  return isObject(value) && Array.isArray(value.data) ? value.data : [];
};
