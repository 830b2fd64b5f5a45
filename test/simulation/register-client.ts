import { defineEntity, VersionMismatchError, type Store } from '@ordo/core';
import { z } from 'zod';
import type { RegisterInput, RegisterOutput } from '../history/cas-register-model.js';
import type { Prng } from './prng.js';

export const RegisterEntity = defineEntity('register', z.object({ value: z.number() }));

/** Runs one register operation on entity `id`, through transactions only (linearizable reads). */
export async function executeRegisterOp(store: Store, id: string, input: RegisterInput): Promise<RegisterOutput> {
  switch (input.f) {
    case 'read': {
      const { value } = await store.transact((tx) => tx.require(RegisterEntity, id));
      return { f: 'read', version: value.version, value: value.data.value };
    }
    case 'write': {
      const { value } = await store.transact((tx) => tx.update(RegisterEntity, id, { value: input.value }));
      return { f: 'write', version: value.version };
    }
    case 'cas':
      try {
        const { value } = await store.transact((tx) => tx.update(RegisterEntity, id, { value: input.value }, { expectedVersion: input.expectedVersion }));
        return { f: 'cas', applied: true, version: value.version };
      } catch (error) {
        // A failed precondition is an observation of the version, not a failure to run.
        if (error instanceof VersionMismatchError) return { f: 'cas', applied: false, actual: error.actual };
        throw error;
      }
    case 'add': {
      const { value } = await store.transact((tx) => {
        const current = tx.require(RegisterEntity, id);
        const updated = tx.update(RegisterEntity, id, (draft) => {
          draft.value += input.delta;
        });
        return { before: current.data.value, version: updated.version };
      });
      return { f: 'add', ...value };
    }
  }
}

/** A random register operation; CAS mostly against the last version this client saw, so that some succeed. */
export function randomRegisterOp(prng: Prng, knownVersion: number): RegisterInput {
  const choice = prng.int(4);
  if (choice === 0) return { f: 'read' };
  if (choice === 1) return { f: 'write', value: prng.int(1000) };
  if (choice === 2) return { f: 'cas', expectedVersion: Math.max(1, knownVersion - prng.int(2)), value: prng.int(1000) };
  return { f: 'add', delta: prng.between(1, 9) };
}
