/**
 * Catch-up on real Kafka and Redis: a backlog spanning five days of event
 * time (with re-sends, legacy CDC rows and profiles) consumed by a fresh
 * processor, by one killed twice on the way, by `npm run replay`, and with
 * the CDC topic arriving only after the activity topic is done. Every run
 * must count every distinct event exactly once, whatever its age
 * (fault-tests rows 31 and 32), and its counters must add up per topic.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { BatchCounts } from '../../src/ingest/batch-applier.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { committedOffsets, endOffsets, sum } from '../../src/ingest/offsets.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { backlog, backlogStates, type Backlog } from '../support/backlog.js';
import { expectSameState } from '../support/events.js';
import { configEnv, isolatedConfig, produce, waitCaughtUp } from '../support/processor-harness.js';
import { unique } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const logger = createLogger('silent');
const childEnv = (c: Config, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'error', APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...configEnv(c), ...extra,
});

const openStore = (c: Config, prefix = c.redis.keyPrefix) =>
  createRedisUserStateStore({ redis: connectRedis(c.redis.url, 2000), keyPrefix: prefix, params: c.features });

const inputs = (c: Config) => [c.kafka.topics.activity, c.kafka.topics.cdc, c.kafka.topics.profile];

async function expectBacklogState(c: Config, b: Backlog, prefix = c.redis.keyPrefix): Promise<void> {
  const expected = backlogStates(b, c.features);
  const users = [...expected.keys()].sort();
  const store = openStore(c, prefix);
  try {
    const states = await store.loadMany(users);
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
  } finally {
    await store.close();
  }
}

describe('catching up on a backlog wider than the dedupe horizon', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  async function setup(b: Backlog, parts: { activity?: boolean; cdc?: boolean; profile?: boolean } = { activity: true, cdc: true, profile: true }) {
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    if (parts.activity) await produce(kafka, config.kafka.topics.activity, b.activity);
    if (parts.cdc) await produce(kafka, config.kafka.topics.cdc, b.cdc);
    if (parts.profile) await produce(kafka, config.kafka.topics.profile, b.profile);
    return { config, kafka };
  }

  function startProcessor(config: Config, kafka: ReturnType<typeof createKafka>) {
    const store = openStore(config);
    const processor = createProcessor({ kafka, store, config, logger });
    const counts = new Map<string, BatchCounts & { messages: number }>();
    processor.applier.on('batch', (b) => {
      const t = counts.get(b.topic) ?? { messages: 0, applied: 0, stale: 0, resent: 0, redelivered: 0, expired: 0, future: 0, skipped: 0, deadLetters: 0, retried: 0 };
      counts.set(b.topic, {
        messages: t.messages + b.messages, applied: t.applied + b.applied, stale: t.stale + b.stale, resent: t.resent + b.resent, redelivered: t.redelivered + b.redelivered,
        expired: t.expired + b.expired, future: t.future + b.future, skipped: t.skipped + b.skipped, deadLetters: t.deadLetters + b.deadLetters, retried: t.retried + b.retried,
      });
    });
    cleanup.push(() => store.close(), () => processor.stop());
    return { processor, counts };
  }

  it('counts every distinct event of five days once, reports outcomes that add up per topic, and `npm run replay` rebuilds the same state', async () => {
    const b = backlog({ seed: 1 });
    const { config, kafka } = await setup(b);
    const { processor, counts } = startProcessor(config, kafka);
    await processor.start();
    await waitCaughtUp(kafka, config.processor.groupId, inputs(config), 120_000);

    await expectBacklogState(config, b);
    const zero = { redelivered: 0, expired: 0, future: 0, deadLetters: 0, retried: 0 };
    expect(counts.get(config.kafka.topics.activity)).toEqual({ messages: b.activity.length, ...b.expected.activity, stale: 0, skipped: 0, ...zero });
    expect(counts.get(config.kafka.topics.cdc)).toEqual({ messages: b.cdc.length, ...b.expected.cdc, stale: 0, ...zero });
    expect(counts.get(config.kafka.topics.profile)).toEqual({ messages: b.profile.length, ...b.expected.profile, resent: 0, skipped: 0, ...zero });
    // Nothing was dead-lettered: the consumer is at the end of its inputs and the DLQ has no message at all.
    expect(sum(await endOffsets(kafka, [config.kafka.topics.activityDlq]))).toBe(0);

    const prefix = `${unique('replay')}:`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts', 'replay', '--prefix', prefix], { cwd: ROOT, env: childEnv(config), timeout: 120_000 });
    expect(stdout).toContain(`replayed ${b.activity.length + b.cdc.length + b.profile.length} messages`);
    await expectBacklogState(config, b, prefix);
  }, 240_000);

  it('loses and doubles nothing when the processor process is killed with SIGKILL twice on the way', async () => {
    const b = backlog({ seed: 2 });
    const { config, kafka } = await setup(b);
    const total = b.activity.length + b.cdc.length + b.profile.length;
    const startChild = (): ChildProcess => {
      // node with tsx's loader, not the tsx wrapper: SIGKILL must hit the process that consumes.
      // Fetches of 32 KiB: the backlog (about 2 MB a partition) takes dozens of batches and commits a
      // partition, so each kill lands with work left (one 4 MiB fetch would be the whole partition).
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'processor'], {
        cwd: ROOT, env: childEnv(config, { PROCESSOR_FETCH_BYTES: String(32 * 1024) }), stdio: 'ignore',
      });
      cleanup.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      });
      return child;
    };
    const committed = async () => sum(await committedOffsets(kafka, [{ groupId: config.processor.groupId, topics: inputs(config) }]));
    // The first kill past a fifth of the backlog, the second past three fifths.
    for (const share of [0.2, 0.6]) {
      const before = await committed();
      const child = startChild();
      await waitFor(async () => (await committed()) >= Math.max(before + 1, share * total), { timeoutMs: 90_000, intervalMs: 20, what: `commits past ${share * 100} %` });
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect(await committed()).toBeLessThan(total);
    }
    startChild();
    // Each restarted member waits out the killed one's session (30 s) before it gets the partitions.
    await waitCaughtUp(kafka, config.processor.groupId, inputs(config), 150_000);
    await expectBacklogState(config, b);
  }, 300_000);

  it('counts every CDC row when the CDC topic arrives days behind, after the activity topic is done', async () => {
    const b = backlog({ seed: 3 });
    const { config, kafka } = await setup(b, { activity: true });
    const { processor, counts } = startProcessor(config, kafka);
    await processor.start();
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    expect(counts.get(config.kafka.topics.cdc)).toBeUndefined();

    await produce(kafka, config.kafka.topics.cdc, b.cdc);
    await produce(kafka, config.kafka.topics.profile, b.profile);
    await waitCaughtUp(kafka, config.processor.groupId, inputs(config), 120_000);
    await expectBacklogState(config, b);
    expect(counts.get(config.kafka.topics.cdc)).toMatchObject({ messages: b.cdc.length, ...b.expected.cdc, expired: 0, deadLetters: 0 });
  }, 240_000);
});
