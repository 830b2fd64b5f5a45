import { LogCorruptError, type LogRecord } from '@ordo/core';
import type { FileLogFileSystem, FileLogHandle } from './file-system.js';
import { inspectFrame } from './frame-codec.js';
import { readFully } from './read-fully.js';
import { indexedStart, type Segment } from './segment.js';

/**
 * Reads records back from segment files with large reads: it keeps one chunk of bytes and the
 * place where the last read stopped, so a sequence of `read(from, limit)` calls that walks
 * the log (replay, catch-up) costs one syscall per chunk rather than per record. Every frame
 * is checked again (checksum, position) before its payload is parsed.
 *
 * Only bytes before a segment's `endOffset` are read, so a chunk never holds part of a write
 * that is still in flight.
 */
export class SegmentReader {
  private handle: { readonly path: string; readonly file: FileLogHandle } | undefined;
  private chunk: { readonly path: string; readonly start: number; readonly bytes: Buffer } | undefined;
  private resume: { readonly path: string; readonly position: number; readonly offset: number } | undefined;

  constructor(
    private readonly fileSystem: FileLogFileSystem,
    private readonly chunkBytes: number,
  ) {}

  /** Appends to `into` the records `from`... of `segment`, at most `limit` of them; returns how many. */
  async read(segment: Segment, from: number, limit: number, into: LogRecord[]): Promise<number> {
    let { position, offset } = this.startFor(segment, from);
    let count = 0;
    while (position <= segment.lastPosition && count < limit) {
      const bytes = await this.bytesAt(segment, offset);
      const frame = inspectFrame(bytes.buffer, bytes.local, bytes.buffer.length);
      if (frame.status !== 'intact' || frame.position !== position) {
        const reason = frame.status === 'damaged' ? frame.reason : `expected the frame of record ${position}`;
        throw new LogCorruptError({ file: segment.path, offset, reason });
      }
      if (position >= from) {
        into.push(parseRecord(bytes.buffer, frame.payloadStart, frame.end, segment.path, offset, position));
        count += 1;
      }
      offset += frame.end - bytes.local;
      position += 1;
    }
    this.resume = { path: segment.path, position, offset };
    return count;
  }

  /** Forgets cached bytes and closes the open file. */
  async close(): Promise<void> {
    this.chunk = undefined;
    this.resume = undefined;
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.file.close();
  }

  private startFor(segment: Segment, from: number): { position: number; offset: number } {
    const indexed = indexedStart(segment, from);
    if (indexed === undefined) throw new LogCorruptError({ file: segment.path, offset: 0, reason: `no index entry for record ${from}` });
    const resume = this.resume;
    const resumeHelps = resume !== undefined && resume.path === segment.path && resume.position <= from && resume.position > indexed.position;
    return resumeHelps ? { position: resume.position, offset: resume.offset } : indexed;
  }

  /** A buffer holding at least the frame header at `offset`, and the whole frame when it fits before `endOffset`. */
  private async bytesAt(segment: Segment, offset: number): Promise<{ buffer: Buffer; local: number }> {
    const chunk = this.chunk;
    if (chunk !== undefined && chunk.path === segment.path && offset >= chunk.start) {
      const local = offset - chunk.start;
      const frame = inspectFrame(chunk.bytes, local, chunk.bytes.length);
      if (frame.status !== 'truncated') return { buffer: chunk.bytes, local };
    }
    const file = await this.fileFor(segment.path);
    const available = segment.endOffset - offset;
    let bytes = await readFully(file, offset, Math.min(this.chunkBytes, available));
    const frame = inspectFrame(bytes, 0, bytes.length);
    // A frame larger than a chunk gets a read of its own size.
    if (frame.status === 'truncated' && frame.needed <= available && frame.needed > bytes.length) {
      bytes = await readFully(file, offset, frame.needed);
    }
    this.chunk = { path: segment.path, start: offset, bytes };
    return { buffer: bytes, local: 0 };
  }

  private async fileFor(path: string): Promise<FileLogHandle> {
    if (this.handle?.path === path) return this.handle.file;
    const previous = this.handle;
    this.handle = undefined;
    if (previous !== undefined) await previous.file.close();
    const file = await this.fileSystem.open(path, 'read');
    this.handle = { path, file };
    return file;
  }
}

function parseRecord(buffer: Buffer, start: number, end: number, file: string, offset: number, position: number): LogRecord {
  const record = JSON.parse(buffer.toString('utf8', start, end)) as LogRecord;
  // The checksum matched, so a mismatch here means the writer framed the wrong record: refuse it.
  if (record.position !== position) {
    throw new LogCorruptError({ file, offset, reason: `frame of record ${position} holds record ${record.position}` });
  }
  return record;
}
