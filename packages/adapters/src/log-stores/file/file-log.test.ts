import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isOrdoError, LogCorruptError, type LogRecord, type LogStore, type Snapshot } from '@ordo/core';
import { fileLog, type FileLogOptions } from './file-log.js';
import type { FileLogRecoveryEvent } from './recover-dir.js';
import { nodeFileSystem, type FileLogFileSystem, type FileLogHandle } from './file-system.js';
import { frameHeaderBytes, segmentHeaderBytes } from './frame-codec.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-file-log-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

function freshDir(): string {
  dirCount += 1;
  return join(root, `log-${dirCount}`);
}

function record(position: number, size = 10): LogRecord {
  return {
    position,
    txId: `tx-${position}`,
    time: 1_700_000_000_000 + position,
    changes: [{ op: 'create', kind: 'item', id: `i-${position}`, version: 1, data: { text: 'x'.repeat(size) } }],
  };
}

function records(from: number, count: number, size = 10): LogRecord[] {
  return Array.from({ length: count }, (_, index) => record(from + index, size));
}

async function opened(options: FileLogOptions): Promise<LogStore> {
  const log = fileLog(options);
  await log.open();
  return log;
}

/** A fresh directory holding a closed log of `count` records (`records(1, count)`). */
async function writtenLog(count: number, options: Omit<FileLogOptions, 'dir'> = {}): Promise<string> {
  const dir = freshDir();
  const log = await opened({ dir, ...options });
  await log.append(records(1, count));
  await log.close();
  return dir;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.seg')).sort();
}

/**
 * A log holding records 1..9, one append each, without preallocated zeros: its one segment is
 * exactly its frames, all of one size, so a frame's offset follows from the file's size. The
 * log is left open.
 */
