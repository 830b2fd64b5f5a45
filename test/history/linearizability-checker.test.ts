import { describe, expect, it } from 'vitest';
import { casRegisterModel, type RegisterInput, type RegisterOutput } from './cas-register-model.js';
import type { HistoryOp } from './history.js';
import { checkLinearizable, checkLinearizableByKey } from './linearizability-checker.js';

type RegisterOp = HistoryOp<RegisterInput, RegisterOutput>;

const model = casRegisterModel({ version: 1, value: 0 });

class Ops {
  readonly list: RegisterOp[] = [];

  ok(process: number, span: [number, number], input: RegisterInput, output: RegisterOutput): this {
    return this.push({ process, input, type: 'ok', output, error: undefined, invokeTime: span[0], completeTime: span[1] });
  }

  info(process: number, invokeTime: number, input: RegisterInput): this {
    return this.push({ process, input, type: 'info', output: undefined, error: 'crash', invokeTime, completeTime: Infinity });
  }

  fail(process: number, span: [number, number], input: RegisterInput): this {
    return this.push({ process, input, type: 'fail', output: undefined, error: 'conflict', invokeTime: span[0], completeTime: span[1] });
  }

  private push(op: Omit<RegisterOp, 'index'>): this {
    this.list.push({ ...op, index: this.list.length });
    return this;
  }
}

const read = { f: 'read' } as const;

describe('linearizability checker (Wing & Gong with memoization)', () => {
  it('accepts a sequential history and concurrent operations ordered either way', () => {
    const ops = new Ops()
      .ok(0, [0, 1], { f: 'write', value: 5 }, { f: 'write', version: 2 })
      .ok(1, [2, 10], { f: 'cas', expectedVersion: 2, value: 6 }, { f: 'cas', applied: true, version: 3 })
      .ok(2, [3, 4], read, { f: 'read', version: 2, value: 5 })
      .ok(0, [5, 6], read, { f: 'read', version: 3, value: 6 })
      .ok(2, [11, 12], { f: 'add', delta: 2 }, { f: 'add', before: 6, version: 4 });
    expect(checkLinearizable(model, ops.list)).toMatchObject({ verdict: 'ok', opsChecked: 5 });
  });

  it('accepts a failed CAS that reports the version it saw', () => {
    const ops = new Ops()
      .ok(0, [0, 1], { f: 'write', value: 5 }, { f: 'write', version: 2 })
      .ok(1, [2, 3], { f: 'cas', expectedVersion: 1, value: 9 }, { f: 'cas', applied: false, actual: 2 });
    expect(checkLinearizable(model, ops.list).verdict).toBe('ok');
  });

  it('rejects a stale read', () => {
    const ops = new Ops()
      .ok(0, [0, 1], { f: 'write', value: 5 }, { f: 'write', version: 2 })
      .ok(1, [2, 3], read, { f: 'read', version: 1, value: 0 });
    const result = checkLinearizable(model, ops.list);
    expect(result.verdict).toBe('illegal');
    expect(result.message).toContain('read => v1 0');
  });

  it('rejects two CAS updates that both succeeded from the same version (a lost update)', () => {
    const ops = new Ops()
      .ok(0, [0, 10], { f: 'cas', expectedVersion: 1, value: 1 }, { f: 'cas', applied: true, version: 2 })
      .ok(1, [0, 10], { f: 'cas', expectedVersion: 1, value: 2 }, { f: 'cas', applied: true, version: 2 });
    expect(checkLinearizable(model, ops.list).verdict).toBe('illegal');
  });

  it('rejects read-modify-writes that read the same value', () => {
    const ops = new Ops()
      .ok(0, [0, 10], { f: 'add', delta: 1 }, { f: 'add', before: 0, version: 2 })
      .ok(1, [0, 10], { f: 'add', delta: 1 }, { f: 'add', before: 0, version: 3 });
    expect(checkLinearizable(model, ops.list).verdict).toBe('illegal');
  });

  it('rejects a CAS mismatch that reports a version the register never had then', () => {
    const ops = new Ops().ok(0, [0, 1], { f: 'cas', expectedVersion: 2, value: 1 }, { f: 'cas', applied: false, actual: 7 });
    expect(checkLinearizable(model, ops.list).verdict).toBe('illegal');
  });

  it('rejects reads that go back in time across clients', () => {
    const ops = new Ops()
      .ok(0, [0, 20], { f: 'write', value: 5 }, { f: 'write', version: 2 })
      .ok(1, [1, 2], read, { f: 'read', version: 2, value: 5 })
      .ok(2, [3, 4], read, { f: 'read', version: 1, value: 0 });
    expect(checkLinearizable(model, ops.list).verdict).toBe('illegal');
  });

  it('lets an unknown write take effect or not, and drops failed operations', () => {
    const happened = new Ops()
      .info(0, 0, { f: 'write', value: 5 })
      .ok(1, [5, 6], read, { f: 'read', version: 1, value: 0 })
      .ok(1, [7, 8], read, { f: 'read', version: 2, value: 5 });
    expect(checkLinearizable(model, happened.list).verdict).toBe('ok');
    const never = new Ops().info(0, 0, { f: 'write', value: 5 }).fail(2, [0, 1], { f: 'write', value: 9 }).ok(1, [5, 6], read, { f: 'read', version: 1, value: 0 });
    expect(checkLinearizable(model, never.list)).toMatchObject({ verdict: 'ok', opsChecked: 2 });
  });

  it('rejects a read of a value only a failed operation wrote', () => {
    const ops = new Ops().fail(0, [0, 1], { f: 'write', value: 9 }).ok(1, [2, 3], read, { f: 'read', version: 2, value: 9 });
    expect(checkLinearizable(model, ops.list).verdict).toBe('illegal');
  });

  it('checks keys independently and names the failing key', () => {
    const ops = new Ops()
      .ok(0, [0, 1], { f: 'write', value: 5 }, { f: 'write', version: 2 })
      .ok(1, [2, 3], read, { f: 'read', version: 1, value: 0 })
      .ok(2, [0, 1], { f: 'write', value: 5 }, { f: 'write', version: 2 })
      .ok(3, [2, 3], read, { f: 'read', version: 2, value: 5 });
    const result = checkLinearizableByKey(model, ops.list, (op) => (op.process < 2 ? 'a' : 'b'));
    expect(result.verdict).toBe('illegal');
    expect(result.perKey.get('a')?.verdict).toBe('illegal');
    expect(result.perKey.get('b')?.verdict).toBe('ok');
    expect(result.message).toContain('key a');
  });

  it('handles many concurrent operations quickly thanks to memoization', () => {
    const ops = new Ops();
    // 12 clients each read the initial state concurrently, then 12 adds overlap: 24! orders without the memo table.
    for (let process = 0; process < 12; process += 1) ops.ok(process, [0, 100], read, { f: 'read', version: 1, value: 0 });
    for (let process = 0; process < 12; process += 1) ops.ok(process, [101, 200], { f: 'add', delta: 1 }, { f: 'add', before: process, version: process + 2 });
    expect(checkLinearizable(model, ops.list, { stepsMax: 200_000 }).verdict).toBe('ok');
  });

  it('gives up with unknown rather than hanging when the step budget runs out', () => {
    const ops = new Ops();
    for (let process = 0; process < 10; process += 1) ops.ok(process, [0, 100], { f: 'write', value: process }, { f: 'write', version: 2 });
    expect(checkLinearizable(model, ops.list, { stepsMax: 50 }).verdict).toBe('unknown');
  });
});
