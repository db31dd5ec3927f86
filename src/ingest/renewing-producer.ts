/**
 * An idempotent kafkajs producer that is replaced (a new producer id) after
 * any failed send. Every producer of this service is one of these.
 *
 * Why: kafkajs moves a partition's sequence number on only when a send
 * succeeds. A send that failed on the client (a timeout, a lost connection,
 * a broker killed after it wrote) may still have landed; the next send to
 * that partition then carries the landed batch's sequence, and the broker
 * takes it for a retry of that batch and acknowledges it without writing it.
 * The collector's broker kill -9 test saw exactly that: ten events
 * acknowledged, none on the topic. A fresh producer id starts fresh
 * sequences, so no later batch can be mistaken for an earlier one.
 */
import { Partitioners, type Kafka, type Producer, type ProducerBatch, type ProducerRecord, type RecordMetadata } from 'kafkajs';

/** The part of kafkajs' Producer this service uses. */
export interface RenewingProducer {
  connect(): Promise<void>;
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Messages for several topics, in one produce request per broker. */
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
}

export function createRenewingProducer(kafka: Kafka, opts: { allowAutoTopicCreation?: boolean } = {}): RenewingProducer {
  // One request in flight, so a retried batch cannot overtake the next; murmur2 of the key, as Java producers (Debezium) partition.
  const make = (): Producer =>
    kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, ...opts });
  let producer = make();
  let failed = false;
  let renewing: Promise<void> | undefined;

  async function current(): Promise<Producer> {
    if (failed) {
      renewing ??= (async () => {
        // Sends still in flight on the old one fail with it, and are retried by their callers.
        producer.disconnect().catch(() => undefined);
        const fresh = make();
        await fresh.connect();
        producer = fresh;
        failed = false;
      })().finally(() => (renewing = undefined));
      await renewing;
    }
    return producer;
  }

  async function attempt(send: (p: Producer) => Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
    const p = await current();
    try {
      return await send(p);
    } catch (error) {
      // Only the producer now in use: a late failure on one already replaced says nothing new.
      if (p === producer) failed = true;
      throw error;
    }
  }

  return {
    connect: () => producer.connect(),
    send: (record) => attempt((p) => p.send(record)),
    sendBatch: (batch) => attempt((p) => p.sendBatch(batch)),
    disconnect: () => producer.disconnect(),
  };
}
