/**
 * What happens to one batch of messages, activity (plain and CDC) and static
 * profiles alike, shared by the processor and the retry worker:
 *
 *  1. decode every message; one that cannot be decoded, or is dated in the
 *     future beyond the allowed clock skew, becomes a dead letter; one older
 *     than the maximum event age is dropped and counted as expired;
 *  2. apply the events to the store, one atomic script per user, one round
 *     trip per 500 users, then the profiles in order (each version-checked, so a
 *     VIP floor shows at once; the sync carries them to MongoDB), retried
 *     with backoff while the failure is retriable;
 *  3. past that bound: if the store does not answer at all, keep waiting
 *     (heartbeating, committing nothing) until it does or the consumer stops;
 *     if it answers, the batch's messages go to the retry topic (or, out of
 *     attempts, to the dead-letter topic) so fresh data keeps flowing;
 *  4. add what the batch's fresh item events mean to the item graph
 *     (co-occurrence and trending; see features/cooccurrence.ts) and name the
 *     items whose lists changed on the item-updates topic;
 *  5. publish one feature update per user of the batch.
 *
 * The caller resolves and commits offsets only after `apply` returns `done`:
 * every message is then applied, or durably handed to another topic.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { EachBatchPayload, KafkaMessage, Message } from 'kafkajs';
import type { ActivityEvent, ActivityType } from '../features/activity.js';
import { admission, type Delivery, type ProfileUpdate } from '../features/apply.js';
import { graphDelta, type ItemGraphDelta } from '../features/cooccurrence.js';
import type { FeatureParams, RecommendationParams } from '../features/params.js';
import { EventInFutureError, isRetriable } from '../errors.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserBatchResult, UserStateStore } from '../stores/user-state.js';
import { decodeActivity, decodeProfile } from './decode.js';
import { arrivalOf, attemptOf, deadLetter, originOf, retryRecord, type Origin } from './records.js';
import type { RenewingProducer } from './renewing-producer.js';

/** Instrumentation, in the manner of kafkajs' consumer events. */
export interface ApplierEvents {
  /**
   * What a batch's messages came to; the outcomes add up to `messages`:
   * applied, resent and redelivered (duplicates by eventId and by offset),
   * stale (a profile no newer than the stored one),
   * expired (older than the maximum event age), future (dead-lettered for
   * their date), skipped (tombstones, deletes), deadLetters (undecodable, or
   * out of attempts) and retried (handed to the retry topic).
   */
  batch: [{ topic: string; partition: number; messages: number } & BatchCounts & { durationMs: number }];
  storeUnavailable: [{ error: unknown }];
  /** The store no longer holds the generation the batch was written for: it was lost (see `online`). */
  storeLost: [{ topic: string; partition: number }];
  deadLetter: [{ topic: string; partition: number; offset: string; error: string }];
  /** The batch's item graph delta was written: `items` lists changed. */
  graph: [{ items: number; durationMs: number }];
  /** Redis answered but refused the item graph delta: recommendations miss this batch. */
  graphFailed: [{ error: unknown }];
}

export interface BatchCounts {
  readonly applied: number;
  readonly stale: number;
  readonly resent: number;
  readonly redelivered: number;
  readonly expired: number;
  readonly future: number;
  readonly skipped: number;
  readonly deadLetters: number;
  readonly retried: number;
}

/** The item graph the applier feeds, with what it needs to compute a batch's delta. */
export interface ApplierGraph {
  readonly store: ItemGraphStore;
  readonly params: RecommendationParams;
  readonly weights: Readonly<Record<ActivityType, number>>;
}

export interface ApplierOptions {
  readonly store: UserStateStore;
  readonly producer: Pick<RenewingProducer, 'send'>;
  readonly topics: { readonly profile: string; readonly activityRetry: string; readonly activityDlq: string; readonly featureUpdates: string; readonly itemUpdates: string };
  /** Absent when recommendations are off: no item graph is kept. */
  readonly graph?: ApplierGraph | undefined;
  readonly cdcTypeMap: Readonly<Record<string, ActivityType>>;
  /** Bounds on an event's date against its arrival. */
  readonly admission: Pick<FeatureParams, 'maxEventAgeMs' | 'maxClockSkewMs'>;
  readonly instanceId: string;
  readonly applyAttempts: number;
  readonly retryTopicAttempts: number;
  readonly retryBaseDelayMs: number;
  /** false for a replay: nothing is written to Kafka, only the store changes. */
  readonly sideEffects: boolean;
  /**
   * Asked before every write attempt and after the write: whether the store
   * still holds the state batches are applied to. When not (Redis restarted
   * empty), nothing more is written (a partial state's offset marks would
   * hide the replay's events), the batch is abandoned uncommitted with
   * nothing published, and `storeLost` emitted.
   */
  readonly online?: () => Promise<boolean>;
  readonly clock?: () => number;
}

