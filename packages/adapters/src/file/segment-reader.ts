import { LogCorruptError, type LogRecord } from '@ordo/core';
import type { FileLogFileSystem, FileLogHandle } from './file-system.js';
import { inspectFrame } from './frame-codec.js';
import { readFully } from './read-fully.js';
import { decodeRecord } from './record-codec.js';
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
    let loadsLeft = this.loadsMaxFor(segment, offset);
    while (position <= segment.lastPosition && count < limit) {
      const cached = this.chunk;
      const usable = cached !== undefined && cached.path === segment.path && offset >= cached.start && offset < cached.start + cached.bytes.length;
      if (!usable && (loadsLeft -= 1) < 0) throw new LogCorruptError({ file: segment.path, offset, reason: 'read made no progress' });
      const chunk = usable ? cached : await this.load(segment, offset);
      // Decode synchronously while the frames lie in this chunk: no promise per record.
      let local = offset - chunk.start;
      while (position <= segment.lastPosition && count < limit) {
        const frame = inspectFrame(chunk.bytes, local, chunk.bytes.length);
        if (frame.status === 'truncated' && (local > 0 || usable)) {
          // The frame continues past this chunk: load a new chunk that starts with it.
          this.chunk = undefined;
          break;
        }
        if (frame.status !== 'intact' || frame.position !== position) {
          const reason = frame.status === 'damaged' ? frame.reason : `expected the intact frame of record ${position}`;
          throw new LogCorruptError({ file: segment.path, offset: chunk.start + local, reason });
        }
        if (position >= from) {
          into.push(parseRecord(chunk.bytes, frame.payloadStart, frame.end, segment.path, chunk.start + local, position));
          count += 1;
        }
        local = frame.end;
        position += 1;
      }
      offset = chunk.start + local;
    }
    this.resume = { path: segment.path, position, offset };
    return count;
  }

  /** Each load starts a chunk at the next unread frame, so a read needs fewer loads than there are bytes left: a bound, not an estimate. */
  private loadsMaxFor(segment: Segment, offset: number): number {
    return segment.endOffset - offset + 1;
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

  /** Reads a chunk that starts at `offset` and holds at least the whole frame there, when it lies before `endOffset`. */
  private async load(segment: Segment, offset: number): Promise<{ readonly path: string; readonly start: number; readonly bytes: Buffer }> {
    const file = await this.fileFor(segment.path);
    const available = segment.endOffset - offset;
    let bytes = await readFully(file, offset, Math.min(this.chunkBytes, available));
    const frame = inspectFrame(bytes, 0, bytes.length);
    // A frame larger than a chunk gets a read of its own size.
    if (frame.status === 'truncated' && frame.needed <= available && frame.needed > bytes.length) {
      bytes = await readFully(file, offset, frame.needed);
    }
    this.chunk = { path: segment.path, start: offset, bytes };
    return this.chunk;
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
  let record: LogRecord;
  try {
    record = decodeRecord(buffer.toString('utf8', start, end));
  } catch (error) {
    // The checksum matched, so the writer framed something that is not a record: refuse it.
    throw new LogCorruptError({ file, offset, reason: error instanceof Error ? error.message : String(error) });
  }
  if (record.position !== position) {
    throw new LogCorruptError({ file, offset, reason: `frame of record ${position} holds record ${record.position}` });
  }
  return record;
}
