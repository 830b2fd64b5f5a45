import { assert, SnapshotUnsupportedError } from './errors.js';
import { deepFreeze } from './freeze.js';
import type { LogStore } from './log-store.js';
import type { LogRecord } from './record.js';
import { toSnapshot } from './snapshot-codec.js';
import type { State } from './state.js';
import { Watcher, type WatchOptions } from './watch.js';

/**
 * Everything that follows a fold, in one place: the sequencer calls `folded` after every
 * batch it folded (its own commits and records of other writers alike), and this hands the
 * records, frozen, to the watchers and schedules the automatic snapshot. The store reaches
 * watchers and snapshots only through here, so nothing that runs after a fold calls back
 * into the store.
 */
export class FoldFollowers {
  private readonly watchers = new Set<Watcher>();
  /** The position of the newest snapshot this process wrote or loaded. */
  private snapshotAt: number;
  private snapshotting: Promise<unknown> | undefined;

  constructor(
    private readonly state: State,
    private readonly log: LogStore,
    private readonly onBackgroundError: (error: unknown) => void,
  ) {
    this.snapshotAt = state.position;
  }

  /**
   * Called synchronously after `records` were folded into the state, in order. Records read
   * back from the log store are not frozen yet: they are frozen here before a watcher sees them.
   */
  folded(records: readonly LogRecord[]): void {
    if (this.watchers.size > 0) {
      for (const record of records) deepFreeze(record);
      for (const watcher of this.watchers) watcher.offer(records);
    }
    const every = this.log.snapshotEvery;
    if (every !== undefined && this.snapshotting === undefined && this.state.position - this.snapshotAt >= every) {
      this.snapshotting = this.writeSnapshot()
        .catch((error: unknown) => this.onBackgroundError(error))
        .finally(() => (this.snapshotting = undefined));
    }
  }

  watch(options: WatchOptions): AsyncIterableIterator<LogRecord> {
    const state = this.state;
    const watcher = new Watcher(
      {
        read: (from, limit) => this.read(from, limit),
        detach: (detached) => this.watchers.delete(detached),
        get position() {
          return state.position;
        },
      },
      options,
    );
    this.watchers.add(watcher);
    return watcher;
  }

  /** Records from the log store, checked to be the ones asked for, and frozen. */
  async read(from: number, limit: number): Promise<LogRecord[]> {
    const records = await this.log.read(from, limit);
    records.forEach((record, index) => assert(record.position === from + index, `log store read ${record.position} for ${from + index}`));
    return records.map((record) => deepFreeze(record));
  }

  /** Writes a snapshot of the state now, after the automatic one in flight (if any) settled. */
  async snapshot(): Promise<number> {
    if (this.log.writeSnapshot === undefined) throw new SnapshotUnsupportedError(this.log.name);
    await this.snapshotting?.catch(() => undefined);
    return this.writeSnapshot();
  }

  /** Ends every watcher and waits for the automatic snapshot in flight. */
  async close(): Promise<void> {
    for (const watcher of this.watchers) watcher.end();
    this.watchers.clear();
    await this.snapshotting?.catch(() => undefined);
  }

  private async writeSnapshot(): Promise<number> {
    const snapshot = toSnapshot(this.state);
    assert(this.log.writeSnapshot !== undefined, 'snapshot without writeSnapshot');
    await this.log.writeSnapshot(snapshot);
    this.snapshotAt = Math.max(this.snapshotAt, snapshot.position);
    return snapshot.position;
  }
}
