import { afterAll } from 'vitest';
import { describeMultiProcess } from './multi-process-suite.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { postgresTarget } from './shared-log-target.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

// Both commit paths: writers racing for head + 1 (the default), and writers taking turns on the
// advisory lock (writerTurns), where the killed process may die holding its turn.
for (const writerTurns of [false, true]) {
  describeMultiProcess(writerTurns ? 'postgres, writers taking turns' : 'postgres', describePostgres, {
    target: (name) => {
      schemas.push(uniqueSchema(writerTurns ? `${name}_turns` : name));
      return postgresTarget(pgUrl, schemas.at(-1)!, { writerTurns });
    },
  });
}
