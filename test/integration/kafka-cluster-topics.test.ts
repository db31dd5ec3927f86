/**
 * The topic layout from configuration on a real 3-broker Kafka: the service's
 * topics are created with KAFKA_PARTITIONS and KAFKA_REPLICATION_FACTOR, and
 * an input topic that already had fewer partitions is named at start.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createLogger } from '../../src/observability/logger.js';
import { startPrivateKafkaCluster, type PrivateKafkaCluster } from '../support/private-cluster.js';

let cluster: PrivateKafkaCluster | undefined;
beforeAll(async () => {
  cluster = await startPrivateKafkaCluster();
}, 300_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

it('creates every service topic replicated on all three brokers, and names the input topic with too few partitions', async () => {
  const brokers = cluster!.brokers.join(',');
  const config = loadConfig({}, { KAFKA_BROKERS: brokers, REDIS_URL: 'redis://127.0.0.1:1', MONGO_URL: 'mongodb://127.0.0.1:2', KAFKA_PARTITIONS: '6', KAFKA_REPLICATION_FACTOR: '3' });
  const { topics } = config.kafka;
  const kafka = createKafka(config.kafka, createLogger('silent'));
  const admin = kafka.admin();
  await admin.connect();
  expect((await admin.describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
  // Made by hand before the service's first start, with 2 partitions.
  await ensureTopics(kafka, [{ topic: topics.profile, numPartitions: 2, replicationFactor: 3 }]);

  const warnings: string[] = [];
  await ensureTopics(kafka, serviceTopics(topics), (m) => warnings.push(m));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^topic user-profile has 2 partitions, fewer than the 6 configured \(KAFKA_PARTITIONS\)/);

  const wanted = serviceTopics(topics);
  const { topics: described } = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
  const layout = Object.fromEntries(described.map((t) => [t.name, t.partitions.length]));
  expect(layout).toEqual(Object.fromEntries(wanted.map((t) => [t.topic, t.topic === topics.profile ? 2 : t.numPartitions])));
  for (const t of described) for (const p of t.partitions) expect([t.name, p.replicas.length, p.isr.length]).toEqual([t.name, 3, 3]);

  // acks = all with min.insync.replicas 2: acknowledged by the in-sync replicas.
  const producer = kafka.producer();
  await producer.connect();
  const [ack] = await producer.send({ topic: topics.activity, acks: -1, messages: [{ key: 'u1', value: '{}' }] });
  expect(ack?.errorCode).toBe(0);
  await producer.disconnect();
  await admin.disconnect();
}, 120_000);
