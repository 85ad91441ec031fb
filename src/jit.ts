import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isLeafType,
  Kind,
  type NamedTypeNode,
  type OperationDefinitionNode,
  SchemaMetaFieldDef,
  type SelectionNode,
  type SelectionSetNode,
  type Source,
  type SourceLocation,
  TypeMetaFieldDef,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { BoundedCache } from './document-cache.ts';
import type { Logger } from './logger.ts';

/** Compiled operations kept, at most (the least recently used go first). */
export const MAX_COMPILED = 1024;

/** Memory compiled operations may hold together, about, in bytes. */
export const MAX_COMPILED_WEIGHT = 32 * 1024 * 1024;

/**
 * The most fields an operation may select, fragments expanded and each possible type of an
 * abstract type counted, to be compiled (about a kilobyte of code each); larger ones run on the
 * executor. The inbox page selects 11.
 */
export const MAX_COMPILED_FIELDS = 2000;

/** What igql knows of an operation (a parsed document's, alive while Yoga's caches hold it). */
interface Plan {
  /** Fields it selects (as `MAX_COMPILED_FIELDS` counts them); -1 when it is not compiled. */
  readonly fields: number;
  /** Ran once on the executor without being refused as too complex: it may be compiled. */
  proven: boolean;
}

const plans = new WeakMap<OperationDefinitionNode, Plan>();

/** Runs answered by compiled operations in this process (tests and benchmarks read it). */
export const compiledRuns = { count: 0 };

/**
 * Queries and mutations run compiled (graphql-jit) from their second run on: compiled once into
 * plain functions, which build plain result objects, cheaper to make and to serialise than those
 * of graphql-tools' executor. The answers are the executor's, byte for byte; the executor still
 * runs:
 *
 * - subscriptions, and an operation's first run (a document sent once is not worth compiling,
 *   and one refused as too complex is never compiled: its limits are checked as it runs);
 * - operations whose answer jit would order differently (a fragment before other selections:
 *   jit collects a selection set's own fields first), or with more than `MAX_COMPILED_FIELDS`;
 * - a run whose variables do not coerce (the executor's errors name them), and a document jit
 *   cannot compile.
 *
 * jit's errors are rebuilt as the executor builds them (locations, `errors` before `data`), and
 * those it raises itself (a value its type cannot represent, a null where the schema has none)
 * masked as the executor's plain errors are. Compiled operations are kept by their text, at most
 * `MAX_COMPILED` and `MAX_COMPILED_WEIGHT`.
 */
export function useCompiledExecution(o: { logger: Logger }): Plugin {
  const compiled = new BoundedCache<{ query: CompiledQuery['query'] | null; weight: number }>(
    (_, entry) => entry.weight,
    { maxEntries: MAX_COMPILED, maxWeight: MAX_COMPILED_WEIGHT },
  );
  return {
    onExecute: ({ args, setExecuteFn }) => {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation || operation.operation === 'subscription') return undefined;
      let plan = plans.get(operation);
      if (!plan) {
        plan = {
          fields: fieldsInExecutorOrder(args.schema, args.document, operation),
          proven: false,
        };
        plans.set(operation, plan);
      }
      if (plan.fields < 0) return undefined;
      if (!plan.proven) {
        const proving = plan;
        return {
          onExecuteDone: ({ result }) => {
            if (!isAsyncIterable(result) && !result.errors?.some(tooComplex)) proving.proven = true;
          },
        };
      }
      if (!variablesCoerce(args, operation)) return undefined;
      const source = args.document.loc?.source;
      if (!source) return undefined;
      const key = `${args.operationName ?? ''}\n${source.body}`;
      let entry = compiled.get(key);
      if (!entry) {
        const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
        if (!isCompiledQuery(result))
          o.logger.error({ errors: result.errors }, 'jit cannot compile');
        const query = isCompiledQuery(result) ? result.query : null;
        entry = { query, weight: 2 * source.body.length + 1024 * plan.fields };
        compiled.set(key, entry);
      }
      const { query } = entry;
      if (!query) return undefined;
      setExecuteFn(async (run: ExecutionArgs) => {
        compiledRuns.count++;
        return asExecutorResult(
          await query(run.rootValue, run.contextValue, run.variableValues),
          source,
        );
      });
      return undefined;
    },
  };
}

const tooComplex = (error: GraphQLError) => error.extensions?.code === 'QUERY_TOO_COMPLEX';

function variablesCoerce(args: ExecutionArgs, operation: OperationDefinitionNode): boolean {
  const { variableDefinitions = [] } = operation;
  if (variableDefinitions.length === 0) return true;
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  return !getVariableValues(args.schema, variableDefinitions, variables, { maxErrors: 1 }).errors;
}

