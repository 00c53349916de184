import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { CodeError } from '../../platform/errors.js';

export class AuthError extends CodeError<'AUTH_REQUIRED' | 'AUTH_INVALID' | 'SERVER_TOKEN_REQUIRED'> {}

/** 127.0.0.0/8, ::1, localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(h);
  return false;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Who made a change, for audit lines: a hash prefix of the token, never the token. */
export function tokenActor(token: string | undefined): string {
  return token ? `api:token:${digest(token).toString('hex').slice(0, 8)}` : 'api:loopback';
}

/**
 * Bearer-token check in constant time: both sides are hashed first, so neither the comparison time
 * nor a length mismatch tells anything about the token.
 */
export function makeTokenCheck(token: string): (header: string | undefined) => void {
  const expected = digest(token);
  return (header) => {
    if (!header) throw new AuthError('AUTH_REQUIRED', 'this server requires `Authorization: Bearer <token>`');
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!.trim()), expected)) throw new AuthError('AUTH_INVALID', 'the bearer token is not valid');
  };
}
