/**
 * What an adapter compares to refuse a stale apply: the position of the record it applies
 * and the epoch of the operation's owner. Tokens order by position, then epoch. Two runtimes
 * can hold the same position (an owner that was only slow and the runtime that took its
 * operation over): the taker's epoch is higher.
 */
export interface FencingToken {
  readonly position: number;
  readonly epoch: number;
}

/** Negative when `a` is older than `b`, zero when equal, positive when newer. */
export function compareFencingTokens(a: FencingToken, b: FencingToken): number {
  return a.position !== b.position ? a.position - b.position : a.epoch - b.epoch;
}
