import type { FileLogFileSystem } from './file-system.js';

/**
 * Something about a log directory that an operator should fix, told during `open()`; unlike
 * a recovery event, nothing was changed. `message` is one line, ready to print.
 */
export interface FileLogWarning {
  /** The directory grants other users access (any of the group or other bits of `mode` set). */
  readonly type: 'directory-open-to-others';
  readonly dir: string;
  /** The directory's permission bits, e.g. 0o755. */
  readonly mode: number;
  readonly message: string;
}

/**
 * Warns when others may list or read the log directory. The files a log creates are owner-only,
 * but files copied in by hand, or made by an older Ordo (0644), are then readable by anyone
 * who can enter the directory. The directory is left as it is: changing permissions an
 * operator chose is theirs to do (`chmod 700 DIR`).
 */
export async function checkDirectoryPermissions(fileSystem: FileLogFileSystem, dir: string, warn: (warning: FileLogWarning) => void): Promise<void> {
  const mode = await fileSystem.permissions(dir);
  if ((mode & 0o077) === 0) return;
  const shown = `0${mode.toString(8)}`;
  warn({
    type: 'directory-open-to-others',
    dir,
    mode,
    message: `ordo: the log directory ${dir} has mode ${shown}: other users may read the log; run chmod 700 on it`,
  });
}

export function warnOnConsole(warning: FileLogWarning): void {
  console.warn(warning.message);
}
