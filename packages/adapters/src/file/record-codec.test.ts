import { describe, expect, it } from 'vitest';
import type { LogRecord } from '@ordo/core';
import { decodeRecord, encodeRecord } from './record-codec.js';

describe('record codec', () => {
  it('round-trips plain and rich records exactly, without inventing absent fields', () => {
    const plain: LogRecord = { position: 3, txId: 'tx', time: 5, changes: [] };
    const rich: LogRecord = {
      position: 9,
      txId: '01J',
      time: 1_700_000_000_123,
      requestId: 'req-ü',
      operation: 'vm.create',
      result: null,
      meta: { step: ['a', 1, false] },
      changes: [
        { op: 'create', kind: 'vm', id: 'v1', version: 1, data: { name: 'a', nested: { list: [1.5, -2] } } },
        { op: 'update', kind: 'vm', id: 'v2', version: 4, data: {} },
        { op: 'delete', kind: 'host', id: 'h1', version: 2 },
      ],
    };
    for (const record of [plain, rich]) {
      const decoded = decodeRecord(encodeRecord(record));
      expect(decoded).toEqual(record);
      expect(Object.keys(decoded).sort()).toEqual(Object.keys(record).sort());
    }
  });

  it('is smaller than the object form of the same record', () => {
    const record: LogRecord = { position: 1, txId: 't', time: 1, changes: [{ op: 'create', kind: 'k', id: 'i', version: 1, data: { a: 1 } }] };
    expect(encodeRecord(record).length).toBeLessThan(JSON.stringify(record).length);
  });

  it('rejects payloads that are not an encoded record', () => {
    for (const text of ['{}', '[1,"t",2]', '[1,"t",2,[[7,"k","i",1,{}]]]', '[1,"t",2,[[0,"k","i",1]]]', '[1,"t",2,[],5]', 'not json']) {
      expect(() => decodeRecord(text), text).toThrow();
    }
  });
});
