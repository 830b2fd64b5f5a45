import { compareFencingTokens, InvalidArgumentError, OperationError, type Entity, type FencingToken, type EntityChange, type EntityRef, type InfrastructureAdapter, type StateView } from '@ordo/core';
import { parseEntity, volumeSpecSchema } from '../storage/storage-spec.js';
import { parseVm, type VmSpec } from '../hypervisor/vm-spec.js';
import { checkHostMemory } from './host-memory.js';
import { LibvirtConnection } from './libvirt-connection.js';
import { diskTarget, diskXml, domainName, domainUuid, domainXml, type DomainDisk, type DomainInfo } from './domain-xml.js';
import { diskImage } from './disk-image.js';
import { virshRunner, type VirshRunner } from './virsh.js';

export interface LibvirtHypervisorOptions {
  /** The directory of the storage adapter (`directoryStorage({ root })`): attached volumes are its image files. */
  readonly storageRoot: string;
  /**
   * The libvirt connection URI of a host entity, or undefined when it has none (such a host
   * takes no VMs from this adapter). Default: the host's `libvirtUri` field.
   */
  readonly hostUri?: (host: Entity) => string | undefined;
  /**
   * How much more memory than the host has (`virsh nodeinfo`) the running VMs placed on it
   * may claim, as a factor. Default 1: prepare refuses a VM that would not fit.
   */
  readonly memoryOvercommit?: number;
  /** Default 'hypervisor'. */
  readonly name?: string;
  /** Defaults 'vm', 'host', 'volume', 'storageContainer'. */
  readonly vmKind?: string;
  readonly hostKind?: string;
  readonly volumeKind?: string;
  readonly containerKind?: string;
  /** How virsh is run; a test may wrap it. */
  readonly virsh?: VirshRunner;
}

/** What converging one VM needs, resolved from the options. */
interface Context {
  readonly name: string;
  readonly kinds: { readonly vm: string; readonly host: string; readonly volume: string; readonly container: string };
  readonly storageRoot: string;
  readonly hostUri: (host: Entity) => string | undefined;
  readonly virsh: VirshRunner;
}

/**
 * A hypervisor adapter over libvirt (KVM/QEMU): a VM entity with a `hostId` is a domain
 * `ordo-<id>` on that host's connection, running when `power` is 'on'; a VM without a host,
 * or deleted, is a domain nowhere. It holds no state (I10): everything comes from the view
 * and from libvirt, whose domains carry Ordo's metadata (entity, version, the log position
 * last applied). Domains without that metadata are never touched.
 */
export function libvirtHypervisor(options: LibvirtHypervisorOptions): InfrastructureAdapter {
  const memoryOvercommit = options.memoryOvercommit ?? 1;
  if (!Number.isFinite(memoryOvercommit) || memoryOvercommit <= 0) throw new InvalidArgumentError('memoryOvercommit', 'must be a number > 0');
  const context: Context = {
    name: options.name ?? 'hypervisor',
    kinds: { vm: options.vmKind ?? 'vm', host: options.hostKind ?? 'host', volume: options.volumeKind ?? 'volume', container: options.containerKind ?? 'storageContainer' },
    storageRoot: options.storageRoot,
    hostUri: options.hostUri ?? ((host) => (typeof host.data.libvirtUri === 'string' ? host.data.libvirtUri : undefined)),
    virsh: options.virsh ?? virshRunner(),
  };
  return Object.freeze({
    name: context.name,
    // Volumes too: a resized volume attached to a running VM is resized live (its image is locked).
    kinds: Object.freeze([context.kinds.vm, context.kinds.volume]),
    async prepare({ changes, view }) {
      const planned = changes.filter((change) => change.kind === context.kinds.vm).map((change) => ({ id: change.id, spec: change.after === undefined ? undefined : parseVm(change.after, context.name) }));
      for (const vm of planned) if (vm.spec?.hostId !== undefined) hostConnection(context, view, vm.spec.hostId, { kind: context.kinds.vm, id: vm.id });
      await checkHostMemory({ planned, view, memoryOvercommit, kinds: context.kinds, connection: (hostId, entity) => hostConnection(context, view, hostId, entity) });
    },
    async apply({ changes, view, position, epoch }) {
      const token: FencingToken = { position, epoch };
      for (const change of changes) {
        if (change.kind === context.kinds.volume) await resizeAttached(context, change, view);
        if (change.kind !== context.kinds.vm) continue;
        // Only the hosts the VM was and is to be on: a host that does not answer blocks only its own VMs.
        const was = change.before === undefined ? undefined : parseVm(change.before, context.name).hostId;
        const wasHost = was === undefined ? undefined : view.get(context.kinds.host, was);
        const wasUri = wasHost === undefined ? undefined : context.hostUri(wasHost);
        const elsewhere = wasUri === undefined ? [] : [wasUri];
        await converge(context, change.id, change.after === undefined ? undefined : parseVm(change.after, context.name), change.after?.version, view, { token, fence: token }, elsewhere);
      }
    },
    async reconcile({ view, held }) {
      await reconcileAll(context, view, (id) => held(context.kinds.vm, id));
    },
  } satisfies InfrastructureAdapter);
}

