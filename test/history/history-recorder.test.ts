import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from './history-recorder.js';

function counterClock(): () => number {
  let now = 0;
  return () => (now += 1);
}

describe('history recorder', () => {
  it('records invocation and completion times, outputs and outcomes in invocation order', async () => {
    const recorder = new HistoryRecorder<string, number>(counterClock());
    const first = recorder.invoke(0, 'a');
    const second = recorder.invoke(1, 'b');
    recorder.ok(second, 2);
    recorder.fail(first, 'CONFLICT');
    await recorder.run(2, 'c', async () => 3, () => 'fail');
    await recorder.run(3, 'd', () => Promise.reject(new Error('lost')), () => 'info');
    const ops = recorder.ops();
    expect(ops.map((op) => [op.index, op.process, op.input, op.type, op.output])).toEqual([
      [0, 0, 'a', 'fail', undefined],
      [1, 1, 'b', 'ok', 2],
      [2, 2, 'c', 'ok', 3],
      [3, 3, 'd', 'info', undefined],
    ]);
    expect(ops.map((op) => [op.invokeTime, op.completeTime])).toEqual([
      [1, 4],
      [2, 3],
      [5, 6],
      [7, Infinity],
    ]);
    expect(ops[3]!.error).toBe('lost');
  });

  it('reports operations still in flight as unknown', () => {
    const recorder = new HistoryRecorder<string, number>(counterClock());
    recorder.invoke(0, 'a');
    expect(recorder.ops()).toMatchObject([{ type: 'info', completeTime: Infinity, error: 'pending when the history was taken' }]);
  });

  it('refuses two operations in flight on one process, and a double completion', () => {
    const recorder = new HistoryRecorder<string, number>(counterClock());
    const op = recorder.invoke(0, 'a');
    expect(() => recorder.invoke(0, 'b')).toThrow(/already has an operation/);
    recorder.ok(op, 1);
    expect(() => recorder.ok(op, 1)).toThrow(/completed twice/);
  });

  it('uses performance.now by default, so bounds are real time', async () => {
    const recorder = new HistoryRecorder<string, number>();
    const before = performance.now();
    await recorder.run(0, 'a', async () => 1, () => 'fail');
    const [op] = recorder.ops();
    expect(op!.invokeTime).toBeGreaterThanOrEqual(before);
    expect(op!.completeTime).toBeGreaterThanOrEqual(op!.invokeTime);
  });
});
