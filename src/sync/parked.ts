/**
 * Parked users: snapshots the sync could not make durable in MongoDB, kept on
 * a Kafka topic of their own so that one bad user cannot hold every offset
 * checkpoint back for ever.
 *
 * The sync parks a user when MongoDB refuses its write for good (an error
 * that is not retriable: a document too large, a validation failure) or after
 * it failed `parkAfter` passes in a row while other users' writes succeeded.
 * A parked record is acknowledged by every in-sync replica before the user's
 * claim is given up; until then the user stays claimed and uncertain.
 *
 * Re-drive (`npm run redrive-parked`): reads the topic in a consumer group of
 * its own, writes each parked snapshot with the same version-checked upsert
 * (never over a newer copy), and commits past a record only once it is
 * written; it stops at the first failure, so that its cause can be fixed and
 * the command run again.
 */
import type { Kafka } from 'kafkajs';
import { createRenewingProducer, type RenewingProducer } from '../ingest/renewing-producer.js';
import type { ProfileStore } from '../stores/profile.js';
import { ParkedUserSchema, type ParkedUser, type UserSnapshot } from '../contracts/user-snapshot.js';

export interface ParkedUsers {
  park(userId: string, snapshot: UserSnapshot, error: unknown): Promise<void>;
  close(): Promise<void>;
}

export function parkedUsersTopic(kafka: Kafka, topic: string, clock: () => number = Date.now): ParkedUsers {
  let producer: RenewingProducer | undefined;
  let connecting: Promise<RenewingProducer> | undefined;
  const connected = () =>
    (connecting ??= (async () => {
      const p = createRenewingProducer(kafka);
      await p.connect();
      producer = p;
      return p;
    })().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    }));
  return {
    async park(userId, snapshot, error) {
      const e = error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
      const record: ParkedUser = { userId, version: snapshot.state.version, snapshot, error: e, parkedAt: clock() };
      await (await connected()).send({ topic, acks: -1, messages: [{ key: userId, value: JSON.stringify(record) }] });
    },
    async close() {
      await producer?.disconnect();
    },
  };
}

export interface RedriveResult {
  readonly written: number;
  /** MongoDB already held the same or a newer version. */
  readonly stale: number;
  /** The first record that failed again, if any: the re-drive stopped there. */
  readonly failed?: { readonly userId: string; readonly error: string };
}

/** Writes every parked snapshot not yet re-driven, in order, up to the topic's end at the start. */
export async function redriveParked(o: { kafka: Kafka; topic: string; groupId: string; profiles: ProfileStore; clock?: () => number }): Promise<RedriveResult> {
  const clock = o.clock ?? Date.now;
  const admin = o.kafka.admin();
  await admin.connect();
  const ends: Record<string, number> = {};
  const committed: Record<string, number> = {};
  try {
    for (const p of await admin.fetchTopicOffsets(o.topic)) ends[`${o.topic}/${p.partition}`] = Number(p.high);
    for (const t of await admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] })) {
      for (const p of t.partitions) committed[`${o.topic}/${p.partition}`] = Math.max(0, Number(p.offset));
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = o.kafka.consumer({ groupId: o.groupId });
  let written = 0;
  let stale = 0;
  let failed: RedriveResult['failed'];
  const left = new Set(Object.entries(ends).filter(([tp, high]) => high > (committed[tp] ?? 0)).map(([tp]) => tp));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      const settle = (tp: string) => left.delete(tp) && left.size === 0 && resolve();
      if (left.size === 0) resolve();
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const tp = `${topic}/${partition}`;
          if (failed || !left.has(tp)) return;
          let parked: ParkedUser | undefined;
          try {
            parked = ParkedUserSchema.parse(JSON.parse(message.value?.toString() ?? 'null'));
            const outcome = await o.profiles.upsertIfNewer({ userId: parked.userId, version: parked.version, snapshot: parked.snapshot, updatedAt: clock() });
            if (outcome === 'written') written++;
            else stale++;
          } catch (error) {
            failed = { userId: parked?.userId ?? message.key?.toString() ?? '', error: error instanceof Error ? error.message : String(error) };
            return resolve();
          }
          const next = Number(message.offset) + 1;
          await consumer.commitOffsets([{ topic, partition, offset: String(next) }]);
          if (next >= ends[tp]!) settle(tp);
        },
      });
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return failed ? { written, stale, failed } : { written, stale };
}
