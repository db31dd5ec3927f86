/**
 * A user's state with its dedupe memory: enough to rebuild it exactly
 * elsewhere. Redis exports it, the sync writes it to MongoDB, a recovery
 * restores it, and a user the sync cannot write is parked with it on the
 * parked-users topic (see sync/parked.ts), whose record is defined here too.
 */
import { z } from 'zod';
import type { UserState } from '../features/state.js';
import { PartitionOffsetsSchema } from './offset-checkpoint.js';
import { packLegacySeen } from './seen-ids.js';

export const UserSnapshotSchema = z
  .object({
    // The state's own shape is the features layer's; here it is carried whole.
    state: z.custom<UserState>((v) => typeof v === 'object' && v !== null && typeof (v as { version?: unknown }).version === 'number', 'not a user state'),
    /**
     * The remembered event ids, packed (seen-ids.ts), as base64. A record
     * written before the packed form held eventId → arrival (ms): it is
     * packed on reading.
     */
    seen: z.union([z.base64(), z.record(z.string(), z.number())]).transform((v) => (typeof v === 'string' ? v : packLegacySeen(v).toString('base64'))),
    /** `topic/partition` → the highest offset taken from it for this user. */
    offsets: PartitionOffsetsSchema,
  })
  .readonly();

export type UserSnapshot = z.infer<typeof UserSnapshotSchema>;

/** One parked user, as the parked-users topic holds it (value JSON, key the userId). */
export const ParkedUserSchema = z
  .object({
    userId: z.string().min(1),
    version: z.number().int().nonnegative(),
    snapshot: UserSnapshotSchema,
    error: z.object({ name: z.string(), message: z.string() }).readonly(),
    /** Epoch ms. */
    parkedAt: z.number(),
  })
  .readonly();

export type ParkedUser = z.infer<typeof ParkedUserSchema>;
