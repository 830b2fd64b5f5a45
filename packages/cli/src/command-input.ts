import { openStore, type Store } from '@ordo/core';
import { CliUsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import { InspectionLog } from './inspection-log.js';
import { openLogUrl } from './log-url.js';
import type { LogTarget } from './log-target.js';
import { Progress } from './progress.js';

export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** What a command is given: its options, its positional arguments, and where to write. */
export class CommandInput {
  private readonly targets: LogTarget[] = [];

  constructor(
    readonly io: CliIo,
    readonly values: OptionValues,
    readonly positionals: readonly string[],
  ) {}

  get json(): boolean {
    return this.values.json === true;
  }

  /** The log named by `--NAME` (for `--log`, `ORDO_LOG` when it is not given). Closed by `close`. */
  target(name = 'log'): LogTarget {
    const given = this.string(name) ?? (name === 'log' ? this.io.env.ORDO_LOG : undefined);
    if (given === undefined || given === '') throw new CliUsageError(`--${name} URL is needed${name === 'log' ? ' (or ORDO_LOG)' : ''}`);
    const target = openLogUrl(given);
    this.targets.push(target);
    return target;
  }

  /**
   * A store over the log, read-only, with the state at `at` (the head when undefined). It knows
   * no entity types: every kind in the log is kept as it was written, unchecked.
   */
  async store(target: LogTarget, at?: number): Promise<Store> {
    return openStore({ entities: [], log: new InspectionLog(target.openLog({ writable: false }), at === undefined ? {} : { upTo: at }) });
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || typeof value === 'string') return value;
    throw new CliUsageError(`--${name} takes one value`);
  }

  strings(name: string): string[] {
    const value = this.values[name];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [String(value)];
  }

  /** An integer option >= `minimum`, or undefined when it is not given. */
  integer(name: string, minimum: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) throw new CliUsageError(`--${name} must be an integer >= ${minimum}, got ${JSON.stringify(text)}`);
    return value;
  }

  positional(index: number, name: string): string {
    const value = this.positionals[index];
    if (value === undefined) throw new CliUsageError(`${name} is missing`);
    return value;
  }

  progress(task: string, total: number): Progress {
    return new Progress(task, total, this.values.quiet === true ? undefined : this.io.err);
  }

  /** Writes a JSON document (one line) to stdout. */
  outJson(value: unknown): void {
    this.io.out(`${JSON.stringify(value)}\n`);
  }

  async close(): Promise<void> {
    for (const target of this.targets.splice(0)) await target.close().catch(() => undefined);
  }
}
