import type { HistoryOp, OutcomeType } from './history.js';
import type { ListAppendOp, MicroOp } from './list-append.js';

/**
 * Writes list-append histories by hand for checker tests. Micro-ops are short strings:
 * `a x 1` appends 1 to x, `r x 1 2` read x as [1 2], `r x` is a read whose result is unknown.
 */
export class ListAppendHistoryBuilder {
  private readonly list: ListAppendOp[] = [];

  ok(process: number, invokeTime: number, completeTime: number, ...micro: string[]): this {
    return this.add(process, 'ok', invokeTime, completeTime, micro);
  }

  fail(process: number, invokeTime: number, completeTime: number, ...micro: string[]): this {
    return this.add(process, 'fail', invokeTime, completeTime, micro);
  }

  info(process: number, invokeTime: number, ...micro: string[]): this {
    return this.add(process, 'info', invokeTime, Infinity, micro);
  }

  build(): ListAppendOp[] {
    return [...this.list];
  }

  private add(process: number, type: OutcomeType, invokeTime: number, completeTime: number, micro: string[]): this {
    const output = micro.map(parseMicroOp);
    const input = output.map((op): MicroOp => (op.f === 'read' ? { f: 'read', key: op.key } : op));
    const op: HistoryOp<readonly MicroOp[], readonly MicroOp[]> = {
      index: this.list.length + 1,
      process,
      input,
      type,
      output: type === 'ok' ? output : undefined,
      error: type === 'ok' ? undefined : 'by hand',
      invokeTime,
      completeTime,
    };
    this.list.push(op);
    return this;
  }
}

function parseMicroOp(text: string): MicroOp {
  const [f, key, ...values] = text.trim().split(/\s+/);
  if (key === undefined) throw new Error(`bad micro-op '${text}'`);
  if (f === 'a') return { f: 'append', key, value: Number(values[0]) };
  if (f === 'r') return { f: 'read', key, value: values.map(Number) };
  throw new Error(`bad micro-op '${text}'`);
}
