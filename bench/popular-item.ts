/**
 * bench/popular-item: the processor's cost per event as one item grows very
 * popular. Half of all events are views of one "hot" item, by many users
 * whose other items are drawn from a large catalogue, so the hot item meets
 * far more distinct neighbours than it keeps (M). With lists bounded by M and
 * pairing bounded by K, the rate in the last phase should match the first.
 *
 * Method: the batch applier (decode, user scripts, item graph) on the real
 * Redis, fed batches of 1,000 messages directly (no Kafka, whose cost does
 * not depend on items). First, untimed, every one of U users views K + 1
 * items, so each later event pairs with exactly K anchors; then P phases of
 * N events each, timed separately.
 *
 *   npm run bench -- popular-item [--phases 5] [--events 50000]
 */
import { parseArgs } from 'node:util';
import type { KafkaMessage, Producer } from 'kafkajs';
import { BatchApplier } from '../src/ingest/batch-applier.js';
import { redisKeys } from '../src/stores/keys.js';
import { createRedisItemGraphStore } from '../src/stores/redis-item-graph-store.js';
import { connectRedis, createRedisUserStateStore } from '../src/stores/redis-user-state-store.js';
import { benchConfig, benchServers, machine } from './support.js';

const BATCH = 1000;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { phases: { type: 'string' }, events: { type: 'string' }, users: { type: 'string' } }, allowPositionals: true });
  const phases = Number(values.phases ?? 5);
  const perPhase = Number(values.events ?? 50_000);
  const users = Number(values.users ?? 5_000);
  const config = benchConfig(await benchServers());
  const redis = connectRedis(config.redis.url, 5000);
  const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 5000), keyPrefix: config.redis.keyPrefix, params: config.features });
  const itemGraph = createRedisItemGraphStore({ redis: connectRedis(config.redis.url, 5000), keyPrefix: config.redis.keyPrefix, params: config.recommendations });
  const producer = { send: async () => [] } as unknown as Producer;
  const applier = new BatchApplier({
    store, producer, topics: config.kafka.topics, cdcTypeMap: {}, admission: config.features, instanceId: 'bench', applyAttempts: 3, retryTopicAttempts: 1,
    retryBaseDelayMs: 0, sideEffects: false, graph: { store: itemGraph, params: config.recommendations, weights: config.features.weights },
  });
  // Time in the item graph (delta, Redis write) against the whole batch, per phase.
  const spent = { graphMs: 0, batchMs: 0, graphItems: 0 };
  applier.on('graph', (g) => {
    spent.graphMs += g.durationMs;
    spent.graphItems += g.items;
  });
  applier.on('batch', (b) => (spent.batchMs += b.durationMs));
  const control = { heartbeat: async () => {}, isActive: () => true };
  const hotKeys = redisKeys(config.redis.keyPrefix).item('hot');

  let n = 0;
  let hot = 0;
  const t0 = Date.now() - 3_600_000;
  const catalogue = () => `item-${Math.floor(Math.random() * 200_000)}`;
  const message = (warmUp = false): KafkaMessage => {
    const isHot = !warmUp && n % 2 === 0;
    if (isHot) hot++;
    const event = {
      eventId: `pop-${n}`,
      userId: `user-${warmUp ? n % users : Math.floor(Math.random() * users)}`,
      type: 'VIEW',
      itemId: isHot ? 'hot' : catalogue(),
      occurredAt: t0 + n,
    };
    return { key: Buffer.from(event.userId), value: Buffer.from(JSON.stringify(event)), offset: String(n++), timestamp: String(event.occurredAt), attributes: 0, headers: {} };
  };

  const warmUp = Array.from({ length: users * (config.recommendations.anchors + 1) }, () => message(true));
  for (let i = 0; i < warmUp.length; i += BATCH) await applier.apply('activity', 0, warmUp.slice(i, i + BATCH), control);

  const results: { phase: number; hotInteractionsBefore: number; eventsPerSec: number; hotNeighbours: number; itemGraphShare: number; itemsTouchedPerEvent: number }[] = [];
  for (let phase = 0; phase < phases; phase++) {
    const before = hot;
    Object.assign(spent, { graphMs: 0, batchMs: 0, graphItems: 0 });
    const batches = Array.from({ length: perPhase / BATCH }, () => Array.from({ length: BATCH }, message));
    const start = performance.now();
    for (const batch of batches) await applier.apply('activity', 0, batch, control);
    const seconds = (performance.now() - start) / 1000;
    const hotNeighbours = await redis.zcard(hotKeys.viewed);
    results.push({
      phase: phase + 1,
      hotInteractionsBefore: before,
      eventsPerSec: Math.round(perPhase / seconds),
      hotNeighbours,
      itemGraphShare: Number((spent.graphMs / spent.batchMs).toFixed(2)),
      itemsTouchedPerEvent: Number((spent.graphItems / perPhase).toFixed(1)),
    });
    process.stderr.write(`phase ${phase + 1}: hot item seen ${before} times before, ${Math.round(perPhase / seconds)} events/s, ${hotNeighbours} neighbours kept\n`);
  }
  await Promise.all([store.close(), itemGraph.close(), redis.quit()]);
  const out = {
    bench: 'popular-item',
    machine: machine(),
    users,
    anchorsK: config.recommendations.anchors,
    neighboursM: config.recommendations.neighbours,
    eventsPerPhase: perPhase,
    phases: results,
    lastOverFirst: Number((results.at(-1)!.eventsPerSec / results[0]!.eventsPerSec).toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
