import { z } from 'zod';
import { OperationError, type Entity } from '@ordo/core';

/** The fields of a volume entity the storage adapter reads; other fields are the application's. */
export const volumeSpecSchema = z.looseObject({
  name: z.string().min(1),
  containerId: z.string().min(1),
  sizeBytes: z.number().int().nonnegative(),
});

/** The fields of a storage container entity the storage adapter reads. */
export const containerSpecSchema = z.looseObject({
  name: z.string().min(1),
  maxCapacityBytes: z.number().int().nonnegative(),
  thin: z.boolean(),
  /** How its volumes are stored: raw sparse files, or qcow2 images made by qemu-img. Default raw. */
  format: z.enum(['raw', 'qcow2']).default('raw'),
});

export type VolumeFormat = 'raw' | 'qcow2';

export type VolumeSpec = z.output<typeof volumeSpecSchema>;
export type ContainerSpec = z.output<typeof containerSpecSchema>;

export function parseEntity<Schema extends z.ZodType>(schema: Schema, entity: Entity, adapter: string): z.output<Schema> {
  const result = schema.safeParse(entity.data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new OperationError({
    code: 'ADAPTER_INPUT_INVALID',
    message: `${entity.kind} ${entity.id} cannot be stored: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
    entity: { kind: entity.kind, id: entity.id },
    adapter,
  });
}
