import { LogStoreError, type LogRecord, type RelayedCommit, type RelayedOutcome, type RelayHost } from '@ordo/core';

/** The log the fake hosts of one test share: positions only, no validation. */
export class FakeLog {
  readonly records: LogRecord[] = [];

  get head(): number {
    return this.records.length;
  }

  append(commits: readonly RelayedCommit[]): LogRecord[] {
    const records = commits.map((commit, index) => ({ position: this.records.length + 1 + index, txId: commit.txId, time: 0, changes: commit.changes }));
    this.records.push(...records);
    return records;
  }
}

/**
 * A store as the relay sees it. As leader, `admit` appends the commits to the shared fake log
 * and calls `appended` before it resolves, like the real sequencer; `hold()` keeps admitted
 * commits in flight until `release()`. As follower, `offer` keeps what it was offered.
 */
export class FakeRelayHost implements RelayHost {
  readonly offered: LogRecord[] = [];
  readonly admitted: RelayedCommit[] = [];
  appended: (records: readonly LogRecord[]) => void = () => undefined;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** When set, `admit` rejects with this error after the gate, without appending. */
  failure: Error | undefined;
  /** When set and false at append time, `admit` is refused 'not-written', as a fenced log store refuses a lost lead. */
  leads: (() => boolean) | undefined;
  /** How long each `admit` waits before it appends, in ms. */
  delayMs: () => number = () => 0;

  constructor(private readonly log: FakeLog) {}

  get position(): number {
    return this.log.head;
  }

  hold(): void {
    this.gate ??= new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
    this.openGate = undefined;
  }

  async admit(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]> {
    this.admitted.push(...commits);
    await this.gate;
    await new Promise((resolve) => setImmediate(resolve));
    const delayMs = this.delayMs();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (this.failure !== undefined) throw this.failure;
    if (this.leads?.() === false) throw new LogStoreError({ store: 'fake', message: 'the lead is lost: the append is fenced', outcome: 'not-written' });
    const records = this.log.append(commits);
    this.appended(records);
    return records.map((record) => ({ type: 'committed', position: record.position }));
  }

  offer(records: readonly LogRecord[]): void {
    this.offered.push(...records);
  }

  /** The txIds offered so far. */
  offeredTxIds(): string[] {
    return this.offered.map((record) => record.txId);
  }
}
