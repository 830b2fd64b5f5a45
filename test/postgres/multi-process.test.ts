import { afterAll } from 'vitest';
import { describeMultiProcess } from './multi-process-suite.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { postgresTarget } from './shared-log-target.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describeMultiProcess('postgres', describePostgres, {
  target: (name) => {
    schemas.push(uniqueSchema(name));
    return postgresTarget(pgUrl, schemas.at(-1)!);
  },
});
