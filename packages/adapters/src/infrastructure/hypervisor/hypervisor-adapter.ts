import { compareFencingTokens, OperationError, type EntityRef, type FencingToken, type InfrastructureAdapter, type StateView } from '@ordo/core';
import { HypervisorFault, type SimulatedHypervisor } from './simulated-hypervisor.js';
import { parseVm, type VmSpec } from './vm-spec.js';

export interface HypervisorAdapterOptions {
  readonly hypervisor: SimulatedHypervisor;
  /** Default 'hypervisor'. */
  readonly name?: string;
  /** The kind of the VM entities. Default 'vm'. */
  readonly vmKind?: string;
  /** The kind of the host entities a VM's `hostId` points to. Default 'host'. */
  readonly hostKind?: string;
}

/**
 * The adapter that makes the hypervisor's hosts match the VM entities: a VM with a `hostId`
 * is defined on that host and nowhere else, running when `power` is 'on'; a VM without one,
 * or a deleted VM, is defined nowhere. It holds no state (I10): each call reads the change,
 * the view and the agents, so a fresh instance continues where another stopped.
 */
export function hypervisorAdapter(options: HypervisorAdapterOptions): InfrastructureAdapter {
  const name = options.name ?? 'hypervisor';
  const vmKind = options.vmKind ?? 'vm';
  const hostKind = options.hostKind ?? 'host';
  const { hypervisor } = options;

  const converge = async (id: string, desired: VmSpec | undefined, view: StateView, token: FencingToken | undefined): Promise<void> => {
    const entity: EntityRef = { kind: vmKind, id };
    const locations = hypervisor.locate(id);
    const vmName = desired?.domain.name ?? locations.map((hostId) => hypervisor.domain(hostId, id)?.spec.name).find(Boolean) ?? id;
    try {
      // The target first, the old host after: a migration that fails halfway leaves the VM
      // defined twice (which the revert cleans up), never nowhere.
      if (desired?.hostId !== undefined) {
        if (view.get(hostKind, desired.hostId) === undefined) {
          throw new OperationError({ code: 'HOST_UNKNOWN', message: `VM ${vmName} is placed on host ${desired.hostId}, which does not exist`, entity, adapter: name, step: 'apply' });
        }
        await placeOnHost(hypervisor, desired, token);
      }
      for (const hostId of locations) {
        if (hostId !== desired?.hostId) await hypervisor.undefine(hostId, id, vmName, { token });
      }
    } catch (error) {
      if (error instanceof OperationError) throw error;
      const host = error instanceof HypervisorFault ? ` on host ${hostLabel(view, hostKind, error.hostId)}` : '';
      throw new OperationError({
        code: 'ADAPTER_FAILED',
        message: `hypervisor${host}: ${error instanceof Error ? error.message : String(error)}`,
        entity,
        adapter: name,
        step: 'apply',
        cause: error,
      });
    }
  };

  return Object.freeze({
    name,
    kinds: Object.freeze([vmKind]),
    prepare({ changes }) {
      for (const change of changes) {
        const hostId = change.after === undefined ? undefined : parseVm(change.after, name).hostId;
        if (hostId !== undefined && !hypervisor.isReachable(hostId)) {
          throw new OperationError({
            code: 'HOST_UNREACHABLE',
            message: `host ${hostId} does not answer; VM ${change.id} cannot be placed there now`,
            entity: { kind: change.kind, id: change.id },
            details: { host: { kind: hostKind, id: hostId } },
          });
        }
      }
    },
    async apply({ changes, view, position, epoch }) {
      for (const change of changes) {
        if (change.kind !== vmKind) continue;
        await converge(change.id, change.after === undefined ? undefined : parseVm(change.after, name), view, { position, epoch });
      }
    },
    async reconcile({ view, held }) {
      // Left alone: VMs an unsettled operation holds (its owner applies them) and VMs some
      // host applied a change to that is newer than the view (another runtime's, not folded here).
      const untouchable = (id: string): boolean =>
        held(vmKind, id) || hypervisor.locate(id).some((hostId) => compareFencingTokens(hypervisor.fencingToken(hostId, id) ?? { position: 0, epoch: 0 }, { position: view.position, epoch: Number.MAX_SAFE_INTEGER }) > 0);
      const vms = view.list(vmKind);
      const known = new Set(vms.map((vm) => vm.id));
      for (const domain of hypervisor.domains()) {
        if (!known.has(domain.id) && !untouchable(domain.id)) await converge(domain.id, undefined, view, undefined);
      }
      for (const vm of vms) if (!untouchable(vm.id)) await converge(vm.id, parseVm(vm, name), view, undefined);
    },
  } satisfies InfrastructureAdapter);
}

async function placeOnHost(hypervisor: SimulatedHypervisor, desired: VmSpec, token: FencingToken | undefined): Promise<void> {
  const hostId = desired.hostId;
  if (hostId === undefined) return;
  const options = { token };
  // A stale caller is refused even when nothing would change.
  if (token !== undefined) hypervisor.checkFencing(hostId, desired.id, token);
  const current = hypervisor.domain(hostId, desired.id);
  // Redefining an unchanged VM is a wasted agent call; compare the configuration first.
  if (current === undefined || JSON.stringify(current.spec) !== JSON.stringify(desired.domain)) {
    await hypervisor.define(hostId, desired.id, desired.domain, options);
  }
  const running = current?.state === 'running';
  if (desired.power === 'on' && !running) await hypervisor.start(hostId, desired.id, desired.domain.name, options);
  if (desired.power === 'off' && running) await hypervisor.stop(hostId, desired.id, desired.domain.name, options);
}

/** A host's name from the view (with its id), or its id alone. */
function hostLabel(view: StateView, hostKind: string, hostId: string): string {
  const name = view.get(hostKind, hostId)?.data.name;
  return typeof name === 'string' ? `${name} (${hostId})` : hostId;
}
