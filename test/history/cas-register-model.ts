import type { Model } from './linearizability-checker.js';

/**
 * One Ordo entity as a versioned register: `{ value }` data plus the entity version.
 *
 * - `read`: a read-only transaction's `tx.get`;
 * - `write`: an update without precondition (the version grows by one);
 * - `cas`: an update with `expectedVersion`; when the version differs it fails with
 *   VersionMismatchError, which reports the actual version: that is an observation too;
 * - `add`: read the value and write value + delta in one transaction (OCC retries keep it atomic).
 */
export type RegisterInput =
  | { readonly f: 'read' }
  | { readonly f: 'write'; readonly value: number }
  | { readonly f: 'cas'; readonly expectedVersion: number; readonly value: number }
  | { readonly f: 'add'; readonly delta: number };

export type RegisterOutput =
  | { readonly f: 'read'; readonly version: number; readonly value: number }
  | { readonly f: 'write'; readonly version: number }
  | { readonly f: 'cas'; readonly applied: true; readonly version: number }
  | { readonly f: 'cas'; readonly applied: false; readonly actual: number }
  | { readonly f: 'add'; readonly before: number; readonly version: number };

export interface RegisterState {
  readonly version: number;
  readonly value: number;
}

export function casRegisterModel(init: RegisterState): Model<RegisterState, RegisterInput, RegisterOutput> {
  return {
    init,
    step: stepRegister,
    hash: (state) => `${state.version}:${state.value}`,
    describe: describeRegisterOp,
  };
}

function stepRegister(state: RegisterState, input: RegisterInput, output: RegisterOutput | undefined): RegisterState | undefined {
  switch (input.f) {
    case 'read':
      if (output === undefined) return state;
      return output.f === 'read' && output.version === state.version && output.value === state.value ? state : undefined;
    case 'write': {
      const next = { version: state.version + 1, value: input.value };
      if (output === undefined) return next;
      return output.f === 'write' && output.version === next.version ? next : undefined;
    }
    case 'cas': {
      const matches = state.version === input.expectedVersion;
      const next = matches ? { version: state.version + 1, value: input.value } : state;
      if (output === undefined) return next;
      if (output.f !== 'cas') return undefined;
      if (output.applied) return matches && output.version === next.version ? next : undefined;
      return !matches && output.actual === state.version ? state : undefined;
    }
    case 'add': {
      const next = { version: state.version + 1, value: state.value + input.delta };
      if (output === undefined) return next;
      return output.f === 'add' && output.before === state.value && output.version === next.version ? next : undefined;
    }
  }
}

function describeRegisterOp(input: RegisterInput, output: RegisterOutput | undefined): string {
  const call = input.f === 'read' ? 'read' : input.f === 'write' ? `write ${input.value}` : input.f === 'cas' ? `cas v${input.expectedVersion} -> ${input.value}` : `add ${input.delta}`;
  if (output === undefined) return `${call} => ?`;
  switch (output.f) {
    case 'read':
      return `${call} => v${output.version} ${output.value}`;
    case 'write':
      return `${call} => v${output.version}`;
    case 'cas':
      return output.applied ? `${call} => applied v${output.version}` : `${call} => mismatch (at v${output.actual})`;
    case 'add':
      return `${call} => was ${output.before}, now v${output.version}`;
  }
}
