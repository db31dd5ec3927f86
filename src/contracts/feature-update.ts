/**
 * What the processor announces on `user-feature-updates` after it wrote a
 * user (key = userId, JSON): every API instance hears it, pushes to the
 * user's subscribers and drops stale L1 cache entries. Consumers drop
 * versions they have already seen, so a redelivered announcement is harmless.
 */
import { z } from 'zod';

/** What a change can touch, as the `changed` list names it. */
export const CHANGED_FIELDS = ['activityScore', 'tier', 'counts', 'lastActivity', 'lastViewedItem', 'recentItems', 'topCategories', 'profile'] as const;
export type ChangedField = (typeof CHANGED_FIELDS)[number];

export const FeatureUpdateSchema = z
  .object({
    userId: z.string().min(1),
    version: z.number().int().nonnegative(),
    cause: z.enum(['activity', 'profile']),
    /** The fields the change touched; empty for a redelivered batch that applied nothing new. */
    changed: z.array(z.enum(CHANGED_FIELDS)).readonly(),
    /** Latest event time in the change (epoch ms), for end-to-end latency. */
    eventTime: z.number(),
    /** When the change was written (epoch ms). */
    at: z.number(),
  })
  .readonly();

export type FeatureUpdate = z.infer<typeof FeatureUpdateSchema>;

export const featureUpdateMessage = (u: FeatureUpdate): { key: string; value: string } => ({ key: u.userId, value: JSON.stringify(u) });

/** A message's JSON value as a valid `T`; undefined for a tombstone, bad JSON or the wrong shape. */
export function parseMessage<T>(schema: z.ZodType<T>, value: Buffer | null): T | undefined {
  if (value === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export const parseFeatureUpdate = (value: Buffer | null): FeatureUpdate | undefined => parseMessage(FeatureUpdateSchema, value);
