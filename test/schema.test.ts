import { readFile } from 'node:fs/promises';
import { generate } from '@graphql-codegen/cli';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import config from '../codegen.ts';
import { schema } from '../src/schema/index.ts';

describe('schema/schema.graphql', () => {
  it('is what `npm run codegen` generates from the Pothos schema (run it after a schema change)', async () => {
    // The SDL only: test/schema/operations.test.ts checks the typed operations generated from it.
    const sdl = 'schema/schema.graphql';
    const output = config.generates[sdl];
    if (!output) throw new Error(`codegen.ts generates no ${sdl}`);
    const outputs: { filename: string; content: string }[] = await generate(
      { ...config, generates: { [sdl]: output }, cwd: process.cwd() },
      false,
    );
    expect(outputs.map((o) => o.filename)).toEqual([sdl]);
    expect(await readFile(sdl, 'utf8')).toBe(outputs[0]?.content);
  });

  it('every type, field, argument and enum value has a description', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__')) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) {
          if (!value.description) missing.push(`${type.name}.${value.name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