/**
 * The fields `operation` selects (fragments expanded, every possible type of an abstract type
 * counted), when jit's answers list them in the executor's order (the document's, fragments
 * expanded where they stand); -1 when not, or past `MAX_COMPILED_FIELDS`. jit collects a
 * selection set's own fields first and its fragments after, last first: a fragment followed by
 * anything else reorders the answer. A selection under a directive (`@skip`, `@include`) must not
 * share its response key with another (jit keeps a key where it first appears, the executor
 * where it is first included).
 */
export function fieldsInExecutorOrder(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = schema.getRootType(operation.operation);
  let budget = MAX_COMPILED_FIELDS;

  /** Both collections of `nodes`' selections on `type`, and every level below, in one order. */
  const sameOrder = (
    type: GraphQLObjectType,
    nodes: readonly { readonly selectionSet?: SelectionSetNode | undefined }[],
  ): boolean => {
    const matches = (condition: NamedTypeNode | undefined) => {
      if (!condition) return true;
      const named = schema.getType(condition.name.value);
      return named === type || (isAbstractType(named) && schema.isSubType(named, type));
    };
    const inner = (
      selection: SelectionNode,
      visited: Set<string>,
    ): SelectionSetNode | undefined => {
      if (selection.kind === Kind.INLINE_FRAGMENT)
        return matches(selection.typeCondition) ? selection.selectionSet : undefined;
      if (selection.kind !== Kind.FRAGMENT_SPREAD || visited.has(selection.name.value)) return;
      visited.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      return fragment && matches(fragment.typeCondition) ? fragment.selectionSet : undefined;
    };
    const byExecutor: FieldNode[] = [];
    const byJit: FieldNode[] = [];
    const visitedByExecutor = new Set<string>();
    const visitedByJit = new Set<string>();
    let directives = false;
    // The executor: depth first, in the document's order.
    const collect = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.directives?.length) directives = true;
        if (selection.kind === Kind.FIELD) byExecutor.push(selection);
        const fragment = inner(selection, visitedByExecutor);
        if (fragment) collect(fragment);
      }
    };
    // jit: a stack of selection sets, each one's own fields first.
    const collectAsJit = (set: SelectionSetNode) => {
      const stack = [set];
      for (let next = stack.pop(); next; next = stack.pop()) {
        for (const selection of next.selections) {
          if (selection.kind === Kind.FIELD) byJit.push(selection);
          const fragment = inner(selection, visitedByJit);
          if (fragment) stack.push(fragment);
        }
      }
    };
    for (const node of nodes) {
      if (!node.selectionSet) continue;
      collect(node.selectionSet);
      collectAsJit(node.selectionSet);
    }
    const keyOf = (field: FieldNode) => field.alias?.value ?? field.name.value;
    const keys = [...new Set(byExecutor.map(keyOf))];
    if (keys.join() !== [...new Set(byJit.map(keyOf))].join()) return false;
    if (directives && keys.length !== byExecutor.length) return false;
    budget -= keys.length;
    if (budget < 0) return false;
    const fields = type.getFields();
    return keys.every((key) => {
      const merged = byExecutor.filter((field) => keyOf(field) === key);
      const name = merged[0]?.name.value;
      const field =
        name === '__schema'
          ? SchemaMetaFieldDef
          : name === '__type'
            ? TypeMetaFieldDef
            : fields[name ?? ''];
      const named = field && getNamedType(field.type);
      if (!named || isLeafType(named)) return true;
      const types = isAbstractType(named)
        ? schema.getPossibleTypes(named)
        : [named as GraphQLObjectType];
      return types.every((t) => sameOrder(t, merged));
    });
  };

  return root && sameOrder(root, [operation]) ? MAX_COMPILED_FIELDS - budget : -1;
}

/** jit's result as graphql-tools' executor gives it: `errors` first, each error located. */
function asExecutorResult(result: ExecutionResult, source: Source): ExecutionResult {
  const { errors, data, extensions } = result;
  if (!errors?.length) return extensions ? { data, extensions } : { data };
  return {
    errors: errors.map((error) => located(error, source)),
    ...(data === undefined ? {} : { data }),
    ...(extensions ? { extensions } : {}),
  };
}

function located(error: GraphQLError, source: Source): GraphQLError {
  const original = error.originalError;
  if (original instanceof GraphQLError && original.path) return original;
  return new GraphQLError(error.message, {
    source,
    positions: error.locations?.map((at) => positionOf(source, at)),
    path: error.path,
    // The executor throws plain errors for what jit reports without one: masked.
    originalError: original ?? new Error(error.message),
  });
}

/** The offset in `source` of a line and column (both from 1). */
function positionOf(source: Source, at: SourceLocation): number {
  let offset = 0;
  for (let line = 1; line < at.line; line++) {
    const next = source.body.slice(offset).search(/\r\n|[\n\r]/);
    if (next === -1) break;
    offset += next + (source.body.startsWith('\r\n', offset + next) ? 2 : 1);
  }
  return offset + at.column - 1;
}
