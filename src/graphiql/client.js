// igql's GraphiQL, in the browser: Yoga's GraphiQL with a fetcher that sends the headers of the
// headers editor on every transport: HTTP for queries and mutations, and graphql-ws
// `connectionParams` for subscriptions (a browser cannot set headers on a websocket).
/* global YogaGraphiQL, graphqlWs */
(() => {
  const page = JSON.parse(document.getElementById('igql-graphiql').textContent);
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: (_moduleId, label) => page.workers[label] ?? page.workers.editorWorkerService,
  };
  const endpoint = new URL(page.endpoint, location.href);
  const socketUrl = endpoint.href.replace(/^http/, 'ws');

  /** One graphql-ws client per distinct set of headers, opened when first needed. */
  const sockets = new Map();
  const socketFor = (headers) => {
    const key = JSON.stringify(headers);
    let client = sockets.get(key);
    if (!client) {
      client = graphqlWs.createClient({
        url: socketUrl,
        connectionParams: headers,
        lazy: true,
        lazyCloseTimeout: 30_000,
        retryAttempts: 0,
      });
      sockets.set(key, client);
    }
    return client;
  };

  const operationType = (params, documentAST) => {
    const operations = (documentAST?.definitions ?? []).filter(
      (d) => d.kind === 'OperationDefinition',
    );
    const chosen = params.operationName
      ? operations.find((d) => d.name?.value === params.operationName)
      : operations[0];
    return chosen?.operation ?? 'query';
  };

  /** A websocket refused or closed: said in words, not as `{"isTrusted": true}`. */
  const closedError = (reason) => {
    const code = typeof reason?.code === 'number' ? reason.code : undefined;
    const why =
      code === 4403
        ? 'the session was refused: check the Authorization header in the headers editor'
        : code === undefined
          ? String(reason?.message ?? reason)
          : `closed with ${code}${reason.reason ? ` (${reason.reason})` : ''}`;
    return { errors: [{ message: `Websocket: ${why}` }] };
  };

  async function* subscribe(params, headers) {
    try {
      for await (const result of socketFor(headers).iterate(params)) yield result;
    } catch (error) {
      sockets.delete(JSON.stringify(headers));
      yield Array.isArray(error) ? { errors: error } : closedError(error);
    }
  }

  const fetcher = (params, options) => {
    const headers = options?.headers ?? {};
    if (operationType(params, options?.documentAST) === 'subscription') {
      return subscribe(params, headers);
    }
    return fetch(endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        accept: 'application/graphql-response+json, application/json',
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(params),
    }).then((res) => res.json());
  };

  // GraphiQL reopens the stored tab whose query, variables and headers match its initial ones,
  // and otherwise adds an empty "<untitled>" tab: name the tab that was open, so a reload
  // returns to it. A link with `?query=` still opens that query.
  const restored = () => {
    if (new URL(location.href).searchParams.has('query')) return {};
    try {
      const state = JSON.parse(localStorage.getItem('graphiql:tabState') ?? 'null');
      const tab = state?.tabs?.[state.activeTabIndex];
      if (typeof tab?.query !== 'string') return {};
      return {
        initialQuery: tab.query,
        initialVariables: tab.variables ?? undefined,
        initialHeaders: tab.headers ?? undefined,
      };
    } catch {
      return {};
    }
  };

  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), {
    ...page.graphiql,
    ...restored(),
    fetcher,
    // Yoga's GraphiQL writes the edited query into the address; a reload then opened it as a
    // new tab. The tabs are stored by GraphiQL itself: keep the address clean.
    onEditQuery: () => {
      const url = new URL(location.href);
      if (!url.searchParams.has('query')) return;
      url.searchParams.delete('query');
      history.replaceState({}, '', url);
    },
  });
})();
