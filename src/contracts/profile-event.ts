/**
 * A static profile event, as the legacy system sends it to `user-profile`
 * (key = userId, JSON): the VIP flag and status, versioned by `version` or,
 * without one, by `updatedAt` in ms. A newer one replaces an older one
 * whatever order they arrive in.
 */
import { z } from 'zod';
import { id, instant } from './activity-event.js';

export const ProfileEventSchema = z
  .object({
    userId: id,
    version: z.number().int().nonnegative().optional(),
    updatedAt: instant.optional(),
    vip: z.boolean().default(false),
    status: z.string().max(64).nullish(),
  })
  .refine((p) => p.version !== undefined || p.updatedAt !== undefined, { message: 'version or updatedAt is required', path: ['version'] });

export type ProfileEvent = z.infer<typeof ProfileEventSchema>;
