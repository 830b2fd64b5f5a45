import { isOrdoError, memoryLog, type LogRecord } from '@ordo/core';
import { describe, expect, it } from 'vitest';
import { FaultyLog, noFaults, type FaultRates } from './faulty-log.js';
import { Prng } from './prng.js';

/** Frozen, as the core hands records to a log store (the memory store checks it). */
function records(from: number, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, index) => Object.freeze({ position: from + index, txId: `t${from + index}`, time: 0, changes: Object.freeze([]) }));
}

async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'none',
    (error: unknown) => (isOrdoError(error) ? error.code : String(error)),
  );
}

function faulty(rates: Partial<FaultRates>): { log: FaultyLog; inner: ReturnType<typeof memoryLog> } {
  const inner = memoryLog();
  return { log: new FaultyLog(inner, new Prng(1), { ...noFaults, ...rates }), inner };
}

describe('fault-injecting log wrapper', () => {
  it('a failed append writes nothing and refuses appends until reopened', async () => {
    const { log, inner } = faulty({ appendFails: 1 });
    expect(await failure(log.append(records(1, 2)))).toBe('LOG_STORE_FAILED');
    expect(await inner.head()).toBe(0);
    expect(log.counts.appendFails).toBe(1);
  });

  it('a lost acknowledgement writes the batch, then fails', async () => {
    const { log, inner } = faulty({ ackLost: 1 });
    expect(await failure(log.append(records(1, 3)))).toBe('LOG_STORE_FAILED');
    expect(await inner.head()).toBe(3);
    expect(await failure(log.append(records(4, 1)))).toBe('LOG_STORE_FAILED');
    log.reopen();
    // After the restart the log works again (the next draw is a fault too at rate 1).
    expect(await failure(log.append(records(4, 1)))).toBe('LOG_STORE_FAILED');
    expect(await inner.head()).toBe(4);
  });

  it('a torn append keeps a strict prefix of the batch', async () => {
    const { log, inner } = faulty({ torn: 1 });
    expect(await failure(log.append(records(1, 5)))).toBe('LOG_STORE_FAILED');
    expect(await inner.head()).toBeLessThan(5);
    expect(log.counts.torn).toBe(1);
  });

  it('a slow append still works, and failed reads are typed', async () => {
    const slow = faulty({ slow: 1 });
    await slow.log.append(records(1, 2));
    expect(await slow.inner.head()).toBe(2);
    expect(slow.log.counts.slow).toBe(1);
    const reads = faulty({ readFails: 1 });
    expect(await failure(reads.log.read(1, 1))).toBe('LOG_STORE_FAILED');
    expect(await failure(reads.log.head())).toBe('LOG_STORE_FAILED');
  });

  it('draws the same faults for the same seed', async () => {
    const draw = async (): Promise<string[]> => {
      const log = new FaultyLog(memoryLog(), new Prng(9), { appendFails: 0.3, ackLost: 0, torn: 0, slow: 0.3, readFails: 0 });
      const outcomes: string[] = [];
      for (let position = 1; outcomes.length < 20; ) {
        const outcome = await failure(log.append(records(position, 1)));
        if (outcome === 'none') position += 1;
        log.reopen();
        outcomes.push(outcome);
      }
      return outcomes;
    };
    const first = await draw();
    expect(await draw()).toEqual(first);
    expect(first).toContain('LOG_STORE_FAILED');
    expect(first).toContain('none');
  });
});
