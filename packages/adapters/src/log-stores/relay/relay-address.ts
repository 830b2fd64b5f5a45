import { InvalidArgumentError } from '@ordo/core';

const addressLengthMax = 1_024;

/** The address a relay lead advertises (`host:port`), checked before it goes into the log. */
export function checkRelayAddress(address: string): void {
  if (typeof address !== 'string' || address.length === 0 || address.length > addressLengthMax || !/^\S+:\d+$/.test(address)) {
    throw new InvalidArgumentError('address', `must be host:port, at most ${addressLengthMax} characters, got ${JSON.stringify(address)}`);
  }
}
