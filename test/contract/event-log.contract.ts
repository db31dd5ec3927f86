/**
 * The contract the event log keeps, run against kafkajs on the real broker
 * (integration) and the in-process twin (unit): partitions by key in order,
 * consumer groups that read from their committed offsets, explicit resolve
 * and commit, redelivery of what was not resolved, and a restart that
 * resumes from the last commit. Each case uses topics and groups of its own.
 */
import { randomUUID } from 'node:crypto';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/ingest/kafka.js';
import { committedOffsets, endOffsets, sum } from '../../src/ingest/offsets.js';
import { createRenewingProducer } from '../../src/ingest/renewing-producer.js';
import { waitFor } from '../support/wait-for.js';

type Seen = { partition: number; offset: number; key: string; value: string };

/** A consumer of `topic` in `groupId` that records what it is given; `take` decides how much of each batch to resolve. */
async function reader(kafka: Kafka, groupId: string, topic: string, take: (seen: number) => number = () => Infinity) {
  const seen: Seen[] = [];
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (p: EachBatchPayload) => {
      const n = Math.min(p.batch.messages.length, take(seen.length));
      for (const m of p.batch.messages.slice(0, n)) {
        seen.push({ partition: p.batch.partition, offset: Number(m.offset), key: String(m.key), value: String(m.value) });
        p.resolveOffset(m.offset);
      }
      await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
    },
  });
  return { seen, stop: () => consumer.disconnect() };
}

