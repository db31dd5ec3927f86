/**
 * bench/push: event produced → subscriber received, end to end through Kafka,
 * the processor, Redis, the feature-updates topic and graphql-ws.
 *
 * The API and the processor run compiled, each in its own process. This
 * process opens N subscribers (one socket each, from several loopback source
 * addresses), each subscribed to its own user, then produces R events/s to
 * random subscribed users for D seconds, stamping `occurredAt` with the send
 * time; a subscriber's latency is its receive time minus the `lastActivity.at`
 * it was pushed. Cases: 1k and 10k subscribers at 1k and 5k events/s. The API's
 * RSS is read at 0, 1k and 10k subscribers, to estimate how many one instance
 * holds within 1 GB.
 *
 * With `--via collector` the events are POSTed to a collector role instead,
 * 10 to a request over 16 keep-alive connections, each answered 202 once
 * Kafka has them: the freshness a sender sees, from its POST to the push.
 * Either way, a bare kafkajs consumer of the activity topic, in a group of
 * its own, measures the same events' time to reach a consumer at all: the
 * floor under the push, in the same run.
 *
 * With `--memory 10000,50000` it only opens subscribers, idle, and reads the
 * API's RSS per subscriber at each count with real sockets (push-memory.ts);
 * `--per-socket N` puts N subscriptions on each socket (as a router does).
 *
 * Each case sends for `--warmup` seconds (default 2) before the `--seconds`
 * it counts; what arrives during the warm-up is dropped.
 *
 *   npm run bench -- push [--seconds 10] [--warmup 2] [--subscribers 1000,10000] [--rates 1000,5000] [--via kafka|collector]
 *   npm run bench -- push --memory 10000,50000 [--per-socket 1]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { createKafka, ensureTopics, serviceTopics } from '../src/ingest/kafka.js';
import { measureMemory } from './push-memory.js';
import { createLogger } from '../src/observability/logger.js';
import { COLLECTOR_READY, PROCESSOR_NODE_FLAGS, benchCollectorEnv, benchConfig, benchServers, machine, postEvents, startServer } from './support.js';
import { percentile } from './summary.js';

const JWT_SECRET = 'bench-secret-that-is-at-least-32-bytes';
const ROUTER_SECRET = 'bench-router-secret-0123';
const POST_BATCH = 10;
const QUERY = `subscription ($id: ID!) { userActivityChanged(userId: $id) { features { version lastActivity { at } } } }`;

/** The processor role: it prints no address, so it is not waited for (the API's snapshot waits on Kafka anyway). */
function startProcessor(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [...PROCESSOR_NODE_FLAGS, 'dist/main.js', '--role', 'processor'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** A WebSocket class that spreads sockets over 127.0.0.2–9, so no source address runs out of ports. */
let socketCount = 0;
class SpreadWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { localAddress: `127.0.0.${2 + (socketCount++ % 8)}` });
  }
}

/**
 * A bare consumer of `topic` in a group of its own, from the latest offsets: each event's time from
 * its `occurredAt` (stamped when sent) to reaching a consumer, the floor under any push.
 */
async function kafkaFloor(kafka: ReturnType<typeof createKafka>, topic: string) {
  const consumer = kafka.consumer({ groupId: `bench-push-floor-${process.pid}`, maxWaitTimeInMs: 100 });
  const latencies: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = (JSON.parse(message.value!.toString()) as { occurredAt: number }).occurredAt;
      latencies.push(Date.now() - at);
    },
  });
  await joined;
  return { consumer, latencies };
}

