import { afterAll } from 'vitest';
import type { LogStore } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { describeLogStoreConformance } from './log-store-conformance.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from '../postgres/pg-test-env.js';

// Each fresh() gets its own schema, so every case starts from an empty log; all of them are
// dropped when the file ends.
const schemas: string[] = [];

describePostgres('postgres log store', () => {
  afterAll(() => dropSchemas(schemas));

  describeLogStoreConformance('postgres', {
    fresh: async (): Promise<LogStore> => {
      schemas.push(uniqueSchema('conformance'));
      return postgresLog({ connectionString: pgUrl, schema: schemas.at(-1)! });
    },
    reopen: async (): Promise<LogStore> => postgresLog({ connectionString: pgUrl, schema: schemas.at(-1)! }),
  });
});
