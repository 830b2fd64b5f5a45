import { createHash } from 'node:crypto';

/** The namespace of Ordo's `<metadata>` element in a domain's XML. */
export const ordoMetadataNamespace = 'https://ordo.dev/libvirt/1';

/** What Ordo writes into a domain's `<metadata>`: whose domain it is and what the log said last. */
export interface OrdoMetadata {
  readonly entityId: string;
  readonly entityVersion: number;
  /** The log position of the last change applied to the domain: a stale apply carries an older one. */
  readonly position: number;
  /** The epoch of the operation's owner at that apply: with `position`, the fencing token. 0 when absent (older domains). */
  readonly epoch: number;
}

export interface DomainDisk {
  readonly volumeId: string;
  readonly path: string;
  readonly format: 'raw' | 'qcow2';
}

/** A domain as Ordo defines it. */
export interface DomainDefinition {
  readonly name: string;
  readonly uuid: string;
  /** The VM's name, shown by `virsh list --title`. */
  readonly title: string;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly disks: readonly DomainDisk[];
  readonly nics: readonly { readonly mac: string }[];
  readonly metadata: OrdoMetadata;
}

export interface DiskInfo {
  readonly path: string;
  readonly target: string;
}

/** A domain as libvirt reports it (`virsh dumpxml`). */
export interface DomainInfo {
  readonly name: string;
  readonly uuid: string;
  readonly running: boolean;
  readonly memoryMiB: number;
  readonly vcpus: number;
  /** The image files of its disks, with their target device names, in order. */
  readonly disks: readonly DiskInfo[];
  /** The disks of the running domain (its definition may differ until it is restarted); `disks` when stopped. */
  readonly liveDisks: readonly DiskInfo[];
  /** Undefined for a domain Ordo did not make: such a domain is never touched. */
  readonly metadata: OrdoMetadata | undefined;
}

/** Domain names are `ordo-<entity id>`: stable, unique per connection, and visibly Ordo's. */
export function domainName(entityId: string): string {
  return `ordo-${entityId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * A stable UUID (version 5, SHA-1) per entity id: libvirt refuses to redefine a name with
 * another UUID, so an idempotent define needs the same one every time.
 */
export function domainUuid(entityId: string): string {
  const namespace = Buffer.from('4f72646f-6c69-6276-6972-740000000001'.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(namespace).update(entityId, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** SCSI target names: sda, sdb, ..., sdz, sdaa, ... */
export function diskTarget(index: number): string {
  let name = '';
  let rest = index;
  do {
    name = String.fromCharCode(97 + (rest % 26)) + name;
    rest = Math.floor(rest / 26) - 1;
  } while (rest >= 0);
  return `sd${name}`;
}

/**
 * A tiny software-emulated machine (`type='qemu'`, so no KVM is needed) without a guest OS:
 * disks on a virtio-scsi controller, whose disks attach and detach live without the guest's
 * help (virtio-blk detach waits for the guest to agree), no memory balloon.
 */
export function domainXml(definition: DomainDefinition): string {
  const disks = definition.disks.map((disk, index) => `    ${diskXml(disk, diskTarget(index))}`);
  const nics = definition.nics.map((nic) => `    <interface type='user'><mac address='${escapeXml(nic.mac)}'/><model type='virtio'/></interface>`);
  const { metadata } = definition;
  return [
    `<domain type='qemu'>`,
    `  <name>${escapeXml(definition.name)}</name>`,
    `  <uuid>${definition.uuid}</uuid>`,
    `  <title>${escapeXml(definition.title)}</title>`,
    `  <metadata>`,
    `    <ordo:vm xmlns:ordo="${ordoMetadataNamespace}" entity="${escapeXml(metadata.entityId)}" version="${metadata.entityVersion}" position="${metadata.position}" epoch="${metadata.epoch}"/>`,
    `  </metadata>`,
    `  <memory unit='MiB'>${definition.memoryMiB}</memory>`,
    `  <vcpu>${definition.vcpus}</vcpu>`,
    `  <os><type arch='x86_64' machine='pc'>hvm</type></os>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    `    <controller type='scsi' index='0' model='virtio-scsi'/>`,
    ...disks,
    ...nics,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

export function diskXml(disk: DomainDisk, target: string): string {
  return `<disk type='file' device='disk'><driver name='qemu' type='${disk.format}'/><source file='${escapeXml(disk.path)}'/><target dev='${target}' bus='scsi'/></disk>`;
}

const memoryUnitsKiB: Readonly<Record<string, number>> = { b: 1 / 1024, bytes: 1 / 1024, KiB: 1, k: 1, MiB: 1024, M: 1024, GiB: 1024 ** 2, G: 1024 ** 2 };

/** Reads what the adapter needs from `virsh dumpxml` (libvirt's own, regular serialisation). */
export function parseDomainXml(xml: string): DomainInfo {
  const root = /<domain\b([^>]*)>/.exec(xml)?.[1] ?? '';
  const memory = /<memory\b(?:[^>]*unit=['"](\w+)['"])?[^>]*>(\d+)<\/memory>/.exec(xml);
  const memoryKiB = Number(memory?.[2] ?? '0') * (memoryUnitsKiB[memory?.[1] ?? 'KiB'] ?? 1);
  const disks = [...xml.matchAll(/<disk\b[^>]*device=['"]disk['"][^>]*>([\s\S]*?)<\/disk>/g)].flatMap((match) => {
    const body = match[1] ?? '';
    const path = /<source\b[^>]*file=['"]([^'"]*)['"]/.exec(body)?.[1];
    const target = /<target\b[^>]*dev=['"]([^'"]*)['"]/.exec(body)?.[1];
    return path === undefined || target === undefined ? [] : [{ path: unescapeXml(path), target }];
  });
  return {
    name: unescapeXml(/<name>([^<]*)<\/name>/.exec(xml)?.[1] ?? ''),
    uuid: /<uuid>([^<]*)<\/uuid>/.exec(xml)?.[1] ?? '',
    running: /\sid=['"]\d+['"]/.test(root),
    memoryMiB: Math.round(memoryKiB / 1024),
    vcpus: Number(/<vcpu\b[^>]*>(\d+)<\/vcpu>/.exec(xml)?.[1] ?? '0'),
    disks,
    liveDisks: disks,
    metadata: parseMetadata(xml),
  };
}

function parseMetadata(xml: string): OrdoMetadata | undefined {
  const body = /<metadata>([\s\S]*?)<\/metadata>/.exec(xml)?.[1];
  if (body === undefined) return undefined;
  for (const element of body.matchAll(/<([\w.-]+):vm\b([^>]*?)\/?>/g)) {
    const attributes = new Map([...(element[2] ?? '').matchAll(/([\w:.-]+)=(?:"([^"]*)"|'([^']*)')/g)].map((match) => [match[1] ?? '', unescapeXml(match[2] ?? match[3] ?? '')]));
    if (attributes.get(`xmlns:${element[1] ?? ''}`) !== ordoMetadataNamespace) continue;
    const entityId = attributes.get('entity');
    const entityVersion = Number(attributes.get('version'));
    const position = Number(attributes.get('position'));
    const epoch = Number(attributes.get('epoch') ?? 0);
    if (entityId === undefined || !Number.isSafeInteger(entityVersion) || !Number.isSafeInteger(position) || !Number.isSafeInteger(epoch)) return undefined;
    return { entityId, entityVersion, position, epoch };
  }
  return undefined;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
