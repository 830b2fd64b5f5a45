import { describe, expect, it } from 'vitest';
import * as core from '@ordo/core';

describe('the public entry of @ordo/core', () => {
  it('exports no internals: invariant checks, id sources and limit constants stay inside', () => {
    const exported = Object.keys(core);
    for (const internal of ['assert', 'monotonicUlids', 'retriesDefault', 'retriesMax', 'readRecordsMax', 'queuedCommitsDefault', 'Sequencer', 'State', 'admitBatch']) {
      expect(exported, internal).not.toContain(internal);
    }
    // What a log store of another package needs to keep the contract is public.
    for (const contract of ['memoryLog', 'checkAppendBatch', 'checkReadRange', 'checkSnapshot', 'appendRecordsMax', 'isOrdoError', 'openStore']) {
      expect(exported, contract).toContain(contract);
    }
  });
});
