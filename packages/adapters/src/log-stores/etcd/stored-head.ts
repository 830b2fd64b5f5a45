import { LogCorruptError } from '@ordo/core';
import type { IKeyValue } from 'etcd3';

/** The head key as one read saw it: the last position, and the revision that last wrote it. */
export interface StoredHead {
  readonly position: number;
  /** The head key's mod_revision; 0 while the key does not exist (an empty log). */
  readonly revision: number;
}

export const emptyHead: StoredHead = { position: 0, revision: 0 };

/** Decodes the head key from a range result (no key: an empty log). Stored data is checked. */
export function storedHead(where: string, kv: IKeyValue | undefined): StoredHead {
  if (kv === undefined) return emptyHead;
  const position = Number(kv.value.toString());
  const revision = Number(kv.mod_revision);
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(revision) || revision < 1) {
    throw new LogCorruptError({ file: where, offset: 0, reason: `head ${kv.value.toString()} at revision ${kv.mod_revision} is not a position` });
  }
  return { position, revision };
}

/** The newer of two reads of the head: revisions only grow. */
export function newerHead(a: StoredHead, b: StoredHead): StoredHead {
  return b.revision > a.revision ? b : a;
}
