import {
  type DirectiveNode,
  type GraphQLResolveInfo,
  Kind,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';

/** One selected field: its arguments (as written; defaults are the resolver's) and children. */
export interface Selected {
  readonly args: Readonly<Record<string, unknown>>;
  readonly children: SelectionMap;
}

/** Selected fields by name (aliases merged: the first occurrence's arguments win). */
export type SelectionMap = ReadonlyMap<string, Selected>;

const EMPTY: SelectionMap = new Map();

/**
 * What the query selects below the field being resolved: lets a resolver ask Instagram for
 * exactly those fields, with nested expansion, in one call. `onType` keeps only fragments on
 * that type (for `node(id)`); fragments on other types are skipped.
 */
export function selectionOf(info: GraphQLResolveInfo, onType?: string): SelectionMap {
  const out = new Map<string, { args: Record<string, unknown>; children: Map<string, Selected> }>();
  const variables = info.variableValues;

  const included = (directives: readonly DirectiveNode[] | undefined): boolean => {
    for (const directive of directives ?? []) {
      const arg = directive.arguments?.find((a) => a.name.value === 'if');
      const value = arg ? valueFromASTUntyped(arg.value, variables) : undefined;
      if (directive.name.value === 'skip' && value === true) return false;
      if (directive.name.value === 'include' && value === false) return false;
    }
    return true;
  };

  const walk = (set: SelectionSetNode | undefined, into: typeof out, typeFilter?: string) => {
    for (const node of set?.selections ?? []) {
      if (!included(node.directives)) continue;
      if (node.kind === Kind.FIELD) {
        const name = node.name.value;
        let entry = into.get(name);
        if (!entry) {
          const args: Record<string, unknown> = {};
          for (const arg of node.arguments ?? []) {
            args[arg.name.value] = valueFromASTUntyped(arg.value, variables);
          }
          entry = { args, children: new Map() };
          into.set(name, entry);
        }
        walk(node.selectionSet, entry.children as typeof out);
      } else {
        const fragment =
          node.kind === Kind.INLINE_FRAGMENT ? node : info.fragments[node.name.value];
        const condition = fragment?.typeCondition?.name.value;
        if (typeFilter && condition && condition !== typeFilter && condition !== 'Node') continue;
        walk(fragment?.selectionSet, into, typeFilter);
      }
    }
  };

  for (const fieldNode of info.fieldNodes) walk(fieldNode.selectionSet, out, onType);
  return out;
}

/** The node selection of a connection: `nodes { … }` and `edges { node { … } }` merged. */
export function connectionNodes(selection: SelectionMap): SelectionMap {
  const nodes = selection.get('nodes')?.children ?? EMPTY;
  const edgeNodes = selection.get('edges')?.children.get('node')?.children ?? EMPTY;
  if (edgeNodes.size === 0) return nodes;
  if (nodes.size === 0) return edgeNodes;
  return mergeSelections(nodes, edgeNodes);
}

function mergeSelections(a: SelectionMap, b: SelectionMap): SelectionMap {
  const out = new Map(a);
  for (const [name, selected] of b) {
    const existing = out.get(name);
    out.set(
      name,
      existing
        ? { args: existing.args, children: mergeSelections(existing.children, selected.children) }
        : selected,
    );
  }
  return out;
}
