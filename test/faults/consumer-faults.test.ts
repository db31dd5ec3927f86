/**
 * The processor's consumer group under faults, on real Kafka and Redis
 * (fault-test rows 3, 4 and 5): a clean SIGTERM mid-batch, a rebalance while
 * a member holds a batch, and a batch whose write outlasts the session
 * timeout. Each ends in the reference model's state, and the Kafka-side
 * bookkeeping (committed offsets, offset marks, commits per member) is
 * checked against what was applied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import type { BatchApplier } from '../../src/ingest/batch-applier.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { committedOffsets, endOffsets, sum } from '../../src/ingest/offsets.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisItemGraphStore } from '../../src/stores/redis-item-graph-store.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { expectSameState } from '../support/events.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { configEnv, eventFile, isolatedConfig, produce, referenceStates, toMessage, waitCaughtUp } from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';
import type { PartitionOffsets } from '../../src/contracts/offset-checkpoint.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const logger = createLogger('silent');

const openStore = (c: Config, url = c.redis.url) =>
  createRedisUserStateStore({ redis: connectRedis(url, 500), keyPrefix: c.redis.keyPrefix, params: c.features });

const usersOf = (events: readonly ActivityEvent[]) => [...new Set(events.map((e) => e.userId))];

async function expectReferenceState(store: UserStateStore, events: readonly ActivityEvent[], config: Config) {
  const expected = referenceStates(events, config.features);
  const users = [...expected.keys()];
  const states = await store.loadMany(users);
  users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
}

/** The sums of an applier's `batch` events on `topic`. */
function countBatches(applier: BatchApplier, topic: string) {
  const counts = { messages: 0, applied: 0, resent: 0, redelivered: 0 };
  applier.on('batch', (b) => {
    if (b.topic !== topic) return;
    counts.messages += b.messages;
    counts.applied += b.applied;
    counts.resent += b.resent;
    counts.redelivered += b.redelivered;
  });
  return counts;
}

/** Per `topic/partition` of `topic`, the highest offset mark any user carries (the last offset applied). */
async function highestMarks(store: UserStateStore, users: readonly string[], topic: string): Promise<PartitionOffsets> {
  const out: Record<string, number> = {};
  for (const snapshot of await store.exportMany(users)) {
    for (const [tp, offset] of Object.entries(snapshot?.offsets ?? {})) {
      if (tp.startsWith(`${topic}/`)) out[tp] = Math.max(out[tp] ?? -1, offset);
    }
  }
  return out;
}

/** The offsets of `topic`'s partitions, 0 where nothing is committed. */
async function committedOf(kafka: Kafka, groupId: string, topic: string): Promise<PartitionOffsets> {
  return committedOffsets(kafka, [{ groupId, topics: [topic] }]);
}

/** The connections of a Redis server, as CLIENT LIST names them. */
async function clientList(redis: Redis): Promise<{ id: string; flags: string; cmd: string }[]> {
  const text = (await redis.call('CLIENT', 'LIST')) as string;
  return text.trim().split('\n').map((line) => {
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
    return { id: field('id'), flags: field('flags'), cmd: field('cmd') };
  });
}

