/** Where a command writes, and what it is told; `runCli` takes one so that it can be driven from code. */
export interface CliIo {
  /** Results: a table, or JSON with `--json`. */
  readonly out: (text: string) => void;
  /** Progress and warnings. */
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the command should stop (SIGINT, SIGTERM): `tail` ends with it. */
  readonly signal: AbortSignal;
}
