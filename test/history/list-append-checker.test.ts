import { describe, expect, it } from 'vitest';
import { ListAppendHistoryBuilder } from './history-builder.js';
import { checkListAppend, type AnomalyType } from './list-append-checker.js';

function types(history: ListAppendHistoryBuilder, realtime = true): AnomalyType[] {
  return checkListAppend(history.build(), { realtime }).anomalies.map((anomaly) => anomaly.type);
}

describe('list-append checker: valid histories pass', () => {
  it('passes a serial history', () => {
    const history = new ListAppendHistoryBuilder()
      .ok(0, 0, 1, 'a x 1', 'r x 1')
      .ok(1, 2, 3, 'r x 1', 'a x 2', 'a y 3')
      .ok(0, 4, 5, 'r x 1 2', 'r y 3');
    const report = checkListAppend(history.build());
    expect(report.describe()).toBe('');
    expect(report.valid).toBe(true);
    expect(report.opsChecked).toBe(3);
  });

  it('passes concurrent transactions in either serial order', () => {
    const history = new ListAppendHistoryBuilder()
      .ok(0, 0, 10, 'a x 1', 'r y')
      .ok(1, 1, 9, 'a y 2', 'r x 1')
      .ok(2, 11, 12, 'r x 1', 'r y 2');
    expect(types(history)).toEqual([]);
  });

  it('counts an unknown transaction whose append was read, and ignores one never seen', () => {
    const history = new ListAppendHistoryBuilder()
      .info(0, 0, 'a x 1')
      .info(1, 0, 'a x 2')
      .ok(2, 5, 6, 'r x 1');
    const report = checkListAppend(history.build());
    expect(report.valid).toBe(true);
    expect(report.opsChecked).toBe(2);
  });

  it('lets an unknown transaction take effect long after it was invoked', () => {
    const history = new ListAppendHistoryBuilder()
      .info(0, 0, 'a x 1')
      .ok(1, 5, 6, 'r x')
      .ok(1, 7, 8, 'r x 1');
    expect(types(history)).toEqual([]);
  });

  it('passes a failed transaction whose append nobody read', () => {
    const history = new ListAppendHistoryBuilder().fail(0, 0, 1, 'a x 1').ok(1, 2, 3, 'r x');
    expect(types(history)).toEqual([]);
  });
});

describe('list-append checker: every anomaly class is caught', () => {
  it('G0: write cycle', () => {
    const history = new ListAppendHistoryBuilder()
      .ok(0, 0, 10, 'a x 1', 'a y 2')
      .ok(1, 0, 10, 'a x 3', 'a y 4')
      .ok(2, 11, 12, 'r x 1 3', 'r y 4 2');
    const report = checkListAppend(history.build());
    expect(report.anomalies.map((anomaly) => anomaly.type)).toEqual(['G0']);
    expect(report.describe()).toContain('T1 -ww-> T2');
    expect(report.describe()).toContain('T2 -ww-> T1');
  });

  it('G1a: aborted read', () => {
    const history = new ListAppendHistoryBuilder().fail(0, 0, 1, 'a x 1').ok(1, 2, 3, 'r x 1');
    expect(types(history)).toContain('G1a');
  });

  it('G1b: intermediate read', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 10, 'a x 1', 'a x 2').ok(1, 0, 10, 'r x 1').ok(2, 11, 12, 'r x 1 2');
    expect(types(history)).toContain('G1b');
  });

  it('G1c: circular information flow', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 10, 'a x 1', 'r y 2').ok(1, 0, 10, 'a y 2', 'r x 1');
    expect(types(history)).toEqual(['G1c']);
  });

  it('lost update, a G-single cycle', () => {
    const history = new ListAppendHistoryBuilder()
      .ok(0, 0, 10, 'r x', 'a x 1')
      .ok(1, 0, 10, 'r x', 'a x 2')
      .ok(2, 11, 12, 'r x 1 2');
    const found = types(history);
    expect(found).toContain('lost-update');
    expect(found).toContain('G-single');
  });

  it('G2: write skew, two anti-dependencies', () => {
    const history = new ListAppendHistoryBuilder()
      .ok(0, 0, 10, 'r x', 'r y', 'a x 1')
      .ok(1, 0, 10, 'r x', 'r y', 'a y 2')
      .ok(2, 11, 12, 'r x 1', 'r y 2');
    expect(types(history)).toEqual(['G2']);
  });

  it('stale read: serializable, but not in real-time order', () => {
    const history = new ListAppendHistoryBuilder()
      .ok(0, 0, 1, 'a x 1')
      .ok(1, 2, 3, 'r x')
      .ok(2, 4, 5, 'r x 1');
    expect(types(history, false)).toEqual([]);
    const found = types(history);
    expect(found).toContain('stale-read');
    expect(found).toContain('G-single-realtime');
  });

  it('lost write: an acknowledged append that later reads never show', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 1, 'a x 1').ok(0, 2, 3, 'a x 2').ok(1, 4, 5, 'r x 2');
    expect(types(history)).toEqual(['lost-write']);
  });

  it('incompatible order between two reads', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 10, 'a x 1').ok(1, 0, 10, 'a x 2').ok(2, 11, 12, 'r x 1 2').ok(3, 11, 12, 'r x 2 1');
    expect(types(history)).toContain('incompatible-order');
  });

  it('duplicate elements and garbage reads', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 1, 'a x 1').ok(1, 2, 3, 'r x 1 1').ok(2, 2, 3, 'r y 7');
    const found = types(history);
    expect(found).toContain('duplicate-elements');
    expect(found).toContain('garbage-read');
  });

  it('internal inconsistency: a transaction that does not see its own append', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 1, 'a x 1', 'r x');
    expect(types(history)).toEqual(['internal']);
  });

  it('reports the offending transactions in full', () => {
    const history = new ListAppendHistoryBuilder().ok(0, 0, 10, 'a x 1', 'r y 2').ok(1, 0, 10, 'a y 2', 'r x 1');
    const text = checkListAppend(history.build()).describe();
    expect(text).toContain('T1 (process 0, ok');
    expect(text).toContain('[append y 2, read x [1]]');
  });
});