/** Sends messages as a sender would: POSTs of `POST_BATCH` events, in parallel, each resolved on its 202. */
function postTo(url: string): (messages: { value: string }[]) => Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const target = new URL(url);
  return async (messages) => {
    const posts: Promise<void>[] = [];
    for (let i = 0; i < messages.length; i += POST_BATCH) posts.push(postEvents(target, agent, `[${messages.slice(i, i + POST_BATCH).map((m) => m.value).join(',')}]`));
    await Promise.all(posts);
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, warmup: { type: 'string' }, subscribers: { type: 'string' }, rates: { type: 'string' }, via: { type: 'string' }, memory: { type: 'string' }, 'per-socket': { type: 'string' } },
    allowPositionals: true,
  });
  const via = values.via ?? 'kafka';
  if (via !== 'kafka' && via !== 'collector') throw new Error(`--via kafka or --via collector, not ${via}`);
  const seconds = Number(values.seconds ?? 10);
  const warmup = Number(values.warmup ?? 2);
  const counts = (values.subscribers ?? '1000,10000').split(',').map(Number);
  const rates = (values.rates ?? '1000,5000').split(',').map(Number);

  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const servers = await benchServers();
  const config = benchConfig(servers);
  const logger = createLogger('silent');
  const kafka = createKafka(config.kafka, logger);
  await ensureTopics(kafka, serviceTopics(config.kafka.topics));
  const t = config.kafka.topics;
  const env = {
    ...servers, REDIS_KEY_PREFIX: config.redis.keyPrefix, TOPIC_ACTIVITY: t.activity, TOPIC_ACTIVITY_RETRY: t.activityRetry,
    TOPIC_ACTIVITY_DLQ: t.activityDlq, TOPIC_PROFILE: t.profile, TOPIC_FEATURE_UPDATES: t.featureUpdates, TOPIC_CDC: t.cdc,
    PROCESSOR_GROUP: config.processor.groupId, JWT_SECRET, ROUTER_SECRET, NODE_ENV: 'production', PORT: '0', METRICS_PORT: '0',
    WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '10',
    COLLECTOR_PORT: '0', ...benchCollectorEnv,
  };
  const token = await new SignJWT({ scope: 'activity:read:any' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('6h').sign(Buffer.from(JWT_SECRET));
  if (values.memory) {
    const api = await startServer('dist/main.js', { ...env, ROLES: 'api' });
    try {
      const result = await measureMemory({
        wsUrl: api.url.replace('http://', 'ws://'), apiPid: api.child.pid!, query: QUERY,
        connectionParams: { authorization: `Bearer ${token}`, 'router-authorization': ROUTER_SECRET },
        counts: values.memory.split(',').map(Number), perSocket: Number(values['per-socket'] ?? 1),
      });
      process.stdout.write(`${JSON.stringify({ bench: 'push', mode: 'memory', machine: machine(), ...result }, null, 2)}\n`);
    } finally {
      api.child.kill('SIGTERM');
    }
    process.exit(0);
  }
  const processor = startProcessor(env);
  const api = await startServer('dist/main.js', { ...env, ROLES: 'api' });
  const collector = via === 'collector' ? await startServer('dist/main.js', { ...env, ROLES: 'collector' }, COLLECTOR_READY) : undefined;
  const floor = await kafkaFloor(kafka, t.activity);
  const wsUrl = api.url.replace('http://', 'ws://');

  const latencies: number[] = [];
  let measuring = false;
  const clients: Client[] = [];
  const rss: Record<string, number> = { subscribers0: Math.round(rssMb(api.child.pid!)) };
  let ready = 0;
  /** Why subscribers ended, by message: a subscriber that never got its snapshot says so here. */
  const failures = new Map<string, number>();
  const failed = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
  // A close event (code, reason), an error event (message, error) or an Error.
  const describe = (e: unknown) => {
    const { code, reason, message, error } = (e ?? {}) as { code?: number; reason?: string; message?: string; error?: { code?: string } };
    return [code, reason, message, error?.code].filter((x) => x !== undefined && x !== '').join(' ') || String(e);
  };
  async function openSubscribers(total: number): Promise<void> {
    for (let i = clients.length; i < total; i++) {
      const client = createClient({
        url: wsUrl, webSocketImpl: SpreadWebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}`, 'router-authorization': ROUTER_SECRET },
        onNonLazyError: (e) => failed(`socket: ${describe(e)}`),
      });
      clients.push(client);
      let first = true;
      client.subscribe<{ userActivityChanged: { features: { lastActivity: { at: string } | null } } }>(
        { query: QUERY, variables: { id: `b${i}` } },
        {
          next: ({ data }) => {
            if (first) {
              first = false;
              ready++;
              return;
            }
            const at = data?.userActivityChanged.features.lastActivity?.at;
            if (measuring && at) latencies.push(Date.now() - Date.parse(at));
          },
          error: (e) => failed(`subscription: ${Array.isArray(e) ? (e as { message: string }[]).map((x) => x.message).join('; ') : e instanceof Error ? e.message : JSON.stringify(e)}`),
          complete: () => undefined,
        },
      );
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50)); // pace the handshakes
    }
    const deadline = Date.now() + 120_000;
    while (ready < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (ready < total) process.stderr.write(`only ${ready} of ${total} subscribers got their snapshot; ended: ${JSON.stringify(Object.fromEntries(failures))}\n`);
    rss[`subscribers${total}`] = Math.round(rssMb(api.child.pid!));
  }

  const producer = kafka.producer();
  await producer.connect();
  const send = collector ? postTo(collector.url) : (messages: { key: string; value: string }[]) => producer.send({ topic: t.activity, messages }).then(() => undefined);
  let eventId = 0;
  async function drive(rate: number, subscribers: number): Promise<Record<string, number>> {
    measuring = false;
    const tick = 20;
    const perTick = Math.max(1, Math.round((rate * tick) / 1000));
    // The first `warmup` seconds run at the same rate and are dropped (JIT, batch sizes settling, connections).
    const counted = Date.now() + warmup * 1000;
    const end = counted + seconds * 1000;
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    while (Date.now() < end) {
      const started = Date.now();
      if (!measuring && started >= counted) {
        latencies.length = 0;
        floor.latencies.length = 0;
        sent = 0;
        measuring = true;
      }
      const messages = Array.from({ length: perTick }, () => {
        const userId = `b${Math.floor(Math.random() * subscribers)}`;
        return { key: userId, value: JSON.stringify({ eventId: `push-${eventId++}`, userId, type: 'CLICK', itemId: 'i1', occurredAt: Date.now() }) };
      });
      // Open loop: a slow answer must not slow the next tick's events, only show in their latency.
      const sending = send(messages).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
      sent += perTick;
      await new Promise((r) => setTimeout(r, Math.max(0, tick - (Date.now() - started))));
    }
    await Promise.all(inFlight);
    await new Promise((r) => setTimeout(r, 2000)); // let the last pushes arrive
    measuring = false;
    return {
      subscribers, eventsPerSecTarget: rate, eventsSent: sent, pushesReceived: latencies.length, p50ms: percentile(latencies, 50), p99ms: percentile(latencies, 99),
      kafkaFloorP50ms: percentile(floor.latencies, 50), kafkaFloorP99ms: percentile(floor.latencies, 99),
    };
  }

  const cases: Record<string, number>[] = [];
  try {
    for (const count of counts) {
      await openSubscribers(count);
      for (const rate of rates) {
        const result = await drive(rate, count);
        cases.push(result);
        process.stderr.write(`${JSON.stringify(result)}\n`);
      }
    }
  } finally {
    await producer.disconnect();
    await floor.consumer.disconnect();
    for (const c of clients) void c.dispose();
    collector?.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    processor.kill('SIGTERM');
  }
  const most = counts.at(-1)!;
  const perSubscriberKb = ((rss[`subscribers${most}`]! - rss.subscribers0!) * 1024) / most;
  process.stdout.write(`${JSON.stringify({
    bench: 'push',
    via,
    machine: machine(),
    secondsPerCase: seconds,
    warmupSecondsDropped: warmup,
    cases,
    apiRssMb: rss,
    perSubscriberKb: Number(perSubscriberKb.toFixed(1)),
    estimatedSubscribersWithin1GbRss: Math.floor(((1024 - rss.subscribers0!) * 1024) / perSubscriberKb),
  }, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
