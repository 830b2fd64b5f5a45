import { LogCorruptError, type LogRecord } from '@ordo/core';
import type { FileLogFileSystem, FileLogHandle } from './file-system.js';
import { frameHeaderBytes, inspectFrame, verifiedFrameEnd } from './frame-codec.js';
import { ChunkSource } from './chunk-source.js';
import { decodeRecords, PayloadError } from './record-codec.js';
import { indexedStart, type Segment } from './segment.js';
import type { VerifiedChunk } from './verified-chunks.js';

// Payloads decoded per JSON.parse call. The joined text stays well below the size V8 allocates
// outside the young generation (large strings there are freed only by a full collection).
const decodeFramesMax = 256;

interface Chunk {
  readonly path: string;
  readonly start: number;
  readonly bytes: Buffer;
  /** Bytes the scan at open checked: their checksums are not computed again. */
  readonly verified: boolean;
}

/**
 * Reads records back from segment files with large reads: it keeps one chunk of bytes and the
 * place where the last read stopped, so a sequence of `read(from, limit)` calls that walks
 * the log (replay, catch-up) costs one syscall per chunk rather than per record, and the next
 * chunk is read ahead while the current one is decoded.
 *
 * Every frame read from disk is checked again (checksum, length, position) before its payload
 * is decoded: bytes can change on disk after the scan at open. Only the chunks the scan hands
 * over (`trust`), bytes it checked in memory, skip the checksum.
 *
 * Only bytes before a segment's `endOffset` are read, so a chunk never holds part of a write
 * that is still in flight.
 */
