import { expect, it } from 'vitest';
import { openStore } from '@ordo/core';
import { Counter } from './counter-model.js';
import type { SharedLogTarget } from './shared-log-target.js';
import { StoreChildProcess } from './store-child-process.js';

const rounds = 20;

/** Real-time order across two processes, on PostgreSQL (real-time.test.ts) and on etcd. */
export function describeRealTime(name: string, describeStore: (name: string, body: () => void) => void, target: () => SharedLogTarget): void {
  describeStore(`${name} log: order agrees with real time across processes`, () => {
    it('orders a transaction that started after another committed after it, and lets it see the commit', async () => {
      const shared = target();
      const setup = await openStore({ entities: [Counter], log: shared.open() });
      await setup.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'shared' }));
      await setup.close();
      // Both processes open first, so each one's state is behind whenever the other one commits.
      const [a, b] = await Promise.all([StoreChildProcess.start(shared, 0), StoreChildProcess.start(shared, 1)]);
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
}
