import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { openStore, type LogRecord } from '@ordo/core';
import { Counter, counterIds } from './counter-model.js';
import type { SharedLogTarget } from './shared-log-target.js';
import { StoreChildProcess, type ChildEvent } from './store-child-process.js';

/** Where the cases of a run find a fresh shared log (a new schema, a new prefix) for each case. */
export interface MultiProcessHarness {
  target(name: string): SharedLogTarget;
  /** The processes commit through a commit relay: the survivors must have followed a leader. */
  readonly relayed?: boolean;
}

const survivors = 4;
const incrementsPerWorker = 250; // 4 survivors x 250 = 1,000 read-modify-write transactions
const createsPerWorker = 40;
const countersCount = 8;
const killAfterAcks = 40;

async function readWholeLog(target: SharedLogTarget): Promise<LogRecord[]> {
  const log = target.open();
  const { head } = await log.open();
  const records = await log.read(1, head + 1);
  await log.close();
  return records;
}

function digestOf(records: readonly LogRecord[], head: number): string {
  const hash = createHash('sha256');
  for (const record of records.slice(0, head)) hash.update(`${record.position}:${record.txId}\n`);
  return hash.digest('hex');
}

/** Replays the log and checks every counter update was +1 on the version before (no lost update). */
function checkCountersAndNames(records: readonly LogRecord[]): { increments: number; values: Map<string, number> } {
  const values = new Map<string, { version: number; value: number }>();
  const names = new Set<string>();
  let increments = 0;
  for (const record of records) {
    for (const change of record.changes) {
      if (change.kind === 'counter') {
        expect(change.op).not.toBe('delete');
        const value = change.op === 'delete' ? NaN : (change.data as { value: number }).value;
        const before = values.get(change.id);
        if (before !== undefined) {
          expect(change.version, `${change.id} at ${record.position}`).toBe(before.version + 1);
          expect(value, `${change.id} at ${record.position}`).toBe(before.value + 1);
          increments += 1;
        }
        values.set(change.id, { version: change.version, value });
      } else if (change.kind === 'item' && change.op === 'create') {
        const name = (change.data as { name: string }).name;
        expect(names.has(name), `duplicate item name ${name} at ${record.position}`).toBe(false);
        names.add(name);
      }
    }
  }
  return { increments, values: new Map([...values].map(([id, entry]) => [id, entry.value])) };
}

/**
 * Several store processes on one shared log: the cases every multi-writer store must pass, run
 * on PostgreSQL (multi-process.test.ts) and on etcd (test/etcd/multi-process.test.ts).
 */
