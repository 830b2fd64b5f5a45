import { afterAll, expect, it } from 'vitest';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from '../../../test/postgres/pg-test-env.js';
import { HttpFixture } from './http-fixture.js';

const schemas: string[] = [];
afterAll(async () => dropSchemas(schemas));

describePostgres('the API on a PostgreSQL log', () => {
  it('serves from the PostgreSQL log and finds its entities and requestIds there after a restart', async () => {
    const schema = uniqueSchema('http');
    schemas.push(schema);
    const http = new HttpFixture();
    try {
      await http.start({ postgres: { connectionString: pgUrl, schema } });
      const created = await http.post('/hosts', { name: 'pg-host', cpuThreads: 4, memoryMiB: 4096 }, { 'request-id': 'pg-host' });
      expect(created.status).toBe(201);
      await http.service?.close();
      // Same data folder but the log is not in it: only PostgreSQL can bring the host back.
      await http.start({ postgres: { connectionString: pgUrl, schema } });
      expect(((await http.get('/hosts?name=pg-host')).body.items as unknown[]).length).toBe(1);
      const replayed = await http.post('/hosts', { name: 'pg-host', cpuThreads: 4, memoryMiB: 4096 }, { 'request-id': 'pg-host' });
      expect(replayed.status).toBe(201);
      expect(replayed.body).toEqual(created.body);
      expect(replayed.headers.get('ordo-replayed')).toBe('true');
    } finally {
      await http.cleanup();
    }
  });
});
