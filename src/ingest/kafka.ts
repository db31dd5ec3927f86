/**
 * The Kafka client with this service's defaults, and the topics it owns.
 * kafkajs logs are routed into the service's structured logger.
 */
import { Kafka, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createMemoryKafka } from './memory-kafka.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

export function createKafka(config: Pick<Config['kafka'], 'brokers' | 'clientId'>, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: 3000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[LEVELS[level] ?? 'info'](rest, message);
      },
  });
}

/**
 * The event log the configured adapters call for: the brokers, or (embedded
 * mode) one in-process log that every role of this process shares.
 */
export function openEventLog(config: Pick<Config, 'adapters' | 'kafka'>, logger: Logger): Kafka {
  return config.adapters === 'memory' ? createMemoryKafka() : createKafka(config.kafka, logger);
}

/** A topic this service creates, and whether the processors' consumer groups read it. */
export interface ServiceTopic extends ITopicConfig {
  /** Read by the processors: its partition count bounds how many processors share the work. */
  readonly processorInput?: boolean;
}

/**
 * The topics this service reads and writes, laid out as configured
 * (KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR). The dead letters, the item
 * updates and the parked users keep one partition: their readers rely on
 * one order across the whole topic, and their volume is small.
 */
export function serviceTopics(topics: Config['kafka']['topics']): ServiceTopic[] {
  const spread = (topic: string, processorInput = false): ServiceTopic => ({ topic, numPartitions: topics.partitions, replicationFactor: topics.replicationFactor, processorInput });
  const single = (topic: string): ServiceTopic => ({ topic, numPartitions: 1, replicationFactor: topics.replicationFactor });
  return [
    spread(topics.activity, true),
    spread(topics.activityRetry, true),
    single(topics.activityDlq),
    spread(topics.profile, true),
    spread(topics.featureUpdates),
    spread(topics.cdc, true),
    single(topics.itemUpdates),
    single(topics.syncParked),
  ];
}

/**
 * The processor input topics that already existed with fewer partitions than
 * configured: in a consumer group, the members past a topic's partition count
 * get none of it and idle. Pure, for the start-up check of {@link ensureTopics}.
 */
export function partitionShortfalls(wanted: readonly ServiceTopic[], partitionCounts: ReadonlyMap<string, number>): string[] {
  return wanted
    .filter((t) => t.processorInput === true && t.numPartitions !== undefined)
    .flatMap((t) => {
      const have = partitionCounts.get(t.topic);
      if (have === undefined || have >= (t.numPartitions ?? 0)) return [];
      return [`topic ${t.topic} has ${have} partition${have === 1 ? '' : 's'}, fewer than the ${t.numPartitions} configured (KAFKA_PARTITIONS): processors past ${have} get none of it and idle; add partitions to it (kafka-topics --alter --partitions ${t.numPartitions})`];
    });
}

/**
 * Creates whichever of `topics` do not exist yet and waits for their leaders;
 * then warns about each input topic that existed with fewer partitions than
 * asked for ({@link partitionShortfalls}). Warnings go to `warn`, by default
 * to the client's own logger (which {@link createKafka} routes into the
 * service's log).
 */
export async function ensureTopics(kafka: Kafka, topics: readonly ServiceTopic[], warn: (message: string) => void = clientWarn(kafka)): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      // kafkajs' own waitForLeaders gives up on a broker that has not heard of the topic yet
      // (UNKNOWN_TOPIC_OR_PARTITION), as happens on a cluster right after creation: poll instead.
      await admin.createTopics({ topics: missing.map(({ processorInput: _input, ...t }) => t), waitForLeaders: false });
      for (const t of missing) await untilLeadersAnswer(() => admin.fetchTopicOffsets(t.topic));
    }
    const counts = new Map<string, number>();
    for (const t of topics) if (t.processorInput && existing.has(t.topic)) counts.set(t.topic, (await admin.fetchTopicOffsets(t.topic)).length);
    for (const message of partitionShortfalls(topics, counts)) warn(message);
  } finally {
    await admin.disconnect();
  }
}

/** Retries `read` (which needs every partition's leader) until it succeeds, for at most `withinMs`. */
async function untilLeadersAnswer(read: () => Promise<unknown>, withinMs = 30_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await read();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The client's logger where it has one (kafkajs), else nothing: the in-process log creates every topic itself. */
function clientWarn(kafka: Kafka): (message: string) => void {
  const logger = typeof kafka.logger === 'function' ? kafka.logger() : undefined;
  return (message) => logger?.warn(message);
}

/** A readiness check that Kafka answers (one admin connection, kept), and its close. */
export function kafkaAnswers(kafka: Kafka): { check(): Promise<void>; close(): Promise<void> } {
  let admin: Admin | undefined;
  return {
    async check() {
      admin ??= kafka.admin();
      await admin.connect();
      await admin.describeCluster();
    },
    close: async () => admin?.disconnect(),
  };
}
