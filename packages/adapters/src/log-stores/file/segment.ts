/**
 * What the store knows about one segment file. The store owns these objects and updates the
 * active (last) one after each acknowledged append; everything before `endOffset` is intact,
 * durable and never changes.
 */
export interface Segment {
  readonly name: string;
  readonly path: string;
  readonly firstPosition: number;
  /** `firstPosition - 1` while the segment holds no record. */
  lastPosition: number;
  /** The byte just after the last acknowledged frame. */
  endOffset: number;
  /** A sparse index: `offsets[k]` is where the frame of position `firstPosition + k * indexStride` starts. */
  readonly offsets: number[];
}

/** One index entry per this many records: 1,000,000 records cost ~16k numbers, and a read skips at most 63 headers. */
export const indexStride = 64;

export function emptySegment(input: { name: string; path: string; firstPosition: number; endOffset: number }): Segment {
  return { ...input, lastPosition: input.firstPosition - 1, offsets: [] };
}

/** Records that the frame of `position` starts at `offset`; frames must be noted in position order. */
export function noteFrame(segment: Segment, position: number, offset: number): void {
  const ordinal = position - segment.firstPosition;
  if (ordinal % indexStride === 0) segment.offsets.push(offset);
}

/** Where to start decoding to reach `position`: the nearest indexed frame at or before it. */
export function indexedStart(segment: Segment, position: number): { position: number; offset: number } | undefined {
  const slot = Math.floor((position - segment.firstPosition) / indexStride);
  const offset = segment.offsets[slot];
  return offset === undefined ? undefined : { position: segment.firstPosition + slot * indexStride, offset };
}
