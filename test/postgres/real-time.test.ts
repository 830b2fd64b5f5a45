import { afterAll, expect, it } from 'vitest';
import { openStore } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { Counter } from './counter-model.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { StoreChildProcess } from './store-child-process.js';

const schema = uniqueSchema('realtime');
const rounds = 20;

describePostgres('postgres log: order agrees with real time across processes', () => {
  afterAll(() => dropSchemas([schema]));

  it('orders a transaction that started after another committed after it, and lets it see the commit', async () => {
    const setup = await openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) });
    await setup.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'shared' }));
    await setup.close();
    // Both processes open first, so each one's state is behind whenever the other one commits.
    const [a, b] = await Promise.all([StoreChildProcess.start(schema, 0), StoreChildProcess.start(schema, 1)]);
    let expected = 0;
    for (let round = 0; round < rounds; round += 1) {
      const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
      const committed = await first.ask({ cmd: 'increment', id: 'shared' }, 'incremented');
      expected += 1;
      expect(committed.value).toBe(expected);
      if (round % 4 < 2) {
        // A read-only transaction started after the commit sees it (linearizable read).
        const seen = await second.ask({ cmd: 'readCounter', id: 'shared' }, 'read');
        expect(seen.value).toBe(expected);
        expect(seen.position as number).toBeGreaterThanOrEqual(committed.position as number);
      }
      // A writing transaction started after the commit (on a state that may not have folded it
      // yet) is ordered after it and builds on it.
      const next = await second.ask({ cmd: 'increment', id: 'shared' }, 'incremented');
      expected += 1;
      expect(next.value).toBe(expected);
      expect(next.position as number).toBeGreaterThan(committed.position as number);
    }
    await Promise.all([a.close(), b.close()]);
  });
});
