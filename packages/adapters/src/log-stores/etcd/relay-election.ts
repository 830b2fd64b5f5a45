import { LogCorruptError, LogStoreError } from '@ordo/core';
import type { IKeyValue } from 'etcd3';
import { LeadState } from '../relay/lead-state.js';
import type { RelayElection, RelayLeader } from '../relay/election.js';
import { checkRelayAddress } from '../relay/relay-address.js';
import type { EtcdConnection, LeaseKeepAlive } from './etcd-connection.js';
import { describeError } from './etcd-errors.js';
import type { EtcdKeys } from './etcd-keys.js';

/** One lead of this store: what its appends compare, and the lease that keeps it. */
export interface EtcdLead {
  /** The relay key's create_revision: a key made by any later claim has another one. */
  readonly createRevision: number;
  readonly leaseId: string;
  readonly keepAlive: LeaseKeepAlive;
  timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Until when the lease lives at least, by this process's clock: the send time of the last
   * request etcd answered with a TTL (grant or keepalive), plus that TTL. etcd counts the TTL
   * from when it received the request, which is later.
   */
  validUntil: number;
}

/**
 * A lead lives at most this long without a renewal. Short, because followers wait for a lead
 * that died before they take over; long enough for a keepalive every second to get through a
 * loaded cluster (etcd's leader elections take about a second with its default settings).
 */
export const leaseTtlSeconds = 3;
// Keepalives three times per TTL, as etcd's own clients do. One that is not answered while the
// lease surely lives (see EtcdLead.validUntil) loses the lead: it may have expired by then.
const renewEveryMs = (leaseTtlSeconds * 1_000) / 3;

/**
 * The commit relay's lead for an etcd log: the key `<prefix>/relay`, created only where absent
 * (compare create_revision 0) and bound to a lease of `leaseTtlSeconds` that this store keeps
 * alive; its value is `{"address","term"}`. The lead ends when the lease does (expired, revoked,
 * or given up): etcd deletes the key, and a later claim makes a key with another
 * create_revision.
 *
 * Fencing is in the appends: while this store leads, each append transaction also compares the
 * relay key's create_revision with this lead's (etcd-log.ts), so once the key is gone or
 * another lead's, no append of this lead can apply, whatever happened to its answer. Such a
 * compare failure is the lead lost, told apart from a moved head by the failure branch's read
 * of the key, and rejects with 'not-written'. A keepalive that is not answered in time, or
 * answered with TTL 0, loses the lead too (and the lease is revoked, if etcd can be reached,
 * so that followers need not wait for it to expire). `leader()` is a linearizable read.
 */
export class EtcdRelayElection implements RelayElection {
  private readonly lead = new LeadState<EtcdLead>();
  private closed = false;

  constructor(
    private readonly connection: EtcdConnection,
    private readonly keys: EtcdKeys,
  ) {}

  get term(): string | undefined {
    return this.lead.term;
  }

  /** What appends of the current lead compare; undefined while not leading. */
  get fence(): EtcdLead | undefined {
    return this.lead.fence;
  }

  onLost(listener: () => void): () => void {
    return this.lead.onLost(listener);
  }

  claim(address: string): Promise<string | undefined> {
    checkRelayAddress(address);
    return this.lead.inTurn(() => this.claimOnce(address));
  }

