/**
 * An in-process event log: the Kafka twin, as the in-process stores are the
 * Redis and MongoDB twins. It implements the part of kafkajs' `Kafka` this
 * service uses, with Kafka's semantics where the service relies on them:
 *
 * - topics of partitions; a message goes to its key's partition (kafkajs'
 *   own murmur2 partitioner, so the same key lands where Kafka puts it), in
 *   order, with increasing offsets;
 * - consumer groups with committed offsets; the partitions of a topic are
 *   shared among a group's members, and handed over (from the committed
 *   offset) when one joins or leaves;
 * - `eachBatch` with explicit resolve and commit: what is not resolved is
 *   delivered again, and a member that starts over (a restart) begins from
 *   the last commit;
 * - admin: topics, end offsets, committed offsets, cluster, group deletion.
 *
 * Nothing persists: a process restart is a fresh log. test/contract/event-log
 * holds it and kafkajs on a real broker to the same behaviour.
 */
import { EventEmitter } from 'node:events';
import { Partitioners, type EachBatchPayload, type EachMessagePayload, type Kafka, type KafkaMessage, type Message, type ProducerBatch, type ProducerRecord, type RecordMetadata } from 'kafkajs';

const DEFAULT_PARTITIONS = 3;
/** How often an idle member looks for new messages. */
const POLL_MS = 5;

interface Member {
  readonly id: number;
  readonly topics: Set<string>;
  readonly fromBeginning: boolean;
  /** `topic/partition` → next offset to deliver. */
  readonly positions: Map<string, number>;
  running: boolean;
  /** Bumped on every reassignment: a batch of an older generation is stale. */
  generation: number;
}

interface Group {
  readonly members: Member[];
  /** `topic/partition` → next offset to read (committed). */
  readonly committed: Map<string, number>;
}

const tp = (topic: string, partition: number) => `${topic}/${partition}`;

