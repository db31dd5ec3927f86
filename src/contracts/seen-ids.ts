/**
 * The dedupe memory's packed form: how a user's remembered event ids are
 * kept in Redis (stores/lua/apply-events.lua), in the MongoDB snapshot and in
 * the parked-user record. One 16-byte record per id, oldest first:
 *
 *   bytes 0–11   the first 96 bits of SHA-1 of the eventId (UTF-8)
 *   bytes 12–15  its arrival in whole seconds since the Unix epoch, rounded up,
 *                big-endian, and never below the record before it
 *
 * Arrivals only grow along the records, so the ids to forget (arrived more
 * than the dedupe horizon ago, or beyond the cap) are always a prefix; the
 * rounding up and the running maximum only ever keep an id longer.
 *
 * Two distinct ids of one user are taken for each other only when their
 * digests agree: for n ids within the horizon, with probability at most
 * n(n−1)/2 · 2^−96 (6.3e-20 at 100,000 ids, the default cap).
 *
 * SHA-1 because Redis' Lua computes it natively (`redis.sha1hex`), so a user
 * remembered in the older form (a sorted set of ids) is packed in place by the
 * script that first touches it; Node's crypto computes it for everything else.
 * Nothing relies on its resistance to crafted collisions: a sender who could
 * craft two colliding ids could as well not send the second one.
 *
 * In snapshots the records travel as base64 text.
 */
import { hash } from 'node:crypto';
import { seenSeconds } from '../features/apply.js';

export const SEEN_RECORD_BYTES = 16;
export const DIGEST_BYTES = 12;
const DIGEST_HEX = DIGEST_BYTES * 2;

/** One remembered id: its digest (24 hex digits) and its recorded arrival (epoch seconds). */
export interface SeenRecord {
  readonly digest: string;
  readonly at: number;
}

/** The digest of an event id, as 24 hex digits. */
export const idDigest = (eventId: string): string => hash('sha1', eventId).slice(0, DIGEST_HEX);

/** The events' digests, 12 bytes each, in order, in one buffer (what the Redis script takes). */
export function packDigests(digests: readonly string[]): Buffer {
  const out = Buffer.allocUnsafe(digests.length * DIGEST_BYTES);
  digests.forEach((d, i) => out.write(d, i * DIGEST_BYTES, DIGEST_BYTES, 'hex'));
  return out;
}

export function packSeen(records: readonly SeenRecord[]): Buffer {
  const out = Buffer.allocUnsafe(records.length * SEEN_RECORD_BYTES);
  records.forEach((r, i) => {
    out.write(r.digest, i * SEEN_RECORD_BYTES, DIGEST_BYTES, 'hex');
    out.writeUInt32BE(r.at, i * SEEN_RECORD_BYTES + DIGEST_BYTES);
  });
  return out;
}

export function unpackSeen(packed: Uint8Array): SeenRecord[] {
  const b = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  if (b.length % SEEN_RECORD_BYTES !== 0) throw new Error(`a packed dedupe memory of ${b.length} bytes is not whole ${SEEN_RECORD_BYTES}-byte records`);
  const out: SeenRecord[] = [];
  for (let at = 0; at < b.length; at += SEEN_RECORD_BYTES) {
    out.push({ digest: b.toString('hex', at, at + DIGEST_BYTES), at: b.readUInt32BE(at + DIGEST_BYTES) });
  }
  return out;
}

const isPairs = (v: unknown): v is readonly (readonly [string, number])[] => Array.isArray(v);

/**
 * The older form, eventId → arrival (epoch ms), packed: oldest first (ties by
 * the id's bytes, the order of a Redis sorted set), with the running maximum.
 * apply-events.lua packs a sorted set left by the older version the same way.
 */
export function packLegacySeen(seen: Readonly<Record<string, number>> | readonly (readonly [string, number])[]): Buffer {
  const entries: [string, number][] = isPairs(seen) ? seen.map(([id, at]) => [id, at]) : Object.entries(seen);
  entries.sort(([a, x], [b, y]) => x - y || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let last = 0;
  return packSeen(
    entries.map(([id, arrivedAt]) => {
      last = Math.max(seenSeconds(arrivedAt), last);
      return { digest: idDigest(id), at: last };
    }),
  );
}
