import { OrdoError } from '@ordo/core';

/** The command line is wrong: unknown command or option, a missing or malformed value. Exit code 2. */
export class CliUsageError extends OrdoError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** `import`, `copy`: the target log already holds records or snapshots; nothing was written. */
export class TargetNotEmptyError extends OrdoError {
  readonly target: string;

  constructor(input: { target: string; holds: string }) {
    super('TARGET_NOT_EMPTY', `${input.target} is not empty (it holds ${input.holds}); import and copy write only into an empty log`);
    this.target = input.target;
  }
}

/** An export file is not one this version reads, is damaged, or is incomplete; nothing was written. */
export class ExportFormatError extends OrdoError {
  readonly file: string;
  readonly line: number;

  constructor(input: { file: string; line: number; reason: string }) {
    super('EXPORT_INVALID', `${input.file} line ${input.line}: ${input.reason}`);
    this.file = input.file;
    this.line = input.line;
  }
}

/** `copy` read back a record or snapshot from the target that differs from the source's. */
export class CopyMismatchError extends OrdoError {
  readonly position: number;

  constructor(input: { target: string; position: number; reason: string }) {
    super('COPY_MISMATCH', `${input.target} at position ${input.position}: ${input.reason}`);
    this.position = input.position;
  }
}

/** `verify`: replaying the log does not give a snapshot's state. */
export class SnapshotMismatchError extends OrdoError {
  readonly where: string;
  readonly position: number;

  constructor(input: { where: string; position: number; reason: string }) {
    super('SNAPSHOT_MISMATCH', `snapshot ${input.where} at position ${input.position} differs from replaying the log: ${input.reason}`);
    this.where = input.where;
    this.position = input.position;
  }
}
