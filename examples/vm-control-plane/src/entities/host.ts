import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/** A hypervisor host. A host in maintenance takes no new running VMs. */
export const Host = defineEntity(
  'host',
  z.object({
    name: z.string().min(1).max(63),
    cpuThreads: z.number().int().positive(),
    memoryMiB: z.number().int().positive(),
    maintenance: z.boolean(),
    /** Where the libvirt adapter reaches the host (`qemu:///system`, `qemu+ssh://h2/system`); the simulated hypervisor ignores it. */
    libvirtUri: z.string().min(1).optional(),
  }),
  { unique: ['name'] },
);
