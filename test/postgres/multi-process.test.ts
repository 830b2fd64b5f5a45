import { afterAll } from 'vitest';
import { describeMultiProcess } from './multi-process-suite.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { postgresTarget } from './shared-log-target.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

// Every commit path: writers racing for head + 1 (the default), writers taking turns on the
// advisory lock (writerTurns), where the killed process may die holding its turn, and commits
// through the relay's leader, where the killed process may be the leader.
const paths = { race: 'postgres', turns: 'postgres, writers taking turns', relay: 'postgres, through the commit relay' } as const;
for (const path of ['race', 'turns', 'relay'] as const) {
  describeMultiProcess(paths[path], describePostgres, {
    target: (name) => {
      schemas.push(uniqueSchema(path === 'race' ? name : `${name}_${path}`));
      return postgresTarget(pgUrl, schemas.at(-1)!, { path });
    },
    relayed: path === 'relay',
  });
}
