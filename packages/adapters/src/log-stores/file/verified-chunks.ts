/** Bytes of a segment whose frames the scan at open checked (checksums and positions), kept for the reads that follow. */
export interface VerifiedChunk {
  readonly path: string;
  /** File offset of the first byte: the start of a frame. */
  readonly start: number;
  /** Whole frames only. */
  readonly bytes: Buffer;
  /** The position of the last frame in `bytes`. */
  readonly lastPosition: number;
}

/**
 * The newest verified chunks of a scan, up to a byte budget. Opening a store reads the records
 * after its snapshot right away; handing it the bytes the scan just checked saves reading them
 * again and checking them again. Older chunks are dropped first: the records a store reads at
 * open are the last ones.
 */
export class VerifiedChunks {
  private chunks: VerifiedChunk[] = [];
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  add(chunk: VerifiedChunk): void {
    if (chunk.bytes.length === 0 || chunk.bytes.length > this.bytesMax) return;
    this.chunks.push(chunk);
    this.bytes += chunk.bytes.length;
    let dropped = 0;
    while (this.bytes > this.bytesMax) this.bytes -= (this.chunks[dropped++] as VerifiedChunk).bytes.length;
    if (dropped > 0) this.chunks = this.chunks.slice(dropped);
  }

  /** The chunks holding records after `position`, in log order. */
  after(position: number): VerifiedChunk[] {
    return this.chunks.filter((chunk) => chunk.lastPosition > position);
  }
}
