/**
 * Helpers for processor tests on the real servers: a config with topics,
 * group and key prefix of its own, a deterministic event file, producing it,
 * waiting for the group to catch up, and the reference model's states.
 */
import type { Kafka, Message } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config.js';
import { ITEM_TYPES, ACTIVITY_TYPES, type ActivityEvent } from '../../src/features/activity.js';
import { committedOffsets, endOffsets, reached, sum } from '../../src/ingest/offsets.js';
import type { FeatureParams } from '../../src/features/params.js';
import type { UserState } from '../../src/features/state.js';
import { arrive, modelRun, statesOf } from './events.js';
import { waitFor } from './wait-for.js';
import { servers, unique } from './servers.js';

/** Environment naming topics, group, Redis namespace and database of their own, under `id`. */
export function isolatedEnv(id: string): Record<string, string> {
  return {
    REDIS_KEY_PREFIX: `${id}:`,
    TOPIC_ACTIVITY: `${id}.activity`,
    TOPIC_ACTIVITY_RETRY: `${id}.retry`,
    TOPIC_ACTIVITY_DLQ: `${id}.dlq`,
    TOPIC_PROFILE: `${id}.profile`,
    TOPIC_FEATURE_UPDATES: `${id}.updates`,
    TOPIC_CDC: `${id}.cdc`,
    TOPIC_ITEM_UPDATES: `${id}.items`,
    TOPIC_SYNC_PARKED: `${id}.parked`,
    PROCESSOR_GROUP: `${id}.group`,
    MONGO_DB: id.replace(/-/g, '_'),
  };
}

/** A config whose topics, group, Redis namespace and database no other test uses. */
export function isolatedConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({ ...servers(), LOG_LEVEL: 'warn', INSTANCE_ID: 'test', ...isolatedEnv(unique('p')), ...extra }, {});
}

/** The environment that gives a child process the same config. */
export function configEnv(c: Config): Record<string, string> {
  const t = c.kafka.topics;
  return {
    REDIS_URL: c.redis.url, KAFKA_BROKERS: c.kafka.brokers.join(','), MONGO_URL: c.mongo.url,
    REDIS_KEY_PREFIX: c.redis.keyPrefix, TOPIC_ACTIVITY: t.activity, TOPIC_ACTIVITY_RETRY: t.activityRetry,
    TOPIC_ACTIVITY_DLQ: t.activityDlq, TOPIC_PROFILE: t.profile, TOPIC_FEATURE_UPDATES: t.featureUpdates,
    TOPIC_CDC: t.cdc, TOPIC_ITEM_UPDATES: t.itemUpdates, TOPIC_SYNC_PARKED: t.syncParked, PROCESSOR_GROUP: c.processor.groupId,
    // Metrics on a free port: several children may run at once.
    METRICS_PORT: '0',
    COLLECTOR_PORT: '0',
  };
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;
/** Yesterday, 00:00 UTC: event files are recent whenever the tests run, so none is too old to count. */
export const FILE_T0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;

/** `count` events of `users` users over 20 hours of event time, the same for the same seed. */
export function eventFile(count: number, users: number, seed = 1): ActivityEvent[] {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const categories = ['books', 'games', 'music', 'garden', 'tools', 'toys', 'food', 'sport'];
  return Array.from({ length: count }, (_, i) => {
    const type = pick(ACTIVITY_TYPES);
    return {
      eventId: `s${seed}-e${i}`,
      userId: `user-${Math.floor(next() * users)}`,
      type,
      itemId: ITEM_TYPES.has(type) ? `item-${Math.floor(next() * 500)}` : undefined,
      category: next() < 0.7 ? pick(categories) : undefined,
      occurredAt: FILE_T0 + Math.floor(next() * 20 * 3_600_000),
    };
  });
}

export const toMessage = (e: ActivityEvent): Message => ({ key: e.userId, value: JSON.stringify(e) });

export async function produce(kafka: Kafka, topic: string, messages: readonly Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 5000) {
      await producer.send({ topic, messages: messages.slice(i, i + 5000), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Committed offsets of `groupId` have reached the end of every partition of `topics`. */
export async function caughtUp(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<boolean> {
  return reached(await committedOffsets(kafka, [{ groupId, topics }]), await endOffsets(kafka, topics));
}

export const waitCaughtUp = (kafka: Kafka, groupId: string, topics: readonly string[], timeoutMs = 60_000) =>
  waitFor(() => caughtUp(kafka, groupId, topics), { timeoutMs, intervalMs: 200, what: `group ${groupId} to consume ${topics.join(', ')}` });

export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/**
 * Every message of a topic, from the beginning up to its end offsets at the
 * time of the call (for DLQ and update checks): call it once what writes to the
 * topic is done, and count what it returns; it never stops short of the end.
 */
export async function readAll(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const total = sum(await endOffsets(kafka, [topic]));
  const out: ReadMessage[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: unique('reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      out.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
    },
  });
  try {
    await waitFor(() => out.length >= total, { timeoutMs, what: `the ${total} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/**
 * The reference model's state of every user after `events`, with no horizon:
 * every distinct event counted once, whatever its date (they all arrive at once).
 */
export const referenceStates = (events: readonly ActivityEvent[], params: FeatureParams): Map<string, UserState> =>
  statesOf(modelRun([arrive(events, Date.now())], params));
