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

/** The topics this service reads and writes, with their partition counts. */
export function serviceTopics(topics: Config['kafka']['topics']): ITopicConfig[] {
  return [
    { topic: topics.activity, numPartitions: 3 },
    { topic: topics.activityRetry, numPartitions: 3 },
    { topic: topics.activityDlq, numPartitions: 1 },
    { topic: topics.profile, numPartitions: 3 },
    { topic: topics.featureUpdates, numPartitions: 3 },
    { topic: topics.cdc, numPartitions: 3 },
    { topic: topics.itemUpdates, numPartitions: 1 },
    { topic: topics.syncParked, numPartitions: 1 },
  ];
}

/** Creates whichever of `topics` do not exist yet; waits for their leaders. */
export async function ensureTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
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
