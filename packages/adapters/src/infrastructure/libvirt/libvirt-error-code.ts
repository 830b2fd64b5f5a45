/** What the adapter asked libvirt to do when it failed. */
export type LibvirtAction = 'connect' | 'read' | 'define' | 'start' | 'destroy' | 'undefine' | 'attach' | 'detach' | 'resize' | 'nodeinfo';

/** The codes of the libvirt adapter's errors; libvirt's own message is in `details.libvirtMessage`. */
export type LibvirtErrorCode =
  | 'HYPERVISOR_UNREACHABLE'
  | 'HOST_OUT_OF_MEMORY'
  | 'DOMAIN_NOT_FOUND'
  | 'DOMAIN_NAME_TAKEN'
  | 'DOMAIN_DEFINE_FAILED'
  | 'DOMAIN_START_FAILED'
  | 'DOMAIN_DESTROY_FAILED'
  | 'DOMAIN_UNDEFINE_FAILED'
  | 'DISK_ATTACH_FAILED'
  | 'DISK_DETACH_FAILED'
  | 'DISK_RESIZE_FAILED'
  | 'LIBVIRT_FAILED';

const byAction: Readonly<Record<LibvirtAction, LibvirtErrorCode>> = {
  connect: 'HYPERVISOR_UNREACHABLE',
  read: 'LIBVIRT_FAILED',
  nodeinfo: 'LIBVIRT_FAILED',
  define: 'DOMAIN_DEFINE_FAILED',
  start: 'DOMAIN_START_FAILED',
  destroy: 'DOMAIN_DESTROY_FAILED',
  undefine: 'DOMAIN_UNDEFINE_FAILED',
  attach: 'DISK_ATTACH_FAILED',
  detach: 'DISK_DETACH_FAILED',
  resize: 'DISK_RESIZE_FAILED',
};

/**
 * The code for a libvirt failure, from virsh's message (virsh prints no error numbers). The
 * causes come first, whatever was being done: an unreachable daemon, QEMU without memory, a
 * domain gone or a name held by another domain; then what failed.
 */
export function libvirtErrorCode(action: LibvirtAction, message: string): LibvirtErrorCode {
  if (/failed to connect to the hypervisor|Failed to connect socket|Cannot recv data|Broken pipe|End of file while reading data|no connection driver available/i.test(message)) {
    return 'HYPERVISOR_UNREACHABLE';
  }
  if (/Cannot allocate memory|cannot set up guest memory|Out of memory/i.test(message)) return 'HOST_OUT_OF_MEMORY';
  if (/failed to get domain|Domain not found|no domain with matching/i.test(message)) return 'DOMAIN_NOT_FOUND';
  if (/already exists with uuid/i.test(message)) return 'DOMAIN_NAME_TAKEN';
  return byAction[action];
}
