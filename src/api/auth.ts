/**
 * Who is calling. The router proves itself with a shared secret header; the
 * end user with a JWT (HS256 or RS256, verified with jose) that the router
 * forwards. A token carrying the internal scope reads any user.
 */
import { timingSafeEqual } from 'node:crypto';
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';

export type Viewer =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'internal'; readonly subject: string };

/**
 * The router secret (required in the router-authorization header when set),
 * the JWT key (an HS256 secret or an RS256 public key; neither turns
 * authentication off, in development only), issuer, audience, and the scope
 * that reads every user.
 */
export type AuthConfig = Config['auth'];

export const ROUTER_SECRET_HEADER = 'router-authorization';

export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

/** Compares in constant time, so the secret cannot be guessed byte by byte. */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface Authenticator {
  /** Whether tokens are checked at all (false only in development without keys). */
  readonly enabled: boolean;
  /** The viewer for an Authorization header value; throws InvalidTokenError for a bad token. */
  viewer(authorization: string | undefined): Promise<Viewer>;
}

/** Verified tokens are remembered this long at most (and never past their `exp`). */
const VERIFIED_TTL_MS = 60_000;

export function createAuthenticator(c: AuthConfig): Authenticator {
  // The router forwards the same user's token with every request: verifying each signature again
  // costs more than the rest of a small request. Only tokens that verified are kept.
  const verified = new LRUCache<string, Viewer>({ max: 10_000, ttl: VERIFIED_TTL_MS });
  const key: KeyObject | undefined = c.jwtPublicKey
    ? createPublicKey(c.jwtPublicKey)
    : c.jwtSecret
      ? createSecretKey(Buffer.from(c.jwtSecret))
      : undefined;
  const algorithms = c.jwtPublicKey ? ['RS256'] : ['HS256'];
  if (key === undefined) {
    return { enabled: false, viewer: async () => ({ kind: 'internal', subject: 'development' }) };
  }
  return {
    enabled: true,
    async viewer(authorization) {
      if (!authorization) return { kind: 'anonymous' };
      const token = /^Bearer (.+)$/i.exec(authorization)?.[1];
      if (!token) throw new InvalidTokenError('the Authorization header must be "Bearer <token>"');
      const known = verified.get(token);
      if (known) return known;
      try {
        const { payload } = await jwtVerify(token, key, { algorithms, issuer: c.issuer, audience: c.audience });
        const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
        if (!payload.sub) throw new InvalidTokenError('the token has no subject');
        const viewer: Viewer = scopes.includes(c.internalScope) ? { kind: 'internal', subject: payload.sub } : { kind: 'user', userId: payload.sub };
        const untilExpiry = payload.exp === undefined ? VERIFIED_TTL_MS : payload.exp * 1000 - Date.now();
        if (untilExpiry > 0) verified.set(token, viewer, { ttl: Math.min(VERIFIED_TTL_MS, untilExpiry) });
        return viewer;
      } catch (error) {
        if (error instanceof InvalidTokenError) throw error;
        const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_JWT_INVALID';
        throw new InvalidTokenError(`invalid token (${reason})`);
      }
    },
  };
}

/** Whether `viewer` may read `userId`'s private fields (features, recommendations). */
export const mayReadPrivate = (viewer: Viewer, userId: string): boolean =>
  viewer.kind === 'internal' || (viewer.kind === 'user' && viewer.userId === userId);

/** Whether `viewer` may read public fields (score, tier): anyone signed in. */
export const mayReadPublic = (viewer: Viewer): boolean => viewer.kind !== 'anonymous';
