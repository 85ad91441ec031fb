import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';

const DIST = 'examples/inbox/dist';
/** Inside the repository (git-ignored), like every file a test reads. */
const SCRATCH = 'test/artifacts';

const files = async (dir: string) =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();

let out: string | undefined;
afterAll(() => (out ? rm(out, { recursive: true, force: true }) : undefined));

describe('examples/inbox/dist', () => {
  it('is what `npm run build:inbox` builds from examples/inbox and schema/generated', async () => {
    await mkdir(SCRATCH, { recursive: true });
    out = resolve(await mkdtemp(join(SCRATCH, 'inbox-dist-')));
    await build({
      configFile: 'examples/inbox/vite.config.ts',
      logLevel: 'silent',
      build: { outDir: out, emptyOutDir: true },
    });
    const built = await files(out);
    expect(await files(DIST), 'run `npm run build:inbox`').toEqual(built);
    // The page, and its script and style named by their content (cached for a year).
    expect(built.map((f) => f.replace(/-[\w-]{8}\./, '-<hash>.')).sort()).toEqual([
      'assets/index-<hash>.css',
      'assets/index-<hash>.js',
      'index.html',
    ]);
    for (const name of built) {
      const same = (await readFile(join(DIST, name))).equals(await readFile(join(out, name)));
      expect(same, `${DIST}/${name} is out of date: run \`npm run build:inbox\``).toBe(true);
    }
  });
});
