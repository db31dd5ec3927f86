/**
 * bench/entities: `_entities` latency (p50, p99) and req/s for 1 and 100
 * users, through the real HTTP stack (router secret, JWT, limits) over the
 * real Redis, in one run:
 *   - batched: one DataLoader batch, one Redis round trip per request;
 *   - per-key: the same service with a DataLoader batch size of 1, so one
 *     round trip per user (the baseline);
 *   - sequential: the same role whose store reads one user at a time, each
 *     waiting for the one before (bench/sequential-api.ts): what a resolver
 *     that awaits each user in turn costs;
 *   - batched with the L1 cache on;
 *   - a bare Apollo Server answering `{ __typename }`, the floor for 1 user.
 * Two queries: `score` (id, activityScore, tier: what a list page asks of
 * many users) and `features` (score plus version, last viewed item, recent
 * items and a window count). Each server runs in its own process; autocannon
 * drives it from this one: latency (p50, p99) with one connection, then
 * throughput (req/s) with C connections, D seconds each, after W seconds of
 * warm-up under load that are dropped (JIT, connection pools, Apollo's
 * document cache).
 *
 *   npm run bench -- entities [--connections 16] [--seconds 5] [--warmup 2]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import type { ActivityEvent } from '../src/features/activity.js';
import { connectRedis, createRedisUserStateStore } from '../src/stores/redis-user-state-store.js';
import { benchConfig, benchServers, machine, startServer } from './support.js';

const JWT_SECRET = 'bench-secret-that-is-at-least-32-bytes';
const ROUTER_SECRET = 'bench-router-secret-0123';
const USERS = 1000;

async function run(url: string, body: string, headers: Record<string, string>, connections: number, seconds: number) {
  const result = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, connections, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

/** A warm-up of `warmup` seconds (dropped), latency alone (one connection, no queueing), then throughput under `connections`. */
async function load(url: string, body: string, headers: Record<string, string>, connections: number, seconds: number, warmup: number) {
  await run(url, body, headers, connections, warmup);
  const latency = await run(url, body, headers, 1, seconds);
  const throughput = await run(url, body, headers, connections, seconds);
  return { p50ms: latency.latency.p50, p99ms: latency.latency.p99, reqPerSec: Math.round(throughput.requests.average) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { connections: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' } }, allowPositionals: true });
  const connections = Number(values.connections ?? 16);
  const seconds = Number(values.seconds ?? 5);
  const warmup = Number(values.warmup ?? 2);
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' }); // the service runs as `npm start` would run it
  const servers = await benchServers();
  const config = benchConfig(servers);

  const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 5000), keyPrefix: config.redis.keyPrefix, params: config.features });
  const now = Date.now();
  const events = new Map<string, ActivityEvent[]>();
  for (let u = 0; u < USERS; u++) {
    events.set(`u${u}`, Array.from({ length: 20 }, (_, i) => ({
      eventId: `u${u}-${i}`, userId: `u${u}`, type: i % 3 === 0 ? 'VIEW' : 'CLICK', itemId: `i${(u * 7 + i) % 300}`, category: `c${i % 6}`, occurredAt: now - i * 60_000,
    })));
  }
  await store.applyEvents(new Map([...events].map(([u, es]) => [u, es.map((event) => ({ event, arrivedAt: now }))])), now);
  await store.close();

  const jwt = await new SignJWT({ scope: 'activity:read:any' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('6h').sign(Buffer.from(JWT_SECRET));
  const headers = { 'router-authorization': ROUTER_SECRET, authorization: `Bearer ${jwt}` };
  const QUERIES = {
    score: 'id activityScore tier',
    features: 'id activityScore tier features { version lastViewedItem { id } recentItems { item { id } } counts(window: LAST_1H, type: VIEW) { count } }',
  };
  const body = (n: number, fields: string) =>
    JSON.stringify({
      query: `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${fields} } } }`,
      variables: { r: Array.from({ length: n }, (_, i) => ({ __typename: 'User', id: `u${(i * 37) % USERS}` })) },
    });
  const env = (extra: Record<string, string>) => ({
    ...servers, REDIS_KEY_PREFIX: config.redis.keyPrefix, ROLES: 'api', PORT: '0', METRICS_PORT: '0', JWT_SECRET, ROUTER_SECRET, NODE_ENV: 'production', ...extra,
  });

  const results: Record<string, unknown> = {};
  for (const [name, script, extra] of [
    ['batched', 'dist/main.js', {}],
    ['perKey', 'dist/main.js', { ENTITY_BATCH_SIZE: '1' }],
    ['sequential', 'bench/sequential-api.ts', {}],
    ['batchedWithL1', 'dist/main.js', { L1_CACHE_TTL_MS: '1000' }],
  ] as const) {
    const { url, child } = await startServer(script, env(extra));
    try {
      results[name] = {
        score1: await load(url, body(1, QUERIES.score), headers, connections, seconds, warmup),
        score100: await load(url, body(100, QUERIES.score), headers, connections, seconds, warmup),
        features1: await load(url, body(1, QUERIES.features), headers, connections, seconds, warmup),
        features100: await load(url, body(100, QUERIES.features), headers, connections, seconds, warmup),
      };
    } finally {
      child.kill('SIGTERM');
    }
  }
  const bare = await startServer('bench/bare-apollo.ts', {});
  try {
    results.bareApolloTypename = await load(bare.url, JSON.stringify({ query: '{ __typename }' }), {}, connections, seconds, warmup);
  } finally {
    bare.child.kill('SIGTERM');
  }
  type Case = Record<'score1' | 'score100' | 'features1' | 'features100', { reqPerSec: number }>;
  const r = results as Record<'batched' | 'perKey' | 'sequential' | 'batchedWithL1', Case> & { bareApolloTypename: { reqPerSec: number } };
  process.stdout.write(`${JSON.stringify({
    bench: 'entities',
    machine: machine(),
    connections,
    secondsPerCase: seconds,
    warmupSecondsDropped: warmup,
    ...results,
    ratios: {
      batchedOverPerKeyScore100: Number((r.batched.score100.reqPerSec / r.perKey.score100.reqPerSec).toFixed(2)),
      batchedOverPerKeyFeatures100: Number((r.batched.features100.reqPerSec / r.perKey.features100.reqPerSec).toFixed(2)),
      batchedOverSequentialScore100: Number((r.batched.score100.reqPerSec / r.sequential.score100.reqPerSec).toFixed(2)),
      batchedOverSequentialFeatures100: Number((r.batched.features100.reqPerSec / r.sequential.features100.reqPerSec).toFixed(2)),
      batchedScore1OverBareApollo: Number((r.batched.score1.reqPerSec / r.bareApolloTypename.reqPerSec).toFixed(2)),
      l1OverBatchedScore100: Number((r.batchedWithL1.score100.reqPerSec / r.batched.score100.reqPerSec).toFixed(2)),
    },
  }, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