/** Every connection the view's hosts name, once each. */
function allUris(context: Context, view: StateView): string[] {
  const uris = new Set<string>();
  for (const host of view.list(context.kinds.host)) {
    const uri = context.hostUri(host);
    if (uri !== undefined) uris.add(uri);
  }
  return [...uris].sort();
}

function hostConnection(context: Context, view: StateView, hostId: string, entity: EntityRef): LibvirtConnection {
  const host = view.get(context.kinds.host, hostId);
  const uri = host === undefined ? undefined : context.hostUri(host);
  if (uri === undefined) {
    throw new OperationError({
      code: host === undefined ? 'HOST_UNKNOWN' : 'HOST_NOT_ON_LIBVIRT',
      message: host === undefined ? `VM ${entity.id} is placed on host ${hostId}, which does not exist` : `host ${hostId} has no libvirt connection URI; VM ${entity.id} cannot be placed there`,
      entity,
      adapter: context.name,
      details: { host: { kind: context.kinds.host, id: hostId } },
    });
  }
  return new LibvirtConnection(uri, context.virsh, { adapter: context.name, entity });
}

/**
 * Makes one VM's domains match its entity: defined (and running or not) on its host's
 * connection, on no other. A move between connections is cold: defined on the target, then
 * destroyed and undefined on the old host (its QEMU holds the images' write locks), then
 * started on the target. One that fails halfway leaves the VM defined twice or stopped on
 * the target (which the revert puts back), never defined nowhere.
 */
async function converge(context: Context, id: string, desired: VmSpec | undefined, version: number | undefined, view: StateView, fencing: Fencing, elsewhere: readonly string[]): Promise<void> {
  const entity: EntityRef = { kind: context.kinds.vm, id };
  const target = desired?.hostId === undefined ? undefined : hostConnection(context, view, desired.hostId, entity);
  const others = [...new Set(elsewhere)].filter((uri) => uri !== target?.uri);
  const startLater = target !== undefined && desired !== undefined ? await place(context, target, { spec: desired, version: version ?? 0, view, fencing, deferStart: others.length > 0 }) : false;
  for (const uri of others) await remove(context, new LibvirtConnection(uri, context.virsh, { adapter: context.name, entity }), id, fencing, target !== undefined);
  if (startLater && target !== undefined) await target.start(domainName(id));
}

/**
 * The fencing token an apply writes into the metadata, and the newest one it may find there.
 * An apply's are the same (its record's position and its owner's epoch); reconcile writes
 * the view's position and leaves alone a domain that an apply of a later record has changed.
 */
interface Fencing {
  readonly token: FencingToken;
  readonly fence: FencingToken;
}