/** What the caller's consumer lends the applier while a batch is handled. */
export interface BatchControl {
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition is revoked: abandon, commit nothing. */
  isActive(): boolean;
}

export type BatchOutcome = 'done' | 'abandoned';

/** What a kafkajs `eachBatch` lends: its heartbeat, and activity until the consumer stops or loses the partition. */
export const batchControl = (p: EachBatchPayload): BatchControl => ({
  heartbeat: () => p.heartbeat(),
  isActive: () => p.isRunning() && !p.isStale(),
});

/** Commits exactly what has been resolved (autoCommit is off: nothing is committed behind the caller's back). */
export async function commitResolved(p: EachBatchPayload): Promise<void> {
  await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
  await p.heartbeat();
}

/** What a change can touch, as the `changed` list of a feature update names it. */
export type ChangedField = 'activityScore' | 'tier' | 'counts' | 'lastActivity' | 'lastViewedItem' | 'recentItems' | 'topCategories' | 'profile';

export interface FeatureUpdate {
  readonly userId: string;
  readonly version: number;
  readonly cause: 'activity' | 'profile';
  /** The fields the change touched; empty for a redelivered batch that applied nothing new. */
  readonly changed: readonly ChangedField[];
  /** Latest event time in the change (epoch ms), for end-to-end latency. */
  readonly eventTime: number;
  /** When the change was written (epoch ms). */
  readonly at: number;
}

export const featureUpdateMessage = (u: FeatureUpdate): Message => ({ key: u.userId, value: JSON.stringify(u) });

/** Items whose neighbour lists a batch changed, as the item-updates topic carries them. */
export interface ItemGraphUpdate {
  readonly items: readonly string[];
  /** The trending list changed too. */
  readonly trending: boolean;
  /** Latest event time in the batch (epoch ms), for end-to-end latency. */
  readonly eventTime: number;
  readonly at: number;
}

/** Below kafkajs' 3 s heartbeat interval and far below the 30 s session timeout. */
const HEARTBEAT_EVERY_MS = 2_000;

/** Items per item-update message: keeps each well under Kafka's message size limit. */
const ITEMS_PER_MESSAGE = 1000;

export function itemGraphMessages(delta: ItemGraphDelta, eventTime: number, at: number): Message[] {
  const items = [...delta.edges.keys()];
  const messages: Message[] = [];
  for (let i = 0; i === 0 || i < items.length; i += ITEMS_PER_MESSAGE) {
    const update: ItemGraphUpdate = { items: items.slice(i, i + ITEMS_PER_MESSAGE), trending: i === 0 && delta.popularity.size > 0, eventTime, at };
    messages.push({ key: null, value: JSON.stringify(update) });
  }
  return messages;
}

/** The fields a user's applied events can have changed. */
export function changedBy(events: readonly ActivityEvent[]): ChangedField[] {
  const changed: ChangedField[] = ['activityScore', 'tier', 'counts', 'lastActivity'];
  if (events.some((e) => e.type === 'VIEW')) changed.push('lastViewedItem');
  if (events.some((e) => e.itemId !== undefined)) changed.push('recentItems');
  if (events.some((e) => e.category !== undefined)) changed.push('topCategories');
  return changed;
}

export class BatchApplier extends EventEmitter<ApplierEvents> {
  readonly #o: ApplierOptions;
  readonly #clock: () => number;