async function nineRecordLog(dir: string): Promise<{ log: LogStore; path: string; frameOffset: (position: number) => number }> {
  const log = await opened({ dir, preallocateBytes: 0 });
  for (let position = 1; position <= 9; position += 1) await log.append([record(position)]);
  const path = join(dir, segmentFiles(dir)[0]!);
  const frameOffset = (position: number): number => {
    const frameBytes = (statSync(path).size - segmentHeaderBytes) / 9;
    expect(Number.isInteger(frameBytes)).toBe(true);
    return segmentHeaderBytes + (position - 1) * frameBytes;
  };
  return { log, path, frameOffset };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('file log: segments and reads', () => {
  it('rolls segments at the bounded size and reads any range across them from disk', async () => {
    const dir = freshDir();
    const log = await opened({ dir, segmentBytesMax: 4096, cacheRecordsMax: 0 });
    for (let position = 1; position <= 300; position += 10) await log.append(records(position, 10, 40));
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    for (const name of segmentFiles(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(4096);
    expect(await log.read(1, 1000)).toEqual(records(1, 300, 40));
    expect(await log.read(137, 50)).toEqual(records(137, 50, 40));
    await log.close();
    const again = await opened({ dir, segmentBytesMax: 4096, cacheRecordsMax: 0 });
    expect(await again.head()).toBe(300);
    expect(await again.read(250, 100)).toEqual(records(250, 51, 40));
    await again.close();
  });

  it('reads frames larger than a read chunk from disk, mixed with small ones', async () => {
    const dir = freshDir();
    const log = await opened({ dir, cacheRecordsMax: 0 });
    const sizes = [10, 1_500_000, 20, 30, 2_500_000, 10, 700_000, 5];
    const written = sizes.map((size, index) => record(index + 1, size));
    await log.append(written.slice(0, 3));
    await log.append(written.slice(3));
    for (let from = 1; from <= sizes.length; from += 1) {
      expect(await log.read(from, 3)).toEqual(written.slice(from - 1, from + 2));
    }
    await log.close();
  });

  it('answers reads from the recent-record cache and from disk alike', async () => {
    const dir = freshDir();
    const log = await opened({ dir, cacheRecordsMax: 20 });
    for (let position = 1; position <= 100; position += 5) await log.append(records(position, 5));
    const fromCache = await log.read(90, 11);
    const fromDisk = await log.read(1, 100);
    expect(fromCache).toEqual(records(90, 11));
    expect(fromDisk).toEqual(records(1, 100));
    await log.close();
  });

  it('serializes concurrent appends: the second one at the same head is refused', async () => {
    const log = await opened({ dir: freshDir() });
    const results = await Promise.allSettled([log.append(records(1, 2)), log.append(records(1, 2))]);
    expect(results[0]?.status).toBe('fulfilled');
    expect(results[1]?.status === 'rejected' && isOrdoError(results[1].reason, 'LOG_HEAD_MOVED')).toBe(true);
    await log.close();
  });
});

describe('file log: options', () => {
  it('refuses a bad option with INVALID_ARGUMENT naming it, before touching the disk', () => {
    const dir = freshDir();
    const cases: [Partial<Record<keyof FileLogOptions, unknown>>, string][] = [
      [{ dir: '' }, 'dir'],
      [{ dir, durability: 'sometimes' }, 'durability'],
      [{ dir, segmentBytesMax: 100 }, 'segmentBytesMax'],
      [{ dir, snapshotEvery: 0 }, 'snapshotEvery'],
      [{ dir, snapshotsKept: 1.5 }, 'snapshotsKept'],
      [{ dir, preallocateBytes: -1 }, 'preallocateBytes'],
      [{ dir, onRecovery: 'print' }, 'onRecovery'],
    ];
    for (const [options, argument] of cases) {
      let caught: unknown;
      try {
        fileLog(options as FileLogOptions);
      } catch (error) {
        caught = error;
      }
      expect(isOrdoError(caught, 'INVALID_ARGUMENT') && (caught as { argument?: string }).argument, JSON.stringify(options)).toBe(argument);
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('file log: recovery', () => {
  it('cuts a torn final frame and continues after it', async () => {
    // Without preallocated zeros the file is exactly its frames, so offsets follow from its size.
    const dir = await writtenLog(5, { preallocateBytes: 0 });
    const [segment] = segmentFiles(dir);
    const path = join(dir, segment!);
    const intactBytes = statSync(path).size;
    appendFileSync(path, Buffer.from([40, 0, 0, 0, 1, 2, 3])); // a frame header cut short
    const events: FileLogRecoveryEvent[] = [];
    const again = await opened({ dir, onRecovery: (event) => events.push(event) });
    expect(await again.head()).toBe(5);
    expect(statSync(path).size).toBe(intactBytes);
    // The open tells what it cut, where and why.
    expect(events).toEqual([{ action: 'cut-torn-tail', file: path, offset: intactBytes, bytes: 7, fileRemoved: false, reason: 'the last frame is incomplete' }]);
    await again.append([record(6)]);
    expect(await again.read(1, 10)).toEqual(records(1, 6));
    await again.close();
  });

  it('removes a last segment that holds only a torn write, and tells of it', async () => {
    const dir = await writtenLog(4);
    // The next segment's file was created, and its first write (header and frames) torn early.
    const next = join(dir, '00000000000000000005.seg');
    writeFileSync(next, Buffer.from('ORDOLOG1'));
    const events: FileLogRecoveryEvent[] = [];
    const again = await opened({ dir, onRecovery: (event) => events.push(event) });
    expect(existsSync(next)).toBe(false);
    expect(events).toEqual([{ action: 'cut-torn-tail', file: next, offset: 0, bytes: 8, fileRemoved: true, reason: 'the segment header is damaged or incomplete' }]);
    await again.append([record(5)]);
    expect(await again.read(1, 10)).toEqual(records(1, 5));
    await again.close();
  });

  it('fails the open when onRecovery throws, and releases the directory', async () => {
    const dir = await writtenLog(2, { preallocateBytes: 0 });
    appendFileSync(join(dir, segmentFiles(dir)[0]!), Buffer.from([1, 2, 3]));
    const failing = fileLog({ dir, onRecovery: () => { throw new Error('no console here'); } });
    const error = await failureOf(failing.open());
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && (error as Error).message).toContain('no console here');
    const again = await opened({ dir });
    expect(await again.read(1, 10)).toEqual(records(1, 2));
    await again.close();
  });

  it('cuts a final write whose first page was lost, even when a later part of it survived', async () => {
    const dir = freshDir();
    // Without preallocated zeros the file is exactly its frames, so offsets follow from its size.
    const log = await opened({ dir, preallocateBytes: 0 });
    await log.append(records(1, 3));
    await log.append(records(4, 3));
    await log.close();
    const path = join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(path);
    const firstFrameBytes = (bytes.length - segmentHeaderBytes) / 6;
    expect(Number.isInteger(firstFrameBytes)).toBe(true);
    const lastWriteStart = segmentHeaderBytes + 3 * firstFrameBytes;
    bytes.fill(0, lastWriteStart, lastWriteStart + firstFrameBytes); // record 4 zeroed, 5 and 6 intact
    writeFileSync(path, bytes);
    const again = await opened({ dir });
    expect(await again.head()).toBe(3);
    expect(statSync(path).size).toBe(lastWriteStart);
    await again.close();
  });

  it('refuses a flipped byte before the tail, naming the file and the frame offset', async () => {
    const dir = freshDir();
    const { log, path, frameOffset } = await nineRecordLog(dir);
    await log.close();
    const bytes = readFileSync(path);
    const frameFour = frameOffset(4);
    bytes[frameFour + frameHeaderBytes + 5] = (bytes[frameFour + frameHeaderBytes + 5] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    const error = await failureOf(fileLog({ dir }).open());
    expect(error).toBeInstanceOf(LogCorruptError);
    expect((error as LogCorruptError).location).toBe(path);
    expect((error as LogCorruptError).offset).toBe(frameFour);
    // Nothing was cut: the damaged file is left for a person to inspect.
    expect(readFileSync(path)).toEqual(bytes);
  });

  it('refuses on read from disk a frame damaged after the log was opened, even when its payload still decodes', async () => {
    const dir = freshDir();
    const { log, path, frameOffset } = await nineRecordLog(dir);
    await log.close();
    const frameSix = frameOffset(6);
    const reader = await opened({ dir, cacheRecordsMax: 0 });
    // The first append drops the bytes the scan at open kept: reads go to the disk from here on.
    await reader.append([record(10)]);
    const bytes = readFileSync(path);
    // 'x' becomes 'y' inside the data: still a record, so only the checksum can tell.
    const textAt = bytes.indexOf('xxxxx', frameSix + frameHeaderBytes);
    bytes[textAt] = (bytes[textAt] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    expect(await reader.read(1, 5)).toEqual(records(1, 5));
    const error = await failureOf(reader.read(1, 9));
    expect(error).toBeInstanceOf(LogCorruptError);
    expect((error as LogCorruptError).offset).toBe(frameSix);
    await reader.close();
  });

  it('answers the reads right after open from the bytes its scan checked', async () => {
    const dir = freshDir();
    const { log, path } = await nineRecordLog(dir);
    await log.close();
    const reader = await opened({ dir, cacheRecordsMax: 0 });
    // Damage after the scan does not reach these reads: they return what the scan verified.
    writeFileSync(path, Buffer.alloc(readFileSync(path).length));
    expect(await reader.read(1, 9)).toEqual(records(1, 9));
    await reader.close();
  });

  it('refuses a segment missing from the middle of the log', async () => {
    const dir = freshDir();
    const log = await opened({ dir, segmentBytesMax: 4096 });
    for (let position = 1; position <= 200; position += 10) await log.append(records(position, 10, 40));
    await log.close();
    const names = segmentFiles(dir);
    expect(names.length).toBeGreaterThan(2);
    rmSync(join(dir, names[1]!));
    const error = await failureOf(fileLog({ dir }).open());
    expect(isOrdoError(error, 'LOG_CORRUPT')).toBe(true);
    expect((error as LogCorruptError).location).toBe(join(dir, names[2]!));
  });

  it('refuses an intact frame at the wrong position (a repeated record)', async () => {
    const dir = freshDir();
    // Without preallocated zeros the file is exactly its frames, so offsets follow from its size.
    const log = await opened({ dir, preallocateBytes: 0 });
    await log.append([record(1)]);
    await log.append([record(2)]);
    await log.close();
    const path = join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(path);
    const frameBytes = (bytes.length - segmentHeaderBytes) / 2;
    expect(Number.isInteger(frameBytes)).toBe(true);
    appendFileSync(path, bytes.subarray(segmentHeaderBytes + frameBytes)); // record 2 again
    expect(isOrdoError(await failureOf(fileLog({ dir }).open()), 'LOG_CORRUPT')).toBe(true);
  });
});

describe('file log: preallocation', () => {
  it('writes zeros ahead of the end, reads them as the clean end, and keeps appending after reopen', async () => {
    const dir = freshDir();
    const options = { dir, preallocateBytes: 64 * 1024, segmentBytesMax: 256 * 1024 };
    const log = await opened(options);
    for (let position = 1; position <= 40; position += 1) await log.append([record(position, 100)]);
    await log.close();
    const path = join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(path);
    const dataEnd = lastNonZero(bytes) + 1;
    expect(bytes.length).toBeGreaterThan(dataEnd);
    const again = await opened(options);
    expect(await again.head()).toBe(40);
    for (let position = 41; position <= 3000; position += 20) await again.append(records(position, 20, 100));
    expect(segmentFiles(dir).length).toBeGreaterThan(1);
    await again.close();
    const third = await opened({ dir, cacheRecordsMax: 0 });
    expect(await third.read(1, 4000)).toEqual([...records(1, 40, 100), ...records(41, 2960, 100)]);
    await third.close();
  });

  it('cuts a torn write inside the preallocated zeros, and refuses damage before it', async () => {
    const dir = freshDir();
    const log = await opened({ dir, preallocateBytes: 64 * 1024 });
    for (let position = 1; position <= 9; position += 1) await log.append([record(position)]);
    await log.close();
    const path = join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(path);
    const dataEnd = lastNonZero(bytes) + 1;
    // A torn write: the start of a frame, then zeros.
    const torn = Buffer.from(bytes);
    torn.fill(0x5a, dataEnd, dataEnd + 30);
    writeFileSync(path, torn);
    const again = await opened({ dir });
    expect(await again.head()).toBe(9);
    await again.close();
    const damaged = readFileSync(path);
    const middle = Math.floor(dataEnd / 2);
    damaged[middle] = (damaged[middle] ?? 0) ^ 0x08;
    writeFileSync(path, damaged);
    expect(isOrdoError(await failureOf(fileLog({ dir }).open()), 'LOG_CORRUPT')).toBe(true);
  });
});

function lastNonZero(bytes: Buffer): number {
  for (let index = bytes.length - 1; index >= 0; index -= 1) if (bytes[index] !== 0) return index;
  return -1;
}

describe('file log: snapshots', () => {
  const snapshotAt = (position: number): Snapshot => ({ format: 1, position, entities: [['item', `i-${position}`, 1, { n: position }]], requests: [] });

  it('falls back to the older snapshot when the newest is damaged, then to none', async () => {
    const dir = freshDir();
    const log = await opened({ dir });
    await log.append(records(1, 10));
    await log.writeSnapshot!(snapshotAt(4));
    await log.writeSnapshot!(snapshotAt(8));
    await log.close();
    const damage = (name: string): void => {
      const path = join(dir, name);
      const bytes = readFileSync(path);
      bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0xff;
      writeFileSync(path, bytes);
    };
    damage('snapshot-00000000000000000008.snap');
    const events: FileLogRecoveryEvent[] = [];
    let again = fileLog({ dir, onRecovery: (event) => events.push(event) });
    expect((await again.open()).snapshot).toEqual(snapshotAt(4));
    await again.close();
    const newest = join(dir, 'snapshot-00000000000000000008.snap');
    expect(existsSync(`${newest}.damaged`)).toBe(true);
    expect(events).toEqual([{ action: 'set-aside-damaged-snapshot', file: newest, movedTo: `${newest}.damaged`, reason: expect.stringContaining('checksum') as string }]);
    damage('snapshot-00000000000000000004.snap');
    again = fileLog({ dir });
    expect(await again.open()).toEqual({ head: 10, snapshot: undefined });
    await again.close();
  });

  it('removes a snapshot left unfinished by a stopped process, tells of it, and keeps the log', async () => {
    const dir = await writtenLog(3);
    const unfinished = join(dir, 'snapshot-00000000000000000003.snap.tmp');
    writeFileSync(unfinished, 'half a snapshot');
    const events: FileLogRecoveryEvent[] = [];
    const again = await opened({ dir, onRecovery: (event) => events.push(event) });
    expect(existsSync(unfinished)).toBe(false);
    expect(events).toEqual([{ action: 'removed-unfinished-snapshot', file: unfinished }]);
    expect(await again.read(1, 10)).toEqual(records(1, 3));
    await again.close();
  });

  it('keeps the configured number of snapshots and prunes segments behind the oldest when asked', async () => {
    const dir = freshDir();
    const options = { dir, segmentBytesMax: 4096, pruneSegments: true, snapshotsKept: 2 };
    const log = await opened(options);
    for (let position = 1; position <= 400; position += 10) await log.append(records(position, 10, 40));
    const before = segmentFiles(dir).length;
    for (const position of [100, 200, 300]) await log.writeSnapshot!(snapshotAt(position));
    expect(readdirSync(dir).filter((name) => name.endsWith('.snap'))).toEqual(['snapshot-00000000000000000200.snap', 'snapshot-00000000000000000300.snap']);
    expect(segmentFiles(dir).length).toBeLessThan(before);
    const error = await failureOf(log.read(1, 10));
    expect(isOrdoError(error, 'HISTORY_UNAVAILABLE')).toBe(true);
    expect(await log.read(201, 200)).toEqual(records(201, 200, 40));
    await log.close();
    const again = fileLog(options);
    expect(await again.open()).toEqual({ head: 400, snapshot: snapshotAt(300) });
    await again.close();
  });

  it('refuses to open pruned history when no snapshot covers it', async () => {
    const dir = freshDir();
    const options = { dir, segmentBytesMax: 4096, pruneSegments: true, snapshotsKept: 1 };
    const log = await opened(options);
    for (let position = 1; position <= 300; position += 10) await log.append(records(position, 10, 40));
    await log.writeSnapshot!(snapshotAt(250));
    await log.close();
    rmSync(join(dir, 'snapshot-00000000000000000250.snap'));
    expect(isOrdoError(await failureOf(fileLog(options).open()), 'LOG_CORRUPT')).toBe(true);
  });

  it('refuses a log that lost records a snapshot covers, rather than reusing their positions', async () => {
    const dir = freshDir();
    const { log, path, frameOffset } = await nineRecordLog(dir);
    await log.writeSnapshot!(snapshotAt(7));
    await log.close();
    writeFileSync(path, readFileSync(path).subarray(0, frameOffset(6))); // records 6..9 lost
    const error = await failureOf(fileLog({ dir }).open());
    expect(isOrdoError(error, 'LOG_CORRUPT'), String(error)).toBe(true);
    expect((error as LogCorruptError).message).toContain('snapshot at 7');
  });

  it('surfaces snapshotEvery and checks it', () => {
    expect(fileLog({ dir: freshDir(), snapshotEvery: 500 }).snapshotEvery).toBe(500);
    expect(fileLog({ dir: freshDir() }).snapshotEvery).toBe(100_000);
    expect(() => fileLog({ dir: freshDir(), snapshotEvery: 0 })).toThrow(/snapshotEvery/);
  });
});

/** The real file system, with the methods `wrap` returns replacing those of every file it opens. */
function wrappedFileSystem(wrap: (handle: FileLogHandle) => Partial<FileLogHandle>): FileLogFileSystem {
  return {
    ...nodeFileSystem,
    async open(path, mode) {
      const handle = await nodeFileSystem.open(path, mode);
      return { ...handle, ...wrap(handle) };
    },
  };
}

/** A real file system whose next write or fdatasync fails when armed. */
function faultyFileSystem(): { fileSystem: FileLogFileSystem; fail(operation: 'write' | 'datasync'): void } {
  let armed: 'write' | 'datasync' | undefined;
  const fileSystem = wrappedFileSystem((handle) => ({
    async write(buffer, position) {
      if (armed === 'write') throw Object.assign(new Error('injected EIO on write'), { code: 'EIO' });
      await handle.write(buffer, position);
    },
    async datasync(options) {
      if (armed === 'datasync') throw Object.assign(new Error('injected EIO on fdatasync'), { code: 'EIO' });
      await handle.datasync(options);
    },
  }));
  return { fileSystem, fail: (operation) => (armed = operation) };
}

describe('file log: disk errors', () => {
  for (const operation of ['write', 'datasync'] as const) {
    it(`fails the append when ${operation} fails, refuses further appends, and keeps what was acknowledged`, async () => {
      const dir = freshDir();
      const faulty = faultyFileSystem();
      const log = await opened({ dir, fileSystem: faulty.fileSystem });
      await log.append(records(1, 3));
      faulty.fail(operation);
      expect(isOrdoError(await failureOf(log.append(records(4, 2))), 'LOG_STORE_FAILED')).toBe(true);
      expect(await log.head()).toBe(3);
      expect(isOrdoError(await failureOf(log.append(records(4, 2))), 'LOG_STORE_FAILED')).toBe(true);
      expect(await log.read(1, 10)).toEqual(records(1, 3));
      await log.close();
      const again = await opened({ dir });
      const head = await again.head();
      // The failed batch's outcome was unknown: it is absent, or (the write landed) whole.
      expect([3, 5]).toContain(head);
      expect(await again.read(1, 10)).toEqual(records(1, head));
      await again.close();
    });
  }
});

describe('file log: where fdatasync runs', () => {
  it('fdatasyncs on the event loop while the disk is fast, and on the thread pool while it is slow, acknowledging only after it (I4)', async () => {
    // The writer times each fdatasync with performance.now(). Here a fake fdatasync moves that
    // clock by the duration the test sets, so the placement does not depend on how busy the
    // machine running the test is. On the thread-pool path it also completes a timer later,
    // so an acknowledgement sent before its sync finished would be seen.
    let clockMs = 0;
    let syncMs = 0;
    const placements: boolean[] = [];
    let synced = 0;
    const fileSystem = wrappedFileSystem(() => ({
      async datasync(options) {
        const inline = options?.inline === true;
        placements.push(inline);
        clockMs += syncMs;
        if (!inline) await new Promise((resolve) => setTimeout(resolve, 1));
        synced += 1;
      },
    }));
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => clockMs);
    try {
      const log = await opened({ dir: freshDir(), fileSystem, preallocateBytes: 0 });
      let position = 1;
      const commits = async (count: number): Promise<boolean[]> => {
        placements.length = 0;
        synced = 0;
        for (let index = 0; index < count; index += 1, position += 2) {
          await log.append(records(position, 2));
          // Wherever it ran, the append's fdatasync finished before the append was acknowledged.
          expect(synced).toBe(placements.length);
          expect(placements.length).toBe(index + 1);
        }
        return [...placements];
      };
      syncMs = 0.1;
      expect(await commits(5)).toEqual([true, true, true, true, true]);
      // 5 ms syncs: the moving average (1/8 per sync) passes 1 ms after the second one.
      syncMs = 5;
      expect(await commits(5)).toEqual([true, true, false, false, false]);
      // Fast again: the average (about 2.5 ms) comes back under 1 ms after 8 syncs.
      syncMs = 0.1;
      expect(await commits(12)).toEqual([false, false, false, false, false, false, false, false, true, true, true, true]);
      expect(await log.read(1, 1000)).toEqual(records(1, position - 1));
      await log.close();
    } finally {
      clock.mockRestore();
    }
  });
});

describe('file log: durability none', () => {
  it('never calls fdatasync (unsafe, for tests), yet reopens with what it wrote', async () => {
    const dir = freshDir();
    const faulty = faultyFileSystem();
    faulty.fail('datasync');
    const log = await opened({ dir, durability: 'none', fileSystem: faulty.fileSystem, segmentBytesMax: 4096 });
    for (let position = 1; position <= 100; position += 10) await log.append(records(position, 10, 40));
    await log.writeSnapshot!({ format: 1, position: 50, entities: [], requests: [] });
    await log.close();
    const again = await opened({ dir });
    expect(await again.read(1, 200)).toEqual(records(1, 100, 40));
    await again.close();
  });
});

describe('file log: records it cannot encode', () => {
  it('refuses a record that is not JSON before writing, and keeps accepting appends', async () => {
    const dir = freshDir();
    const log = await opened({ dir });
    await log.append([record(1)]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = { ...record(2), meta: cyclic } as unknown as LogRecord;
    expect(isOrdoError(await failureOf(log.append([bad])), 'INTERNAL')).toBe(true);
    await log.append([record(2)]);
    expect(await log.read(1, 5)).toEqual(records(1, 2));
    await log.close();
  });
});

describe('file log: lock and read-only', () => {
  it('refuses a second writer, allows a read-only reader, and frees the lock on close', async () => {
    const dir = freshDir();
    const writer = await opened({ dir });
    await writer.append(records(1, 4));
    expect(isOrdoError(await failureOf(fileLog({ dir }).open()), 'LOG_LOCKED')).toBe(true);
    const reader = await opened({ dir, readOnly: true });
    expect(await reader.read(1, 10)).toEqual(records(1, 4));
    expect(isOrdoError(await failureOf(reader.append([record(5)])), 'LOG_READ_ONLY')).toBe(true);
    await reader.close();
    await writer.close();
    const next = await opened({ dir });
    expect(await next.head()).toBe(4);
    await next.close();
  });

  it('lets a read-only reader follow the records the writer adds, across new segments', async () => {
    const dir = freshDir();
    const writer = await opened({ dir, segmentBytesMax: 4096 });
    await writer.append(records(1, 3, 40));
    const reader = await opened({ dir, readOnly: true });
    expect(await reader.head()).toBe(3);
    for (let position = 4; position <= 120; position += 10) await writer.append(records(position, 10, 40));
    expect(segmentFiles(dir).length).toBeGreaterThan(2);
    expect(await reader.read(1, 200)).toEqual(records(1, 3, 40));
    expect(await reader.read(4, 200)).toEqual(records(4, 120, 40));
    expect(await reader.head()).toBe(123);
    await reader.close();
    await writer.close();
  });

  it('takes over the stale lock of a process that no longer runs', async () => {
    const dir = freshDir();
    const log = await opened({ dir });
    await log.close();
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(exited.stdout);
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: deadPid, host: hostname(), started: '1', token: 'stale' }));
    const again = await opened({ dir });
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8'))).toMatchObject({ pid: process.pid });
    await again.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('does not cut a torn tail when read-only', async () => {
    const dir = await writtenLog(2);
    const path = join(dir, segmentFiles(dir)[0]!);
    appendFileSync(path, Buffer.from([9, 9, 9]));
    const size = statSync(path).size;
    const events: FileLogRecoveryEvent[] = [];
    const reader = await opened({ dir, readOnly: true, onRecovery: (event) => events.push(event) });
    expect(await reader.head()).toBe(2);
    await reader.close();
    expect(events).toEqual([]);
    expect(statSync(path).size).toBe(size);
  });
});

describe('file log: record size', () => {
  it('refuses a record larger than one frame holds with RECORD_TOO_LARGE, leaving the log unharmed', async () => {
    const dir = freshDir();
    const log = await opened({ dir, preallocateBytes: 0 });
    await log.append([record(1)]);
    const huge = record(2, 64 * 1024 * 1024 + 1);
    const error = await log.append([huge]).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', store: 'file', position: 2, bytesMax: 64 * 1024 * 1024 });
    await log.append([record(2)]);
    expect((await log.read(1, 10)).map((stored) => stored.position)).toEqual([1, 2]);
    await log.close();
  });
});
