/**
 * Where a log lives under its prefix. Every key is ASCII, and positions are zero-padded to 16
 * digits (every safe integer fits), so that etcd's byte order of keys is the order of positions.
 *
 * - `<prefix>/head`: the last position, as decimal text. Its mod_revision is what every append
 *   compares (see etcd-log.ts); it is written by every append and by nothing else but the
 *   fence of a lost append, which rewrites the same value.
 * - `<prefix>/log/<first>`: one batch, the JSON array of its records, first position in the key.
 * - `<prefix>/pruned`: the first position still kept, once batches behind a snapshot were deleted.
 * - `<prefix>/snapshot/<position>`: a snapshot's manifest, written after all of its chunks.
 * - `<prefix>/snapshot-chunk/<position>-<id>/<index>`: the snapshot's JSON, in pieces.
 * - `<prefix>/turn-wanted`: the last writer that asked for the turn at the head (see writer-turn.ts).
 * - `<prefix>/relay`: the commit relay's lead, `{"address","term"}`, bound to its holder's lease;
 *   created only where absent, and while it leads every append compares its create_revision
 *   (see relay-election.ts).
 */
export interface EtcdKeys {
  readonly prefix: string;
  readonly head: Buffer;
  readonly pruned: Buffer;
  readonly turnWanted: Buffer;
  readonly relay: Buffer;
  readonly logStart: Buffer;
  readonly logEnd: Buffer;
  readonly snapshotStart: Buffer;
  readonly snapshotEnd: Buffer;
  log(first: number): Buffer;
  snapshot(position: number): Buffer;
  snapshotChunks(position: number, id: string): { readonly start: Buffer; readonly end: Buffer; chunk(index: number): Buffer };
  /** The first position of a batch key, or undefined for a key that is not one. */
  firstOf(key: Buffer): number | undefined;
  /** The position of a manifest key, or undefined for a key that is not one. */
  snapshotPositionOf(key: Buffer): number | undefined;
}

const positionDigits = 16;

export function padPosition(position: number): string {
  return String(position).padStart(positionDigits, '0');
}

/** The key right after every key that starts with `start` (etcd's range_end for a prefix). */
function endOf(start: string): Buffer {
  const bytes = Buffer.from(start);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! + 1;
  return bytes;
}

export function etcdKeys(prefix: string): EtcdKeys {
  const log = `${prefix}/log/`;
  const snapshot = `${prefix}/snapshot/`;
  const chunks = `${prefix}/snapshot-chunk/`;
  const parse = (key: Buffer, start: string): number | undefined => {
    const text = key.toString();
    if (!text.startsWith(start) || text.length !== start.length + positionDigits) return undefined;
    const position = Number(text.slice(start.length));
    return Number.isSafeInteger(position) ? position : undefined;
  };
  return {
    prefix,
    head: Buffer.from(`${prefix}/head`),
    pruned: Buffer.from(`${prefix}/pruned`),
    turnWanted: Buffer.from(`${prefix}/turn-wanted`),
    relay: Buffer.from(`${prefix}/relay`),
    logStart: Buffer.from(log),
    logEnd: endOf(log),
    snapshotStart: Buffer.from(snapshot),
    snapshotEnd: endOf(snapshot),
    log: (first) => Buffer.from(`${log}${padPosition(first)}`),
    snapshot: (position) => Buffer.from(`${snapshot}${padPosition(position)}`),
    snapshotChunks: (position, id) => {
      const start = `${chunks}${padPosition(position)}-${id}/`;
      return { start: Buffer.from(start), end: endOf(start), chunk: (index) => Buffer.from(`${start}${String(index).padStart(6, '0')}`) };
    },
    firstOf: (key) => parse(key, log),
    snapshotPositionOf: (key) => parse(key, snapshot),
  };
}