  constructor(options: ApplierOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  async apply(topic: string, partition: number, messages: readonly KafkaMessage[], control: BatchControl): Promise<BatchOutcome> {
    const started = this.#clock();
    const source = `${topic}/${partition}`;
    const deliveries: { delivery: Delivery; origin: Origin }[] = [];
    const profiles: { update: ProfileUpdate; origin: Origin }[] = [];
    const dead: Message[] = [];
    let skipped = 0;
    let expired = 0;
    let future = 0;
    for (const message of messages) {
      const origin = { topic, partition, message };
      try {
        if (originOf(origin).topic === this.#o.topics.profile) {
          const decoded = decodeProfile(message.value);
          if (decoded.kind === 'skip') skipped++;
          else profiles.push({ update: decoded.value, origin });
          continue;
        }
        const decoded = decodeActivity(message.value, this.#o.cdcTypeMap);
        if (decoded.kind === 'skip') {
          skipped++;
          continue;
        }
        const event = decoded.value;
        const arrivedAt = arrivalOf(message, started);
        const admitted = admission(event, arrivedAt, this.#o.admission);
        if (admitted === 'expired') expired++;
        else if (admitted === 'future') {
          future++;
          dead.push(this.#deadLetter(origin, new EventInFutureError(`occurredAt ${new Date(event.occurredAt).toISOString()} is more than ${this.#o.admission.maxClockSkewMs} ms after its arrival at ${new Date(arrivedAt).toISOString()}`)));
        } else deliveries.push({ delivery: { event, arrivedAt, source, offset: Number(message.offset) }, origin });
      } catch (error) {
        dead.push(this.#deadLetter(origin, error));
      }
    }
    await this.#send(this.#o.topics.activityDlq, dead);

    const byUser = new Map<string, Delivery[]>();
    for (const { delivery } of deliveries) {
      const list = byUser.get(delivery.event.userId);
      if (list) list.push(delivery);
      else byUser.set(delivery.event.userId, [delivery]);
    }
    const latestBefore = this.#o.graph ? this.#o.graph.params.anchors + 1 : 0;
    const written = await this.#write(async () => {
      if (this.#o.online && !(await this.#o.online())) return undefined;
      const now = this.#clock();
      const results = byUser.size > 0 ? await this.#o.store.applyEvents(byUser, now, { latestBefore }) : new Map<string, UserBatchResult>();
      // In order, one at a time: each is version-checked, so a redelivery or a retry changes nothing.
      const versions: number[] = [];
      for (const p of profiles) versions.push(await this.#o.store.applyProfile(p.update, now));
      return { results, versions };
    }, control);
    if (written.kind === 'abandoned') return 'abandoned';
    if (written.kind === 'ok' && (written.value === undefined || (this.#o.online && !(await this.#o.online())))) {
      this.emit('storeLost', { topic, partition });
      return 'abandoned';
    }

    let totals = { applied: 0, resent: 0, redelivered: 0 };
    let stale = 0;
    let retried = 0;
    let deadLetters = dead.length - future;
    if (written.kind === 'failed') {
      const origins = [...deliveries, ...profiles].map((d) => d.origin);
      retried = await this.#handOn(origins, written.error);
      deadLetters += origins.length - retried;
    } else {
      const { results, versions } = written.value!;
      totals = sumResults(results.values());
      totals.applied += versions.filter((v) => v > 0).length;
      stale = versions.filter((v) => v === 0).length;
      const events = new Map([...byUser].map(([userId, ds]) => [userId, ds.map((d) => d.event)]));
      if (this.#o.graph && totals.applied > 0) await this.#recordGraph(this.#o.graph, results, events, control);
      await this.#publishUpdates(results, events);
      await this.#publishProfileUpdates(profiles.map((p) => p.update), versions);
    }
    this.emit('batch', { topic, partition, messages: messages.length, ...totals, stale, expired, future, skipped, deadLetters, retried, durationMs: this.#clock() - started });
    return 'done';
  }

  /**
   * Runs `write` with backoff, heartbeating all along (a single slow write
   * must not cost the group membership). Past the bound, waits for an
   * unreachable store instead of handing data on, since nothing can be applied
   * until it returns. Once the consumer stops: a write not yet begun is
   * abandoned; with `finish` (the rest of a batch whose user states are
   * already written) it is tried, and given up as failed rather than held.
   */
  async #write<T>(
    write: () => Promise<T>,
    control: BatchControl,
    reachable: () => Promise<void> = () => this.#o.store.ping(),
    { finish = false }: { finish?: boolean } = {},
  ): Promise<{ kind: 'ok'; value: T } | { kind: 'failed'; error: Error } | { kind: 'abandoned' }> {
    const policy = retry(handleWhen(isRetriable), {
      maxAttempts: this.#o.applyAttempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }),
    });
    const beat = () => void control.heartbeat().catch(() => undefined);
    policy.onRetry(beat);
    for (;;) {
      if (!finish && !control.isActive()) return { kind: 'abandoned' };
      const heartbeats = setInterval(beat, HEARTBEAT_EVERY_MS);
      try {
        return { kind: 'ok', value: await policy.execute(write) };
      } catch (error) {
        const answers = await reachable().then(
          () => true,
          () => false,
        );
        if (!isRetriable(error) || answers || (finish && !control.isActive())) return { kind: 'failed', error: error as Error };
        this.emit('storeUnavailable', { error });
        beat();
        await sleep(1000);
      } finally {
        clearInterval(heartbeats);
      }
    }
  }

  /**
   * Adds the batch's fresh item events to the item graph, then names the
   * changed items. The user states are already written, so this is finished
   * even when the consumer stops meanwhile (the batch is then committed): a
   * failure is retried while Redis is away, but a batch redelivered after a
   * crash finds its events already seen and adds nothing (the graph
   * under-counts it).
   */
  async #recordGraph(graph: ApplierGraph, results: ReadonlyMap<string, UserBatchResult>, byUser: ReadonlyMap<string, readonly ActivityEvent[]>, control: BatchControl): Promise<void> {
    const started = this.#clock();
    const users = [...results].map(([userId, r]) => ({ before: r.latestBefore, events: byUser.get(userId)!, fresh: r.fresh }));
    const delta = graphDelta(users, graph.weights, graph.params);
    if (delta.edges.size === 0 && delta.popularity.size === 0) return;
    const written = await this.#write(() => graph.store.record(delta), control, () => graph.store.ping(), { finish: true });
    if (written.kind !== 'ok') {
      this.emit('graphFailed', { error: written.kind === 'failed' ? written.error : new Error('abandoned') });
      return;
    }
    await this.#send(this.#o.topics.itemUpdates, itemGraphMessages(delta, delta.refTime, this.#clock()));
    this.emit('graph', { items: delta.edges.size, durationMs: this.#clock() - started });
  }

  /** Sends messages on to the retry topic, or to the dead letters when out of attempts. Returns how many were retried. */
  async #handOn(origins: readonly Origin[], error: Error): Promise<number> {
    const retries: Message[] = [];
    const dead: Message[] = [];
    for (const origin of origins) {
      const attempt = attemptOf(origin.message) + 1;
      if (!isRetriable(error) || attempt > this.#o.retryTopicAttempts) dead.push(this.#deadLetter(origin, error));
      else retries.push(retryRecord(origin, error, this.#clock() + this.#o.retryBaseDelayMs * 2 ** (attempt - 1)));
    }
    await this.#send(this.#o.topics.activityRetry, retries);
    await this.#send(this.#o.topics.activityDlq, dead);
    return retries.length;
  }

  /**
   * One update per user of the batch, duplicates included: a redelivered batch
   * (after a crash between the write and the commit) applies nothing new but
   * must still announce the version it left. Consumers drop versions they have seen.
   */
  async #publishUpdates(results: ReadonlyMap<string, UserBatchResult>, byUser: ReadonlyMap<string, readonly ActivityEvent[]>): Promise<void> {
    const at = this.#clock();
    const updates = [...results]
      .filter(([, r]) => r.version > 0)
      .map(([userId, r]) => {
        const events = byUser.get(userId)!;
        const eventTime = events.reduce((t, e) => Math.max(t, e.occurredAt), 0);
        return featureUpdateMessage({ userId, version: r.version, cause: 'activity', changed: r.applied > 0 ? changedBy(events) : [], eventTime, at });
      });
    await this.#send(this.#o.topics.featureUpdates, updates);
  }

  /** One update per profile that changed its user; a stale one (version 0) changed nothing. */
  async #publishProfileUpdates(updates: readonly ProfileUpdate[], versions: readonly number[]): Promise<void> {
    const at = this.#clock();
    const messages = updates.flatMap((u, i) =>
      versions[i]! > 0 ? [featureUpdateMessage({ userId: u.userId, version: versions[i]!, cause: 'profile', changed: ['profile', 'tier'], eventTime: at, at })] : [],
    );
    await this.#send(this.#o.topics.featureUpdates, messages);
  }

  #deadLetter(origin: Origin, error: unknown): Message {
    const e = error instanceof Error ? error : new Error(String(error));
    this.emit('deadLetter', { topic: origin.topic, partition: origin.partition, offset: origin.message.offset, error: e.message });
    return deadLetter(origin, e, this.#o.instanceId, this.#clock());
  }

  async #send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0 || !this.#o.sideEffects) return;
    await this.#o.producer.send({ topic, messages, acks: -1 });
  }
}

function sumResults(results: Iterable<UserBatchResult>) {
  const t = { applied: 0, resent: 0, redelivered: 0 };
  for (const r of results) {
    t.applied += r.applied;
    t.resent += r.resent;
    t.redelivered += r.redelivered;
  }
  return t;
}
