import { memoryLog, type LogStore } from '@ordo/core';
import { describeLogStoreConformance } from './log-store-conformance.js';

let current: LogStore | undefined;

describeLogStoreConformance('memory', {
  fresh: async () => (current = memoryLog()),
  // The memory log lives in the object: reopening means opening the same object again.
  reopen: async () => {
    if (current === undefined) throw new Error('fresh() first');
    return current;
  },
});