/** Refuses to act on a domain Ordo did not make, or one a newer fencing token already changed. */
function checkOwnership(connection: LibvirtConnection, current: DomainInfo, id: string, fencing: Fencing, entity: EntityRef, adapter: string): boolean {
  if (current.metadata === undefined || current.metadata.entityId !== id) return false;
  const applied: FencingToken = { position: current.metadata.position, epoch: current.metadata.epoch };
  if (compareFencingTokens(applied, fencing.fence) > 0) {
    throw new OperationError({
      code: 'STALE_FENCING_TOKEN',
      message: `domain ${current.name} on ${connection.uri} was last changed by record ${applied.position} (epoch ${applied.epoch}); refusing the older apply of record ${fencing.token.position} (epoch ${fencing.token.epoch})`,
      entity,
      adapter,
      step: 'apply',
      details: { domainPosition: applied.position, domainEpoch: applied.epoch, applyPosition: fencing.token.position, applyEpoch: fencing.token.epoch, uri: connection.uri },
    });
  }
  return true;
}

interface Placement {
  readonly spec: VmSpec;
  readonly version: number;
  readonly view: StateView;
  readonly fencing: Fencing;
  /** Leave a start to the caller (a move: the old host's QEMU must release the images first). */
  readonly deferStart: boolean;
}

/** Defines the domain and brings it to the VM's power; resolves to true when a deferred start is still due. */
async function place(context: Context, connection: LibvirtConnection, placement: Placement): Promise<boolean> {
  const { spec, fencing } = placement;
  const entity: EntityRef = { kind: context.kinds.vm, id: spec.id };
  const name = domainName(spec.id);
  const current = await connection.domain(name);
  if (current !== undefined && !checkOwnership(connection, current, spec.id, fencing, entity, context.name)) {
    throw new OperationError({
      code: 'DOMAIN_NOT_MANAGED',
      message: `a domain named ${name} exists on ${connection.uri} without Ordo's metadata for VM ${spec.id}; it is left alone`,
      entity,
      adapter: context.name,
      step: 'apply',
      details: { uri: connection.uri, domain: name },
    });
  }
  const disks = spec.domain.disks.map((volumeId) => diskImage({ view: placement.view, volumeId, storageRoot: context.storageRoot, kinds: context.kinds, adapter: context.name, vm: entity }));
  // Define every time: it writes the metadata (and so the position) atomically with the configuration.
  await connection.define(
    domainXml({
      name,
      uuid: domainUuid(spec.id),
      title: spec.domain.name,
      memoryMiB: spec.domain.memoryMiB,
      vcpus: spec.domain.vcpus,
      disks,
      nics: spec.domain.nics,
      metadata: { entityId: spec.id, entityVersion: placement.version, position: fencing.token.position, epoch: fencing.token.epoch },
    }),
  );
  const running = current?.running ?? false;
  if (running) await syncLiveDisks(connection, name, current?.liveDisks ?? [], disks);
  if (spec.power === 'off' && running) await connection.destroy(name);
  if (spec.power !== 'on' || running) return false;
  if (placement.deferStart) return true;
  await connection.start(name);
  return false;
}

/** A running domain gets its disks attached and detached live; a stopped one reads its definition at start. */
async function syncLiveDisks(connection: LibvirtConnection, name: string, live: DomainInfo['liveDisks'], wanted: readonly DomainDisk[]): Promise<void> {
  const wantedPaths = new Set(wanted.map((disk) => disk.path));
  const kept = live.filter((disk) => wantedPaths.has(disk.path));
  for (const disk of live) {
    if (!wantedPaths.has(disk.path)) await connection.detachLive(name, diskXml({ volumeId: '', path: disk.path, format: 'raw' }, disk.target));
  }
  const used = new Set(kept.map((disk) => disk.target));
  const livePaths = new Set(live.map((disk) => disk.path));
  for (const disk of wanted) {
    if (livePaths.has(disk.path)) continue;
    let index = 0;
    while (used.has(diskTarget(index))) index += 1;
    used.add(diskTarget(index));
    await connection.attachLive(name, diskXml(disk, diskTarget(index)));
  }
}

