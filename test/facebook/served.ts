import type { Simulator } from '../../src/sandbox/simulator.ts';

/**
 * The requests `sim` served since `mark` (a `sim.requests.length`), as host, method and path:
 * the account's Page and IG_ID named `<PAGE_ID>` and `<IG_ID>`, any other node `{id}`. What a
 * test of an account of Facebook Login checks to see which host and node igql used.
 */
export const servedSince = (
  sim: Simulator,
  mark: number,
  account: { readonly igId: string; readonly pageId?: string | undefined },
): string[] =>
  sim.requests.slice(mark).map((r) => {
    const [, node, edge] = /^\/(?:facebook\/)?v\d+\.\d+\/([^/]+)(?:\/(.+))?$/.exec(r.path) ?? [];
    if (node === undefined) return `${r.host} ${r.method} ${r.path}`;
    const named =
      node === account.pageId ? '<PAGE_ID>' : node === account.igId ? '<IG_ID>' : '{id}';
    return `${r.host} ${r.method} /${named}${edge ? `/${edge}` : ''}`;
  });
