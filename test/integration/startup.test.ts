/**
 * Fault row 39: the service (every role: API, processor, sync) started before
 * Kafka is ready. It must not exit, must answer /health/live at once and
 * /health/ready 503 (naming Kafka) meanwhile, and must become ready once Kafka
 * is there: the processor's start retries as the API's does.
 *
 * The fault: the child's KAFKA_BROKERS is a loopback port nothing listens on,
 * and its topics do not exist. A missing topic alone would not do: this broker
 * auto-creates topics on a consumer's metadata request. Every connect is
 * refused until kafkajs' own retries run out and ours take over; once the
 * child has logged such a failed attempt, the test creates the topics and
 * opens a TCP proxy on that port to the real broker (which advertises its own
 * address, so only the bootstrap goes through the proxy). First, the retry
 * helper's contract on its own, without servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DecodeError, DependencyError, StoppedError } from '../../src/errors.js';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { createLogger } from '../../src/observability/logger.js';
import { configEnv, isolatedConfig } from '../support/processor-harness.js';
import { JWT_SECRET } from '../support/api-harness.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STEP = 'kafka: feature updates';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Forwards every connection on 127.0.0.1:`port` to `target`. */
async function startProxy(port: number, target: { host: string; port: number }): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }).listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

/** A lifecycle whose log lines can be read back. */
function recordingLifecycle(): { lifecycle: Lifecycle; logs: { msg: string; step?: string; attempt?: number }[] } {
  const logs: { msg: string; step?: string; attempt?: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as (typeof logs)[number]);
      done();
    },
  });
  return { lifecycle: new Lifecycle(pino({ level: 'info' }, stream)), logs };
}

describe('Lifecycle.retryUntilStopped', () => {
  const unavailable = () => new DependencyError('kafka', new Error('Connection error: connect ECONNREFUSED'));

  it('retries retriable failures with backoff, reporting them as pending, until one attempt succeeds', async () => {
    const { lifecycle, logs } = recordingLifecycle();
    let calls = 0;
    const pendingSeen: (string | undefined)[] = [];
    const result = lifecycle.retryUntilStopped('kafka: x', async () => {
      pendingSeen.push(lifecycle.pending.get('kafka: x'));
      if (++calls < 3) throw unavailable();
      return 'subscribed';
    }, { initialDelayMs: 5, maxDelayMs: 20 });
    expect(await result).toBe('subscribed');
    expect(calls).toBe(3);
    expect(pendingSeen).toEqual(['not started yet', 'kafka unavailable: Connection error: connect ECONNREFUSED', 'kafka unavailable: Connection error: connect ECONNREFUSED']);
    expect(lifecycle.pending.size).toBe(0);
    expect(logs.filter((l) => l.msg === 'start-up step failed; retrying').map((l) => [l.step, l.attempt])).toEqual([['kafka: x', 1], ['kafka: x', 2]]);
  });

  it('gives up at once on a failure that is not retriable', async () => {
    const { lifecycle, logs } = recordingLifecycle();
    let calls = 0;
    const error = new DecodeError('bad config');
    await expect(lifecycle.retryUntilStopped('x', async () => {
      calls++;
      throw error;
    }, { initialDelayMs: 5 })).rejects.toBe(error);
    expect(calls).toBe(1);
    expect(lifecycle.pending.size).toBe(0);
    expect(logs.map((l) => l.msg)).toEqual(['start-up step failed; not retriable']);
  });

  it('ends with a StoppedError as soon as the lifecycle stops, mid-backoff or mid-attempt, and calls fn no more', async () => {
    const { lifecycle } = recordingLifecycle();
    let backingOff = 0;
    const inBackoff = lifecycle.retryUntilStopped('backoff', async () => {
      backingOff++;
      throw unavailable();
    }, { initialDelayMs: 60_000, maxDelayMs: 60_000 });
    let signal: AbortSignal | undefined;
    const inAttempt = lifecycle.retryUntilStopped('attempt', (s) => {
      signal = s;
      return new Promise<never>(() => undefined);
    });
    await waitFor(() => backingOff === 1 && signal !== undefined, { what: 'both to be under way' });
    expect([...lifecycle.pending.keys()].sort()).toEqual(['attempt', 'backoff']);
    const started = Date.now();
    await lifecycle.stop();
    await expect(inBackoff).rejects.toBeInstanceOf(StoppedError);
    await expect(inAttempt).rejects.toBeInstanceOf(StoppedError);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(signal!.aborted).toBe(true);
    expect(backingOff).toBe(1);
    expect(lifecycle.pending.size).toBe(0);
    await expect(lifecycle.retryUntilStopped('late', async () => 'never')).rejects.toBeInstanceOf(StoppedError);
  });
});