export function createMemoryKafka(): Kafka {
  const topics = new Map<string, KafkaMessage[][]>();
  const groups = new Map<string, Group>();
  const partitioner = Partitioners.DefaultPartitioner();
  let nextMember = 0;

  const topic = (name: string, partitions = DEFAULT_PARTITIONS): KafkaMessage[][] => {
    let t = topics.get(name);
    if (!t) topics.set(name, (t = Array.from({ length: partitions }, () => [])));
    return t;
  };
  const group = (id: string): Group => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { members: [], committed: new Map() }));
    return g;
  };

  /** The partitions `m` owns now: each topic's partitions dealt round-robin among the members reading it. */
  function owned(g: Group, m: Member): [string, number][] {
    const out: [string, number][] = [];
    for (const name of m.topics) {
      const readers = g.members.filter((x) => x.topics.has(name));
      topic(name).forEach((_, p) => {
        if (readers[p % readers.length] === m) out.push([name, p]);
      });
    }
    return out;
  }

  /** After a join or a leave: every member starts its partitions over from the committed offsets. */
  function rebalance(g: Group): void {
    for (const m of g.members) {
      m.generation++;
      m.positions.clear();
    }
  }

  function producer() {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async (record: ProducerRecord): Promise<RecordMetadata[]> => append(record),
      /** Each topic's messages appended in turn: nothing can come between them in process. */
      sendBatch: async ({ topicMessages = [] }: ProducerBatch): Promise<RecordMetadata[]> => topicMessages.flatMap(append),
    };
  }

  /** Appends `record`'s messages to their partitions' logs. */
  function append(record: Pick<ProducerRecord, 'topic' | 'messages'>): RecordMetadata[] {
    const t = topic(record.topic);
    const partitionMetadata = t.map((_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    return record.messages.map((message: Message) => {
      const partition = message.partition ?? partitioner({ topic: record.topic, partitionMetadata, message });
      const log = t[partition]!;
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]));
      log.push({
        key: message.key === undefined || message.key === null ? null : Buffer.from(message.key),
        value: message.value === null ? null : Buffer.from(message.value),
        headers,
        offset: String(log.length),
        timestamp: String(message.timestamp ?? Date.now()),
        attributes: 0,
      });
      return { topicName: record.topic, partition, errorCode: 0, baseOffset: String(log.length - 1) };
    });
  }

  /** `eachMessage` as kafkajs runs it: one message at a time, each resolved, the batch committed after. */
  const perMessage =
    (eachMessage: (p: EachMessagePayload) => Promise<void>) =>
    async (p: EachBatchPayload): Promise<void> => {
      for (const message of p.batch.messages) {
        if (!p.isRunning() || p.isStale()) return;
        await eachMessage({ topic: p.batch.topic, partition: p.batch.partition, message, heartbeat: () => p.heartbeat(), pause: () => p.pause() });
        p.resolveOffset(message.offset);
      }
      await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
    };

  function consumer({ groupId }: { groupId: string }) {
    const g = group(groupId);
    const events = new EventEmitter();
    let member: Member | undefined;
    let subscribed: { topics: string[]; fromBeginning: boolean } = { topics: [], fromBeginning: false };
    let loop: Promise<void> | undefined;

    const positionOf = (m: Member, name: string, p: number): number => {
      const key = tp(name, p);
      let at = m.positions.get(key);
      if (at === undefined) at = g.committed.get(key) ?? (m.fromBeginning ? 0 : topic(name)[p]!.length);
      m.positions.set(key, at);
      return at;
    };

    async function consume(m: Member, eachBatch: (p: EachBatchPayload) => Promise<void>, concurrency: number): Promise<void> {
      while (m.running) {
        const ready = owned(g, m).filter(([name, p]) => positionOf(m, name, p) < topic(name)[p]!.length);
        if (ready.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          continue;
        }
        for (let i = 0; i < ready.length; i += concurrency) {
          await Promise.all(ready.slice(i, i + concurrency).map(([name, p]) => deliver(m, name, p, eachBatch)));
        }
      }
    }

    async function deliver(m: Member, name: string, partition: number, eachBatch: (p: EachBatchPayload) => Promise<void>): Promise<void> {
      const generation = m.generation;
      const log = topic(name)[partition]!;
      const from = positionOf(m, name, partition);
      let resolved: number | undefined;
      const stale = () => !m.running || m.generation !== generation;
      await eachBatch({
        batch: { topic: name, partition, highWatermark: String(log.length), messages: log.slice(from) },
        resolveOffset: (offset: string) => void (resolved = Number(offset)),
        heartbeat: async () => undefined,
        isRunning: () => m.running,
        isStale: stale,
        uncommittedOffsets: () => ({ topics: resolved === undefined ? [] : [{ topic: name, partitions: [{ partition: String(partition), offset: String(resolved + 1) }] }] }),
        commitOffsetsIfNecessary: async (offsets?: { topics: { topic: string; partitions: { partition: string; offset: string }[] }[] }) => {
          if (stale()) return;
          for (const t of offsets?.topics ?? []) for (const p of t.partitions) g.committed.set(tp(t.topic, Number(p.partition)), Number(p.offset));
        },
        pause: () => () => undefined,
      } as unknown as EachBatchPayload);
      // What was not resolved comes again in the next batch, as kafkajs fetches from the last resolved offset.
      if (!stale() && resolved !== undefined) m.positions.set(tp(name, partition), resolved + 1);
    }

    return {
      events: { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' },
      on: (event: string, listener: (...args: unknown[]) => void) => (events.on(event, listener), () => events.off(event, listener)),
      connect: async () => undefined,
      async subscribe(o: { topics?: string[]; topic?: string; fromBeginning?: boolean }) {
        const names = o.topics ?? (o.topic ? [o.topic] : []);
        subscribed = { topics: [...subscribed.topics, ...names], fromBeginning: o.fromBeginning ?? false };
        for (const name of names) topic(name);
      },
      async run(o: { eachBatch?: (p: EachBatchPayload) => Promise<void>; eachMessage?: (p: EachMessagePayload) => Promise<void>; partitionsConsumedConcurrently?: number }) {
        const eachBatch = o.eachBatch ?? (o.eachMessage && perMessage(o.eachMessage));
        if (!eachBatch) throw new TypeError('run needs eachBatch or eachMessage');
        member = { id: nextMember++, topics: new Set(subscribed.topics), fromBeginning: subscribed.fromBeginning, positions: new Map(), running: true, generation: 0 };
        g.members.push(member);
        rebalance(g);
        events.emit('consumer.group_join', { payload: { groupId, memberId: String(member.id) } });
        const m = member;
        loop = consume(m, eachBatch, o.partitionsConsumedConcurrently ?? 1).catch((error: unknown) => {
          m.running = false;
          events.emit('consumer.crash', { payload: { error, groupId, restart: false } });
        });
      },
      async commitOffsets(offsets: { topic: string; partition: number; offset: string }[]) {
        for (const o of offsets) g.committed.set(tp(o.topic, o.partition), Number(o.offset));
      },
      seek({ topic: name, partition, offset }: { topic: string; partition: number; offset: string }) {
        member?.positions.set(tp(name, partition), Number(offset));
      },
      async disconnect() {
        if (!member) return;
        member.running = false;
        await loop;
        g.members.splice(g.members.indexOf(member), 1);
        rebalance(g);
        member = undefined;
      },
    };
  }

  function admin() {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      describeCluster: async () => ({ brokers: [{ nodeId: 0, host: 'in-process', port: 0 }], controller: 0, clusterId: 'in-process' }),
      listTopics: async () => [...topics.keys()],
      async createTopics(o: { topics: { topic: string; numPartitions?: number }[] }) {
        const fresh = o.topics.filter((t) => !topics.has(t.topic));
        for (const t of fresh) topic(t.topic, t.numPartitions ?? DEFAULT_PARTITIONS);
        return fresh.length > 0;
      },
      fetchTopicOffsets: async (name: string) =>
        topic(name).map((log, partition) => ({ partition, offset: String(log.length), high: String(log.length), low: '0' })),
      fetchOffsets: async ({ groupId, topics: names }: { groupId: string; topics: string[] }) =>
        names.map((name) => ({
          topic: name,
          partitions: topic(name).map((_, partition) => ({ partition, offset: String(groups.get(groupId)?.committed.get(tp(name, partition)) ?? -1), metadata: null })),
        })),
      deleteGroups: async (ids: string[]) => {
        for (const id of ids) if ((groups.get(id)?.members.length ?? 0) === 0) groups.delete(id);
        return ids.map((groupId) => ({ groupId, errorCode: 0 }));
      },
    };
  }

  return { producer, consumer, admin } as unknown as Kafka;
}
