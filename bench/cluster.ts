/**
 * bench/cluster: events/s of 1, 2 and 3 processor processes on the local
 * Redis Cluster (3 masters, 3 replicas) and 3-broker Kafka, beside a bare
 * kafkajs consumer and a single processor on one Redis node in the same run;
 * the single-processor cases also price the cluster's per-slot pipelines
 * (cluster, no WAIT) and the replica WAIT before each commit (cluster, WAIT 1).
 *
 * Method: each case starts its processors (`ROLES=processor`,
 * recommendations on, as deployed) on topics of its own (6 partitions, 3
 * replicas), in a fresh group and Redis namespace; once the group is stable
 * with all of them (joins are warm-up, not timed), N events of U users are
 * produced, and the clock runs from the first produce until every offset is
 * committed. Producing alone takes a small share of that span (printed: the
 * same events to a fresh topic with nothing consuming). The bare consumer
 * drains such a topic, timed from its first batch. Cases alternate, R rounds,
 * medians with the range. The box's CPU busy share over each span is printed
 * beside it, and the cores each component kept busy (processors, Redis nodes,
 * brokers, this process): they all share the box's cores.
 *
 *   npm run services -- up cluster   (the bench starts it too)
 *   npm run bench -- cluster [--events 300000] [--users 2000] [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Admin, Kafka, Message } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { createKafka, ensureTopics, serviceTopics } from '../src/ingest/kafka.js';
import { createLogger } from '../src/observability/logger.js';
import { eventFile, isolatedEnv, toMessage } from '../test/support/processor-harness.js';
import { startServiceProcess, type ServiceProcess } from '../test/support/service-process.js';
import { PROCESSOR_NODE_FLAGS, benchServers, machine, startBareConsumer } from './support.js';
import { median } from './summary.js';

interface Case {
  readonly name: string;
  readonly processors: number;
  readonly redis: Record<string, string>;
}

/** Busy and total jiffies of the whole box, from /proc/stat. */
function boxCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - (fields[4] ?? 0), total };
}

type Component = 'processors' | 'redis' | 'kafka' | 'bench' | 'other';

/**
 * CPU seconds used so far by every live process, grouped: the case's
 * processors (by pid), redis-server, java (the brokers), this process, and
 * the rest. A process that exits within a span is missed: none should.
 */
function cpuByComponent(processors: ReadonlySet<number>): Record<Component, number> {
  const out: Record<Component, number> = { processors: 0, redis: 0, kafka: 0, bench: 0, other: 0 };
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const pid = Number(name);
    const component: Component = processors.has(pid) ? 'processors' : pid === process.pid ? 'bench' : comm === 'redis-server' ? 'redis' : comm === 'java' ? 'kafka' : 'other';
    out[component] += seconds;
  }
  return out;
}

/** USER_HZ: /proc times are in these ticks (100 on Linux everywhere in practice). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Sum of the committed offsets of `groupId` on `topic` (−1 offsets count as 0). */
async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

/**
 * The load: `messages` sent in chunks of 5,000, four in flight, acknowledged
 * by each partition's leader, so that producing is a small share of a
 * case's span (the harness' idempotent one-at-a-time producer is ~3× slower
 * on three brokers).
 */
async function produce(kafka: Kafka, topic: string, messages: readonly Message[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const chunks: Message[][] = [];
    for (let i = 0; i < messages.length; i += 5000) chunks.push(messages.slice(i, i + 5000));
    const sender = async () => {
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) await producer.send({ topic, messages: chunk, acks: 1 });
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
  } finally {
    await producer.disconnect();
  }
}

async function drainBare(kafka: Kafka, admin: Admin, topic: string, groupId: string, events: number): Promise<number> {
  const consumer = kafka.consumer({ groupId });
  let first = 0;
  consumer.on(consumer.events.START_BATCH_PROCESS, () => (first ||= performance.now()));
  await startBareConsumer(consumer, topic);
  while ((await committed(admin, groupId, topic)) < events) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - first) / 1000;
  await consumer.disconnect();
  return events / seconds;
}

