import * as fs from 'node:fs';

/**
 * The narrow file-system surface the file log store uses. The default is `nodeFileSystem`;
 * tests pass a wrapper that makes a chosen write or fsync fail, to prove the store refuses
 * to continue past an unknown state. Paths are absolute or relative to the process.
 */
export interface FileLogFileSystem {
  /**
   * 'read': existing file, read only. 'append': existing file, read and write. 'create': a new
   * file (fails if it exists), readable and writable by the owner only (0600).
   */
  open(path: string, mode: FileOpenMode): Promise<FileLogHandle>;
  /** File names (not paths) in `dir`. */
  list(dir: string): Promise<string[]>;
  /** Creates `dir` and its parents when missing, readable by the owner only (0700). */
  makeDirectory(dir: string): Promise<void>;
  /** The permission bits of `path` (`mode & 0o777`), to warn when others may read the log. */
  permissions(path: string): Promise<number>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  /** Creates `to` as a second name of `from`; fails with code EEXIST when `to` exists. */
  link(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  /** Makes creations, renames and removals in `dir` durable (fsync of the directory). */
  syncDirectory(dir: string): Promise<void>;
}

export type FileOpenMode = 'read' | 'append' | 'create';

export interface FileLogHandle {
  /** Reads up to `length` bytes at file offset `position` into `buffer` at `offset`; returns the count read (0 at the end). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes every byte of `buffer` at file offset `position`. */
  write(buffer: Uint8Array, position: number): Promise<void>;
  /**
   * fdatasync: the written bytes (and the size) are durable when it resolves. With `inline`,
   * the implementation may block the calling thread instead of using a background thread.
   */
  datasync(options?: { readonly inline?: boolean }): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

const openFlags: Record<FileOpenMode, string> = { read: 'r', append: 'r+', create: 'wx+' };
// A log holds a whole datacenter's inventory: only its owner may read it (as etcd's data dir).
export const fileModeOwnerOnly = 0o600;
export const directoryModeOwnerOnly = 0o700;

// A short write is legal for pwrite; bound the retries so a broken device cannot spin forever.
const shortWritesMax = 1024;

/** The real file system, through Node's callback API (one syscall per call, no stream layers). */
export const nodeFileSystem: FileLogFileSystem = {
  async open(path, mode) {
    const fd = await call<number>((done) => fs.open(path, openFlags[mode], fileModeOwnerOnly, done));
    return nodeHandle(fd);
  },
  list: (dir) => fs.promises.readdir(dir),
  makeDirectory: async (dir) => {
    await fs.promises.mkdir(dir, { recursive: true, mode: directoryModeOwnerOnly });
  },
  permissions: async (path) => (await fs.promises.stat(path)).mode & 0o777,
  rename: (from, to) => fs.promises.rename(from, to),
  link: (from, to) => fs.promises.link(from, to),
  remove: (path) => fs.promises.rm(path, { force: true }),
  async syncDirectory(dir) {
    const fd = await call<number>((done) => fs.open(dir, 'r', done));
    try {
      await call<void>((done) => fs.fsync(fd, done));
    } finally {
      await call<void>((done) => fs.close(fd, done));
    }
  },
};

function nodeHandle(fd: number): FileLogHandle {
  return {
    read: (buffer, offset, length, position) =>
      call<number>((done) => fs.read(fd, buffer, offset, length, position, done)),
    // A synchronous pwrite: copying a batch into the page cache takes microseconds, less than
    // a round trip through libuv's thread pool, and a commit makes one write per fdatasync.
    async write(buffer, position) {
      let written = 0;
      for (let attempt = 0; written < buffer.length; attempt += 1) {
        if (attempt >= shortWritesMax) throw new Error(`write made no progress after ${shortWritesMax} attempts`);
        written += fs.writeSync(fd, buffer, written, buffer.length - written, position + written);
      }
    },
    async datasync(options) {
      if (options?.inline === true) fs.fdatasyncSync(fd);
      else await call<void>((done) => fs.fdatasync(fd, done));
    },
    truncate: (length) => call<void>((done) => fs.ftruncate(fd, length, done)),
    size: async () => (await call<fs.Stats>((done) => fs.fstat(fd, done))).size,
    close: () => call<void>((done) => fs.close(fd, done)),
  };
}

type Callback<T> = (error: NodeJS.ErrnoException | null, value?: T) => void;

function call<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}
