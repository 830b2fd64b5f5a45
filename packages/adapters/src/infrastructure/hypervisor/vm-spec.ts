import { z } from 'zod';
import { OperationError, type Entity } from '@ordo/core';
import type { DomainSpec } from './host-agent.js';

/**
 * The fields of a VM entity the hypervisor adapter reads. Other fields are allowed: the
 * application owns the entity type, the adapter only checks what it relies on, again, at the
 * boundary between the log and the infrastructure.
 */
export const vmSpecSchema = z.looseObject({
  name: z.string().min(1),
  vcpus: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  power: z.enum(['on', 'off']),
  hostId: z.string().min(1).optional(),
  disks: z.array(z.string()).default([]),
  nics: z.array(z.looseObject({ mac: z.string(), ip: z.string() })).default([]),
});

export interface VmSpec {
  readonly id: string;
  readonly power: 'on' | 'off';
  readonly hostId: string | undefined;
  readonly domain: DomainSpec;
}

export function parseVm(entity: Entity, adapter: string): VmSpec {
  const result = vmSpecSchema.safeParse(entity.data);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new OperationError({
      code: 'ADAPTER_INPUT_INVALID',
      message: `${entity.kind} ${entity.id} cannot be run by the hypervisor: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      entity: { kind: entity.kind, id: entity.id },
      adapter,
      step: 'apply',
    });
  }
  const data = result.data;
  return {
    id: entity.id,
    power: data.power,
    hostId: data.hostId,
    domain: {
      name: data.name,
      vcpus: data.vcpus,
      memoryMiB: data.memoryMiB,
      disks: data.disks,
      nics: data.nics.map((nic) => ({ mac: nic.mac, ip: nic.ip })),
    },
  };
}
