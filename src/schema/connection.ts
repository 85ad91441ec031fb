import { badUserInput } from '../errors.ts';
import type { GraphList } from '../instagram/graph.ts';

/** Relay arguments, as the connection fields take them. */
export interface ConnectionArgs {
  readonly first?: number | null | undefined;
  readonly after?: string | null | undefined;
  readonly last?: number | null | undefined;
  readonly before?: string | null | undefined;
}

/** The Graph page to ask for, and what to cut from it to answer the Relay page. */
export interface GraphPageRequest {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly before?: string | undefined;
  /** Items to drop from the start (forward) or the end (backward) of the Graph page. */
  readonly drop: number;
  readonly size: number;
  readonly backward: boolean;
  /** A cursor was given: there is something on the other side. */
  readonly fromCursor: boolean;
}

export const MAX_PAGE = 50;

/**
 * Graph gives one `before` and one `after` cursor a page, not one an item. An edge cursor is
 * therefore its page's two Graph cursors, the edge's index in that page and the page length:
 * enough to resume after or before any edge with one Graph call.
 */
interface EdgePosition {
  readonly a: string;
  readonly b: string;
  readonly i: number;
  readonly n: number;
}

const encode = (p: EdgePosition) =>
  Buffer.from(JSON.stringify([p.a, p.b, p.i, p.n])).toString('base64url');

function decode(cursor: string, arg: string): EdgePosition {
  try {
    const [a, b, i, n] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (
      typeof a === 'string' &&
      typeof b === 'string' &&
      Number.isInteger(i) &&
      Number.isInteger(n) &&
      (i as number) >= 0 &&
      (i as number) < (n as number) &&
      (n as number) <= 100
    ) {
      return { a, b, i: i as number, n: n as number };
    }
  } catch {
    // reported below
  }
  throw badUserInput(`\`${arg}\` is not a cursor of this connection`, arg);
}

/**
 * Why `last` needs `before`. Instagram lists conversations and messages newest first, with
 * cursors forward only from the newest: Relay's `last: N` alone means the N oldest, which only a
 * walk through the whole list finds. That walk is unbounded (a conversation lists every message
 * id it ever had), each step is a read paced at 2 a second per account, shared by every client
 * of the account (and `messages(last: 5)` under 25 conversations is 25 such walks), and what it
 * finds is the oldest messages, which Instagram no longer details (only the 20 newest are). A
 * gateway should not spend an account's read budget on that: it refuses, before any call, and
 * says what to use instead. (Answering the first N, as igql did, was wrong data.)
 */
export const LAST_NEEDS_BEFORE =
  '`last` pages back from a cursor and needs `before`: Instagram lists newest first and finds the oldest only by reading the whole list. Use `first` (and `after`) to page from the newest, or `last` with `before` set to a `startCursor` or edge cursor.';

/**
 * Turns Relay arguments into the Graph page to fetch; `first`/`last` between 1 and 50, `last`
 * only with `before` ({@link LAST_NEEDS_BEFORE}).
 */
export function graphPage(args: ConnectionArgs, defaultSize: number): GraphPageRequest {
  const { first, last, after, before } = args;
  if (first != null && last != null)
    throw badUserInput('Give `first` or `last`, not both', 'first');
  if (after != null && before != null)
    throw badUserInput('Give `after` or `before`, not both', 'after');
  // Relay allows `first` with `before` (the first N of what comes before): rare, and answering
  // it as if `before` were absent would be wrong data, as `last` alone was.
  if (first != null && before != null)
    throw badUserInput(
      '`before` pages back with `last`; `first` pages forward with `after`',
      'before',
    );
  for (const [name, value] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (value != null && (value < 1 || value > MAX_PAGE)) {
      throw badUserInput(`\`${name}\` must be between 1 and ${MAX_PAGE}`, name);
    }
  }
  const backward = last != null || (before != null && first == null);
  const size = (backward ? last : first) ?? defaultSize;
  if (backward) {
    if (before == null) throw badUserInput(LAST_NEEDS_BEFORE, 'last');
    const at = decode(before, 'before');
    // Before edge i: the page before its first item, or the items up to i-1 counted back from its last.
    const drop = at.i === 0 ? 0 : at.n - 1 - at.i;
    return {
      limit: size + drop,
      before: at.i === 0 ? at.b : at.a,
      drop,
      size,
      backward,
      fromCursor: true,
    };
  }
  if (after == null) return { limit: size, drop: 0, size, backward, fromCursor: false };
  const at = decode(after, 'after');
  // After edge i: the page after its last item, or after its first item skipping i.
  const drop = at.i === at.n - 1 ? 0 : at.i;
  return {
    limit: size + drop,
    after: at.i === at.n - 1 ? at.a : at.b,
    drop,
    size,
    backward,
    fromCursor: true,
  };
}

export interface Connection<T> {
  readonly edges: readonly { readonly cursor: string; readonly node: T }[];
  readonly pageInfo: {
    readonly hasNextPage: boolean;
    readonly hasPreviousPage: boolean;
    readonly startCursor: string | null;
    readonly endCursor: string | null;
  };
}

/** An edge; its cursor is encoded only when a query asks for it (most ask only for nodes). */
class Edge<T> {
  readonly node: T;
  /** The Graph page's cursors and size, shared by its edges. */
  readonly #page: Omit<EdgePosition, 'i'>;
  readonly #i: number;

  constructor(node: T, page: Omit<EdgePosition, 'i'>, i: number) {
    this.node = node;
    this.#page = page;
    this.#i = i;
  }

  get cursor(): string {
    return encode({ ...this.#page, i: this.#i });
  }
}

/** Builds the Relay connection from the Graph page fetched for `request`. */
export function toConnection<G, T>(
  page: GraphList<G>,
  request: GraphPageRequest,
  toNode: (item: G) => T,
): Connection<T> {
  const n = page.data.length;
  const at = {
    a: page.paging?.cursors?.after ?? '',
    b: page.paging?.cursors?.before ?? '',
    n,
  };
  const [from, to] = request.backward
    ? [Math.max(0, n - request.drop - request.size), Math.max(0, n - request.drop)]
    : [request.drop, Math.min(n, request.drop + request.size)];
  const edges: Edge<T>[] = [];
  for (let i = from; i < to; i++) edges.push(new Edge(toNode(page.data[i] as G), at, i));
  const moreAfter = to < n || page.paging?.next !== undefined;
  const moreBefore = from > 0 || page.paging?.previous !== undefined;
  return {
    edges,
    pageInfo: {
      hasNextPage: request.backward ? request.fromCursor || moreAfter : moreAfter,
      hasPreviousPage: request.backward ? moreBefore : request.fromCursor || moreBefore,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
  };
}
