/**
 * Persisted documents, on every transport: Apollo's automatic persisted queries (APQ), and a
 * "trusted documents only" mode that runs nothing but a fixed list.
 *
 * APQ (Apollo's protocol): a client sends `extensions.persistedQuery: {version: 1, sha256Hash}`
 * without `query`; igql runs the document it stored under that hash, or answers
 * PERSISTED_QUERY_NOT_FOUND, on which the client sends the query with its hash once, and igql
 * stores it (after validation, bounded). Over GET as over POST and SSE.
 *
 * Trusted documents: with a list of id → document, any other document is refused with
 * PERSISTED_QUERY_ONLY. A client sends the id (`extensions.persistedQuery.sha256Hash`), or the
 * exact text of a listed document.
 *
 * HTTP resolves an id in Yoga's `onParams`; graphql-ws, which goes through `getEnveloped` only
 * (src/websocket.ts), has no `onParams`: there an id with an empty `query` is resolved when the
 * envelop is created, and every check is made at parse, which both transports go through.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { BoundedCache } from './document-cache.ts';
import type { ErrorCode } from './errors.ts';

export interface AutomaticPersistedQueriesOptions {
  /** Documents kept, least recently used dropped first. Default 1,000. */
  readonly maxEntries?: number;
  /** UTF-8 bytes of document text kept; a larger document is run, not kept. Default 4 MiB. */
  readonly maxBytes?: number;
}

export interface PersistedOptions {
  /**
   * Automatic persisted queries, with the bounds of their store; `false` turns them off (a
   * request with only a hash then answers PERSISTED_QUERY_NOT_SUPPORTED, on which Apollo's
   * clients stop sending hashes). Default on, with the default bounds. Off when
   * `trustedDocuments` is given: clients must not add to a trusted list.
   */
  readonly automatic?: false | AutomaticPersistedQueriesOptions;
  /**
   * Trusted documents only: id (usually the SHA-256 of the document, hex) → document, or the
   * path of a JSON file holding them, either an object `{"<id>": "<document>"}` (GraphQL
   * Codegen's `persisted-documents.json`) or Apollo's persisted query manifest
   * (`{"operations": [{"id", "body"}]}`). Default: none, any document runs.
   */
  readonly trustedDocuments?: ReadonlyMap<string, string> | string;
}

/** A bounded LRU of documents by hash: at most `maxEntries` of them and `maxBytes` of text. */
export class DocumentStore extends BoundedCache<string> {
  constructor(options: AutomaticPersistedQueriesOptions = {}) {
    const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    super((_hash, text) => Buffer.byteLength(text), {
      maxEntries: options.maxEntries ?? 1000,
      maxWeight: maxBytes,
      maxEntryWeight: maxBytes,
    });
  }

  /** UTF-8 bytes of the documents kept. */
  get bytes(): number {
    return this.weight;
  }
}

/** Reads a trusted-documents file (see `PersistedOptions.trustedDocuments`); throws naming it. */
export function loadTrustedDocuments(path: string): Map<string, string> {
  const bad = (what: string) =>
    new Error(
      `${path}: ${what}; expected {"<id>": "<document>", …} or Apollo's manifest {"operations": [{"id", "body"}, …]}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw bad(`not readable JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw bad('not a JSON object');
  }
  const operations = (parsed as { operations?: unknown }).operations;
  const entries: [unknown, unknown][] = Array.isArray(operations)
    ? operations.map((o: { id?: unknown; body?: unknown }) => [o?.id, o?.body])
    : Object.entries(parsed);
  const documents = new Map<string, string>();
  for (const [id, text] of entries) {
    if (typeof id !== 'string' || typeof text !== 'string' || id === '' || text === '') {
      throw bad(`an entry is not a non-empty id with a non-empty document (${String(id)})`);
    }
    documents.set(id, text);
  }
  return documents;
}

/** The SHA-256 of `text`'s UTF-8, in lower-case hex: an APQ hash. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Over HTTP a refusal is 4xx under `application/graphql-response+json` and 200 under
 * `application/json`, as GraphQL over HTTP asks (`spec`); graphql-ws drops `http`.
 */
