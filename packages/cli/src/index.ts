/**
 * @ordo/cli: the `ordo` command (its `bin`), and the same as a function for programs and tests.
 *
 * ```sh
 * npx ordo info --log file:./data/ordo
 * npx ordo copy --from file:./data/ordo --to 'postgres://ordo@db:5432/ordo?schema=ordo'
 * ```
 *
 * ```ts
 * import { runCli } from '@ordo/cli';
 * const code = await runCli(['verify', '--log', 'file:./data/ordo'], io);
 * ```
 */
export { runCli, helpText } from './cli.js';
export type { CliIo } from './cli-io.js';
export { openLogUrl, logUrlSchemes } from './log-url.js';
export type { LogInspection, LogTarget, NewLog, SnapshotEntry } from './log-target.js';
export { CliUsageError, CopyMismatchError, ExportFormatError, SnapshotMismatchError, TargetNotEmptyError } from './cli-errors.js';
export { exportFormatVersion } from './export-format.js';
