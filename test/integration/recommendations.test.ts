/**
 * Recommendations on the real servers: the hand-worked data set goes through
 * Kafka and the processor into Redis, and comes back exactly through the
 * GraphQL API; a purchase by one user then reaches another user's
 * subscriber as a new list, over Kafka's item-updates topic and graphql-ws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { createProcessor } from '../../src/ingest/processor.js';
import { createLogger } from '../../src/observability/logger.js';
import { openStores } from '../../src/stores/index.js';
import { JWT_SECRET, post, ROUTER_SECRET, token } from '../support/api-harness.js';
import { startLiveApi, subscribe, wsClient, type LiveApi } from '../support/live.js';
import { isolatedConfig, produce, toMessage, waitCaughtUp } from '../support/processor-harness.js';
import {
  EXPECTED_ALSO_BOUGHT, EXPECTED_ALSO_VIEWED, EXPECTED_RECOMMENDATIONS, EXPECTED_TRENDING, EXPECTED_U3_AFTER, RECS_ENV, recsEvents, u1BuysI8,
  type ExpectedRecommendation,
} from '../support/recommendations-dataset.js';

type Rec = { item: { id: string }; score: number; reason: ExpectedRecommendation['reason']; because: { id: string } | null };
const REC_FIELDS = 'item { id } score reason because { id }';
const plain = (rs: readonly Rec[]): ExpectedRecommendation[] => rs.map((r) => ({ item: r.item.id, score: r.score, reason: r.reason, because: r.because?.id ?? null }));

describe('recommendations on real Kafka and Redis', () => {
  const config = isolatedConfig({ JWT_SECRET, ROUTER_SECRET, ...RECS_ENV });
  const logger = createLogger('silent');
  const kafka = createKafka(config.kafka, logger);
  const t0 = Date.now() - 6 * 3_600_000;
  const cleanup: (() => Promise<void>)[] = [];
  let api: LiveApi;
  let internal: string;

  beforeAll(async () => {
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const stores = await openStores(config, logger);
    const processor = createProcessor({ kafka, store: stores.userStates, itemGraph: stores.itemGraph, config, logger });
    await processor.start();
    api = await startLiveApi(config);
    cleanup.push(() => stores.close(), () => processor.stop(), () => api.stop());
    internal = await token('recs-test', config.auth.internalScope);
    await produce(kafka, config.kafka.topics.activity, recsEvents(t0).map(toMessage));
    await waitCaughtUp(kafka, config.processor.groupId, [config.kafka.topics.activity]);
  });
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('gives every item exactly its hand-worked alsoViewed and alsoBought lists', async () => {
    const items = Object.keys(EXPECTED_ALSO_VIEWED);
    const res = await post(api.url, `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Item { id alsoViewed { id } alsoBought { id } } } }`, {
      variables: { reps: items.map((id) => ({ __typename: 'Item', id })) },
      token: internal,
    });
    expect(res.body.errors).toBeUndefined();
    const got = (res.body.data as { _entities: { id: string; alsoViewed: { id: string }[]; alsoBought: { id: string }[] }[] })._entities;
    expect(Object.fromEntries(got.map((i) => [i.id, i.alsoViewed.map((x) => x.id)]))).toEqual(EXPECTED_ALSO_VIEWED);
    expect(Object.fromEntries(got.map((i) => [i.id, i.alsoBought.map((x) => x.id)]))).toEqual(EXPECTED_ALSO_BOUGHT);
  });

  it('recommends exactly the hand-worked lists, and trending items to a user with no history', async () => {
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const res = await post(api.url, `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id recommendations { ${REC_FIELDS} } } } }`, {
      variables: { reps: users.map((id) => ({ __typename: 'User', id })) },
      token: internal,
    });
    expect(res.body.errors).toBeUndefined();
    const got = Object.fromEntries((res.body.data as { _entities: { id: string; recommendations: Rec[] }[] })._entities.map((u) => [u.id, u.recommendations]));
    for (const [user, expected] of Object.entries(EXPECTED_RECOMMENDATIONS)) expect(plain(got[user]!)).toEqual(expected);
    const trending = got.u5!;
    expect(trending.map((r) => [r.item.id, r.reason, r.because])).toEqual(EXPECTED_TRENDING.map(([id]) => [id, 'TRENDING', null]));
    trending.forEach((r, i) => expect(r.score / trending.at(-1)!.score).toBeCloseTo(EXPECTED_TRENDING[i]![1], 9));
  });

  it('pushes a new list to a user’s subscriber when another user’s purchase changes it', async () => {
    const u3 = wsClient(api.wsUrl, { authorization: `Bearer ${await token('u3')}` });
    const live = subscribe<{ recommendationsChanged: Rec[] }>(u3.client, `subscription { recommendationsChanged(userId: "u3") { ${REC_FIELDS} } }`);
    await live.count(1);
    expect(plain(live.events[0]!.recommendationsChanged)).toEqual(EXPECTED_RECOMMENDATIONS.u3);

    // u1 shares i2 with u3; u3 has no event of their own.
    await produce(kafka, config.kafka.topics.activity, [toMessage(u1BuysI8(t0))]);
    await live.count(2);
    expect(plain(live.events[1]!.recommendationsChanged)).toEqual(EXPECTED_U3_AFTER);
    live.stop();
    await u3.client.dispose();
  });
});
