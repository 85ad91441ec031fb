import type { CodegenConfig } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';
import { schema } from './src/schema/index.ts';

/** `npm run codegen` writes the SDL of the Pothos schema; tests fail when the committed file drifts. */
const config: CodegenConfig = {
  schema: printSchema(schema),
  generates: {
    'schema/schema.graphql': { plugins: ['schema-ast'], config: { includeDirectives: false } },
  },
  silent: true,
};

export default config;
