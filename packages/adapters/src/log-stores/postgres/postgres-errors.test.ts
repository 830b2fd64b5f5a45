import { describe, expect, it } from 'vitest';
import { failedBeforeCommit, isUniqueViolation } from './postgres-errors.js';

describe('failedBeforeCommit', () => {
  it('is true for server errors that roll the statement back and keep the session', () => {
    for (const code of ['23505', '22P02', '54000', '42P01', '57014']) {
      expect(failedBeforeCommit({ code, severity: 'ERROR' }), code).toBe(true);
      // A server with translated messages sends its own word for ERROR.
      expect(failedBeforeCommit({ code, severity: 'FEHLER' }), code).toBe(true);
    }
  });

  it('is false when the session may have broken around the commit', () => {
    expect(failedBeforeCommit(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(failedBeforeCommit(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(false);
    expect(failedBeforeCommit(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(false);
    for (const code of ['57P01', '57P02', '08006', '53100', '58030', 'XX000']) {
      expect(failedBeforeCommit({ code, severity: 'ERROR' }), code).toBe(false);
    }
    expect(failedBeforeCommit({ code: '23505', severity: 'FATAL' })).toBe(false);
    expect(failedBeforeCommit(undefined)).toBe(false);
  });

  it('recognises unique violations by SQLSTATE', () => {
    expect(isUniqueViolation({ code: '23505', severity: 'ERROR' })).toBe(true);
    expect(isUniqueViolation({ code: '23503' })).toBe(false);
    expect(isUniqueViolation('23505')).toBe(false);
  });
});