  private async claimOnce(address: string): Promise<string | undefined> {
    if (this.closed) throw new LogStoreError({ store: 'etcd', message: 'relay claim: the log store is closed', outcome: 'not-written' });
    const held = this.lead.fence;
    if (held !== undefined) {
      if ((await this.readLead()).kv?.create_revision === String(held.createRevision) && this.lead.fence === held) return this.lead.term;
      this.lost(held);
    }
    let leaseId: string;
    let grantedMs: number;
    let keepAlive: LeaseKeepAlive;
    const grantSentAt = Date.now();
    try {
      const granted = await this.connection.leaseGrant(leaseTtlSeconds);
      leaseId = granted.id;
      grantedMs = granted.ttlSeconds * 1_000;
      if (!Number.isFinite(grantedMs) || grantedMs <= 0) {
        await this.revokeQuietly(leaseId);
        throw new Error(`etcd granted a lease with TTL ${granted.ttlSeconds}`);
      }
    } catch (error) {
      throw failure('claim: no lease granted', error);
    }
    try {
      keepAlive = await this.connection.leaseKeepAlive(leaseId);
    } catch (error) {
      await this.revokeQuietly(leaseId);
      throw failure('claim: no keepalive stream', error);
    }
    const term = LeadState.newTerm();
    let response;
    try {
      response = await this.connection.txn({
        compare: [{ key: this.keys.relay, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: this.keys.relay, value: Buffer.from(JSON.stringify({ address, term })), lease: leaseId } }],
      });
    } catch (error) {
      // The put may have applied: the revocation deletes the key with the lease, and a copy
      // of the put that arrives later fails on the revoked lease.
      keepAlive.close();
      await this.revokeQuietly(leaseId);
      throw failure('claim failed', error);
    }
    if (!response.succeeded || this.closed) {
      keepAlive.close();
      await this.revokeQuietly(leaseId);
      return undefined;
    }
    // The put created the key, so its create_revision is the transaction's revision.
    const lead: EtcdLead = {
      createRevision: Number(response.header.revision),
      leaseId,
      keepAlive,
      timer: undefined,
      validUntil: grantSentAt + grantedMs,
    };
    this.lead.take(term, lead);
    this.scheduleRenewal(lead);
    return term;
  }

  private scheduleRenewal(lead: EtcdLead): void {
    lead.timer = setTimeout(() => void this.renew(lead), renewEveryMs);
    lead.timer.unref();
  }

  private async renew(lead: EtcdLead): Promise<void> {
    lead.timer = undefined;
    if (this.lead.fence !== lead) return;
    let ttl: number;
    const sentAt = Date.now();
    try {
      ttl = await lead.keepAlive.renew(Math.max(1, lead.validUntil - sentAt));
    } catch {
      this.lost(lead);
      return;
    }
    // TTL 0: etcd knows no such lease any more (it expired, or someone revoked it).
    if (ttl <= 0) {
      this.lost(lead);
      return;
    }
    lead.validUntil = sentAt + ttl * 1_000;
    if (this.lead.fence === lead) this.scheduleRenewal(lead);
  }

  /**
   * The lead is over for this store: an append's compare found the relay key gone or another
   * lead's, or a keepalive failed. The lease is revoked as well, so that the key (if it is
   * still ours) goes at once rather than when the lease expires.
   */
  lost(lead: EtcdLead): void {
    if (this.lead.fence !== lead) return;
    this.stop(lead);
    void this.revokeQuietly(lead.leaseId);
    this.lead.lose(lead);
  }

  private stop(lead: EtcdLead): void {
    if (lead.timer !== undefined) clearTimeout(lead.timer);
    lead.timer = undefined;
    lead.keepAlive.close();
  }

  async leader(): Promise<RelayLeader | undefined> {
    const { kv } = await this.readLead();
    if (kv === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(kv.value.toString());
    } catch {
      value = undefined;
    }
    const { address, term } = (typeof value === 'object' && value !== null ? value : {}) as { address?: unknown; term?: unknown };
    if (typeof address !== 'string' || typeof term !== 'string') {
      throw new LogCorruptError({ store: 'etcd', location: this.keys.relay.toString(), reason: `the relay lead ${kv.value.toString()} has no address or term` });
    }
    return { address, term };
  }

  /** A linearizable read of the relay key. */
  private async readLead(): Promise<{ kv: IKeyValue | undefined }> {
    try {
      const response = await this.connection.range({ key: this.keys.relay });
      return { kv: response.kvs[0] };
    } catch (error) {
      throw failure('cannot read the lead', error);
    }
  }

  /** Revokes the lease (which deletes the key). If etcd cannot be reached, the lease expires within its TTL. */
  async resign(): Promise<void> {
    const lead = this.lead.giveUp();
    if (lead === undefined) return;
    this.stop(lead);
    try {
      await this.connection.leaseRevoke(lead.leaseId);
    } catch (error) {
      throw failure(`resign: the lease was not revoked and ends within ${leaseTtlSeconds} s`, error);
    }
  }

  /** On the log store's close: the lead ends with it (listeners are told), the lease is revoked. */
  async close(): Promise<void> {
    this.closed = true;
    const lead = this.lead.fence;
    if (lead === undefined) return;
    this.stop(lead);
    this.lead.lose(lead);
    await this.revokeQuietly(lead.leaseId);
  }

  private async revokeQuietly(leaseId: string): Promise<void> {
    try {
      await this.connection.leaseRevoke(leaseId);
    } catch {
      // The lease expires on its own within its TTL.
    }
  }
}

function failure(message: string, error: unknown): LogStoreError {
  return new LogStoreError({ store: 'etcd', message: `relay ${message}: ${describeError(error)}`, cause: error, outcome: 'not-written' });
}