export class SegmentReader {
  private handle: { readonly path: string; readonly file: FileLogHandle } | undefined;
  private source: { readonly path: string; readonly end: number; readonly chunks: ChunkSource } | undefined;
  private chunk: Chunk | undefined;
  private trusted: readonly VerifiedChunk[] = [];
  private resume: { readonly path: string; readonly position: number; readonly offset: number } | undefined;
  private scratch: Buffer = Buffer.alloc(0);

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
      if (!usable && (loadsLeft -= 1) < 0) throw new LogCorruptError({ store: 'file', location: segment.path, offset, reason: 'read made no progress' });
      const chunk = usable ? cached : await this.load(segment, offset);
      // Walk the frames that lie whole in this chunk, then decode their payloads together:
      // no promise and no parse call per record.
      const spans: number[] = [];
      let spansFirst = Math.max(position, from);
      let local = offset - chunk.start;
      while (position <= segment.lastPosition && count < limit) {
        const end = chunk.verified ? verifiedFrameEnd(chunk.bytes, local) : this.checkedFrameEnd(chunk, local, usable, { path: segment.path, position });
        if (end === undefined) {
          // The frame continues past this chunk: load a new chunk that starts with it.
          this.chunk = undefined;
          break;
        }
        if (position >= from) {
          spans.push(local + frameHeaderBytes, end);
          count += 1;
          if (spans.length === decodeFramesMax * 2) {
            this.decode(chunk, { spans, first: spansFirst }, segment.path, into);
            spans.length = 0;
            spansFirst = position + 1;
          }
        }
        local = end;
        position += 1;
      }
      this.decode(chunk, { spans, first: spansFirst }, segment.path, into);
      offset = chunk.start + local;
    }
    this.resume = { path: segment.path, position, offset };
    return count;
  }

  /**
   * Where the frame at `local` of a chunk read from disk ends, after checking it (checksum,
   * length, position); undefined when it continues past the chunk.
   */
  private checkedFrameEnd(chunk: Chunk, local: number, usable: boolean, expected: { readonly path: string; readonly position: number }): number | undefined {
    const frame = inspectFrame(chunk.bytes, local, chunk.bytes.length);
    if (frame.status === 'truncated' && (local > 0 || usable)) return undefined;
    if (frame.status !== 'intact' || frame.position !== expected.position) {
      const reason = frame.status === 'damaged' ? frame.reason : `expected the intact frame of record ${expected.position}`;
      throw new LogCorruptError({ store: 'file', location: expected.path, offset: chunk.start + local, reason });
    }
    return frame.end;
  }

  /** Decodes the payloads at `spans` of `chunk` into `into`, checking that each holds the record its frame names. */
  private decode(chunk: Chunk, frames: { spans: readonly number[]; first: number }, file: string, into: LogRecord[]): void {
    const { spans } = frames;
    if (spans.length === 0) return;
    const first = into.length;
    const frameOffset = (index: number): number => chunk.start + (spans[index * 2] as number) - frameHeaderBytes;
    try {
      this.scratch = decodeRecords(chunk.bytes, spans, this.scratch, into);
    } catch (error) {
      // The checksum matched, so the writer framed something that is not a record: refuse it.
      if (!(error instanceof PayloadError)) throw error;
      throw new LogCorruptError({ store: 'file', location: file, offset: frameOffset(error.index), reason: error.message });
    }
    const expected = frames.first;
    for (let index = first; index < into.length; index += 1) {
      const record = into[index] as LogRecord;
      if (record.position !== expected + index - first) {
        throw new LogCorruptError({ store: 'file', location: file, offset: frameOffset(index - first), reason: `frame of record ${expected + index - first} holds record ${record.position}` });
      }
    }
  }

  /** Each load starts a chunk at the next unread frame, so a read needs fewer loads than there are bytes left: a bound, not an estimate. */
  private loadsMaxFor(segment: Segment, offset: number): number {
    return segment.endOffset - offset + 1;
  }

  /** Takes the chunks the scan at open verified, to serve the first reads after it; they replace any given before. */
  trust(chunks: readonly VerifiedChunk[]): void {
    this.trusted = chunks;
  }

  /** Drops the verified chunks not read yet (their memory), once the reads they were for are done. */
  forgetTrusted(): void {
    this.trusted = [];
  }

  /** Forgets cached bytes and closes the open file. */
  async close(): Promise<void> {
    this.chunk = undefined;
    this.resume = undefined;
    this.trusted = [];
    await this.source?.chunks.settle();
    this.source = undefined;
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.file.close();
  }

  private startFor(segment: Segment, from: number): { position: number; offset: number } {
    const indexed = indexedStart(segment, from);
    if (indexed === undefined) throw new LogCorruptError({ store: 'file', location: segment.path, offset: 0, reason: `no index entry for record ${from}` });
    const resume = this.resume;
    const resumeHelps = resume !== undefined && resume.path === segment.path && resume.position <= from && resume.position > indexed.position;
    return resumeHelps ? { position: resume.position, offset: resume.offset } : indexed;
  }

  /** A chunk that starts at `offset` and holds at least the whole frame there, when it lies before `endOffset`. */
  private async load(segment: Segment, offset: number): Promise<Chunk> {
    const trusted = this.takeTrusted(segment.path, offset);
    if (trusted !== undefined) {
      this.chunk = { path: segment.path, start: trusted.start, bytes: trusted.bytes, verified: true };
      return this.chunk;
    }
    const source = await this.sourceFor(segment);
    let bytes = await source.at(offset, frameHeaderBytes);
    const frame = inspectFrame(bytes, 0, bytes.length, false);
    // A frame larger than a chunk gets a read of its own size.
    if (frame.status === 'truncated' && frame.needed > bytes.length) bytes = await source.at(offset, frame.needed);
    this.chunk = { path: segment.path, start: offset, bytes, verified: false };
    return this.chunk;
  }

  /** The verified chunk holding `offset`, if any; it and the ones before it leave the list. */
  private takeTrusted(path: string, offset: number): VerifiedChunk | undefined {
    const index = this.trusted.findIndex((chunk) => chunk.path === path && offset >= chunk.start && offset < chunk.start + chunk.bytes.length);
    if (index < 0) return undefined;
    const chunk = this.trusted[index];
    this.trusted = this.trusted.slice(index + 1);
    return chunk;
  }

  private async sourceFor(segment: Segment): Promise<ChunkSource> {
    const current = this.source;
    if (current !== undefined && current.path === segment.path && current.end === segment.endOffset) return current.chunks;
    this.source = undefined;
    await current?.chunks.settle();
    const file = await this.fileFor(segment.path);
    const chunks = new ChunkSource(file, segment.endOffset, this.chunkBytes);
    this.source = { path: segment.path, end: segment.endOffset, chunks };
    return chunks;
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