/** `work`, or a failure naming `what` past `ms`. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function exitWithin(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return within(exited, ms, 'the process to exit');
}

describe('consumer group under faults', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  /** The processor role as a child process; its output is kept for the failure messages. */
  function startChild(config: Config): { child: ChildProcess; output: () => string } {
    // node itself with tsx's loader, not the tsx wrapper: the signal must reach the process that consumes.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'processor'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'error', APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...configEnv(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    cleanup.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });
    return { child, output: () => output };
  }

  it('on SIGTERM mid-batch exits 0 having committed exactly what it applied; the restart applies the rest once', async () => {
    // A Redis of its own: the test briefly pauses its writes (below), which must not touch other tests.
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const probe = new Redis(redis.url);
    cleanup.push(async () => void (await probe.quit()));
    const probeId = String(await probe.call('CLIENT', 'ID'));
    const config = isolatedConfig({ REDIS_URL: redis.url });
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const topic = config.kafka.topics.activity;
    const groupId = config.processor.groupId;
    const events = eventFile(60_000, 600, 51);
    const users = usersOf(events);

    // The file is fed while it is consumed, at most 5,000 events ahead of the group's commits: the SIGTERM
    // finds the process under load, with batches in hand, far from the end; and no batch grows large.
    let committedSoFar = 0;
    let sent = 0;
    let exited = false;
    const feed = async (stop: () => boolean) => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        while (sent < events.length && !stop()) {
          if (sent - committedSoFar >= 5_000) {
            await waitFor(() => stop() || sent - committedSoFar < 5_000, { timeoutMs: 60_000, intervalMs: 10, what: 'the consumer to take what was fed' });
            continue;
          }
          await producer.send({ topic, messages: events.slice(sent, sent + 1_000).map(toMessage), acks: -1 });
          sent += 1_000;
        }
      } finally {
        await producer.disconnect();
      }
    };
    /** Follows the group's commits (which the feed keeps ahead of) until `done`. */
    const follow = (done: () => boolean) =>
      waitFor(async () => {
        committedSoFar = sum(await committedOf(kafka, groupId, topic));
        return done();
      }, { timeoutMs: 120_000, intervalMs: 20, what: 'the feed to be consumed' });

    const first = startChild(config);
    const feeding = feed(() => exited);
    const following = follow(() => exited);
    feeding.catch(() => undefined); // both awaited once the process has exited
    following.catch(() => undefined);
    // The process's user-state connection: the only one that sends ZADD (the dirty index, beside each
    // batch's scripts) or GET (its generation check); the item graph's sends scripts only.
    const userStateConnections = new Set<string>();
    const watchConnections = async () => {
      for (const c of await clientList(probe)) if (c.id !== probeId && (c.cmd === 'zadd' || c.cmd === 'get')) userStateConnections.add(c.id);
    };
    await waitFor(async () => {
      await watchConnections();
      return committedSoFar >= 10_000 && userStateConnections.size > 0;
    }, { timeoutMs: 60_000, intervalMs: 10, what: 'the first process to commit some offsets' }).catch((e: Error) => {
      throw new Error(`${e.message} (fed ${sent}, committed ${committedSoFar}; process output: ${first.output()})`);
    });
    // Mid-batch by construction, not by luck: Redis holds writes for 500 ms (the injected fault; within
    // the 1 s command timeout, so nothing fails), and the SIGTERM is sent once a batch's user-state script
    // is seen waiting in it (within 200 ms). That batch is in the middle of its write when the stop begins.
    let pinned = false;
    for (let round = 0; round < 20 && !pinned; round++) {
      await probe.call('CLIENT', 'PAUSE', '500', 'WRITE');
      pinned = await waitFor(async () => (await clientList(probe)).some((c) => userStateConnections.has(c.id) && c.flags.includes('b') && c.cmd === 'evalsha'), {
        timeoutMs: 200, intervalMs: 2,
      }).then(() => true, () => false);
      if (!pinned) await probe.call('CLIENT', 'UNPAUSE');
    }
    expect(pinned, 'a batch write held by the pause').toBe(true);
    first.child.kill('SIGTERM');
    const exit = await exitWithin(first.child, 30_000);
    exited = true;
    await within(Promise.all([feeding, following]), 30_000, 'the feed to stop');
    expect(exit, first.output()).toEqual({ code: 0, signal: null });
    expect(first.output()).not.toMatch(/stop step failed|did not stop within|consumer crashed/);

    const store = openStore(config);
    cleanup.push(() => store.close());
    const atTerm = await committedOf(kafka, groupId, topic);
    const marks = await highestMarks(store, users, topic);
    console.log('[row 3] fed', sent, 'committed at SIGTERM', atTerm, 'highest marks', marks);
    expect(sum(atTerm)).toBeGreaterThanOrEqual(10_000);
    expect(sum(atTerm)).toBeLessThan(events.length);
    // Consumed == committed: on every partition the last offset applied is the one before the committed
    // position (nothing applied is uncommitted, so a restart redelivers nothing; nothing committed is unapplied).
    // (soft: the rest of the run then shows what an uncommitted batch costs after the restart)
    for (const p of [0, 1, 2]) expect.soft(marks[`${topic}/${p}`] ?? -1, `last offset applied on ${topic}/${p}`).toBe((atTerm[`${topic}/${p}`] ?? 0) - 1);

    // The restart: a processor like the role's (same group, store and item graph), in process so that
    // its applier's counts can be read. It must find nothing it has already applied.
    const timeout = config.redis.commandTimeoutMs;
    const itemGraph = createRedisItemGraphStore({ redis: connectRedis(config.redis.url, timeout), keyPrefix: config.redis.keyPrefix, params: config.recommendations });
    const secondStore = createRedisUserStateStore({ redis: connectRedis(config.redis.url, timeout), keyPrefix: config.redis.keyPrefix, params: config.features });
    cleanup.push(() => itemGraph.close(), () => secondStore.close());
    const second = createProcessor({ kafka, store: secondStore, itemGraph, config, logger });
    const counts = countBatches(second.applier, topic);
    await second.start();
    cleanup.push(() => second.stop());
    await within(Promise.all([feed(() => false), follow(() => sent === events.length && committedSoFar === events.length)]), 150_000, 'the restart to take the rest of the file');
    const ends = await endOffsets(kafka, [topic]);
    expect(sum(ends)).toBe(events.length);
    expect(await committedOf(kafka, groupId, topic)).toEqual(ends);
    expect(await highestMarks(store, users, topic)).toEqual(Object.fromEntries(Object.entries(ends).map(([tp, end]) => [tp, end - 1])));
    await expectReferenceState(store, events, config);
    // No duplicate effects: the restart applied exactly what lay past the committed positions, and was
    // handed nothing the first process had applied.
    expect({ applied: counts.applied, redelivered: counts.redelivered, resent: counts.resent }).toEqual({ applied: events.length - sum(atTerm), redelivered: 0, resent: 0 });
    expect(sum(await endOffsets(kafka, [config.kafka.topics.activityDlq, config.kafka.topics.activityRetry]))).toBe(0);
  }, 180_000);

  it('a member holding a batch while a second member joins commits it before giving up partitions: no gap, no double count', async () => {
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const topic = config.kafka.topics.activity;
    const groupId = config.processor.groupId;
    const events = eventFile(30_000, 300, 61);
    const real = openStore(config);
    cleanup.push(() => real.close());

    // Member A's store holds one batch's write (the first after `armed`) until the test releases it.
    let armed = false;
    let held: { tp: string; first: number; last: number } | undefined;
    let enteredHold!: () => void;
    const holding = new Promise<void>((resolve) => (enteredHold = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const gated: UserStateStore = {
      ...real,
      applyEvents: async (byUser, now, options) => {
        if (armed && !held) {
          const offsets = [...byUser.values()].flat().map((d) => d.offset!);
          held = { tp: [...byUser.values()][0]![0]!.source!, first: Math.min(...offsets), last: Math.max(...offsets) };
          timelineAtHold = timeline.length;
          enteredHold();
          await released;
        }
        return real.applyEvents(byUser, now, options);
      },
    };

    const timeline: ({ member: string; kind: 'join'; assigned: string[] } | { member: string; kind: 'commit'; offsets: { tp: string; offset: number }[] })[] = [];
    /** Where the timeline stood when the held write began. */
    let timelineAtHold = 0;
    const member = (name: string, store: UserStateStore) => {
      const processor = createProcessor({ kafka: createKafka(config.kafka, logger), store, config, logger });
      const counts = countBatches(processor.applier, topic);
      const { GROUP_JOIN, COMMIT_OFFSETS } = processor.consumer.events;
      processor.consumer.on(GROUP_JOIN, (e) =>
        timeline.push({ member: name, kind: 'join', assigned: Object.entries(e.payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)) }),
      );
      processor.consumer.on(COMMIT_OFFSETS, (e) =>
        timeline.push({ member: name, kind: 'commit', offsets: e.payload.topics.flatMap((t) => t.partitions.map((p) => ({ tp: `${t.topic}/${p.partition}`, offset: Number(p.offset) }))) }),
      );
      cleanup.push(() => processor.stop());
      return { processor, counts };
    };

    const a = member('A', gated);
    await a.processor.start();
    await produce(kafka, topic, events.slice(0, 10_000).map(toMessage));
    await waitCaughtUp(kafka, groupId, [topic]);

    armed = true;
    await produce(kafka, topic, events.slice(10_000, 20_000).map(toMessage));
    await within(holding, 20_000, 'a batch to reach the held write');
    const heldBatch = held!;
    // Mid-batch: the held batch is not committed.
    expect((await committedOf(kafka, groupId, topic))[heldBatch.tp]).toBeLessThanOrEqual(heldBatch.first);

    const b = member('B', real);
    const bStarted = b.processor.start();
    bStarted.catch(() => undefined); // awaited below, after the release
    const admin = kafka.admin();
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    // B's join has put the group into a rebalance that waits for A, which still holds its batch.
    await waitFor(async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'PreparingRebalance', {
      timeoutMs: 20_000, intervalMs: 50, what: 'the rebalance triggered by the second member',
    });
    expect(timeline.filter((e) => e.member === 'B' && e.kind === 'join')).toEqual([]);
    release();
    await within(bStarted, 60_000, 'the second member to join');

    await produce(kafka, topic, events.slice(20_000).map(toMessage));
    await waitCaughtUp(kafka, groupId, [topic], 60_000);
    const ends = await endOffsets(kafka, [topic]);
    // No gap and nothing beyond: the committed positions are exactly the ends.
    expect(await committedOf(kafka, groupId, topic)).toEqual(ends);
    await expectReferenceState(real, events, config);

    console.log('[row 4]', { held: heldBatch, a: a.counts, b: b.counts, joins: timeline.filter((e) => e.kind === 'join').length, commits: timeline.length - timeline.filter((e) => e.kind === 'join').length });
    // Both members took part: B was given partitions, and A was given up the ones B took.
    const joinsOf = (m: string) => timeline.flatMap((e) => (e.member === m && e.kind === 'join' ? [e.assigned] : []));
    const bAssigned = joinsOf('B').at(-1)!;
    expect(bAssigned.length).toBeGreaterThan(0);
    expect(joinsOf('A').length).toBeGreaterThanOrEqual(2);
    expect(joinsOf('A').at(-1)!.filter((tp) => bAssigned.includes(tp))).toEqual([]);
    // No commit for a partition its member does not hold at that moment (its latest assignment), and
    // no committed position ever moves back (a late commit for a revoked partition would).
    const assignment = new Map<string, string[]>();
    const position = new Map<string, number>();
    for (const e of timeline) {
      if (e.kind === 'join') {
        assignment.set(e.member, e.assigned);
        continue;
      }
      for (const { tp, offset } of e.offsets) {
        expect(assignment.get(e.member), `${e.member} committed ${tp} without holding it`).toContain(tp);
        expect(offset, `${tp} moved back`).toBeGreaterThanOrEqual(position.get(tp) ?? 0);
        position.set(tp, offset);
      }
    }
    // A committed the held batch before it gave up any partition: before its first join after the hold
    // began (a rebalance of A alone before then, e.g. on the group's first metadata change, does not count).
    const aGaveUp = timeline.findIndex((e, i) => i >= timelineAtHold && e.member === 'A' && e.kind === 'join');
    expect(aGaveUp).toBeGreaterThan(0);
    expect(
      timeline.slice(0, aGaveUp).some((e) => e.member === 'A' && e.kind === 'commit' && e.offsets.some((o) => o.tp === heldBatch.tp && o.offset > heldBatch.last)),
    ).toBe(true);
    // Exactly once: every distinct event applied by exactly one member; since A committed everything it
    // applied before it gave partitions up, B was handed nothing again (no redelivery, no re-send).
    expect(a.counts.applied + b.counts.applied).toBe(events.length);
    expect({ resent: a.counts.resent + b.counts.resent, redelivered: a.counts.redelivered + b.counts.redelivered }).toEqual({ resent: 0, redelivered: 0 });
    expect(a.counts.messages + b.counts.messages).toBe(events.length);
  }, 120_000);

  it('a batch whose write outlasts the session timeout keeps its partitions by heartbeating, and loses nothing', async () => {
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const topic = config.kafka.topics.activity;
    const groupId = config.processor.groupId;
    const events = eventFile(10_000, 200, 71);
    const real = openStore(config);
    cleanup.push(() => real.close());

    const FAULT_MS = 35_000;
    let armed = false;
    let slow: { tp: string; first: number; last: number; from: number; to?: number } | undefined;
    let slowDone!: () => void;
    const finished = new Promise<void>((resolve) => (slowDone = resolve));
    const slowStore: UserStateStore = {
      ...real,
      applyEvents: async (byUser, now, options) => {
        if (armed && !slow) {
          const offsets = [...byUser.values()].flat().map((d) => d.offset!);
          slow = { tp: [...byUser.values()][0]![0]!.source!, first: Math.min(...offsets), last: Math.max(...offsets), from: Date.now() };
          // The injected fault: one write that takes 35 s (sessionTimeout is 30 s). It calls nothing
          // meanwhile; any heartbeat has to come from the applier.
          await sleep(FAULT_MS);
          try {
            return await real.applyEvents(byUser, now, options);
          } finally {
            slow.to = Date.now();
            slowDone();
          }
        }
        return real.applyEvents(byUser, now, options);
      },
    };
    const processor = createProcessor({ kafka, store: slowStore, config, logger });
    const counts = countBatches(processor.applier, topic);
    const joins: number[] = [];
    const heartbeats: number[] = [];
    const { GROUP_JOIN, HEARTBEAT } = processor.consumer.events;
    processor.consumer.on(GROUP_JOIN, () => joins.push(Date.now()));
    processor.consumer.on(HEARTBEAT, () => heartbeats.push(Date.now()));
    await processor.start();
    cleanup.push(() => processor.stop());

    await produce(kafka, topic, events.slice(0, 5_000).map(toMessage));
    await waitCaughtUp(kafka, groupId, [topic]);
    armed = true;
    await produce(kafka, topic, events.slice(5_000).map(toMessage));
    await within(finished, FAULT_MS + 20_000, 'the slow write to finish');
    await waitCaughtUp(kafka, groupId, [topic], 90_000);
    const ends = await endOffsets(kafka, [topic]);
    expect(await committedOf(kafka, groupId, topic)).toEqual(ends);
    await expectReferenceState(real, events, config);

    const s = slow!;
    const during = heartbeats.filter((t) => t >= s.from && t <= s.to!).length;
    process.stdout.write(`[row 5] one write held ${s.to! - s.from} ms; heartbeats meanwhile: ${during}; group joins: ${joins.length}\n`);
    // The applier heartbeats while the write is in flight: the member keeps its partitions, nothing comes back.
    expect(during).toBeGreaterThan(0);
    // No rebalance from the slow write on (a second join right at the start, while the group forms, is not this fault).
    expect(joins.filter((t) => t >= s.from)).toEqual([]);
    expect(counts).toMatchObject({ applied: events.length, resent: 0, redelivered: 0, messages: events.length });
  }, 150_000);
});
