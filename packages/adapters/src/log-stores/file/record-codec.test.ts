import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue, LogRecord } from '@ordo/core';
import { decodeRecord, decodeRecords, encodeRecord, PayloadError } from './record-codec.js';

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
      schemas: { vm: '3:0badf00d' },
      changes: [
        { op: 'create', kind: 'vm', id: 'v1', version: 1, data: { name: 'a', nested: { list: [1.5, -2] } } },
        { op: 'update', kind: 'vm', id: 'v2', version: 4, data: {} },
        { op: 'create', kind: 'vm', id: 'v3', version: 1, data: { a: 1 }, schemaVersion: 3 },
        { op: 'update', kind: 'vm', id: 'v4', version: 2, data: {}, schemaVersion: 2 },
        { op: 'delete', kind: 'host', id: 'h1', version: 2 },
      ],
    };
    for (const record of [plain, rich]) {
      const decoded = decodeRecord(encodeRecord(record));
      expect(decoded).toEqual(record);
      expect(Object.keys(decoded).sort()).toEqual(Object.keys(record).sort());
    }
  });

  it('round-trips any records, alone and laid out as frames in one batch (I3)', () => {
    // JSON text as the log holds it: what JSON.parse gives back (no -0, no undefined keys).
    const json = fc.jsonValue().map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);
    const data = fc.dictionary(fc.string(), json).map((value) => JSON.parse(JSON.stringify(value)) as JsonObject);
    const change = fc.oneof(
      fc.record({ op: fc.constantFrom('create' as const, 'update' as const), kind: fc.string(), id: fc.string(), version: fc.nat(), data }),
      // At schema version 1 a change leaves the version out; above it, the version round-trips.
      fc.record({ op: fc.constantFrom('create' as const, 'update' as const), kind: fc.string(), id: fc.string(), version: fc.nat(), data, schemaVersion: fc.integer({ min: 2, max: 1000 }) }),
      fc.record({ op: fc.constant('delete' as const), kind: fc.string(), id: fc.string(), version: fc.nat() }),
    );
    const extras = fc.record({ requestId: fc.string(), operation: fc.string(), result: json, meta: data, schemas: fc.dictionary(fc.string().filter((key) => key !== '__proto__'), fc.string()) }, { requiredKeys: [] });
    const record = fc
      .tuple(fc.nat(), fc.string(), fc.nat(), fc.array(change, { maxLength: 4 }), extras)
      .map(([position, txId, time, changes, more]): LogRecord => ({ position, txId, time, changes, ...more }));
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), (records) => {
        for (const one of records) expect(decodeRecord(encodeRecord(one))).toEqual(one);
        const parts: Buffer[] = [];
        const spans: number[] = [];
        let offset = 0;
        for (const one of records) {
          const bytes = Buffer.from(encodeRecord(one), 'utf8');
          // Frame headers lie between payloads; their bytes may be anything, JSON's brackets included.
          parts.push(Buffer.from('],[x'), bytes);
          spans.push(offset + 4, offset + 4 + bytes.length);
          offset += 4 + bytes.length;
        }
        const into: LogRecord[] = [];
        decodeRecords(Buffer.concat(parts), spans, Buffer.alloc(0), into);
        expect(into).toEqual(records);
      }),
      { numRuns: 200 },
    );
  });

  it('is smaller than the object form of the same record', () => {
    const record: LogRecord = { position: 1, txId: 't', time: 1, changes: [{ op: 'create', kind: 'k', id: 'i', version: 1, data: { a: 1 } }] };
    expect(encodeRecord(record).length).toBeLessThan(JSON.stringify(record).length);
  });

  it('reads payloads in the nested form that logs were written in before the flat one', () => {
    const legacy = '[9,"01J",7,[[0,"vm","v1",1,{"name":"a"}],[2,"host","h1",2]],{"requestId":"r"}]';
    expect(decodeRecord(legacy)).toEqual({
      position: 9,
      txId: '01J',
      time: 7,
      requestId: 'r',
      changes: [
        { op: 'create', kind: 'vm', id: 'v1', version: 1, data: { name: 'a' } },
        { op: 'delete', kind: 'host', id: 'h1', version: 2 },
      ],
    });
  });

  it('rejects payloads that are not exactly one encoded record', () => {
    const bad = [
      ['not json', 'not JSON'],
      ['{}', 'an object'],
      ['1,"t",2', 'no change count'],
      ['1,"t",2,0', 'no extras'],
      ['1,"t",2,0,0,0', 'a value past the record'],
      ['1,"t",2,0,5', 'extras that are not an object'],
      ['1,"t",2,-1,0', 'a negative change count'],
      ['1,"t",2,1.5,0,"k","i",1,{},0', 'a fractional change count'],
      ['1,"t",2,2,0,"k","i",1,{},0', 'fewer changes than counted'],
      ['1,"t",2,1,7,"k","i",1,{},0', 'an unknown change code'],
      ['1,"t",2,1,0,"k","i",1,0,0', 'a create without data'],
      ['1,"t",2,1,2,"k","i",1,{},0', 'a delete with data'],
      ['1,"t",2,1,0,"k",5,1,{},0', 'an id that is not a string'],
      ['[1,"t",2]', 'a short nested record'],
      ['[1,"t",2,[[7,"k","i",1,{}]]]', 'a nested record with an unknown change code'],
      ['[1,"t",2,[[0,"k","i",1]]]', 'a nested create without data'],
      ['[1,"t",2,[],5]', 'nested extras that are not an object'],
    ] as const;
    for (const [text, label] of bad) expect(() => decodeRecord(text), label).toThrow();
  });

  describe('many payloads at once', () => {
    /** Payloads laid out with 3 bytes of other data between them, as frames are; returns the bytes and the spans. */
    function laidOut(payloads: readonly string[]): { bytes: Buffer; spans: number[] } {
      const parts: Buffer[] = [];
      const spans: number[] = [];
      let offset = 0;
      for (const payload of payloads) {
        const bytes = Buffer.from(payload, 'utf8');
        parts.push(Buffer.from([0xff, 0x00, 0x7b]), bytes);
        spans.push(offset + 3, offset + 3 + bytes.length);
        offset += 3 + bytes.length;
      }
      return { bytes: Buffer.concat(parts), spans };
    }
    const record = (position: number): LogRecord => ({
      position,
      txId: `tx-${position}`,
      time: position,
      changes: [{ op: 'create', kind: 'k', id: `é-${position}`, version: 1, data: { n: position } }],
    });

    it('decodes them in order, growing the scratch buffer as needed', () => {
      const records = Array.from({ length: 50 }, (_, index) => record(index + 1));
      const { bytes, spans } = laidOut(records.map(encodeRecord));
      const into: LogRecord[] = [];
      const scratch = decodeRecords(bytes, spans, Buffer.alloc(8), into);
      expect(into).toEqual(records);
      expect(scratch.length).toBeGreaterThan(8);
    });

    it('decodes nested and flat payloads mixed in one batch, after the records already in `into`', () => {
      const nested = '[2,"tx-2",2,[[1,"k","é-1",2,{"n":2}]]]';
      const { bytes, spans } = laidOut([encodeRecord(record(1)), nested, encodeRecord(record(3))]);
      const earlier = record(0);
      const into: LogRecord[] = [earlier];
      decodeRecords(bytes, spans, Buffer.alloc(0), into);
      expect(into).toEqual([earlier, record(1), { ...record(2), changes: [{ op: 'update', kind: 'k', id: 'é-1', version: 2, data: { n: 2 } }] }, record(3)]);
    });

    it('names the payload that is not a record, also when the payloads parse together', () => {
      const good = encodeRecord(record(1));
      for (const [bad, label] of [
        ['not json', 'not JSON'],
        ['[1,"t",2]', 'a short array'],
        ['1,2', 'two values'],
        ['{"a":', 'an open object'],
        ['3,"t",3,0', 'a record one value short, which shifts the payloads after it'],
        ['3,"t",3,0,0,0', 'a record with one value too many'],
      ] as const) {
        const { bytes, spans } = laidOut([good, good, bad, good]);
        let caught: unknown;
        const into: LogRecord[] = [];
        try {
          decodeRecords(bytes, spans, Buffer.alloc(0), into);
        } catch (error) {
          caught = error;
        }
        expect(caught, label).toBeInstanceOf(PayloadError);
        expect((caught as PayloadError).index, label).toBe(2);
        expect(into, label).toEqual([]);
      }
    });
  });
});
