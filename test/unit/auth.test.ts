import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAuthenticator, InvalidTokenError, secretMatches } from '../../src/api/auth.js';

const SECRET = 'unit-secret-that-is-at-least-32-bytes-long';
const auth = createAuthenticator({ jwtSecret: SECRET, internalScope: 'activity:read:any' });
const sign = (claims: Record<string, unknown>, exp: string | number = '5m', secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(exp).sign(Buffer.from(secret));

describe('authenticator', () => {
  it('makes a user, an internal caller, or an anonymous viewer', async () => {
    expect(await auth.viewer(`Bearer ${await sign({})}`)).toEqual({ kind: 'user', userId: 'alice' });
    expect(await auth.viewer(`Bearer ${await sign({ scope: 'x activity:read:any' })}`)).toEqual({ kind: 'internal', subject: 'alice' });
    expect(await auth.viewer(undefined)).toEqual({ kind: 'anonymous' });
  });

  it('refuses a malformed header, a foreign signature and an expired token, every time', async () => {
    const foreign = await sign({}, '5m', 'another-secret-that-is-at-least-32-bytes');
    const expired = await sign({}, Math.floor(Date.now() / 1000) - 10);
    for (let i = 0; i < 2; i++) {
      await expect(auth.viewer('Basic abc')).rejects.toThrow(InvalidTokenError);
      await expect(auth.viewer(`Bearer ${foreign}`)).rejects.toThrow(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
      await expect(auth.viewer(`Bearer ${expired}`)).rejects.toThrow(/ERR_JWT_EXPIRED/);
    }
  });

  it('turns authentication off only when no key is configured', async () => {
    const off = createAuthenticator({ internalScope: 'activity:read:any' });
    expect(off.enabled).toBe(false);
    expect(await off.viewer(undefined)).toEqual({ kind: 'internal', subject: 'development' });
  });

  it('compares router secrets in full', () => {
    expect(secretMatches('abc', 'abc')).toBe(true);
    expect(secretMatches('abd', 'abc')).toBe(false);
    expect(secretMatches('ab', 'abc')).toBe(false);
    expect(secretMatches(undefined, 'abc')).toBe(false);
  });
});
