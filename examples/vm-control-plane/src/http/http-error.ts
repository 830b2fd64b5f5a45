import { OrdoError } from '@ordo/core';

/**
 * A refusal of the HTTP layer itself, before any operation runs: no token, a body over the
 * limit, an unparsable `If-Match`. Its step is `request`, and its status comes from the
 * same table as every other code (error-status.ts).
 */
export class HttpRequestError extends OrdoError {
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message);
    this.details = details;
  }
}
