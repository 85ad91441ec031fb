import { randomUUID } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import {
  type ExecutionResult,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  type ValidationContext,
} from 'graphql';
import {
  createGraphQLError,
  createYoga,
  type GraphiQLOptions,
  isAsyncIterable,
  maskError,
  type Plugin,
  type YogaServerInstance,
} from 'graphql-yoga';
import type { Config } from './config.ts';
import { createDocumentCaches, MAX_DOCUMENT_LENGTH } from './document-cache.ts';
import type { ErrorCode } from './errors.ts';
import { fromOutage } from './errors.ts';
import type { GraphiQL } from './graphiql/index.ts';
import { MAX_UPLOAD_BODY_BYTES } from './http.ts';
import { useCompiledExecution } from './jit.ts';
import { RequestLoaders } from './loaders/index.ts';
import type { Logger } from './logger.ts';
import { type PersistedOptions, usePersistedDocuments } from './persisted.ts';
import type { SubscriptionGroups } from './pubsub/groups.ts';
import { useSharedStreams } from './pubsub/shared-sse.ts';
import { useStreamLimits } from './pubsub/streams.ts';
import type { Context } from './schema/context.ts';
import { schema } from './schema/index.ts';
import type { Services } from './services.ts';
import type { ServerContext } from './websocket.ts';

export interface YogaOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: Services;
  /** igql's Meta app id, to tell its own threads from other apps'. Default `INSTAGRAM_APP_ID`. */
  readonly appId?: string;
  /** The clock reply windows are measured with. Default `Date.now`. */
  readonly now?: () => number;
  /** GraphiQL's page, when `GRAPHIQL` is on; loaded on first use. */
  readonly graphiql: () => Promise<GraphiQL>;
  /** What GraphiQL opens with (the sandbox's session and tabs). Default: nothing. */
  readonly graphiqlDefaults?: () => GraphiQLOptions;
  /** Aborted when igql stops: every subscription then ends (SSE with `event: complete`). */
  readonly streamsEnd?: AbortSignal;
  /** Automatic persisted queries and trusted documents. Default: the config's (`APQ`, `TRUSTED_DOCUMENTS`). */
  readonly persisted?: PersistedOptions;
  /** Subscription groups SSE subscribers join (shared with graphql-ws). Default: none, each alone. */
  readonly groups?: SubscriptionGroups<ExecutionResult>;
}

/**
 * Yoga's CSRF prevention (GETs and simple bodies need `x-graphql-yoga-csrf`: a browser cannot
 * send it cross-site without CORS), its refusal typed: 403 with code CSRF_HEADER_REQUIRED.
 */
const useCsrfPrevention = (): Plugin => {
  const yogaCsrf = useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] });
  return {
    onRequestParse: (payload) => {
      try {
        return yogaCsrf.onRequestParse?.(payload);
      } catch {
        throw createGraphQLError(
          'GET requests and simple bodies need the `x-graphql-yoga-csrf` header (any value)',
          {
            extensions: { code: 'CSRF_HEADER_REQUIRED' satisfies ErrorCode, http: { status: 403 } },
          },
        );
      }
    },
  };
};

/**
 * A GET whose `variables` or `extensions` is not JSON is the client's mistake: 400, not the
 * internal error Yoga's own GET parser throws.
 */
const useClientErrorsOnGet = (): Plugin => ({
  onRequestParse: ({ requestParser, setRequestParser }) => {
    if (!requestParser) return;
    setRequestParser(async (request) => {
      try {
        return await requestParser(request);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        throw createGraphQLError('`variables` and `extensions` must be JSON objects', {
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        });
      }
    });
  },
});

/**
 * A document nested deeper than the parser's stack (a list literal 2,000 deep) is the client's
 * mistake: 400 QUERY_TOO_COMPLEX on every transport, not an internal error.
 */
const useBoundedParse = (): Plugin => ({
  onParse: ({ parseFn, setParseFn }) => {
    setParseFn((source, options) => {
      try {
        return parseFn(source, options);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        throw createGraphQLError('The document is nested too deeply', {
          extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
        });
      }
    });
  },
});

/**
 * Armor's validation limits throw by default, which Yoga answers with 200 and no `data`, and
 * which ended a graphql-ws socket: report them as validation errors instead (400 over HTTP, an
 * `error` for that operation over graphql-ws), with the code of the other limits.
 */