/** `main --role all` as a child process with `env` on top of the base one; killed after the test if still running. */
function spawnService(env: Record<string, string>, cleanup: (() => Promise<void>)[]) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'all'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { child, output: '', exit: undefined as string | undefined };
  child.stdout!.on('data', (c: Buffer) => (run.output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (run.output += c.toString()));
  child.once('exit', (code, signal) => (run.exit = `exit ${code ?? signal}`));
  cleanup.push(async () => {
    if (run.exit !== undefined) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  return run;
}

/** Whether the child logged a failed start-up step `step` that it retries. */
const retriedStep = (output: string, step: string) =>
  output.split('\n').some((line) => line.includes('"start-up step failed; retrying"') && line.includes(`"step":"${step}"`));

describe('start-up with Kafka not ready (fault row 39)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  it('keeps running, reports not ready while Kafka is away, then becomes ready', async () => {
    const config = isolatedConfig();
    const [host, brokerPort] = config.kafka.brokers[0]!.split(':');
    const kafkaPort = await freePort();
    const httpPort = await freePort();
    const base = `http://127.0.0.1:${httpPort}`;

    const run = spawnService({ ...configEnv(config), KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`, PORT: String(httpPort) }, cleanup);
    const alive = () => {
      if (run.exit !== undefined) throw new Error(`the service ${run.exit}:\n${run.output.slice(-4000)}`);
      return true;
    };
    const retried = () => retriedStep(run.output, STEP);

    // Live as soon as the process is up (tsx compiles on start), long before kafkajs' first attempt gives up (~17 s).
    await waitFor(async () => alive() && (await get(`${base}/health/live`)).status === 200, { timeoutMs: 15_000, what: '/health/live to answer' });
    expect(retried()).toBe(false);
    const early = await get(`${base}/health/ready`);
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ ready: false, state: 'starting', checks: { redis: 'ok', mongodb: 'ok', [STEP]: 'not ready: not started yet' } });

    // kafkajs gives up on its own retries, ours log the failure and go on; the process stays up.
    await waitFor(() => alive() && retried(), { timeoutMs: 45_000, intervalMs: 100, what: 'a logged, retried start-up failure' });
    const failing = await get(`${base}/health/ready`);
    expect(failing.status).toBe(503);
    expect(failing.body).toMatchObject({ ready: false, state: 'starting' });
    expect((failing.body.checks as Record<string, string>)[STEP]).toMatch(/^not ready: .*ECONNREFUSED/);
    expect((await get(`${base}/health/live`)).status).toBe(200);

    // Lift the fault: the topics exist and the broker can be reached at the configured address.
    await ensureTopics(createKafka(config.kafka, createLogger('silent')), serviceTopics(config.kafka.topics));
    const proxy = await startProxy(kafkaPort, { host: host!, port: Number(brokerPort) });
    cleanup.push(() => proxy.close());
    // A retry that began just before the proxy listened fails after kafkajs' ~17 s, and the next one gets through.
    await waitFor(async () => alive() && (await get(`${base}/health/ready`)).status === 200, {
      timeoutMs: 60_000, intervalMs: 200, what: '/health/ready to turn 200',
    });
    expect((await get(`${base}/health/ready`)).body).toEqual({ ready: true, state: 'ready', checks: { redis: 'ok', mongodb: 'ok' } });
    expect(run.exit).toBeUndefined();

    // SIGTERM stops it (SIGKILL, in cleanup, only past the deadline). Apollo Server's own signal handler
    // re-raises SIGTERM once it has stopped, which may end the process before main's exit(0).
    run.child.kill('SIGTERM');
    await waitFor(() => run.exit !== undefined, { timeoutMs: 20_000, intervalMs: 50, what: 'the service to exit after SIGTERM' });
    expect(['exit 0', 'exit SIGTERM']).toContain(run.exit);
  }, 150_000);

  it('waits for a MongoDB that is not up yet instead of exiting, live and not ready meanwhile, then starts every role', async () => {
    const config = isolatedConfig();
    const mongo = new URL(config.mongo.url);
    const mongoPort = await freePort();
    const httpPort = await freePort();
    const run = spawnService({ ...configEnv(config), MONGO_URL: `mongodb://127.0.0.1:${mongoPort}`, PORT: String(httpPort) }, cleanup);
    await waitFor(() => {
      if (run.exit !== undefined) throw new Error(`the service ${run.exit}:\n${run.output.slice(-4000)}`);
      return retriedStep(run.output, 'mongodb: indexes');
    }, { timeoutMs: 45_000, intervalMs: 100, what: 'a logged, retried connection to MongoDB' });
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => (await get(`${base}/health/live`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 30_000, what: '/health/live to answer' });
    const waiting = await get(`${base}/health/ready`);
    expect(waiting.status).toBe(503);
    expect(waiting.body).toMatchObject({ ready: false, state: 'starting', checks: { redis: 'ok' } });
    const checks = waiting.body.checks as Record<string, string>;
    expect(checks.mongodb).not.toBe('ok');
    expect(checks['mongodb: indexes']).toMatch(/^not ready: /);
    const proxy = await startProxy(mongoPort, { host: mongo.hostname, port: Number(mongo.port) });
    cleanup.push(() => proxy.close());
    let last = '';
    await waitFor(async () => {
      const res = await get(`${base}/health/ready`).catch(() => ({ status: 0, body: {} }));
      last = JSON.stringify(res.body);
      return run.exit === undefined && res.status === 200;
    }, { timeoutMs: 60_000, intervalMs: 200, what: '/health/ready to turn 200' }).catch((error: unknown) => {
      throw new Error(`${String(error)}; last: ${last}\n${run.output.slice(-3000)}`);
    });
    expect(run.exit).toBeUndefined();
  }, 150_000);
});

describe('access defaults at start (fail closed)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });
  const failed = (run: { exit?: string; output: string }) => () => {
    if (run.exit !== undefined) throw new Error(`the service ${run.exit}:\n${run.output.slice(-4000)}`);
    return true;
  };

  it('refuses to start in production without a router secret, naming the variable', async () => {
    const run = spawnService({ ...configEnv(isolatedConfig()), NODE_ENV: 'production', JWT_SECRET, PORT: String(await freePort()) }, cleanup);
    await waitFor(() => run.exit !== undefined, { timeoutMs: 30_000, what: 'the service to exit' });
    expect(run.exit).not.toBe('exit 0');
    expect(run.output).toMatch(/production needs ROUTER_SECRET/);
  }, 60_000);

  it('starts in production with ROUTER_SECRET=none, logs that the router check is off, and serves metrics on their own port only', async () => {
    const [httpPort, metricsPort] = [await freePort(), await freePort()];
    const run = spawnService({ ...configEnv(isolatedConfig()), NODE_ENV: 'production', JWT_SECRET, ROUTER_SECRET: 'none', COLLECTOR_APP_KEYS: 'web=web-key-0123', PORT: String(httpPort), METRICS_PORT: String(metricsPort) }, cleanup);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => failed(run)() && (await get(`${base}/health/ready`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: 'ready' });
    expect(run.output.split('\n').filter((l) => l.includes('access is open'))).toEqual([expect.stringContaining('ROUTER_SECRET=none, so the router check is off')]);
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^uas_http_requests_total\{route="\/health\/ready",status="200"\} \d+$/m);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  }, 90_000);

  it('says in one line, in development without keys, that access is open', async () => {
    const httpPort = await freePort();
    const run = spawnService({ ...configEnv(isolatedConfig()), NODE_ENV: 'development', PORT: String(httpPort) }, cleanup);
    await waitFor(async () => failed(run)() && (await get(`http://127.0.0.1:${httpPort}/health/ready`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: 'ready' });
    const lines = run.output.split('\n').filter((l) => l.includes('access is open'));
    expect(lines).toEqual([expect.stringMatching(/development mode, access is open: no JWT key, so every caller is internal and reads every user; no router secret, so anyone may call/)]);
  }, 90_000);
});
