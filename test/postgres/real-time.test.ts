import { afterAll } from 'vitest';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { describeRealTime } from './real-time-suite.js';
import { postgresTarget } from './shared-log-target.js';

const schema = uniqueSchema('realtime');
afterAll(() => dropSchemas([schema]));

describeRealTime('postgres', describePostgres, () => postgresTarget(pgUrl, schema));
