import { afterAll } from 'vitest';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { describeRealTime } from './real-time-suite.js';
import { postgresTarget } from './shared-log-target.js';

const schema = uniqueSchema('realtime');
const relaySchema = uniqueSchema('realtime_relay');
afterAll(() => dropSchemas([schema, relaySchema]));

describeRealTime('postgres', describePostgres, () => postgresTarget(pgUrl, schema));
describeRealTime('postgres, through the commit relay', describePostgres, () => postgresTarget(pgUrl, relaySchema, { path: 'relay' }));
