import { createHash } from 'node:crypto';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';
import { schema } from './src/schema/index.ts';

/**
 * `npm run codegen` writes the SDL of the Pothos schema, and from the operations of
 * `schema/operations/` the typed documents a frontend uses (the client preset) with their
 * persisted-document manifest, which `TRUSTED_DOCUMENTS` accepts. Tests fail when a committed
 * file drifts.
 */
const config: CodegenConfig = {
  schema: printSchema(schema),
  generates: {
    'schema/schema.graphql': { plugins: ['schema-ast'], config: { includeDirectives: false } },
    'schema/generated/': {
      preset: 'client',
      documents: 'schema/operations/*.graphql',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: {
          // The plain hex SHA-256 of the document, without the preset's `sha256:` prefix: the id
          // is then also its APQ hash (`extensions.persistedQuery.sha256Hash`).
          hashAlgorithm: (text: string) => createHash('sha256').update(text).digest('hex'),
        },
      },
      config: {
        // Type-only imports, `.ts` specifiers and string unions for enums: what Node's type
        // stripping and `verbatimModuleSyntax` accept.
        useTypeImports: true,
        importExtension: '.ts',
        enumType: 'string-literal',
        scalars: { DateTime: 'string', JSON: 'unknown', File: 'File' },
      },
    },
  },
  silent: true,
};

export default config;
