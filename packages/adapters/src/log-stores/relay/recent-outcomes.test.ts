import { describe, expect, it } from 'vitest';
import { RecentOutcomes } from './recent-outcomes.js';

const committed = (position: number) => ({ state: 'decided' as const, outcome: { type: 'committed' as const, position } });

describe('RecentOutcomes', () => {
  it("tells a decided or failed txId, and 'unseen' for one it never held", () => {
    const outcomes = new RecentOutcomes({ keepMs: 1_000, entriesMax: 10, now: () => 0 });
    const record = { position: 4, txId: 'a', time: 0, changes: [] };
    outcomes.decided('a', committed(4), record);
    outcomes.failed('b', { code: 'LOG_STORE_FAILED', message: 'lost', outcome: 'unknown' });
    expect(outcomes.lookup('a')).toEqual({ status: committed(4), record });
    expect(outcomes.lookup('b').status).toEqual({ state: 'failed', failure: { code: 'LOG_STORE_FAILED', message: 'lost', outcome: 'unknown' } });
    expect(outcomes.lookup('c')).toEqual({ status: { state: 'unseen' }, record: undefined });
  });

  it('lets entries go after keepMs', () => {
    let now = 0;
    const outcomes = new RecentOutcomes({ keepMs: 1_000, entriesMax: 10, now: () => now });
    outcomes.decided('a', committed(1), undefined);
    now = 600;
    outcomes.decided('b', committed(2), undefined);
    now = 1_100;
    expect(outcomes.lookup('a').status).toEqual({ state: 'unseen' });
    expect(outcomes.lookup('b').status).toEqual(committed(2));
    expect(outcomes.size).toBe(1);
  });

  it("says 'forgotten', never 'unseen', for misses while entries dropped for room are younger than keepMs", () => {
    let now = 0;
    const outcomes = new RecentOutcomes({ keepMs: 1_000, entriesMax: 2, now: () => now });
    outcomes.decided('a', committed(1), undefined);
    now = 10;
    outcomes.decided('b', committed(2), undefined);
    outcomes.decided('c', committed(3), undefined);
    expect(outcomes.size).toBe(2);
    expect(outcomes.lookup('a').status).toEqual({ state: 'forgotten' });
    expect(outcomes.lookup('never').status).toEqual({ state: 'forgotten' });
    expect(outcomes.lookup('c').status).toEqual(committed(3));
    now = 1_001;
    expect(outcomes.lookup('never').status).toEqual({ state: 'unseen' });
  });
});
