/** The renewing producer with fake kafkajs producers: a failed send means a new producer (a new producer id) for the next. */
import type { Kafka, Producer, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createRenewingProducer } from '../../src/ingest/renewing-producer.js';

function fakeKafka(failures: Set<number>) {
  const made: { id: number; sent: string[]; connected: boolean }[] = [];
  let calls = 0;
  const kafka = {
    producer: () => {
      const p = { id: made.length, sent: [] as string[], connected: false };
      made.push(p);
      return {
        connect: async () => void (p.connected = true),
        disconnect: async () => void (p.connected = false),
        send: async (r: ProducerRecord) => {
          if (failures.has(calls++)) throw new Error('Request timed out');
          p.sent.push(String(r.messages[0]!.value));
          return [];
        },
      } as unknown as Producer;
    },
  } as unknown as Kafka;
  return { kafka, made };
}

const record = (value: string): ProducerRecord => ({ topic: 't', messages: [{ value }] });

describe('renewing producer', () => {
  it('keeps its producer while sends succeed, and sends after a failure on a fresh one', async () => {
    const { kafka, made } = fakeKafka(new Set([1]));
    const producer = createRenewingProducer(kafka);
    await producer.connect();
    await producer.send(record('a'));
    await expect(producer.send(record('b'))).rejects.toThrow('Request timed out');
    await producer.send(record('c'));
    await producer.send(record('d'));
    expect(made.map((p) => ({ id: p.id, sent: p.sent, connected: p.connected }))).toEqual([
      { id: 0, sent: ['a'], connected: false },
      { id: 1, sent: ['c', 'd'], connected: true },
    ]);
  });

  it('renews once for sends that wait together, and not again for a late failure on the old one', async () => {
    const { kafka, made } = fakeKafka(new Set([0]));
    const producer = createRenewingProducer(kafka);
    await producer.connect();
    await expect(producer.send(record('a'))).rejects.toThrow();
    await Promise.all([producer.send(record('b')), producer.send(record('c'))]);
    expect(made).toHaveLength(2);
    expect(made[1]!.sent.sort()).toEqual(['b', 'c']);
  });
});
