import { describe, expect, it } from 'vitest';
import { ConflictError, isOrdoError, LogCorruptError, OperationError, type OrdoErrorCode } from '@ordo/core';

describe('error codes', () => {
  it('narrows by code to the error class; a misspelt code does not compile', () => {
    const error: unknown = new ConflictError({ conflicts: [{ kind: 'vm', id: 'v1' }], attempts: 3 });
    // @ts-expect-error 'CONFLCT' is not an OrdoErrorCode: the typo is caught by the compiler.
    expect(isOrdoError(error, 'CONFLCT')).toBe(false);
    expect(isOrdoError(error, 'NOT_FOUND')).toBe(false);
    if (!isOrdoError(error, 'CONFLICT')) throw new Error('expected a ConflictError');
    // Narrowed to ConflictError: its own fields are typed.
    expect(error.attempts).toBe(3);
    const code: OrdoErrorCode = error.code;
    expect(code).toBe('CONFLICT');
  });

  it('keeps operation codes open strings: any code a plan chooses is an Ordo error', () => {
    const error: unknown = new OperationError({ code: 'IP_ALREADY_IN_USE', message: 'taken' });
    expect(isOrdoError(error)).toBe(true);
    expect(isOrdoError(error) && error.code === 'IP_ALREADY_IN_USE').toBe(true);
  });

  it('recognizes an error of another copy of the package by its shape', () => {
    const foreign = Object.assign(new Error('elsewhere'), { code: 'CONFLICT', [Symbol.for('@ordo/error')]: true });
    expect(isOrdoError(foreign, 'CONFLICT')).toBe(true);
    expect(isOrdoError(Object.assign(new Error('plain'), { code: 'CONFLICT' }))).toBe(false);
  });

  it('names where a corrupt log is damaged in terms that fit every store', () => {
    const inFile = new LogCorruptError({ store: 'file', location: '/logs/00001.seg', offset: 4096, reason: 'checksum mismatch' });
    expect(inFile).toMatchObject({ code: 'LOG_CORRUPT', store: 'file', location: '/logs/00001.seg', offset: 4096, position: undefined });
    expect(inFile.message).toBe('file log store: log corrupt in /logs/00001.seg at byte 4096: checksum mismatch');
    const inTable = new LogCorruptError({ store: 'postgres', location: '"ordo"."records"', position: 17, reason: 'record is not JSON' });
    expect(inTable).toMatchObject({ store: 'postgres', location: '"ordo"."records"', position: 17, offset: undefined });
    expect(inTable.message).toBe('postgres log store: log corrupt in "ordo"."records" at position 17: record is not JSON');
  });
});
