import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { nodeFileSystem } from '@ordo/adapters/file';
import { isRunning } from './file-target.js';

/** Text buffered before one write: large writes, bounded memory. */
const writeChunkBytes = 1024 * 1024;

/**
 * A file that appears at its path only when complete: it is written under a hidden name in
 * the same directory (`.NAME.ordo-partial-PID`), fsynced, then renamed. A process killed on
 * the way leaves no file at the path; the next writer of the same path removes the leftover.
 */
export class AtomicFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private offset = 0;

  private constructor(
    private readonly path: string,
    private readonly partial: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<AtomicFile> {
    const dir = dirname(resolve(path));
    const prefix = `.${basename(path)}.ordo-partial-`;
    for (const entry of await readdir(dir)) {
      const pid = Number(entry.slice(prefix.length));
      if (entry.startsWith(prefix) && !(Number.isSafeInteger(pid) && pid !== process.pid && isRunning(pid))) await rm(join(dir, entry), { force: true });
    }
    const partial = join(dir, `${prefix}${process.pid}`);
    // Owner-only, like the log it comes from: an export is the whole inventory too.
    return new AtomicFile(path, partial, await open(partial, 'wx', 0o600));
  }

  async write(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= writeChunkBytes) await this.flush();
  }

  /** Makes the file durable and puts it at its path. */
  async commit(): Promise<void> {
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    await rename(this.partial, this.path);
    await nodeFileSystem.syncDirectory(dirname(resolve(this.path)));
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.partial, { force: true });
  }

  private async flush(): Promise<void> {
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this.offset + written);
      written += bytesWritten;
    }
    this.offset += bytes.length;
  }
}