export function describeMultiProcess(name: string, describeStore: (name: string, body: () => void) => void, harness: MultiProcessHarness): void {
  describeStore(`${name} log: many processes on one log`, () => {
    it('keeps one gapless total order with contended transactions, and survives a killed process', async () => {
      const target = harness.target('multi');
      const setup = await openStore({ entities: [Counter], log: target.open() });
      await setup.transact((tx) => counterIds(countersCount).forEach((id) => tx.create(Counter, { value: 0 }, { id })));

      const children = await Promise.all(Array.from({ length: survivors + 1 }, (_, worker) => StoreChildProcess.start(target, worker)));
      const [victim, ...others] = children as [StoreChildProcess, ...StoreChildProcess[]];
      const contend = { cmd: 'contend', increments: incrementsPerWorker, creates: createsPerWorker, callers: 4, counters: countersCount, names: 120 };
      for (const child of children) child.send(contend);

      // Kill one process in the middle of its run; the others must go on undisturbed.
      const victimAcks = (): number => victim.events.filter((event) => event.event === 'ack').length;
      await victim.waitFor(() => victimAcks() >= killAfterAcks);
      victim.kill();
      const results = await Promise.all(others.map((child) => child.waitFor((event) => event.event === 'contended')));
      await Promise.all(others.map((child) => child.close()));
      await victim.exited;
      expect(victim.events.some((event) => event.event === 'contended'), 'the victim was killed before it finished').toBe(false);
      // The run was contended: transactions were rerun after conflicts with other processes.
      const attempts = results.reduce((sum, result) => sum + (result.attempts as number), 0);
      expect(attempts).toBeGreaterThan(survivors * incrementsPerWorker);
      // Through a relay, the survivors ended following a leader (the test's own store or one of
      // them; the victim, killed, may have led before), none appending on its own.
      if (harness.relayed === true) {
        const routes = results.map((result) => result.route);
        expect(routes.every((route) => route === 'follow' || route === 'lead'), routes.join()).toBe(true);
        expect(routes.filter((route) => route === 'follow').length).toBeGreaterThanOrEqual(survivors - 1);
      }

      const records = await readWholeLog(target);
      records.forEach((record, index) => expect(record.position).toBe(index + 1));

      // Every process read the same order: its digest equals the log's prefix up to its head.
      for (const result of results) expect(result.digest).toBe(digestOf(records, result.head as number));

      // Nothing acknowledged is lost, the victim's acknowledgements included.
      const byPosition = new Map(records.map((record) => [record.position, record.txId]));
      const allAcks = children.flatMap((child) => child.events.filter((event): event is ChildEvent => event.event === 'ack'));
      expect(allAcks.length).toBeGreaterThanOrEqual(survivors * incrementsPerWorker + killAfterAcks);
      for (const ack of allAcks) expect(byPosition.get(ack.position as number), `ack at ${String(ack.position)}`).toBe(ack.txId);
      for (const child of others) {
        expect(child.events.filter((event) => event.event === 'ack' && event.kind === 'increment').length).toBe(incrementsPerWorker);
      }

      // No lost update, no duplicate unique value; the counters add up in a store that reads it all.
      const { increments, values } = checkCountersAndNames(records);
      const acknowledgedIncrements = allAcks.filter((ack) => ack.kind === 'increment').length;
      expect(increments).toBeGreaterThanOrEqual(acknowledgedIncrements);
      // The victim may have committed a few it never got to report: its batch in flight, and
      // acknowledgements still in its stdout buffer when it was killed.
      expect(increments - acknowledgedIncrements).toBeLessThanOrEqual(16);
      await setup.sync();
      const total = counterIds(countersCount).reduce((sum, id) => sum + (setup.get(Counter, id)?.data.value ?? NaN), 0);
      expect(total).toBe(increments);
      for (const [id, value] of values) expect(setup.get(Counter, id)?.data.value).toBe(value);
      expect(setup.position).toBe(records.length);
      await setup.close();
    });

    it('gives every process the one outcome of a request that several of them run at once (I7)', async () => {
      const count = 60;
      const target = harness.target('requests');
      const children = await Promise.all(Array.from({ length: survivors }, (_, worker) => StoreChildProcess.start(target, worker)));
      // One start time for all, so that the children race; and each waits after its first request
      // until every child has committed its own, so that every process wins some requests.
      const startAt = Date.now() + 500;
      const answers = await Promise.all(children.map((child) => child.ask({ cmd: 'requests', count, startAt, children: survivors }, 'requested')));
      await Promise.all(children.map((child) => child.close()));
      const log = target.open();
      const { head } = await log.open();
      const records = await log.read(1, head + 1);
      await log.close();
      // Exactly one record per request, whichever process won it.
      expect(records.map((entry) => entry.requestId).sort()).toEqual(Array.from({ length: count }, (_, index) => `request-${index}`).sort());
      const byRequest = new Map(records.map((entry) => [entry.requestId, entry]));
      for (const answer of answers) {
        for (const outcome of answer.outcomes as { requestId: string; position: number; txId: string; value: string }[]) {
          const logged = byRequest.get(outcome.requestId)!;
          expect([outcome.position, outcome.txId, outcome.value]).toEqual([logged.position, logged.txId, logged.result]);
        }
      }
      // Every process won some requests, so each got outcomes another process committed.
      const winners = new Set(records.map((entry) => JSON.stringify(entry.changes[0]?.op === 'create' ? entry.changes[0].data.worker : null)));
      expect(winners.size).toBe(survivors);
    });
  });
}
