import { readFile } from 'node:fs/promises';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../codegen.ts';

describe('schema/schema.graphql', () => {
  it('is what `npm run codegen` generates from the Pothos schema (run it after a schema change)', async () => {
    const outputs = await generate({ ...config, cwd: process.cwd() }, false);
    expect(outputs).toHaveLength(Object.keys(config.generates).length);
    for (const { filename, content } of outputs) {
      expect(await readFile(filename, 'utf8'), filename).toBe(content);
    }
  });
});
