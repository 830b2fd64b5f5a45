import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { casRegisterModel, type RegisterInput, type RegisterOutput } from './cas-register-model.js';
import type { HistoryOp, OutcomeType } from './history.js';
import { checkLinearizable } from './linearizability-checker.js';
import type { ListAppendOp, MicroOp } from './list-append.js';
import { checkListAppend } from './list-append-checker.js';

/**
 * The checkers must not cry wolf: any history produced by running transactions one at a time
 * (each at an instant inside its invocation and completion) passes, whatever the overlaps,
 * unknown outcomes and failed operations around it.
 */
const slack = fc.integer({ min: 0, max: 40 });
const outcome = fc.constantFrom<OutcomeType>('ok', 'ok', 'ok', 'ok', 'info', 'fail');

const microOps = fc.array(
  fc.record({ append: fc.boolean(), key: fc.constantFrom('x', 'y', 'z') }),
  { minLength: 1, maxLength: 4 },
);

describe('checkers accept every serial execution', () => {
  it('list-append: a serial execution with overlapping real-time bounds is valid', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(microOps, outcome, slack, slack), { minLength: 1, maxLength: 40 }), (txns) => {
        const lists = new Map<string, number[]>();
        let nextValue = 1;
        const history: ListAppendOp[] = txns.map(([ops, type, before, after], index) => {
          const at = index * 10;
          const input: MicroOp[] = ops.map((op) => (op.append ? { f: 'append', key: op.key, value: nextValue++ } : { f: 'read', key: op.key }));
          // A failed transaction never takes effect; an unknown one does here (it may either way).
          const output = type === 'fail' ? undefined : input.map((op) => runMicroOp(lists, op));
          return {
            index,
            process: index,
            input,
            type,
            output: type === 'ok' ? output : undefined,
            error: type === 'ok' ? undefined : 'generated',
            invokeTime: at - before,
            completeTime: type === 'info' ? Infinity : at + after,
          };
        });
        const report = checkListAppend(history);
        expect(report.describe()).toBe('');
      }),
      { numRuns: 300, seed: Number(process.env.ORDO_FUZZ_SEED ?? 1) },
    );
  });

  it('registers: a sequential execution with overlapping real-time bounds is linearizable', () => {
    const registerInput: fc.Arbitrary<RegisterInput> = fc.oneof(
      fc.constant({ f: 'read' as const }),
      fc.integer({ min: 0, max: 9 }).map((value) => ({ f: 'write' as const, value })),
      fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 9 })).map(([expectedVersion, value]) => ({ f: 'cas' as const, expectedVersion, value })),
      fc.integer({ min: 1, max: 3 }).map((delta) => ({ f: 'add' as const, delta })),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(registerInput, outcome, slack, slack), { minLength: 1, maxLength: 30 }), (calls) => {
        let state = { version: 1, value: 0 };
        const history: HistoryOp<RegisterInput, RegisterOutput>[] = calls.map(([input, type, before, after], index) => {
          let output: RegisterOutput | undefined;
          if (type !== 'fail') [state, output] = runRegister(state, input);
          return { index, process: index, input, type, output: type === 'ok' ? output : undefined, error: undefined, invokeTime: index * 10 - before, completeTime: type === 'info' ? Infinity : index * 10 + after };
        });
        expect(checkLinearizable(casRegisterModel({ version: 1, value: 0 }), history).verdict).toBe('ok');
      }),
      { numRuns: 300, seed: Number(process.env.ORDO_FUZZ_SEED ?? 1) },
    );
  });
});

function runMicroOp(lists: Map<string, number[]>, op: MicroOp): MicroOp {
  const list = lists.get(op.key) ?? [];
  if (op.f === 'append') {
    lists.set(op.key, [...list, op.value]);
    return op;
  }
  return { f: 'read', key: op.key, value: [...list] };
}

function runRegister(state: { version: number; value: number }, input: RegisterInput): [{ version: number; value: number }, RegisterOutput] {
  switch (input.f) {
    case 'read':
      return [state, { f: 'read', ...state }];
    case 'write':
      return [{ version: state.version + 1, value: input.value }, { f: 'write', version: state.version + 1 }];
    case 'cas':
      if (state.version !== input.expectedVersion) return [state, { f: 'cas', applied: false, actual: state.version }];
      return [{ version: state.version + 1, value: input.value }, { f: 'cas', applied: true, version: state.version + 1 }];
    case 'add':
      return [{ version: state.version + 1, value: state.value + input.delta }, { f: 'add', before: state.value, version: state.version + 1 }];
  }
}
