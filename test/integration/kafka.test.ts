import type { EachBatchPayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../src/ingest/kafka.js';
import { createLogger } from '../../src/observability/logger.js';
import { servers, unique } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

describe('Kafka through kafkajs on a real broker', () => {
  it('creates a topic, produces, consumes in a group and commits explicit offsets', async () => {
    const kafka = createKafka({ brokers: servers().KAFKA_BROKERS.split(','), clientId: 'test' }, createLogger('warn'));
    const topic = unique('topic');
    const groupId = unique('group');
    await ensureTopics(kafka, [{ topic, numPartitions: 2 }]);
    await ensureTopics(kafka, [{ topic, numPartitions: 2 }]); // idempotent

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const sent = Array.from({ length: 50 }, (_, i) => ({ key: `user-${i % 5}`, value: JSON.stringify({ n: i }) }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const received: number[] = [];
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: false,
      eachBatch: async (payload: EachBatchPayload) => {
        for (const message of payload.batch.messages) {
          received.push((JSON.parse(message.value!.toString()) as { n: number }).n);
          payload.resolveOffset(message.offset);
        }
        await payload.heartbeat();
        // autoCommit is off, so only what is passed here is committed.
        await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
      },
    });
    await waitFor(() => received.length === sent.length, { timeoutMs: 30_000, what: 'all messages consumed' });
    await consumer.disconnect();
    expect([...received].sort((a, b) => a - b)).toEqual(sent.map((_, i) => i));

    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    const byPartition = (xs: { partition: number; offset: string }[]) =>
      Object.fromEntries(xs.map((p) => [p.partition, p.offset]));
    expect(byPartition(committed!.partitions)).toEqual(byPartition(ends));
    expect(ends.reduce((n, p) => n + Number(p.offset), 0)).toBe(sent.length);
  });
});
