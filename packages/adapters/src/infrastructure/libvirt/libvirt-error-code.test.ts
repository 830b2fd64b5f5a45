import { describe, expect, it } from 'vitest';
import { libvirtErrorCode, type LibvirtAction } from './libvirt-error-code.js';

// virsh's messages as libvirt 9.0 prints them on Debian 12 (captured from real failures; the
// real-libvirt tests in libvirt-hypervisor.test.ts provoke each of them again).
const cases: readonly [LibvirtAction, string, string][] = [
  ['read', "failed to connect to the hypervisor: Failed to connect socket to '/nonexistent': No such file or directory", 'HYPERVISOR_UNREACHABLE'],
  ['start', "Failed to start domain 'x': internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: cannot set up guest memory 'pc.ram': Cannot allocate memory", 'HOST_OUT_OF_MEMORY'],
  ['read', "failed to get domain 'nosuch'", 'DOMAIN_NOT_FOUND'],
  ['start', "failed to get domain 'nosuch'", 'DOMAIN_NOT_FOUND'],
  ['define', "Failed to define domain from /tmp/x.xml: operation failed: domain 'x' already exists with uuid 6f1c0a4e-1111-4222-8333-444455556666", 'DOMAIN_NAME_TAKEN'],
  ['define', 'Failed to define domain from /tmp/x.xml: unsupported configuration: unknown OS type bogus', 'DOMAIN_DEFINE_FAILED'],
  ['start', "Failed to start domain 'x': Domain is already active", 'DOMAIN_START_FAILED'],
  ['start', "Failed to start domain 'x': Cannot access storage file '/nope.qcow2': No such file or directory", 'DOMAIN_START_FAILED'],
  ['destroy', "Failed to destroy domain 'x': Requested operation is not valid: domain is not running", 'DOMAIN_DESTROY_FAILED'],
  ['undefine', "Failed to undefine domain 'x': some reason", 'DOMAIN_UNDEFINE_FAILED'],
  ['attach', 'Failed to attach device from /tmp/d.xml: some reason', 'DISK_ATTACH_FAILED'],
  ['detach', 'Failed to detach device from /tmp/d.xml: some reason', 'DISK_DETACH_FAILED'],
  ['resize', "Failed to resize block device '/x.qcow2': some reason", 'DISK_RESIZE_FAILED'],
  ['nodeinfo', 'some reason', 'LIBVIRT_FAILED'],
];

describe('libvirtErrorCode', () => {
  it.each(cases)('%s: %s -> %s', (action, message, code) => {
    expect(libvirtErrorCode(action, message)).toBe(code);
  });
});