export function eventLogContract(name: string, open: () => Kafka): void {
  describe(`event log contract: ${name}`, () => {
    const fresh = async () => {
      const kafka = open();
      const topic = `log-${randomUUID().slice(0, 8)}`;
      await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
      const producer = createRenewingProducer(kafka);
      await producer.connect();
      const send = (messages: { key: string; value: string }[]) => producer.send({ topic, acks: -1, messages });
      return { kafka, topic, send, close: () => producer.disconnect() };
    };
    const messages = (n: number, keys: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i % keys}`, value: `v${i}` }));

    it('puts a key on one partition, in order, and counts every message in the end offsets', async () => {
      const { kafka, topic, send, close } = await fresh();
      await send(messages(60, 7));
      const all = await reader(kafka, `g-${randomUUID()}`, topic);
      await waitFor(() => all.seen.length === 60, { timeoutMs: 30_000, what: '60 messages' });
      await all.stop();
      await close();
      const byKey = new Map<string, Seen[]>();
      for (const s of all.seen) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
      for (const [key, list] of byKey) {
        expect(new Set(list.map((s) => s.partition)).size, key).toBe(1);
        expect(list.map((s) => Number(s.value.slice(1)))).toEqual([...list.map((s) => Number(s.value.slice(1)))].sort((a, b) => a - b));
      }
      expect(sum(await endOffsets(kafka, [topic]))).toBe(60);
    });

    it('sends to several topics in one sendBatch, each message on its key’s partition as send puts it', async () => {
      const { kafka, topic, send, close } = await fresh();
      const other = `log-${randomUUID().slice(0, 8)}`;
      await ensureTopics(kafka, [{ topic: other, numPartitions: 3 }]);
      const producer = createRenewingProducer(kafka);
      await producer.connect();
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: messages(30, 7) }, { topic: other, messages: messages(12, 5) }] });
      await producer.disconnect();
      await send([{ key: 'k3', value: 'after' }]);
      const here = await reader(kafka, `g-${randomUUID()}`, topic);
      const there = await reader(kafka, `g-${randomUUID()}`, other);
      await waitFor(() => here.seen.length === 31 && there.seen.length === 12, { timeoutMs: 30_000, what: '31 and 12 messages' });
      await here.stop();
      await there.stop();
      await close();
      expect(sum(await endOffsets(kafka, [topic]))).toBe(31);
      expect(sum(await endOffsets(kafka, [other]))).toBe(12);
      const partitionOf = (seen: Seen[], key: string) => new Set(seen.filter((x) => x.key === key).map((x) => x.partition));
      expect(partitionOf(here.seen, 'k3').size).toBe(1);
      expect([...partitionOf(there.seen, 'k3')]).toEqual([...partitionOf(here.seen, 'k3')]);
      expect(there.seen.map((x) => x.value).sort()).toEqual(messages(12, 5).map((m) => m.value).sort());
    });

    it('runs eachMessage one message at a time, in order per key, and commits what it handled', async () => {
      const { kafka, topic, send, close } = await fresh();
      await send(messages(33, 4));
      const groupId = `g-${randomUUID()}`;
      const got: { key: string; value: string }[] = [];
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 50 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void got.push({ key: String(message.key), value: String(message.value) }) });
      await waitFor(() => got.length === 33, { timeoutMs: 30_000, what: '33 messages' });
      await waitFor(async () => sum(await committedOffsets(kafka, [{ groupId, topics: [topic] }])) === 33, { timeoutMs: 30_000, what: 'the 33 to be committed' });
      await consumer.disconnect();
      await close();
      for (let k = 0; k < 4; k++) {
        const values = got.filter((m) => m.key === `k${k}`).map((m) => Number(m.value.slice(1)));
        expect(values).toEqual(messages(33, 4).flatMap((m, i) => (m.key === `k${k}` ? [i] : [])));
      }
    });

    it('gives every group all messages, and a group restarted after a commit only what follows it', async () => {
      const { kafka, topic, send, close } = await fresh();
      await send(messages(30, 5));
      const groupId = `g-${randomUUID()}`;
      const first = await reader(kafka, groupId, topic);
      const other = await reader(kafka, `g-${randomUUID()}`, topic);
      await waitFor(() => first.seen.length === 30 && other.seen.length === 30, { timeoutMs: 30_000, what: 'both groups to read 30' });
      await first.stop();
      await other.stop();
      expect(sum(await committedOffsets(kafka, [{ groupId, topics: [topic] }]))).toBe(30);
      await send(messages(12, 5).map((m) => ({ ...m, value: `late-${m.value}` })));
      const again = await reader(kafka, groupId, topic);
      await waitFor(() => again.seen.length === 12, { timeoutMs: 30_000, what: 'the 12 after the commit' });
      await again.stop();
      await close();
      expect(again.seen.every((s) => s.value.startsWith('late-'))).toBe(true);
    });

    it('shares a topic’s partitions among a group’s members; when one leaves, the other takes its partitions over', async () => {
      const { kafka, topic, send, close } = await fresh();
      const groupId = `g-${randomUUID()}`;
      const a = await reader(kafka, groupId, topic);
      const b = await reader(kafka, groupId, topic);
      await send(messages(60, 7));
      const values = () => new Set([...a.seen, ...b.seen].map((s) => s.value));
      await waitFor(() => values().size === 60, { timeoutMs: 60_000, what: 'the group to read all 60' });
      await a.stop();
      await send(messages(30, 7).map((m) => ({ ...m, value: `after-${m.value}` })));
      await waitFor(() => b.seen.filter((s) => s.value.startsWith('after-')).length === 30, { timeoutMs: 60_000, what: 'the remaining member to read all 30 that came after' });
      await b.stop();
      await close();
      expect(sum(await committedOffsets(kafka, [{ groupId, topics: [topic] }]))).toBe(90);
    });

    it('delivers again what was not resolved, and a restart resumes from the last commit, not the last read', async () => {
      const { kafka, topic, send, close } = await fresh();
      await send(messages(40, 1)); // one key: one partition, one ordered stream
      const groupId = `g-${randomUUID()}`;
      // Resolves one message of each batch: the rest of the batch must come again, one at a time.
      const slow = await reader(kafka, groupId, topic, () => 1);
      await waitFor(() => slow.seen.length >= 40, { timeoutMs: 30_000, what: 'all 40, one by one' });
      await slow.stop();
      expect(slow.seen.map((s) => s.value)).toEqual(messages(40, 1).map((m) => m.value));

      // A reader that resolves and commits 10, then stops resolving: its successor starts at 10.
      await send(messages(20, 1).map((m) => ({ ...m, value: `b-${m.value}` })));
      const partial = await reader(kafka, groupId, topic, (n) => (n < 10 ? 10 - n : 0));
      await waitFor(() => partial.seen.length === 10, { timeoutMs: 30_000, what: 'the first 10 of the second lot' });
      await partial.stop();
      expect(sum(await committedOffsets(kafka, [{ groupId, topics: [topic] }]))).toBe(50);
      const successor = await reader(kafka, groupId, topic);
      await waitFor(() => successor.seen.length === 10, { timeoutMs: 30_000, what: 'the last 10' });
      await successor.stop();
      await close();
      expect(successor.seen.map((s) => s.value)).toEqual(messages(20, 1).slice(10).map((m) => `b-${m.value}`));
    });
  });
}