/** A case's topics, created before its processes start (as a deployment would) and deleted after it. */
async function withTopics<T>(kafka: Kafka, admin: Admin, id: string, body: (env: Record<string, string>, topic: string) => Promise<T>): Promise<T> {
  const env = isolatedEnv(id);
  const config = loadConfig({ ...env, KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1', MONGO_URL: 'mongodb://127.0.0.1:1', KAFKA_PARTITIONS: '6', KAFKA_REPLICATION_FACTOR: '3' }, {});
  const topics = serviceTopics(config.kafka.topics);
  await ensureTopics(kafka, topics);
  try {
    return await body(env, config.kafka.topics.activity);
  } finally {
    await admin.deleteTopics({ topics: topics.map((t) => t.topic) }).catch(() => undefined);
  }
}

/** A bare kafkajs consumer (JSON.parse and commit) draining a filled topic: events/s from its first batch. */
function bare(kafka: Kafka, admin: Admin, messages: readonly Message[], id: string): Promise<number> {
  return withTopics(kafka, admin, id, async (_env, topic) => {
    await produce(kafka, topic, messages);
    return drainBare(kafka, admin, topic, `${id}.bare`, messages.length);
  });
}

/** Events/s of producing alone, to a topic of its own with nothing consuming. */
function produceOnly(kafka: Kafka, admin: Admin, messages: readonly Message[], id: string): Promise<number> {
  return withTopics(kafka, admin, id, async (_env, topic) => {
    const start = performance.now();
    await produce(kafka, topic, messages);
    return messages.length / ((performance.now() - start) / 1000);
  });
}

/** One case: its processors join, then the events are produced; events/s until all are committed. */
function run(c: Case, base: Record<string, string>, kafka: Kafka, admin: Admin, messages: readonly Message[], id: string) {
  return withTopics(kafka, admin, id, async (topicsEnv, topic) => {
    const env = { ...base, ...topicsEnv, ...c.redis };
    const children: ServiceProcess[] = Array.from({ length: c.processors }, (_, i) =>
      startServiceProcess(process.execPath, [...PROCESSOR_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], { ...env, ROLES: 'processor', INSTANCE_ID: `${id}-${i}` }),
    );
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [group] = (await admin.describeGroups([env.PROCESSOR_GROUP!])).groups;
        if (group?.state === 'Stable' && group.members.length === c.processors) break;
        if (Date.now() > deadline) throw new Error(`${c.name}: the group did not settle with ${c.processors} processors within 120 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const pids = new Set(children.map((child) => child.child.pid!));
      const [cpu, parts] = [boxCpu(), cpuByComponent(pids)];
      const start = performance.now();
      await produce(kafka, topic, messages);
      while ((await committed(admin, env.PROCESSOR_GROUP!, topic)) < messages.length) {
        if (performance.now() - start > 300_000) throw new Error(`${c.name}: not every event committed within 300 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const seconds = (performance.now() - start) / 1000;
      const [used, partsUsed] = [boxCpu(), cpuByComponent(pids)];
      const cores = Object.fromEntries(Object.entries(partsUsed).map(([k, v]) => [k, (v - parts[k as Component]) / seconds])) as Record<Component, number>;
      return { rate: messages.length / seconds, boxBusy: (used.busy - cpu.busy) / (used.total - cpu.total), cores };
    } finally {
      await Promise.all(children.map((child) => child.stop(10_000)));
    }
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' }, users: { type: 'string' }, runs: { type: 'string' } }, allowPositionals: true });
  const events = Number(values.events ?? 200_000);
  const users = Number(values.users ?? 2_000);
  const runs = Number(values.runs ?? 3);
  const single = await benchServers();
  execFileSync('bash', ['scripts/services.sh', 'up', 'cluster'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const clusterEnv = Object.fromEntries(
    execFileSync('bash', ['scripts/services.sh', 'env', 'cluster'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  const id = `bench-cluster-${Date.now().toString(36)}`;
  const base: Record<string, string> = {
    KAFKA_BROKERS: clusterEnv.KAFKA_BROKERS!,
    MONGO_URL: single.MONGO_URL,
    KAFKA_PARTITIONS: '6',
    KAFKA_REPLICATION_FACTOR: '3',
    LOG_LEVEL: 'error',
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
  };
  const onCluster = { REDIS_CLUSTER_NODES: clusterEnv.REDIS_CLUSTER_NODES! };
  const cases: Case[] = [
    { name: '1 processor, one Redis node', processors: 1, redis: { REDIS_URL: single.REDIS_URL } },
    { name: '1 processor, cluster, no WAIT', processors: 1, redis: { ...onCluster, REDIS_WAIT_REPLICAS: '0' } },
    { name: '1 processor, cluster, WAIT 1', processors: 1, redis: { ...onCluster, REDIS_WAIT_REPLICAS: '1' } },
    { name: '2 processors, cluster, WAIT 1', processors: 2, redis: { ...onCluster, REDIS_WAIT_REPLICAS: '1' } },
    { name: '3 processors, cluster, WAIT 1', processors: 3, redis: { ...onCluster, REDIS_WAIT_REPLICAS: '1' } },
  ];
  const kafka = createKafka(loadConfig({ ...base, ...onCluster, LOG_LEVEL: 'silent' }, {}).kafka, createLogger('silent'));
  const admin = kafka.admin();
  await admin.connect();
  const messages = eventFile(events, users, 6).map(toMessage);

  const bareRates: number[] = [];
  const produceRates: number[] = [];
  const results = new Map(cases.map((c) => [c.name, [] as Awaited<ReturnType<typeof run>>[]]));
  for (let r = 0; r < runs; r++) {
    bareRates.push(await bare(kafka, admin, messages, `${id}-bare-${r}`));
    produceRates.push(await produceOnly(kafka, admin, messages, `${id}-produce-${r}`));
    process.stderr.write(`round ${r + 1}: bare kafkajs ${bareRates[r]!.toFixed(0)}/s, producing alone ${produceRates[r]!.toFixed(0)}/s\n`);
    for (const [i, c] of cases.entries()) {
      const got = await run(c, base, kafka, admin, messages, `${id}-${r}-${i}`);
      results.get(c.name)!.push(got);
      const split = Object.entries(got.cores).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      process.stderr.write(`round ${r + 1}: ${c.name}: ${got.rate.toFixed(0)}/s (box busy ${(got.boxBusy * 100).toFixed(0)} %; cores: ${split})\n`);
    }
  }
  await admin.disconnect();
  const bareRate = median(bareRates);
  const result = {
    bench: 'cluster',
    machine: machine(),
    events,
    users,
    runs,
    partitions: 6,
    bareKafkajsEventsPerSec: Math.round(bareRate),
    producingAloneEventsPerSec: Math.round(median(produceRates)),
    warmupDropped: 'each case: process start and group join (the clock starts once all its processors are in the group)',
    cases: cases.map((c) => {
      const got = results.get(c.name)!;
      const rate = median(got.map((g) => g.rate));
      return {
        case: c.name,
        eventsPerSec: Math.round(rate),
        range: [Math.round(Math.min(...got.map((g) => g.rate))), Math.round(Math.max(...got.map((g) => g.rate)))],
        ratioToBare: Number((rate / bareRate).toFixed(2)),
        boxCpuBusy: Number(median(got.map((g) => g.boxBusy)).toFixed(2)),
        /** Cores each component kept busy over the span (median per component). */
        cores: Object.fromEntries((['processors', 'redis', 'kafka', 'bench', 'other'] as const).map((k) => [k, Number(median(got.map((g) => g.cores[k])).toFixed(2))])),
      };
    }),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
