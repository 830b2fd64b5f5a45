import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isOrdoError } from '@ordo/core';
import { CliUsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import { CommandInput } from './command-input.js';
import { copyCommand } from './commands/copy.js';
import { getCommand, listCommand } from './commands/entities.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { infoCommand } from './commands/info.js';
import { operationCommand } from './commands/operation.js';
import { recordsCommand, tailCommand } from './commands/records.js';
import { verifyCommand } from './commands/verify.js';
import { logUrlSchemes } from './log-url.js';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  readonly usage: string;
  readonly options: Options;
  readonly run: (input: CommandInput) => Promise<number>;
}

const log: Options = { log: { type: 'string' } };
const common: Options = { json: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean' } };
const at: Options = { at: { type: 'string' } };

const commands: Readonly<Record<string, Command>> = {
  info: { usage: 'info [--log URL]', options: log, run: infoCommand },
  verify: { usage: 'verify [--log URL]', options: log, run: verifyCommand },
  records: { usage: 'records [--log URL] [--from N] [--limit K] [--kind KIND]', options: { ...log, from: { type: 'string' }, limit: { type: 'string' }, kind: { type: 'string' } }, run: recordsCommand },
  tail: { usage: 'tail [--log URL] [--from N]', options: { ...log, from: { type: 'string' } }, run: tailCommand },
  get: { usage: 'get KIND ID [--log URL] [--at N]', options: { ...log, ...at }, run: getCommand },
  list: { usage: 'list KIND [--log URL] [--where FIELD=VALUE]... [--at N]', options: { ...log, ...at, where: { type: 'string', multiple: true } }, run: listCommand },
  operation: { usage: 'operation POSITION|REQUEST_ID [--log URL]', options: log, run: operationCommand },
  export: { usage: 'export --out FILE [--log URL] [--snapshot]', options: { ...log, out: { type: 'string' }, snapshot: { type: 'boolean' } }, run: exportCommand },
  import: { usage: 'import --in FILE [--log URL]', options: { ...log, in: { type: 'string' } }, run: importCommand },
  copy: { usage: 'copy --from URL --to URL [--snapshot]', options: { from: { type: 'string' }, to: { type: 'string' }, snapshot: { type: 'boolean' } }, run: copyCommand },
};

export function helpText(): string {
  const lines = Object.values(commands).map((command) => `  ordo ${command.usage}`);
  return [
    'usage:',
    ...lines,
    '',
    `A log URL is file:DIR or postgres://user@host:port/db?schema=NAME (schemes: ${logUrlSchemes.join(', ')}).`,
    'ORDO_LOG gives the default --log. Every command takes --json (output for scripts) and --quiet (no progress on stderr).',
    '',
  ].join('\n');
}

/**
 * Runs one `ordo` command line; resolves to the exit code: 0 success, 1 a failure (a typed
 * error, printed as one line `ordo: CODE: message` on stderr, or damage found by verify),
 * 2 a wrong command line.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(helpText());
    return name === undefined ? 2 : 0;
  }
  let input: CommandInput | undefined;
  try {
    const command = commands[name];
    if (command === undefined) throw new CliUsageError(`unknown command '${name}'; commands: ${Object.keys(commands).join(', ')}`);
    const parsed = parse(command, rest);
    if (parsed.values.help === true) {
      io.out(`usage: ordo ${command.usage}\n`);
      return 0;
    }
    input = new CommandInput(io, parsed.values, parsed.positionals);
    return await command.run(input);
  } catch (error) {
    io.err(`${errorLine(error)}\n`);
    return isOrdoError(error) && error.code === 'USAGE' ? 2 : 1;
  } finally {
    await input?.close();
  }
}

function parse(command: Command, args: readonly string[]): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: [...args], options: { ...common, ...command.options }, allowPositionals: true, strict: true });
    return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals };
  } catch (error) {
    throw new CliUsageError(`${error instanceof Error ? error.message : String(error)}; usage: ordo ${command.usage}`);
  }
}

/** One line for any failure: the code and message of a typed error, or the message of an unexpected one. */
function errorLine(error: unknown): string {
  if (isOrdoError(error)) return `ordo: ${error.code}: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return `ordo: unexpected error: ${message.split('\n')[0] ?? ''}`;
}