const reportedAsInvalid = {
  propagateOnRejection: false,
  onReject: [
    (ctx: ValidationContext | null, error: GraphQLError) =>
      ctx?.reportError(
        new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'QUERY_TOO_COMPLEX' },
        }),
      ),
  ],
};

/**
 * A document longer than `MAX_DOCUMENT_LENGTH` is refused before it is parsed: comments and long
 * strings escape armor's token limit. (Bodies are bounded by `MAX_BODY_BYTES`, and what Yoga
 * keeps parsed by `createDocumentCaches`.)
 */
const useBoundedDocuments = (): Plugin => ({
  onParse: ({ params }) => {
    const text = typeof params.source === 'string' ? params.source : params.source.body;
    if (text.length <= MAX_DOCUMENT_LENGTH) return;
    throw createGraphQLError(`The document is longer than ${MAX_DOCUMENT_LENGTH} characters`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
    });
  },
});

/**
 * Subscriptions end when `signal` aborts (igql is stopping): an SSE stream then closes with a
 * final `event: complete`, as graphql-sse's protocol does, so that its client resubscribes
 * (with `after`) instead of seeing its connection cut.
 */
const useEndStreamsOn = (signal: AbortSignal): Plugin => ({
  onSubscribe: () => ({
    onSubscribeResult: ({ result, setResult }) => {
      if (isAsyncIterable(result)) setResult(endOnAbort(result, signal));
    },
  }),
});

/** `source`, done as soon as `signal` aborts, even while it waits for its next value. */
function endOnAbort<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  let end = (_: IteratorResult<T>) => {};
  const ended = new Promise<IteratorResult<T>>((resolve) => {
    end = resolve;
  });
  const finish = () => {
    signal.removeEventListener('abort', finish);
    end(done);
    return Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  if (signal.aborted) void finish();
  else signal.addEventListener('abort', finish, { once: true });
  return {
    next: () => Promise.race([iterator.next(), ended]),
    return: async () => {
      await finish();
      return done;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * Bodies bounded as Yoga's `maxRequestBodySize` bounds them (Content-Length checked, the body
 * counted as it is read), without the stream Yoga pipes every body through: over HTTP, app.ts
 * has already read the body, counting (`readBody`), and hands Yoga those bytes.
 */
const useBodyLimit = (limit: number): Plugin<Record<string, unknown>, ServerContext> => ({
  onRequestParse: ({ request, serverContext, requestParser, setRequestParser, fetchAPI }) => {
    const length = request.headers.get('content-length');
    if (length !== null) {
      if (!/^\d+$/.test(length)) {
        throw createGraphQLError('Content-Length header is invalid.', {
          extensions: { http: { status: 400 }, code: 'BAD_REQUEST' },
        });
      }
      if (Number(length) > limit) throw bodyTooLarge();
    }
    if (serverContext.req || !requestParser || request.body === null) return;
    setRequestParser(async (unbounded) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of unbounded.body ?? []) {
        size += chunk.byteLength;
        if (size > limit) throw bodyTooLarge();
        chunks.push(chunk);
      }
      const { url, method, headers, signal } = unbounded;
      return requestParser(
        new fetchAPI.Request(url, { method, headers, signal, body: Buffer.concat(chunks, size) }),
      );
    });
  },
});

const bodyTooLarge = () =>
  createGraphQLError('Request body too large', {
    extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' },
  });

/** Every answer varies by `Origin` (CORS), whether the origin was allowed or not. */
const useVaryOrigin = (): Plugin => ({
  onResponse: ({ response }) => {
    const vary = response.headers.get('vary') ?? '';
    if (!/\borigin\b/i.test(vary))
      response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
  },
});

/** Refuses introspection queries (`__schema`, `__type`) where `INTROSPECTION` is off. */
const useNoIntrospection = (): Plugin => ({
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
});

/**
 * The GraphQL server of every transport (HTTP, SSE; graphql-ws through `getEnveloped`): the
 * schema, its limits, CSRF prevention, CORS, masked errors, GraphiQL, and `createContext`.
 */
