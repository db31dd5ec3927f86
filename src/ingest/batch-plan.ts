/**
 * The pure half of applying a batch: what its messages are, and what the
 * store's answer means. No I/O; ingest/batch-applier.ts carries it out.
 *
 * `planBatch` decodes every message once: a profile event or an activity
 * event (plain or CDC) to apply, a message to skip (a tombstone, a delete),
 * one expired (older than the maximum event age) or one to dead-letter (it
 * cannot be decoded, or is dated in the future beyond the allowed skew).
 * The activity events are grouped by user, in arrival order, as the store's
 * script takes them.
 */
import type { KafkaMessage, Message } from 'kafkajs';
import { featureUpdateMessage, type ChangedField } from '../contracts/feature-update.js';
import { arrivalOf, originOf, type Origin } from '../contracts/retry-record.js';
import type { ActivityEvent, ActivityType } from '../features/activity.js';
import { admission, type Delivery, type ProfileUpdate } from '../features/apply.js';
import type { FeatureParams } from '../features/params.js';
import { EventInFutureError } from '../errors.js';
import type { UserBatchResult } from '../stores/user-state.js';
import { decodeActivity, decodeProfile } from './decode.js';

export interface PlanOptions {
  /** Messages of this topic (or first sent to it, for a retried one) are profile events. */
  readonly profileTopic: string;
  readonly cdcTypeMap: Readonly<Record<string, ActivityType>>;
  /** Bounds on an event's date against its arrival. */
  readonly admission: Pick<FeatureParams, 'maxEventAgeMs' | 'maxClockSkewMs'>;
}

export interface BatchPlan {
  /** The activity events to apply, grouped by user in arrival order. */
  readonly byUser: ReadonlyMap<string, Delivery[]>;
  /** Where each user's events came from, in the same order: what is handed on if the write fails. */
  readonly origins: readonly Origin[];
  /** Profile events to apply in order, each version-checked. */
  readonly profiles: readonly { readonly update: ProfileUpdate; readonly origin: Origin }[];
  /** Messages for the dead-letter topic, with why. */
  readonly dead: readonly { readonly origin: Origin; readonly error: unknown }[];
  readonly skipped: number;
  readonly expired: number;
  /** Dead-lettered for their date (among `dead`). */
  readonly future: number;
}

export function planBatch(topic: string, partition: number, messages: readonly KafkaMessage[], options: PlanOptions, now: number): BatchPlan {
  const source = `${topic}/${partition}`;
  const byUser = new Map<string, Delivery[]>();
  const origins: Origin[] = [];
  const profiles: { update: ProfileUpdate; origin: Origin }[] = [];
  const dead: { origin: Origin; error: unknown }[] = [];
  let skipped = 0;
  let expired = 0;
  let future = 0;
  for (const message of messages) {
    const origin = { topic, partition, message };
    try {
      if (originOf(origin).topic === options.profileTopic) {
        const decoded = decodeProfile(message.value);
        if (decoded.kind === 'skip') skipped++;
        else profiles.push({ update: decoded.value, origin });
        continue;
      }
      const decoded = decodeActivity(message.value, options.cdcTypeMap);
      if (decoded.kind === 'skip') {
        skipped++;
        continue;
      }
      const event = decoded.value;
      const arrivedAt = arrivalOf(message, now);
      const admitted = admission(event, arrivedAt, options.admission);
      if (admitted === 'expired') expired++;
      else if (admitted === 'future') {
        future++;
        const error = new EventInFutureError(
          `occurredAt ${new Date(event.occurredAt).toISOString()} is more than ${options.admission.maxClockSkewMs} ms after its arrival at ${new Date(arrivedAt).toISOString()}`,
        );
        dead.push({ origin, error });
      } else {
        const delivery = { event, arrivedAt, source, offset: Number(message.offset) };
        const list = byUser.get(event.userId);
        if (list) list.push(delivery);
        else byUser.set(event.userId, [delivery]);
        origins.push(origin);
      }
    } catch (error) {
      dead.push({ origin, error });
    }
  }
  return { byUser, origins, profiles, dead, skipped, expired, future };
}

/** The fields a user's applied events can have changed. */
export function changedBy(events: readonly ActivityEvent[]): ChangedField[] {
  const changed: ChangedField[] = ['activityScore', 'tier', 'counts', 'lastActivity'];
  if (events.some((e) => e.type === 'VIEW')) changed.push('lastViewedItem');
  if (events.some((e) => e.itemId !== undefined)) changed.push('recentItems');
  if (events.some((e) => e.category !== undefined)) changed.push('topCategories');
  return changed;
}

/**
 * One update per user of the batch, duplicates included: a redelivered batch
 * (after a crash between the write and the commit) applies nothing new but
 * must still announce the version it left. Consumers drop versions they have seen.
 */
export function activityUpdates(results: ReadonlyMap<string, UserBatchResult>, byUser: ReadonlyMap<string, readonly Delivery[]>, at: number) {
  return [...results]
    .filter(([, r]) => r.version > 0)
    .map(([userId, r]) => {
      const events = byUser.get(userId)!.map((d) => d.event);
      const eventTime = events.reduce((t, e) => Math.max(t, e.occurredAt), 0);
      return featureUpdateMessage({ userId, version: r.version, cause: 'activity', changed: r.applied > 0 ? changedBy(events) : [], eventTime, at });
    });
}

/** One update per profile that changed its user; a stale one (version 0) changed nothing. */
export const profileUpdates = (updates: readonly ProfileUpdate[], versions: readonly number[], at: number) =>
  updates.flatMap((u, i) =>
    versions[i]! > 0 ? [featureUpdateMessage({ userId: u.userId, version: versions[i]!, cause: 'profile', changed: ['profile', 'tier'], eventTime: at, at })] : [],
  );

export function sumResults(results: Iterable<UserBatchResult>): { applied: number; resent: number; redelivered: number } {
  const t = { applied: 0, resent: 0, redelivered: 0 };
  for (const r of results) {
    t.applied += r.applied;
    t.resent += r.resent;
    t.redelivered += r.redelivered;
  }
  return t;
}

/** Bytes of messages per produce: half of Kafka's default limit on one record batch (1 MB). */
export const PRODUCE_BYTES = 512 * 1024;

type TopicMessages = { readonly topic: string; readonly messages: readonly Message[] };

/** What a message weighs on the wire, near enough: key, value and headers. */
function weight(m: Message): number {
  let bytes = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, v] of Object.entries(m.headers ?? {})) bytes += name.length + String(v ?? '').length;
  return bytes;
}

/**
 * Splits what is to be produced into produces of at most `budget` bytes, in
 * order: a whole batch handed to the retry topic in one produce would exceed
 * the broker's limit and be refused for good. Small sends stay one produce.
 */
export function produceParts(topicMessages: readonly TopicMessages[], budget = PRODUCE_BYTES): TopicMessages[][] {
  const parts: TopicMessages[][] = [];
  let part: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let run: Message[] = [];
    for (const m of messages) {
      const w = weight(m);
      if (bytes + w > budget && bytes > 0) {
        if (run.length > 0) part.push({ topic, messages: run });
        parts.push(part);
        part = [];
        run = [];
        bytes = 0;
      }
      run.push(m);
      bytes += w;
    }
    if (run.length > 0) part.push({ topic, messages: run });
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
