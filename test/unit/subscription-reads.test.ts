/** What a subscription reads when it pushes, over a twin whose reads fail or lag on demand. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_RECOMMENDATION_PARAMS } from '../../src/features/params.js';
import { DEFAULT_USER_STATE } from '../../src/features/state.js';
import { UpdateHub } from '../../src/graphql/subscriptions/hub.js';
import { createSubscriptionReads } from '../../src/live/subscription-reads.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { CrossSlotError } from '../../src/stores/redis-connection.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import type { UserState, UserStateStore } from '../../src/stores/user-state.js';

/** A store answering each read with the next of `answers` (a version, or an error to throw), then the last one forever. */
function scripted(answers: (number | Error)[]) {
  const base = createMemoryUserStateStore(DEFAULT_FEATURE_PARAMS);
  let reads = 0;
  const store: UserStateStore = {
    ...base,
    async loadMany(userIds) {
      const answer = answers[Math.min(reads++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return userIds.map((): UserState => ({ ...DEFAULT_USER_STATE, version: answer }));
    },
  };
  const live = createSubscriptionReads({
    store,
    itemGraph: createMemoryItemGraphStore(DEFAULT_RECOMMENDATION_PARAMS),
    hub: new UpdateHub(),
    features: DEFAULT_FEATURE_PARAMS,
    recommendations: DEFAULT_RECOMMENDATION_PARAMS,
    maxBatchSize: 100,
    metrics: createMetrics(),
  });
  return { live, reads: () => reads };
}

describe('subscription reads', () => {
  it('reads again through a passing failure (a failover), so the subscription does not end', async () => {
    const { live, reads } = scripted([new Error('Connection is closed.'), new Error('CLUSTERDOWN The cluster is down'), 7]);
    expect((await live.load('u1', false)).version).toBe(7);
    expect(reads()).toBe(3);
  });

  it('fails at once on an error a retry cannot change', async () => {
    const { live, reads } = scripted([new CrossSlotError('keys in two slots'), 7]);
    await expect(live.load('u1', false)).rejects.toBeInstanceOf(CrossSlotError);
    expect(reads()).toBe(1);
  });

  it('reads again while the state is older than the announced version (a durable copy served during a Redis failure)', async () => {
    const { live, reads } = scripted([3, 3, 3, 5]);
    expect((await live.load('u1', true, 5)).version).toBe(5);
    expect(reads()).toBe(4);
  });

  it('takes the state as it is when no version was announced (the snapshot), or it is already there', async () => {
    const first = scripted([3, 5]);
    expect((await first.live.load('u1', true)).version).toBe(3);
    expect(first.reads()).toBe(1);
    const second = scripted([6]);
    expect((await second.live.load('u1', false, 5)).version).toBe(6);
    expect(second.reads()).toBe(1);
  });

  it('stops reading again for an announced version once the subscription has ended (its client left)', async () => {
    const { live, reads } = scripted([3]);
    const ended = new AbortController();
    const read = live.load('u1', true, 5, ended.signal);
    await expect.poll(reads).toBeGreaterThanOrEqual(2);
    ended.abort();
    const abortedAt = Date.now();
    // The backoff under way runs out (at most 1 s), one last read, then the state as it is.
    expect((await read).version).toBe(3);
    expect(Date.now() - abortedAt).toBeLessThan(1_500);
    const after = reads();
    // Still reading, the next try would come within a second.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(reads()).toBe(after);
  });
});
