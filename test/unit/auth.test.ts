import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessRefusedError, createAuthenticator, secretMatches } from '../../src/access/credentials.js';

const SECRET = 'unit-secret-that-is-at-least-32-bytes-long';
const ROUTER = 'router-secret-0123456789';
const auth = createAuthenticator({ jwtSecret: SECRET, internalScope: 'activity:read:any', requireExpiry: false });
const sign = (claims: Record<string, unknown>, exp: string | number | null = '5m', secret = SECRET) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice');
  return (exp === null ? jwt : jwt.setExpirationTime(exp)).sign(Buffer.from(secret));
};
const bearer = async (claims: Record<string, unknown>, exp?: string | number | null) => ({ authorization: `Bearer ${await sign(claims, exp)}` });

describe('authenticator', () => {
  it('makes a user, an internal caller, or an anonymous viewer, with the token’s expiry', async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    expect(await auth.admit(await bearer({}, exp))).toEqual({ viewer: { kind: 'user', userId: 'alice' }, expiresAt: exp * 1000, router: false });
    expect((await auth.admit(await bearer({ scope: 'x activity:read:any' }))).viewer).toEqual({ kind: 'internal', subject: 'alice' });
    expect(await auth.admit({})).toEqual({ viewer: { kind: 'anonymous' }, router: false });
  });

  it('refuses a malformed header, a foreign signature and an expired token, every time', async () => {
    const foreign = await sign({}, '5m', 'another-secret-that-is-at-least-32-bytes');
    const expired = await sign({}, Math.floor(Date.now() / 1000) - 10);
    for (let i = 0; i < 2; i++) {
      await expect(auth.admit({ authorization: 'Basic abc' })).rejects.toThrow(AccessRefusedError);
      await expect(auth.admit({ authorization: `Bearer ${foreign}` })).rejects.toThrow(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
      await expect(auth.admit({ authorization: `Bearer ${expired}` })).rejects.toThrow(/ERR_JWT_EXPIRED/);
    }
  });

  it('refuses a token without exp where expiry is required (production), and takes it elsewhere', async () => {
    const strict = createAuthenticator({ jwtSecret: SECRET, internalScope: 'activity:read:any', requireExpiry: true });
    const forever = await bearer({}, null);
    await expect(strict.admit(forever)).rejects.toMatchObject({ status: 401, message: 'the token has no expiry (exp)' });
    expect(await auth.admit(forever)).toEqual({ viewer: { kind: 'user', userId: 'alice' }, router: false });
  });

  it('checks the router secret first when one is set: 401 without it, 403 with another', async () => {
    const gated = createAuthenticator({ jwtSecret: SECRET, routerSecret: ROUTER, internalScope: 'activity:read:any', requireExpiry: true });
    const token = await bearer({});
    await expect(gated.admit(token)).rejects.toMatchObject({ status: 401 });
    await expect(gated.admit({ ...token, routerSecret: `${ROUTER}x` })).rejects.toMatchObject({ status: 403 });
    expect(await gated.admit({ ...token, routerSecret: ROUTER })).toMatchObject({ viewer: { kind: 'user', userId: 'alice' }, router: true });
    expect(gated.routerCheck).toBe(true);
    expect(auth.routerCheck).toBe(false);
  });

  it('turns authentication off only when no key is configured', async () => {
    const off = createAuthenticator({ internalScope: 'activity:read:any', requireExpiry: false });
    expect(off.enabled).toBe(false);
    expect(await off.admit({})).toEqual({ viewer: { kind: 'internal', subject: 'development' }, router: false });
  });

  it('compares router secrets in full', () => {
    expect(secretMatches('abc', 'abc')).toBe(true);
    expect(secretMatches('abd', 'abc')).toBe(false);
    expect(secretMatches('ab', 'abc')).toBe(false);
    expect(secretMatches(undefined, 'abc')).toBe(false);
  });
});
