/**
 * Credentials to a viewer, the same for every transport. The router proves
 * itself with a shared secret (the router-authorization header, or the
 * connection param of that name on a socket); the end user with a JWT
 * (HS256 or RS256, verified with jose) that the router forwards. A token
 * carrying the internal scope reads any user.
 */
import { createPublicKey, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';
import type { Viewer } from './viewer.js';

/**
 * The router secret (checked when set), the JWT key (an HS256 secret or an
 * RS256 public key; without either, in development only, every caller is
 * internal), issuer, audience, the scope that reads every user, and whether a
 * token must carry `exp` (in production).
 */
export type AuthConfig = Config['auth'];

export const ROUTER_SECRET_HEADER = 'router-authorization';

/** What a caller presents, whatever the transport. */
export interface Credentials {
  readonly routerSecret?: string | undefined;
  /** An Authorization value: "Bearer <jwt>". */
  readonly authorization?: string | undefined;
}

/** A viewer and how long its credentials hold. */
export interface Session {
  readonly viewer: Viewer;
  /** Epoch ms at which the token expires; absent when it has no `exp` (or authentication is off). */
  readonly expiresAt?: number;
  /** Whether the caller proved itself the router (with the router check on). */
  readonly router: boolean;
}

/** Credentials refused: 401 when missing or unreadable, 403 when they prove the wrong thing. */
export class AccessRefusedError extends Error {
  override readonly name = 'AccessRefusedError';
  constructor(
    message: string,
    readonly status: 401 | 403,
  ) {
    super(message);
  }
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
  /** Whether the router secret is checked. */
  readonly routerCheck: boolean;
  /** The session for `credentials`; throws AccessRefusedError. No token makes an anonymous viewer. */
  admit(credentials: Credentials): Promise<Session>;
}

/** Verified tokens are remembered this long at most (and never past their `exp`). */
const VERIFIED_TTL_MS = 60_000;

export function createAuthenticator(c: AuthConfig): Authenticator {
  // The router forwards the same user's token with every request: verifying each signature again
  // costs more than the rest of a small request. Only tokens that verified are kept.
  const verified = new LRUCache<string, Omit<Session, 'router'>>({ max: 10_000, ttl: VERIFIED_TTL_MS });
  const key: KeyObject | undefined = c.jwtPublicKey
    ? createPublicKey(c.jwtPublicKey)
    : c.jwtSecret
      ? createSecretKey(Buffer.from(c.jwtSecret))
      : undefined;
  const algorithms = c.jwtPublicKey ? ['RS256'] : ['HS256'];
  const routerSecret = c.routerSecret;

  function checkRouter(given: string | undefined): boolean {
    if (routerSecret === undefined) return false;
    if (given === undefined) throw new AccessRefusedError('Only the router may call this subgraph.', 401);
    if (!secretMatches(given, routerSecret)) throw new AccessRefusedError('The router secret does not match.', 403);
    return true;
  }

  async function verify(token: string): Promise<Omit<Session, 'router'>> {
    const known = verified.get(token);
    if (known) return known;
    try {
      const { payload } = await jwtVerify(token, key!, { algorithms, issuer: c.issuer, audience: c.audience });
      if (!payload.sub) throw new AccessRefusedError('the token has no subject', 401);
      if (payload.exp === undefined && c.requireExpiry) throw new AccessRefusedError('the token has no expiry (exp)', 401);
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      const viewer: Viewer = scopes.includes(c.internalScope) ? { kind: 'internal', subject: payload.sub } : { kind: 'user', userId: payload.sub };
      const session = payload.exp === undefined ? { viewer } : { viewer, expiresAt: payload.exp * 1000 };
      const untilExpiry = session.expiresAt === undefined ? VERIFIED_TTL_MS : session.expiresAt - Date.now();
      if (untilExpiry > 0) verified.set(token, session, { ttl: Math.min(VERIFIED_TTL_MS, untilExpiry) });
      return session;
    } catch (error) {
      if (error instanceof AccessRefusedError) throw error;
      const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_JWT_INVALID';
      throw new AccessRefusedError(`invalid token (${reason})`, 401);
    }
  }

  return {
    enabled: key !== undefined,
    routerCheck: routerSecret !== undefined,
    async admit({ routerSecret: given, authorization }) {
      const router = checkRouter(given);
      if (key === undefined) return { viewer: { kind: 'internal', subject: 'development' }, router };
      if (!authorization) return { viewer: { kind: 'anonymous' }, router };
      const token = /^Bearer (.+)$/i.exec(authorization)?.[1];
      if (!token) throw new AccessRefusedError('the Authorization header must be "Bearer <token>"', 401);
      return { ...(await verify(token)), router };
    },
  };
}

/** One line saying when access is open (development without keys, or an opted-out router check); undefined when it is not. */
export function openAccess(authenticator: Pick<Authenticator, 'enabled' | 'routerCheck'>, env: Config['env']): string | undefined {
  const open = [
    ...(authenticator.enabled ? [] : ['no JWT key, so every caller is internal and reads every user']),
    ...(authenticator.routerCheck ? [] : [env === 'production' ? 'ROUTER_SECRET=none, so the router check is off' : 'no router secret, so anyone may call']),
  ];
  return open.length > 0 ? `${env} mode, access is open: ${open.join('; ')}` : undefined;
}
