import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { HttpRequestError } from './http-error.js';

/** A token for a server started without ORDO_HTTP_TOKEN: 32 random bytes, printed at start. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Throws UNAUTHENTICATED unless `header` is `Bearer <token>`. Both sides are hashed first so
 * that the comparison takes the same time whatever the length or the first wrong byte.
 */
export function requireBearer(header: string | undefined, token: string): void {
  const match = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
  if (match === null) throw new HttpRequestError('UNAUTHENTICATED', 'this call needs Authorization: Bearer <token>', {});
  const given = createHash('sha256').update(match[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  if (!timingSafeEqual(given, expected)) throw new HttpRequestError('UNAUTHENTICATED', 'the bearer token is not this server\'s', {});
}
