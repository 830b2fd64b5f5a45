import { LogStoreError, type LogRecord, type RelayedCommit, type RelayedOutcome } from '@ordo/core';

/** Why the leader did not decide commits it was sent, in a form that crosses the wire. */
export interface RelayFailure {
  readonly code: string;
  readonly message: string;
  /** 'not-written': the leader knows none of them is in the log; 'unknown': it cannot tell. */
  readonly outcome: 'not-written' | 'unknown';
}

/**
 * What the leader knows of one forwarded transaction, answering a follower whose link broke:
 * - 'decided': its outcome;
 * - 'failed': the batch that held it failed;
 * - 'unseen': it never reached the leader, and now never will be admitted;
 * - 'forgotten': the leader no longer holds every recent outcome, so it cannot tell.
 */
export type RelayTxStatus =
  | { readonly state: 'decided'; readonly outcome: RelayedOutcome }
  | { readonly state: 'failed'; readonly failure: RelayFailure }
  | { readonly state: 'unseen' }
  | { readonly state: 'forgotten' };

/**
 * The frames of the relay protocol. A follower opens with 'hello' naming the term of the leader
 * it means to reach and its own id (a reconnecting follower's hello closes its older links,
 * so nothing they carried is admitted after the status answer); the leader answers 'welcome',
 * or 'refused' when it does not lead under that term. Then the follower sends 'commit' and
 * 'status' requests, each answered once by id ('outcomes' or 'failed', 'statuses'), and the
 * leader streams 'records' of every batch it appended, and a 'beat' while idle so that a
 * follower can tell a silent link from a dead one.
 */
/** The version of this protocol: a leader refuses a follower that speaks another. */
export const relayProtocol = 1;

export type RelayMessage =
  | { readonly type: 'hello'; readonly protocol: number; readonly term: string; readonly follower: string }
  | { readonly type: 'welcome'; readonly term: string }
  | { readonly type: 'refused'; readonly reason: string }
  | { readonly type: 'commit'; readonly id: number; readonly commits: readonly RelayedCommit[] }
  | { readonly type: 'outcomes'; readonly id: number; readonly outcomes: readonly RelayedOutcome[] }
  | { readonly type: 'failed'; readonly id: number; readonly failure: RelayFailure }
  | { readonly type: 'records'; readonly records: readonly LogRecord[] }
  | { readonly type: 'status'; readonly id: number; readonly txIds: readonly string[] }
  | { readonly type: 'statuses'; readonly id: number; readonly statuses: readonly RelayTxStatus[] }
  | { readonly type: 'beat' };

/**
 * Checks the shape of a decoded frame before anything acts on it: the type, ids, terms and
 * the arrays, and that each commit, outcome and record has its key fields. The leader's
 * store validates commits again when it admits them; this catches a peer that speaks
 * another protocol (or version of it). Throws `LogStoreError` naming what is wrong.
 */
export function parseRelayMessage(value: unknown, store: string): RelayMessage {
  const fail = (what: string): never => {
    throw new LogStoreError({ store, message: `malformed relay frame: ${what}`, outcome: 'unknown' });
  };
  if (!isObject(value) || typeof value.type !== 'string') return fail('not an object with a type');
  const message = value;
  const field = (name: string, check: (item: unknown) => boolean): void => {
    if (!check(message[name])) fail(`'${message.type as string}' has a bad '${name}'`);
  };
  const arrayOf = (name: string, check: (item: unknown) => boolean): void => field(name, (items) => Array.isArray(items) && items.every(check));
  switch (message.type) {
    case 'hello':
      field('protocol', Number.isSafeInteger);
      field('term', isText);
      field('follower', isText);
      break;
    case 'welcome':
      field('term', isText);
      break;
    case 'refused':
      field('reason', (item) => typeof item === 'string');
      break;
    case 'commit':
      field('id', isId);
      arrayOf('commits', isCommit);
      break;
    case 'outcomes':
      field('id', isId);
      arrayOf('outcomes', isOutcome);
      break;
    case 'failed':
      field('id', isId);
      field('failure', isFailure);
      break;
    case 'records':
      arrayOf('records', isRecord);
      break;
    case 'status':
      field('id', isId);
      arrayOf('txIds', isText);
      break;
    case 'statuses':
      field('id', isId);
      arrayOf('statuses', isTxStatus);
      break;
    case 'beat':
      break;
    default:
      fail(`unknown type '${String(message.type)}'`);
  }
  return value as unknown as RelayMessage;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isText(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

function isId(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isPosition(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isCommit(value: unknown): boolean {
  return (
    isObject(value) &&
    isText(value.txId) &&
    Number.isSafeInteger(value.base) &&
    Array.isArray(value.entities) &&
    Array.isArray(value.values) &&
    Array.isArray(value.kinds) &&
    Array.isArray(value.changes)
  );
}

function isOutcome(value: unknown): boolean {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'committed':
      return isPosition(value.position);
    case 'replayed':
      return isPosition(value.position) && isText(value.txId);
    case 'conflict':
      return Array.isArray(value.conflicts);
    case 'declined':
      return true;
    default:
      return false;
  }
}

function isFailure(value: unknown): boolean {
  return isObject(value) && typeof value.code === 'string' && typeof value.message === 'string' && (value.outcome === 'not-written' || value.outcome === 'unknown');
}

function isRecord(value: unknown): boolean {
  return isObject(value) && isPosition(value.position) && isText(value.txId) && typeof value.time === 'number' && Array.isArray(value.changes);
}

function isTxStatus(value: unknown): boolean {
  if (!isObject(value)) return false;
  switch (value.state) {
    case 'decided':
      return isOutcome(value.outcome);
    case 'failed':
      return isFailure(value.failure);
    case 'unseen':
    case 'forgotten':
      return true;
    default:
      return false;
  }
}
