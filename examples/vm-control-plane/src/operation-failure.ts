import { OperationError, type EntityRef, type JsonObject } from '@ordo/core';

/** Throws the OperationError a plan reports a domain failure with. */
export function fail(code: string, message: string, details: JsonObject = {}, entity?: EntityRef): never {
  throw new OperationError({ code, message, details, ...(entity === undefined ? {} : { entity }) });
}

export function ref(kind: string, id: string): { kind: string; id: string } {
  return { kind, id };
}
