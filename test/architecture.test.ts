import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape of `src/`, read from its imports: each data path runs one way, so no two rooms (a
 * folder of `src/`, or a file at its top) import each other, even through a third; no file
 * cycle either; nothing on the production path reaches the simulator; and only the Instagram
 * client opens HTTP connections.
 */
const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every file of `src/` (relative) with the `src/` files it imports, statically or not. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...text.matchAll(/\bfrom\s+'(\.[^']+)'/g),
      ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g),
    ].map((m) => m[1] ?? '');
    graph.set(
      relative(SRC, file),
      specifiers.map((s) => relative(SRC, normalize(join(dirname(file), s)))),
    );
  }
  return graph;
}

const roomOf = (file: string): string => file.split('/')[0] ?? file;

/** Whether a file of `src/` (relative) imports undici or calls `fetch` (also `(x ?? fetch)(…)`). */
const opensHttp = (file: string): boolean =>
  /\bfrom\s+'undici'|\bimport\(\s*'undici'\s*\)|\bfetch\s*\)?\s*\(/.test(
    readFileSync(join(SRC, file), 'utf8'),
  );

/** The strongly connected components with more than one member: the cycles (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('the shape of src/', () => {
  const files = importGraph();

  it('reads every import of every file', () => {
    expect(files.get('app.ts')).toContain('sandbox/index.ts');
    expect(files.get('main.ts')).toEqual(['app.ts', 'config.ts', 'logger.ts', 'sandbox/index.ts']);
  });

  it('has no import cycle between rooms', () => {
    const rooms = new Map<string, Set<string>>();
    for (const [file, imports] of files) {
      const room = rooms.get(roomOf(file)) ?? new Set<string>();
      for (const target of imports) if (roomOf(target) !== roomOf(file)) room.add(roomOf(target));
      rooms.set(roomOf(file), room);
    }
    expect(cycles(rooms)).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const graph = new Map([...files].map(([file, imports]) => [file, new Set(imports)]));
    expect(cycles(graph)).toEqual([]);
  });

  it('calls Instagram only through src/instagram/: no other file imports undici or calls fetch', () => {
    expect(opensHttp('instagram/client.ts')).toBe(true);
    // The simulator (its webhook sender) is not the production path. Browser code (`.js`, such
    // as GraphiQL's fetcher) is not read: it never runs on the server.
    const others = [...files.keys()].filter(
      (file) => !file.startsWith('instagram/') && !file.startsWith('sandbox/') && opensHttp(file),
    );
    expect(others).toEqual([]);
  });

  it('keeps the simulator off the production path: only main.ts loads it, in sandbox mode', () => {
    // Type imports are erased: they load nothing.
    const loading = (file: string) =>
      readFileSync(join(SRC, file), 'utf8').match(/^import (?!type )[^;]*'[./]*sandbox\//gm) ?? [];
    const reaching = [...files]
      .filter(
        ([file, imports]) =>
          !file.startsWith('sandbox/') && imports.some((i) => i.startsWith('sandbox/')),
      )
      .map(([file]) => file)
      .sort();
    expect(reaching).toEqual(['app.ts', 'main.ts']);
    expect(reaching.flatMap(loading)).toEqual([]);
    // main.ts loads it lazily (`await import(...)`), and only in sandbox mode.
    expect(readFileSync(join(SRC, 'main.ts'), 'utf8')).toMatch(
      /config\.sandbox\s*\?\s*await \(await import\('\.\/sandbox\/index\.ts'\)\)/,
    );
  });
});
