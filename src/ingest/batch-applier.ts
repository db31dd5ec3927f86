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
 *  4. publish one feature update per user of the batch, and meanwhile add
 *     what the batch's fresh item events mean to the item graph
 *     (co-occurrence and trending; see features/cooccurrence.ts), then name
 *     the items whose lists changed on the item-updates topic.
 *
 * The caller resolves and commits offsets only after `apply` returns `done`:
 * every message is then applied, or durably handed to another topic.
 *
 * The plan (1, 4) is pure, in batch-plan.ts; what a failed write comes to
 * (3) is outcome-policy.ts; the kafkajs payload is adapted in kafka-batch.ts.
 */
import { EventEmitter } from 'node:events';
import type { KafkaMessage, Message } from 'kafkajs';
import { deadLetter } from '../contracts/dead-letter.js';
import { itemGraphMessages } from '../contracts/item-graph-update.js';
import type { Origin } from '../contracts/retry-record.js';
import type { ActivityEvent, ActivityType } from '../features/activity.js';
import { graphDelta } from '../features/cooccurrence.js';
import type { FeatureParams, RecommendationParams } from '../features/params.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { UserBatchResult, UserStateStore } from '../stores/user-state.js';
import { activityUpdates, planBatch, produceParts, profileUpdates, sumResults } from './batch-plan.js';
import { GraphWriter } from './graph-writer.js';
import { handOn, writeWithPolicy, type BatchControl, type WriteOptions } from './outcome-policy.js';
import type { RenewingProducer } from './renewing-producer.js';

export type { BatchControl } from './outcome-policy.js';

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

export type BatchOutcome = 'done' | 'abandoned';

export class BatchApplier extends EventEmitter<ApplierEvents> {
  readonly #o: ApplierOptions;
  readonly #clock: () => number;
  readonly #graphWriter: GraphWriter | undefined;

  constructor(options: ApplierOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    const graph = options.graph;
    this.#graphWriter = graph && new GraphWriter((delta, control) => this.#write(() => graph.store.record(delta), control, { reachable: () => graph.store.ping(), finish: true }), graph.params.trendingHalfLifeMs);
  }

  async apply(topic: string, partition: number, messages: readonly KafkaMessage[], control: BatchControl): Promise<BatchOutcome> {
    const started = this.#clock();
    const plan = planBatch(topic, partition, messages, { profileTopic: this.#o.topics.profile, cdcTypeMap: this.#o.cdcTypeMap, admission: this.#o.admission }, started);
    await this.#send(this.#o.topics.activityDlq, plan.dead.map((d) => this.#deadLetter(d.origin, d.error)));

    const { byUser, profiles } = plan;
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
    let deadLetters = plan.dead.length - plan.future;
    if (written.kind === 'failed') {
      const origins = [...plan.origins, ...profiles.map((p) => p.origin)];
      const { retries, dead } = handOn(origins, written.error, {
        retryTopicAttempts: this.#o.retryTopicAttempts,
        retryBaseDelayMs: this.#o.retryBaseDelayMs,
        now: this.#clock(),
        deadLetter: (origin, error) => this.#deadLetter(origin, error),
      });
      await this.#send(this.#o.topics.activityRetry, retries);
      await this.#send(this.#o.topics.activityDlq, dead);
      retried = retries.length;
      deadLetters += dead.length;
    } else {
      const { results, versions } = written.value!;
      totals = sumResults(results.values());
      totals.applied += versions.filter((v) => v > 0).length;
      stale = versions.filter((v) => v === 0).length;
      // A user's push needs only the user's state, now written: its notice goes out while the item
      // graph is written, and the changed items are named once that write lands.
      const notified = this.#send(this.#o.topics.featureUpdates, [...activityUpdates(results, byUser, this.#clock()), ...profileUpdates(profiles.map((p) => p.update), versions, this.#clock())]);
      const graphWritten = this.#o.graph && totals.applied > 0 ? this.#recordGraph(this.#o.graph, results, new Map([...byUser].map(([userId, ds]) => [userId, ds.map((d) => d.event)])), control) : Promise.resolve([]);
      const [sent, itemUpdates] = await Promise.allSettled([notified, graphWritten]);
      if (sent.status === 'rejected') throw sent.reason;
      if (itemUpdates.status === 'rejected') throw itemUpdates.reason;
      await this.#send(this.#o.topics.itemUpdates, itemUpdates.value);
    }
    const { skipped, expired, future } = plan;
    this.emit('batch', { topic, partition, messages: messages.length, ...totals, stale, expired, future, skipped, deadLetters, retried, durationMs: this.#clock() - started });
    return 'done';
  }

  /** The write policy with this applier's attempts, probing `reachable` (the user state store unless given). */
  #write<T>(write: () => Promise<T>, control: BatchControl, options: Partial<Pick<WriteOptions, 'reachable' | 'finish'>> = {}) {
    return writeWithPolicy(write, control, {
      attempts: this.#o.applyAttempts,
      reachable: () => this.#o.store.ping(),
      onUnavailable: (error) => this.emit('storeUnavailable', { error }),
      ...options,
    });
  }

  /**
   * Adds the batch's fresh item events to the item graph, and returns the
   * messages that name the changed items (sent with the feature updates).
   * The user states are already written, so this is finished even when the
   * consumer stops meanwhile (the batch is then committed): a
   * failure is retried while Redis is away, but a batch redelivered after a
   * crash finds its events already seen and adds nothing (the graph
   * under-counts it).
   */
  async #recordGraph(graph: ApplierGraph, results: ReadonlyMap<string, UserBatchResult>, byUser: ReadonlyMap<string, readonly ActivityEvent[]>, control: BatchControl): Promise<Message[]> {
    const started = this.#clock();
    const users = [...results].map(([userId, r]) => ({ before: r.latestBefore, events: byUser.get(userId)!, fresh: r.fresh }));
    const delta = graphDelta(users, graph.weights, graph.params);
    if (delta.edges.size === 0 && delta.popularity.size === 0) return [];
    const written = await this.#graphWriter!.submit(delta, control);
    if (written.kind !== 'ok') {
      this.emit('graphFailed', { error: written.kind === 'failed' ? written.error : new Error('abandoned') });
      return [];
    }
    this.emit('graph', { items: delta.edges.size, durationMs: this.#clock() - started });
    return itemGraphMessages(delta, delta.refTime, this.#clock());
  }

  #deadLetter(origin: Origin, error: unknown): Message {
    const e = error instanceof Error ? error : new Error(String(error));
    this.emit('deadLetter', { topic: origin.topic, partition: origin.partition, offset: origin.message.offset, error: e.message });
    return deadLetter(origin, e, this.#o.instanceId, this.#clock());
  }

  /** `messages` to `topic` with acks = all, in produces under the broker's size limit. */
  async #send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0 || !this.#o.sideEffects) return;
    for (const [part] of produceParts([{ topic, messages }])) await this.#o.producer.send({ topic, messages: [...part!.messages], acks: -1 });
  }
}
