// TypeScript types for the example operations a mobile app needs, from the committed SDL.
// Fails on any operation that does not validate against the schema.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema/schema.graphql',
  documents: '../examples/operations/*.graphql',
  errorsOnly: false,
  generates: {
    'generated/operations.ts': {
      plugins: ['typescript', 'typescript-operations'],
      config: {
        scalars: { DateTime: 'string', NaiveDate: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        strictScalars: true,
      },
    },
  },
};

export default config;
