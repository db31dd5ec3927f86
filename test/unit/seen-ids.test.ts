import { describe, expect, it } from 'vitest';
import { idDigest, packDigests, packLegacySeen, packSeen, SEEN_RECORD_BYTES, unpackSeen } from '../../src/contracts/seen-ids.js';
import { ParkedUserSchema } from '../../src/contracts/user-snapshot.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';

describe('the packed dedupe memory', () => {
  it('is 16 bytes an id: 96 bits of the id’s SHA-1 and its arrival in seconds', () => {
    const records = [{ digest: idDigest('a'), at: 1_800_000_000 }, { digest: idDigest('a-much-longer-event-id-' + 'x'.repeat(200)), at: 4_294_967_295 }];
    const packed = packSeen(records);
    expect(packed.length).toBe(2 * SEEN_RECORD_BYTES);
    // SHA-1("a") = 86f7e437faa5a7fce15d1ddcb9eaeaea377667b8
    expect(packed.subarray(0, 12).toString('hex')).toBe('86f7e437faa5a7fce15d1ddc');
    expect(packed.readUInt32BE(12)).toBe(1_800_000_000);
    expect(unpackSeen(packed)).toEqual(records);
    expect(packDigests([idDigest('a'), idDigest('b')]).toString('hex')).toBe(idDigest('a') + idDigest('b'));
    expect(() => unpackSeen(packed.subarray(0, 20))).toThrow(/16-byte records/);
  });

  it('packs the older form oldest first, by the id’s bytes at equal times, with arrivals rounded up and never falling', () => {
    const packed = unpackSeen(packLegacySeen({ b: 1_000_000_000_001, a: 1_000_000_000_001, early: 999_999_999_000, z: 1_000_000_000_000 }));
    expect(packed).toEqual([
      { digest: idDigest('early'), at: 999_999_999 },
      { digest: idDigest('z'), at: 1_000_000_000 },
      { digest: idDigest('a'), at: 1_000_000_001 },
      { digest: idDigest('b'), at: 1_000_000_001 },
    ]);
    expect(packLegacySeen({}).length).toBe(0);
  });

  it('reads a parked record written before the packed form, and one written after', () => {
    const record = (seen: unknown) => ({ userId: 'u', version: 2, snapshot: { state: { ...DEFAULT_USER_STATE, version: 2 }, seen, offsets: {} }, error: { name: 'E', message: 'm' }, parkedAt: 1 });
    const legacy = { x: 1_700_000_000_000, y: 1_700_000_000_500 };
    const packed = packLegacySeen(legacy).toString('base64');
    expect(ParkedUserSchema.parse(record(legacy)).snapshot.seen).toBe(packed);
    expect(ParkedUserSchema.parse(record(packed)).snapshot.seen).toBe(packed);
    expect(ParkedUserSchema.parse(record('')).snapshot.seen).toBe('');
    expect(() => ParkedUserSchema.parse(record('not base64!'))).toThrow();
  });
});
