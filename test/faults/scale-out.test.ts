/**
 * Scale-out on real clusters: a 6-node Redis Cluster, a 3-broker Kafka
 * (topics of 6 partitions, 3 replicas) and the shared MongoDB, with every role
 * as processes of its own: 2 collectors, 3 processors, 2 API instances, 2
 * syncs. A fixed event file with re-sends is POSTed through both collectors;
 * while it flows one processor, one API instance and one Redis master are
 * killed with SIGKILL and the master's replica is promoted. Subscribers on
 * the surviving API instance keep receiving their users' changes, and at the
 * end every user's state equals the reference model: nothing lost (a batch's
 * writes are on a replica before its offsets are committed: REDIS_WAIT_REPLICAS),
 * nothing counted twice.
 */
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import type { UserState } from '../../src/features/state.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { committedOffsets, endOffsets, processorGroups, reached, sum } from '../../src/ingest/offsets.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis } from '../../src/stores/redis-connection.js';
import { createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import { JWT_SECRET, post as postGraphQL, ROUTER_SECRET, token, type GraphQLResponse } from '../support/api-harness.js';
import { APP_KEYS, WEB_KEY } from '../support/collector-harness.js';
import { expectSameState } from '../support/events.js';
import { wsClient, subscribe, type Received } from '../support/live.js';
import { startPrivateKafkaCluster, startPrivateRedisCluster, type PrivateKafkaCluster, type PrivateRedisCluster } from '../support/private-cluster.js';
import { eventFile, isolatedEnv, random, referenceStates } from '../support/processor-harness.js';
import { servers, unique } from '../support/servers.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

const EVENTS = 100_000;
const USERS = 3_000;
/** Share of the sends that are a re-send of an earlier event (a client retrying). */
const RESENDS = 0.05;
const PER_POST = 1000;
/** The kills come once this share of the sends is accepted, so as much flows after them. */
const KILL_AT = 0.4;
const WATCHED = 4;

type Changed = { userActivityChanged: { id: string; features: { version: number } } };
const QUERY = 'subscription ($id: ID!) { userActivityChanged(userId: $id) { id features { version } } }';

/** The event file, then re-sends of earlier events mixed in, in a fixed order. */
function sends(): { events: ActivityEvent[]; sent: ActivityEvent[] } {
  const events = eventFile(EVENTS, USERS, 19);
  const next = random(1919);
  const sent: ActivityEvent[] = [];
  events.forEach((e, i) => {
    sent.push(e);
    if (next() < RESENDS) sent.push(events[Math.floor(next() * (i + 1))]!);
  });
  return { events, sent };
}

/** POSTs `batch` to `url` until it is accepted (202), as a client would: a 503 during a failover is retried. */
async function post(url: string, batch: readonly ActivityEvent[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-app-key': WEB_KEY }, body: JSON.stringify(batch) }).catch((e: Error) => e);
    if (!(res instanceof Error)) {
      const body = await res.text();
      if (res.status === 202) {
        expect(JSON.parse(body)).toMatchObject({ accepted: batch.length, rejected: [] });
        return;
      }
      if (res.status < 500) throw new Error(`the collector refused a batch: ${res.status} ${body}`);
    }
    if (Date.now() > deadline) throw new Error(`the collector at ${url} did not accept a batch within 60 s`);
    await new Promise((r) => setTimeout(r, delay)); // backoff between a client's retries, not synchronisation
  }
}

/** The pid and id of every master, and the replica of each, from CLUSTER NODES. */
async function clusterLayout(port: number) {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  try {
    const lines = ((await redis.call('CLUSTER', 'NODES')) as string).trim().split('\n').map((l) => l.split(' '));
    const alive = lines.filter((f) => !f[2]!.includes('fail'));
    const masters = alive.filter((f) => f[2]!.includes('master') && f.length > 8);
    return masters.map((m) => ({ id: m[0]!, port: Number(m[1]!.split(/[:@]/)[1]), replicas: alive.filter((f) => f[3] === m[0]).map((f) => Number(f[1]!.split(/[:@]/)[1])) }));
  } finally {
    redis.disconnect();
  }
}

async function infoOf(port: number, section: string): Promise<string> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    return await redis.info(section);
  } finally {
    redis.disconnect();
  }
}

