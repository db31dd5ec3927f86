/**
 * The processor under faults, on real Kafka and Redis: killed with SIGKILL
 * mid-stream, Redis frozen mid-stream, a store that fails while reachable.
 * Each run must end in exactly the reference model's state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { DependencyError } from '../../src/errors.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { committedOffsets, sum } from '../../src/ingest/offsets.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createRetryWorker } from '../../src/ingest/retry-worker.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { expectSameState } from '../support/events.js';
import { startPrivateRedis } from '../support/private-redis.js';
import {
  caughtUp, configEnv, eventFile, isolatedConfig, produce, readAll, referenceStates, toMessage, waitCaughtUp,
} from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const logger = createLogger('silent');

const openStore = (c: Config, url = c.redis.url) =>
  createRedisUserStateStore({ redis: connectRedis(url, 500), keyPrefix: c.redis.keyPrefix, params: c.features });

const committed = async (kafka: ReturnType<typeof createKafka>, groupId: string, topic: string): Promise<number> =>
  sum(await committedOffsets(kafka, [{ groupId, topics: [topic] }]));

async function expectReferenceState(store: UserStateStore, events: Parameters<typeof referenceStates>[0], config: Config) {
  const expected = referenceStates(events, config.features);
  const users = [...expected.keys()];
  const states = await store.loadMany(users);
  users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
}

describe('processor under faults', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  it('loses no event when the processor process is killed with SIGKILL mid-stream and restarted', async () => {
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const events = eventFile(100_000, 1_000, 21);
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));

    const startChild = (): ChildProcess => {
      // node itself with tsx's loader, not the tsx wrapper: SIGKILL must hit the process that consumes.
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'processor'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'error', APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...configEnv(config) },
        stdio: 'ignore',
      });
      cleanup.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      });
      return child;
    };

    const first = startChild();
    await waitFor(async () => (await committed(kafka, config.processor.groupId, config.kafka.topics.activity)) >= 5_000, {
      timeoutMs: 60_000, intervalMs: 20, what: 'the first process to commit some offsets',
    });
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(() => process.kill(first.pid!, 0)).toThrow(/ESRCH/);
    const atKill = await committed(kafka, config.processor.groupId, config.kafka.topics.activity);
    expect(atKill).toBeLessThan(events.length);
    expect(await caughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity])).toBe(false);

    startChild();
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 120_000);
    // The check reads 1,000 users' whole state at once: a deadline for that, not the processor's 500 ms.
    const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 10_000), keyPrefix: config.redis.keyPrefix, params: config.features });
    cleanup.push(() => store.close());
    await expectReferenceState(store, events, config);
    // The restarted member waits out the killed one's session (30 s) before it gets the partitions.
  }, 150_000);

  it('holds its batch while Redis is frozen for 10 s, commits nothing unapplied, and ends in the same state', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const config = isolatedConfig();
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = openStore(config, redis.url);
    cleanup.push(() => store.close());
    const processor = createProcessor({ kafka, store, config, logger });
    let held = 0;
    processor.applier.on('storeUnavailable', () => held++);

    const events = eventFile(60_000, 600, 33);
    await processor.start();
    cleanup.push(() => processor.stop());
    await produce(kafka, config.kafka.topics.activity, events.slice(0, 20_000).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);

    redis.process.kill('SIGSTOP');
    const frozenAt = Date.now();
    await produce(kafka, config.kafka.topics.activity, events.slice(20_000).map(toMessage));
    await waitFor(() => held > 0, { timeoutMs: 15_000, what: 'the processor to notice the store is gone' });
    const whileFrozen = await committed(kafka, config.processor.groupId, config.kafka.topics.activity);
    expect(whileFrozen).toBe(20_000);
    // The fault lasts 10 s; this is its duration, not a wait for a condition.
    await sleep(Math.max(0, 10_000 - (Date.now() - frozenAt)));
    expect(await committed(kafka, config.processor.groupId, config.kafka.topics.activity)).toBe(20_000);
    redis.process.kill('SIGCONT');

    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity], 60_000);
    await expectReferenceState(store, events, config);
    // Nothing dead-lettered: read after the consumer reached the end of its input.
    expect(await readAll(kafka, config.kafka.topics.activityDlq)).toEqual([]);
  });

  it('hands a batch that keeps failing on a reachable store to the retry topic, and the retry worker applies it', async () => {
    const config = isolatedConfig({ APPLY_ATTEMPTS: '2', RETRY_BASE_DELAY_MS: '200' });
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const real = openStore(config);
    cleanup.push(() => real.close());
    let failuresLeft = 3;
    const flaky: UserStateStore = {
      ...real,
      applyEvents: async (byUser, now) => {
        if (byUser.has('user-0') && failuresLeft-- > 0) throw new DependencyError('redis', new Error('injected'));
        return real.applyEvents(byUser, now);
      },
    };
    const processor = createProcessor({ kafka, store: flaky, config, logger });
    const retryGroup = `${config.processor.groupId}.retry`;
    const worker = createRetryWorker({ kafka, applier: processor.applier, topic: config.kafka.topics.activityRetry, groupId: retryGroup, logger });
    let retried = 0;
    processor.applier.on('batch', (b) => (retried += b.retried));
    await processor.start();
    await worker.start();
    cleanup.push(() => processor.stop(), () => worker.stop());

    const events = eventFile(2_000, 5, 44);
    await produce(kafka, config.kafka.topics.activity, events.map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
    await waitFor(() => retried > 0, { what: 'a batch handed to the retry topic' });
    await waitCaughtUp(kafka, retryGroup, [config.kafka.topics.activityRetry], 60_000);
    expect(failuresLeft).toBeLessThanOrEqual(0);
    await expectReferenceState(real, events, config);
    const retries = await readAll(kafka, config.kafka.topics.activityRetry);
    expect(retries).toHaveLength(retried);
    expect(retries[0]!.headers).toMatchObject({ 'x-retry-attempt': '1', 'x-original-topic': config.kafka.topics.activity });
  });
});