const refusal = (message: string, code: ErrorCode, status: number, noCache = false) =>
  createGraphQLError(message, {
    extensions: {
      code,
      http: {
        status,
        spec: true,
        // A miss answered to a GET must not be cached by a CDN: the next GET will hit.
        ...(noCache ? { headers: { 'cache-control': 'private, no-cache, must-revalidate' } } : {}),
      },
    },
  });

/** Apollo's clients recognise the miss by this message or by the code. */
const notFound = () => refusal('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND', 404, true);
const notSupported = () =>
  refusal('PersistedQueryNotSupported', 'PERSISTED_QUERY_NOT_SUPPORTED', 400);
const onlyTrusted = () =>
  refusal(
    'Only trusted documents run here: send the id of a listed document in `extensions.persistedQuery.sha256Hash`',
    'PERSISTED_QUERY_ONLY',
    400,
  );
const mismatch = () =>
  refusal(
    '`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`',
    'BAD_REQUEST',
    400,
  );

interface Params {
  query?: unknown;
  extensions?: unknown;
}

/** The hash of `extensions.persistedQuery`, if any; throws when it is not version 1. */
function persistedHash(params: Params | undefined): string | undefined {
  const extensions = params?.extensions;
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const pq = (extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } })
    .persistedQuery;
  if (pq == null) return undefined;
  if (typeof pq !== 'object' || pq.version !== 1 || typeof pq.sha256Hash !== 'string') {
    throw refusal(
      '`extensions.persistedQuery` must be {"version": 1, "sha256Hash": "<hex SHA-256 of the query>"}',
      'BAD_REQUEST',
      400,
    );
  }
  return pq.sha256Hash;
}

/** Where the transports keep a request's params: Yoga and websocket.ts put them on the context. */
const paramsOf = (context: unknown): Params | undefined =>
  (context as { params?: Params } | undefined)?.params;

/** APQ and trusted documents on HTTP, SSE and graphql-ws (see the module comment). */
export function usePersistedDocuments(options: PersistedOptions = {}): Plugin {
  const trusted =
    typeof options.trustedDocuments === 'string'
      ? loadTrustedDocuments(options.trustedDocuments)
      : options.trustedDocuments;
  const trustedTexts = trusted && new Set(trusted.values());
  const store =
    !trusted && options.automatic !== false ? new DocumentStore(options.automatic) : undefined;
  /** Documents sent with their hash, to keep once they validate. */
  const toStore = new WeakMap<object, { hash: string; text: string }>();

  const lookup = (hash: string) => (trusted ? trusted.get(hash) : store?.get(hash));
  const unknown = () => (trusted ? onlyTrusted() : store ? notFound() : notSupported());

  return {
    // HTTP and SSE: an id alone becomes its document before Yoga asks for `query`.
    onParams: ({ params, setParams }) => {
      const hash = persistedHash(params);
      if (hash === undefined || params.query) return;
      const text = lookup(hash);
      if (text === undefined) throw unknown();
      setParams({ ...params, query: text });
    },
    // graphql-ws: its subscribe payload is the context's `params`, parsed after this; an id
    // with an empty `query` gets its document here (an unknown one is refused at parse).
    onEnveloped: ({ context }) => {
      const params = paramsOf(context);
      if (params?.query !== '') return;
      let hash: string | undefined;
      try {
        hash = persistedHash(params);
      } catch {
        return; // refused at parse, for this operation only
      }
      const text = hash === undefined ? undefined : lookup(hash);
      if (text !== undefined) params.query = text;
    },
    // Every transport parses: the checks live here.
    onParse: ({ context, params: { source } }) => {
      const text = typeof source === 'string' ? source : source.body;
      const hash = persistedHash(paramsOf(context));
      if (trusted) {
        const listed = hash === undefined ? trustedTexts?.has(text) : trusted.get(hash) === text;
        if (!listed) throw onlyTrusted();
        return;
      }
      if (hash === undefined) return;
      if (text === '') throw unknown();
      if (sha256Hex(text) !== hash) throw mismatch();
      if (store) toStore.set(context, { hash, text });
    },
    onValidate:
      ({ context }) =>
      ({ result }) => {
        const sent = toStore.get(context);
        if (sent && result.length === 0) store?.set(sent.hash, sent.text);
      },
  };
}