export function createYogaServer(o: YogaOptions): YogaServerInstance<ServerContext, Context> {
  const { config, logger, services } = o;
  const now = o.now ?? Date.now;

  /** One per request: the session (a socket's, verified at connect), fresh DataLoaders. */
  const createContext = async ({
    request,
    req,
    session: socketSession,
  }: ServerContext & { request?: Request }): Promise<Context> => {
    const session = socketSession ?? (await services.sessions.fromRequest(req));
    return {
      requestId: request?.headers.get('x-request-id') ?? randomUUID(),
      logger,
      apiVersion: config.instagram.apiVersion,
      appId: o.appId ?? config.instagram.appId ?? '',
      session,
      loaders: new RequestLoaders(
        services.api,
        services.state.tokens,
        session,
        services.state.conversations,
        now,
        services.readCache,
      ),
      now,
      sends: services.sends,
      live: services.live,
      publishing: services.publishing,
      stillValid: () => services.sessions.stillValid(session),
    };
  };

  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Bodies are bounded by app.ts as they stream (MAX_BODY_BYTES, more for a multipart upload:
    // `bodyLimitOf`), and by `useBodyLimit` (below) for any other caller.
    maxRequestBodySize: false,
    // Yoga's own caches keep 2 x 1,024 documents keyed by their text, whatever their size.
    parserAndValidationCache: createDocumentCaches(),
    // GraphiQL's files are served by igql itself (no CDN: it works offline), hashed, cached and
    // compressed. In sandbox mode it opens ready to use: the demo session in the headers, and
    // example tabs.
    graphiql: config.graphiql
      ? () => ({ title: 'igql', subscriptionsProtocol: 'WS', ...o.graphiqlDefaults?.() })
      : false,
    renderGraphiQL: async (options) => (await o.graphiql()).render(options),
    plugins: [
      // GETs and simple bodies need this header: a browser cannot send it cross-site without CORS.
      useCsrfPrevention(),
      usePersistedDocuments(
        o.persisted ?? {
          automatic: config.persisted.automatic ? {} : false,
          trustedDocuments: config.persisted.trustedDocuments,
        },
      ),
      useClientErrorsOnGet(),
      useVaryOrigin(),
      useStreamLimits(config.limits),
      ...(o.groups ? [useSharedStreams(o.groups)] : []),
      ...(config.introspection ? [] : [useNoIntrospection()]),
      // Depth and cost are the schema's (Pothos complexity, aware of page sizes); armor bounds
      // the rest and hides field suggestions.
      EnvelopArmorPlugin({
        maxDepth: { enabled: false },
        costLimit: { enabled: false },
        maxAliases: { n: 15, exposeLimits: true, ...reportedAsInvalid },
        maxDirectives: { n: 50, exposeLimits: true, ...reportedAsInvalid },
        maxTokens: { n: 2000, exposeLimits: true },
        blockFieldSuggestion: { enabled: true },
      }),
      // After armor, whose parser it wraps.
      useBoundedParse(),
      useBoundedDocuments(),
      ...(o.streamsEnd ? [useEndStreamsOn(o.streamsEnd)] : []),
      // Queries and mutations compiled (graphql-jit), their answers unchanged.
      useCompiledExecution({ logger }),
      // Last: it bounds the body whichever parser the plugins above chose.
      useBodyLimit(Math.max(config.limits.bodyBytes, MAX_UPLOAD_BODY_BYTES)),
    ],
    // Only an allowed origin is named, never `null` (sandboxed frames, files); others get no
    // CORS headers at all, so a browser keeps their pages away from the answers.
    cors: (request) => {
      const origin = request.headers.get('origin');
      return origin !== null && config.allowedOrigins.includes(origin)
        ? { origin, credentials: true }
        : false;
    },
    logging: {
      debug: (...args) => logger.debug({ yoga: args }),
      info: (...args) => logger.info({ yoga: args }),
      warn: (...args) => logger.warn({ yoga: args }),
      error: (...args) => logger.error({ yoga: args }),
    },
    maskedErrors: {
      isDev: false,
      maskError: (error, message) => {
        // Redis unreachable: a typed error with retryAfter, never "Unexpected error.".
        const outage = fromOutage(error);
        if (outage) return outage;
        const masked = maskError(error, message, false);
        if (masked.message === message) logger.error({ err: error }, 'unexpected error');
        return masked;
      },
    },
    context: createContext,
  });
}
