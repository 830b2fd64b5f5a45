import { join } from 'node:path';

/**
 * File names inside a log directory. Segment and snapshot names carry a zero-padded position
 * so that a plain sort of the names is the order of the positions.
 *
 *   00000000000000000001.seg            segment whose first record is position 1
 *   snapshot-00000000000000100000.snap  snapshot of the state at position 100000
 *   *.tmp                               a snapshot being written (removed on the next writable open)
 *   *.damaged                           a snapshot that failed its checksum, kept for inspection
 *   LOCK                                the writer's lock
 */
const positionDigits = 20;
const segmentPattern = /^(\d{20})\.seg$/;
const snapshotPattern = /^snapshot-(\d{20})\.snap$/;

export const lockFileName = 'LOCK';
export const temporarySuffix = '.tmp';
export const damagedSuffix = '.damaged';

function padded(position: number): string {
  return String(position).padStart(positionDigits, '0');
}

export function segmentFileName(firstPosition: number): string {
  return `${padded(firstPosition)}.seg`;
}

export function snapshotFileName(position: number): string {
  return `snapshot-${padded(position)}.snap`;
}

/** The first position a segment file name carries, or undefined for other names. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = segmentPattern.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The position a snapshot file name carries, or undefined for other names. */
export function parseSnapshotFileName(name: string): number | undefined {
  const match = snapshotPattern.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function pathIn(dir: string, name: string): string {
  return join(dir, name);
}