/** Destroys and undefines the VM's domain on this connection, if Ordo made it. */
async function remove(context: Context, connection: LibvirtConnection, id: string, fencing: Fencing, justPlaced = false): Promise<void> {
  const name = domainName(id);
  const current = await connection.domain(name);
  if (current === undefined) return;
  if (!checkOwnership(connection, current, id, fencing, { kind: context.kinds.vm, id }, context.name)) return;
  // An old host's domain was defined by an earlier record. One carrying this very token was
  // just defined on the target: both URIs reach the same libvirtd, and it must stay.
  if (justPlaced && current.metadata?.position === fencing.token.position && current.metadata.epoch === fencing.token.epoch) return;
  if (current.running) await connection.destroy(name);
  await connection.undefine(name);
}

/**
 * Creates what the view has and libvirt lacks, removes Ordo's domains the view does not know.
 * A VM that an unsettled operation holds is its owner's to apply (it may be another runtime's,
 * in the middle of its apply): reconcile leaves its domains alone.
 */
async function reconcileAll(context: Context, view: StateView, held: (vmId: string) => boolean): Promise<void> {
  const fencing: Fencing = { token: { position: view.position, epoch: 0 }, fence: { position: view.position, epoch: Number.MAX_SAFE_INTEGER } };
  const vms = new Map(view.list(context.kinds.vm).map((vm) => [vm.id, vm]));
  // A VM's old host may have been deleted from the log since: every host's connection is scanned.
  for (const uri of allUris(context, view)) {
    const connection = new LibvirtConnection(uri, context.virsh, { adapter: context.name });
    for (const name of await connection.domainNames()) {
      if (!name.startsWith('ordo-')) continue;
      const domain = await connection.domain(name);
      const entityId = domain?.metadata?.entityId;
      if (entityId === undefined || vms.has(entityId) || held(entityId)) continue;
      await leaveNewer(remove(context, connection.about({ kind: context.kinds.vm, id: entityId }), entityId, fencing, false));
    }
  }
  const uris = allUris(context, view);
  for (const vm of vms.values()) if (!held(vm.id)) await leaveNewer(converge(context, vm.id, parseVm(vm, context.name), vm.version, view, fencing, uris));
}

/** A domain an apply of a record after the view changed is that apply's: reconcile leaves it. */
async function leaveNewer(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (!(error instanceof OperationError && error.code === 'STALE_FENCING_TOKEN')) throw error;
  }
}

/**
 * A volume resized while a running VM has it: qemu-img cannot (QEMU holds the image's lock,
 * so the storage adapter leaves it, with `lockedImageResize: 'hypervisor'`), `virsh
 * blockresize` does it live. Stopped VMs read the new size at their next start.
 */
async function resizeAttached(context: Context, change: EntityChange, view: StateView): Promise<void> {
  if (change.before === undefined || change.after === undefined) return;
  const sizeBytes = parseEntity(volumeSpecSchema, change.after, context.name).sizeBytes;
  if (parseEntity(volumeSpecSchema, change.before, context.name).sizeBytes === sizeBytes) return;
  for (const entity of view.list(context.kinds.vm)) {
    const vm = parseVm(entity, context.name);
    if (vm.power !== 'on' || vm.hostId === undefined || !vm.domain.disks.includes(change.id)) continue;
    const volume: EntityRef = { kind: context.kinds.volume, id: change.id };
    const connection = hostConnection(context, view, vm.hostId, volume);
    const name = domainName(vm.id);
    const current = await connection.domain(name);
    const disk = diskImage({ view, volumeId: change.id, storageRoot: context.storageRoot, kinds: context.kinds, adapter: context.name, vm: { kind: context.kinds.vm, id: vm.id } });
    if (current?.running !== true || current.metadata?.entityId !== vm.id) continue;
    if (current.liveDisks.some((live) => live.path === disk.path)) await connection.resizeLive(name, disk.path, sizeBytes);
  }
}