/** `work`, or a failure naming `what` past `ms`. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function configSet(port: number, name: string, value: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  try {
    await redis.config('SET', name, value);
  } finally {
    redis.disconnect();
  }
}

describe('scale-out over a Redis Cluster and a 3-broker Kafka', () => {
  let redisCluster: PrivateRedisCluster | undefined;
  let kafkaCluster: PrivateKafkaCluster | undefined;
  const children: { name: string; process: ServiceProcess }[] = [];

  beforeAll(async () => {
    const [redis, kafka] = await Promise.allSettled([startPrivateRedisCluster(), startPrivateKafkaCluster()]);
    // One that started is stopped in afterAll even when the other failed.
    redisCluster = redis.status === 'fulfilled' ? redis.value : undefined;
    kafkaCluster = kafka.status === 'fulfilled' ? kafka.value : undefined;
    for (const r of [redis, kafka]) if (r.status === 'rejected') throw r.reason;
  }, 180_000);
  afterAll(async () => {
    await Promise.allSettled(children.map((c) => c.process.stop(5000)));
    await Promise.allSettled([redisCluster?.stop(), kafkaCluster?.stop()]);
  }, 120_000);

  it('2 collectors, 3 processors, 2 APIs and 2 syncs lose nothing when a processor, an API and a Redis master die mid-stream', async () => {
    const began = Date.now();
    const phase = (what: string) => console.info(`scale-out +${Date.now() - began} ms: ${what}`);
    try {
      await scaleOut(phase);
    } catch (error) {
      // What the processes said is what explains a failure here.
      for (const c of children) console.info(`--- ${c.name}:\n${c.process.output().slice(-3000)}`);
      throw error;
    }
  });

  async function scaleOut(phase: (what: string) => void): Promise<void> {
    const env: Record<string, string> = {
      ...isolatedEnv(unique('scale')),
      REDIS_CLUSTER_NODES: redisCluster!.nodes.join(','),
      KAFKA_BROKERS: kafkaCluster!.brokers.join(','),
      MONGO_URL: servers().MONGO_URL,
      KAFKA_PARTITIONS: '6',
      KAFKA_REPLICATION_FACTOR: '3',
      HOST: '127.0.0.1',
      PORT: '0',
      COLLECTOR_PORT: '0',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      ROUTER_SECRET,
      COLLECTOR_APP_KEYS: APP_KEYS,
      COLLECTOR_MAX_BATCH: String(PER_POST),
      COLLECTOR_RATE_PER_APP: '1000000',
      COLLECTOR_RATE_PER_IP: '1000000',
      SYNC_INTERVAL_MS: '200',
      // Twenty processes share two cores here: a command or a WAIT can take seconds without anything being wrong.
      REDIS_COMMAND_TIMEOUT_MS: '4000',
      REDIS_WAIT_TIMEOUT_MS: '3000',
    };
    const config: Config = loadConfig(env, {});
    const logger = createLogger('silent');
    const kafka: Kafka = createKafka(config.kafka, logger);
    // Created once up front, as a deployment would: nine processes starting at once need not race for them.
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));

    const start = (role: string, name: string) => {
      const child = startServiceProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], { ...env, ROLES: role, INSTANCE_ID: name });
      children.push({ name, process: child });
      return child;
    };
    const collectors = [start('collector', 'collector-1'), start('collector', 'collector-2')];
    const processors = [1, 2, 3].map((i) => start('processor', `processor-${i}`));
    const apis = [start('api', 'api-1'), start('api', 'api-2')];
    [1, 2].forEach((i) => start('sync', `sync-${i}`));
    const collectorUrls = await Promise.all(collectors.map(async (c) => (await c.printed(/Collector: (http:\/\/127\.0\.0\.1:\d+\/v1\/events)/, 90_000))[1]!));
    const apiUrls = await Promise.all(apis.map(async (a) => (await a.printed(/GraphQL: (http:\/\/127\.0\.0\.1:\d+\/graphql)/, 90_000))[1]!));
    // Every processor holds partitions before anything is sent: the kill then takes work away from one.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const [group] = (await admin.describeGroups([config.processor.groupId])).groups;
          return group?.state === 'Stable' && group.members.length === 3;
        },
        { timeoutMs: 90_000, intervalMs: 250, what: 'three processors in the group' },
      );
    } finally {
      await admin.disconnect();
    }

    phase('every role started');
    const { events, sent } = sends();
    const expected = referenceStates(events, config.features);
    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.userId, (counts.get(e.userId) ?? 0) + 1);
    const watched = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, WATCHED).map(([id]) => id);

    // Subscribers on the API instance that survives.
    const survivor = apiUrls[1]!.replace('http://', 'ws://');
    const ws = wsClient(survivor, { authorization: `Bearer ${await token('watcher', config.auth.internalScope)}` });
    const subs = new Map<string, Received<Changed>>(watched.map((id) => [id, subscribe<Changed>(ws.client, QUERY, { id })]));
    await Promise.all([...subs.values()].map((s) => s.count(1, 30_000)));

    // Both collectors, three requests in flight at each.
    const batches: ActivityEvent[][] = [];
    for (let i = 0; i < sent.length; i += PER_POST) batches.push(sent.slice(i, i + PER_POST));
    let accepted = 0;
    let next = 0;
    let onKillPoint: () => void = () => undefined;
    const killPoint = new Promise<void>((resolve) => (onKillPoint = resolve));
    const sender = async (url: string) => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await post(url, batch);
        accepted += batch.length;
        if (accepted >= KILL_AT * sent.length) onKillPoint();
      }
    };
    const posting = Promise.all(collectorUrls.flatMap((url) => [sender(url), sender(url), sender(url)]));

    await Promise.race([killPoint, posting]);
    const layout = await clusterLayout(redisCluster!.ports[0]!);
    const victim = layout.find((m) => m.replicas.length > 0)!;
    // Only a replica that has synced can be promoted. Its election may take a while on a loaded box:
    // without a validity factor it keeps standing however long its master has been gone.
    await waitFor(async () => /master_link_status:up/.test(await infoOf(victim.replicas[0]!, 'replication')), { timeoutMs: 30_000, intervalMs: 200, what: 'the replica to be in sync' });
    await configSet(victim.replicas[0]!, 'cluster-replica-validity-factor', '0');
    phase(`${accepted} sends accepted: the kills`);
    const victimPid = Number(/process_id:(\d+)/.exec(await infoOf(victim.port, 'server'))![1]);
    const killedAt = Date.now();
    process.kill(-processors[0]!.child.pid!, 'SIGKILL');
    process.kill(-apis[0]!.child.pid!, 'SIGKILL');
    process.kill(victimPid, 'SIGKILL');
    const versionsAtKill = new Map([...subs].map(([id, s]) => [id, s.events.length]));
    // Reads on the surviving API while a third of the slots has no master: each answers within a bound,
    // with the users or with coded errors, and none hangs.
    const entities = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id activityScore features { version } } } }';
    const reader = await token('reader', config.auth.internalScope);
    let promoted = false;
    const readsDuringFailover = (async () => {
      const answers: { ms: number; answer: GraphQLResponse }[] = [];
      while (!promoted || answers.length === 0) {
        const t = Date.now();
        const answer = await within(postGraphQL(apiUrls[1]!, entities, { variables: { r: watched.map((id) => ({ __typename: 'User', id })) }, token: reader }), 10_000, 'a read during the failover');
        answers.push({ ms: Date.now() - t, answer });
      }
      return answers;
    })();
    // The replica is promoted once the others see the master fail (node timeout 2 s).
    await waitFor(async () => /role:master/.test(await infoOf(victim.replicas[0]!, 'replication')), { timeoutMs: 60_000, intervalMs: 200, what: `the replica ${victim.replicas[0]} to be promoted` });
    const promotedAt = Date.now();
    promoted = true;
    const failoverReads = (await readsDuringFailover).length;
    for (const { answer } of await readsDuringFailover) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const users = (answer.body.data as { _entities: ({ id: string } | null)[] } | undefined)?._entities ?? [];
      if (answer.body.errors) for (const e of answer.body.errors) expect(e.extensions?.code, e.message).toEqual(expect.any(String));
      else expect(users.map((u) => u?.id)).toEqual(watched);
    }
    phase('the replica is promoted');

    await posting;
    const postedAt = Date.now();
    phase('every send accepted');
    const topics = config.kafka.topics;
    let nextShown = 0;
    await waitFor(
      async () => {
        const [committed, ends] = [await committedOffsets(kafka, processorGroups(config.processor.groupId, topics)), await endOffsets(kafka, [topics.activity, topics.activityRetry])];
        if (Date.now() >= nextShown) {
          phase(`${sum(committed)} of ${sum(ends)} committed`);
          nextShown = Date.now() + 10_000;
        }
        return reached(committed, ends);
      },
      { timeoutMs: 150_000, intervalMs: 500, what: 'the processors to commit every event' },
    );
    const processedAt = Date.now();
    phase('every event committed');
    expect(sum(await endOffsets(kafka, [topics.activityDlq])), 'dead letters').toBe(0);

    const store = createRedisUserStateStore({ redis: connectRedis({ url: '', clusterNodes: redisCluster!.nodes.filter((n) => !n.endsWith(`:${victim.port}`)), commandTimeoutMs: 10_000 }), keyPrefix: config.redis.keyPrefix, params: config.features });
    try {
      const users = [...expected.keys()];
      const states: (UserState | undefined)[] = [];
      for (let i = 0; i < users.length; i += 250) states.push(...(await store.loadMany(users.slice(i, i + 250))));
      // First the count of users off the model (a lost write shows here), then each user's state in full.
      const mismatched = users.filter((id, i) => {
        const [got, want] = [states[i]?.scoreSum ?? 0, expected.get(id)!.scoreSum];
        return Math.abs(got - want) > 1e-9 * want;
      });
      expect(mismatched.length, `users whose score differs from the model (of ${users.length}), e.g. ${mismatched.slice(0, 5).join(', ')}`).toBe(0);
      users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));

      // Every watched user's pushes: some after the kills, versions only increasing, ending at the stored version.
      const stored = await store.loadMany(watched);
      for (const [i, id] of watched.entries()) {
        const sub = subs.get(id)!;
        const last = () => sub.events.at(-1)?.userActivityChanged.features.version;
        // An error ends the subscription: it is reported as such, not as a missing push.
        await waitFor(() => sub.errors.length > 0 || last() === stored[i]!.version, { timeoutMs: 20_000, what: `${id}'s push of version ${stored[i]!.version}` }).catch((e: Error) => {
          throw new Error(`${e.message}; pushed versions ${sub.events.map((ev) => ev.userActivityChanged.features.version).join(',')}`);
        });
        expect(sub.errors).toEqual([]);
        expect(sub.events.length, `${id}: pushes after the kills`).toBeGreaterThan(versionsAtKill.get(id)!);
        const versions = sub.events.map((e) => e.userActivityChanged.features.version);
        versions.slice(1).forEach((v, j) => expect(v, `${id}: versions ${versions.join(',')}`).toBeGreaterThan(versions[j]!));
      }
    } finally {
      await store.close();
      for (const s of subs.values()) s.stop();
      await ws.client.dispose();
    }
    console.info(
      `scale-out: ${sent.length} sends (${events.length} events, ${expected.size} users); replica promoted ${promotedAt - killedAt} ms after the kills (${failoverReads} reads meanwhile), ` +
        `last POST ${postedAt - killedAt} ms after them, everything committed ${processedAt - postedAt} ms after it`,
    );
  }
});
