import { LogCorruptError } from '@ordo/core';
import type { IKeyValue } from 'etcd3';

/** The head key as one read saw it: the last position, the revision that last wrote it, and whose turn it is. */
export interface StoredHead {
  readonly position: number;
  /** The head key's mod_revision; 0 while the key does not exist (an empty log). */
  readonly revision: number;
  /** The writer whose turn it is (see writer-turn.ts), if any, and until when by its clock. */
  readonly turn?: { readonly owner: string; readonly until: number } | undefined;
}

export const emptyHead: StoredHead = { position: 0, revision: 0 };

/** The head key's value: the position, then the turn's owner and end when a writer holds it. */
export function headValue(position: number, turn: StoredHead['turn']): Buffer {
  return Buffer.from(turn === undefined ? String(position) : `${position} ${turn.owner} ${turn.until}`);
}

/** The position in a head key's value (the watch needs no more), or NaN. */
export function positionOfValue(value: Buffer): number {
  const text = value.toString();
  const space = text.indexOf(' ');
  return Number(space === -1 ? text : text.slice(0, space));
}

/** Decodes the head key from a range result (no key: an empty log). Stored data is checked. */
export function storedHead(where: string, kv: IKeyValue | undefined): StoredHead {
  if (kv === undefined) return emptyHead;
  const [positionText, owner, untilText] = kv.value.toString().split(' ');
  const position = Number(positionText);
  const revision = Number(kv.mod_revision);
  const until = Number(untilText);
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(revision) || revision < 1 || (owner !== undefined && !Number.isFinite(until))) {
    throw new LogCorruptError({ store: 'etcd', location: where, reason: `head ${kv.value.toString()} at revision ${kv.mod_revision} is not a position` });
  }
  return { position, revision, turn: owner === undefined ? undefined : { owner, until } };
}

/** The newer of two reads of the head: revisions only grow. */
export function newerHead(a: StoredHead, b: StoredHead): StoredHead {
  return b.revision > a.revision ? b : a;
}
