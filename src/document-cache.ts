import type { DocumentNode } from 'graphql';

/**
 * The longest GraphQL document (query text) igql parses, in characters; a longer one is refused
 * before parsing with QUERY_TOO_COMPLEX. Armor's 2,000-token limit does not count comments or
 * the length of strings, so this bounds them. Real documents are a few KiB.
 */
export const MAX_DOCUMENT_LENGTH = 64 * 1024;

/**
 * What a parsed document holds in memory, about: its text (2 bytes a character at most) and
 * 512 bytes a token, comments included (each keeps a token object, and most an AST node and its
 * location). Measured: a 157-character query holds 13 KiB parsed; 64 KiB of comments, 2.9 MiB.
 */
export function documentWeight(text: string, document: DocumentNode): number {
  let tokens = 0;
  for (let token = document.loc?.startToken ?? null; token; token = token.next) tokens++;
  return 2 * text.length + 512 * (document.loc ? tokens : text.length);
}

/** A parse error holds its document's text and little else. */
export const errorWeight = (text: string): number => 2 * text.length + 1024;

/** Bounds of a `BoundedCache`. */
export interface CacheBounds {
  /** Entries at most. Default 1,024 (Yoga's own). */
  readonly maxEntries?: number;
  /** Sum of the entries' weights at most, in bytes. Default 32 MiB. */
  readonly maxWeight?: number;
  /** An entry heavier than this is never kept. Default 2 MiB. */
  readonly maxEntryWeight?: number;
}

/**
 * A least-recently-used cache bounded by its entries' total weight as well as their count, for
 * Yoga's `parserAndValidationCache` (parsed documents and parse errors, keyed by their text; the
 * validation results Yoga keys by document go with them).
 */
export class BoundedCache<T> {
  readonly #entries = new Map<string, { value: T; weight: number }>();
  readonly #weigh: (key: string, value: T) => number;
  readonly #maxEntries: number;
  readonly #maxWeight: number;
  readonly #maxEntryWeight: number;
  #weight = 0;

  constructor(weigh: (key: string, value: T) => number, bounds: CacheBounds = {}) {
    this.#weigh = weigh;
    this.#maxEntries = bounds.maxEntries ?? 1024;
    this.#maxWeight = bounds.maxWeight ?? 32 * 1024 * 1024;
    this.#maxEntryWeight = bounds.maxEntryWeight ?? 2 * 1024 * 1024;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Sum of the entries' weights, in bytes. */
  get weight(): number {
    return this.#weight;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    // Most recently used last: eviction takes the first.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: T): void {
    const weight = this.#weigh(key, value);
    this.#delete(key);
    if (weight > this.#maxEntryWeight) return;
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    while (this.#entries.size > this.#maxEntries || this.#weight > this.#maxWeight) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#delete(oldest.value);
    }
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }
}

/** Yoga's `parserAndValidationCache`: parsed documents and parse errors, each bounded. */
export const createDocumentCaches = (bounds: CacheBounds = {}) => ({
  documentCache: new BoundedCache<DocumentNode>(documentWeight, bounds),
  errorCache: new BoundedCache<unknown>(errorWeight, bounds),
});
