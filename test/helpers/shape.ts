/**
 * A Graph answer's shape, to compare the simulator's with a real capture's
 * (test/fixtures/instagram): objects by their keys (in any order), arrays by their first item,
 * and every other value by its type.
 */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shapeOf(value[0])] : [];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}
