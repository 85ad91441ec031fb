import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import RelayPlugin from '@pothos/plugin-relay';
import { graphqlError } from '../errors.ts';
import type { Context } from './context.ts';
import { isoTime } from './iso-time.ts';

/**
 * Query limits, on by default. Cost follows upstream fan-out: a connection multiplies what it
 * selects by `first`/`last` (20 by default); fields that cost their own Instagram call (profile
 * fields, `replyTo`) weigh more. The inbox page of README (25 × 20) costs about 2,700.
 */
export const LIMITS = { complexity: 10_000, depth: 12, breadth: 300 } as const;

/**
 * ms since the epoch that a `DateTime` field may return as it is. Branded, so that no other
 * number (seconds, a count) is taken for a time by mistake: only a value made with `epochMs`.
 */
export type EpochMs = number & { readonly __epochMs: true };

export const epochMs = (ms: number): EpochMs => ms as EpochMs;

export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    /** Output: a Date, or ms since the epoch (`EpochMs`: read without building a Date). */
    DateTime: { Input: Date; Output: Date | EpochMs };
    JSON: { Input: unknown; Output: unknown };
    /** A multipart upload's file (src/schema/send.ts); never an output. */
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ComplexityPlugin, RelayPlugin],
  complexity: {
    limit: LIMITS,
    fieldComplexity: (args) => {
      const size = args.first ?? args.last;
      const isConnection = 'first' in args || 'last' in args;
      return { field: 1, multiplier: isConnection ? (typeof size === 'number' ? size : 20) : 1 };
    },
    complexityError: (kind, result) => {
      const key = kind.toLowerCase() as 'complexity' | 'depth' | 'breadth';
      return graphqlError(
        'QUERY_TOO_COMPLEX',
        `Query ${key} ${result[key]} is over the limit of ${LIMITS[key]}: ask for fewer fields or smaller pages`,
      );
    },
  },
  defaultFieldNullability: false,
  relay: {
    nodesOnConnection: {
      description: 'The items of this page without their cursors: the same as `edges { node }`.',
    },
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeTypeOptions: {
      description: 'An object with a global id, which `node` and `nodes` read again.',
    },
    idFieldOptions: {
      description:
        'Opaque global id, the same in every request: pass it to `node` to read it again.',
    },
    pageInfoTypeOptions: {
      description: 'Whether a connection has more items around this page, and where to resume.',
    },
    pageInfoFieldOptions: {
      description: 'Whether there are more pages, and the cursors to reach them.',
    },
    hasNextPageFieldOptions: {
      description: 'True when more items follow: pass `endCursor` as `after` to read them.',
    },
    hasPreviousPageFieldOptions: {
      description: 'True when items come before this page: pass `startCursor` as `before`.',
    },
    startCursorFieldOptions: {
      description: 'The cursor of the first edge; null when the page is empty.',
    },
    endCursorFieldOptions: {
      description: 'The cursor of the last edge; null when the page is empty.',
    },
    edgesFieldOptions: { description: 'The items of this page, each with its cursor.' },
    nodeFieldOptions: { description: 'The item.' },
    cursorFieldOptions: {
      description: 'Opaque; pass it as `after` or `before` to page from this item.',
    },
    firstArgOptions: {
      description: 'How many items from the start: 1 to 50 (default 20). Not with `last`.',
    },
    afterArgOptions: {
      description:
        'Start after this cursor (an `endCursor` or edge `cursor` of this connection). Not with `before`.',
    },
    lastArgOptions: {
      description: 'How many items counting back from `before`: 1 to 50. Not with `first`.',
    },
    beforeArgOptions: {
      description:
        'End before this cursor (a `startCursor` or edge `cursor` of this connection). Not with `after`.',
    },
  },
});

builder.scalarType('DateTime', {
  description: 'A date and time in ISO-8601 form, in UTC: `2026-11-25T08:30:00.000Z`.',
  serialize: (value) => isoTime(typeof value === 'number' ? value : value.getTime()),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value, as Instagram sent it.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.queryType({ description: 'What a frontend can read.' });
builder.mutationType({
  description: 'What a frontend can do: send messages, reactions and sender actions.',
});
builder.subscriptionType({ description: 'What a frontend can watch live.' });
