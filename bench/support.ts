/** Shared helpers for benchmarks: servers, isolated config, timing and reporting. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request, type Agent } from 'node:http';
import os from 'node:os';
import type { Consumer } from 'kafkajs';
import { loadConfig, type Config } from '../src/config.js';
import { startLocalServices } from '../src/dev/local-services.js';
import { isolatedEnv } from '../test/support/processor-harness.js';

/** The servers named in the environment, or the local ones started for the run. */
export async function benchServers(): Promise<{ REDIS_URL: string; KAFKA_BROKERS: string; MONGO_URL: string }> {
  const e = process.env;
  if (e.REDIS_URL && e.KAFKA_BROKERS && e.MONGO_URL) return { REDIS_URL: e.REDIS_URL, KAFKA_BROKERS: e.KAFKA_BROKERS, MONGO_URL: e.MONGO_URL };
  const env = await startLocalServices();
  return { REDIS_URL: env.REDIS_URL!, KAFKA_BROKERS: env.KAFKA_BROKERS!, MONGO_URL: env.MONGO_URL! };
}

export function benchConfig(servers: Record<string, string>, extra: Record<string, string> = {}): Config {
  return loadConfig({ ...servers, LOG_LEVEL: 'silent', ...isolatedEnv(`bench-${randomUUID().slice(0, 8)}`), ...extra }, {});
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** CPU time this process used during `run`, as a share of one core. */
export async function withCpu<T>(run: () => Promise<T>): Promise<{ result: T; wallMs: number; cpuShare: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { result, wallMs, cpuShare: (used.user + used.system) / 1000 / wallMs };
}

/**
 * Node flags a processor runs with (`npm run start:processor`): young
 * generation semi-spaces of 64 MB instead of 16 make scavenging, about a
 * quarter of its CPU at full speed, rarer (each event allocates its Kafka
 * record, its parse and its script arguments, all short-lived). Only the
 * processor: the API's memory per subscriber is a target of its own.
 */
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** Runs `script` with node, as production does: compiled JavaScript, or TypeScript through tsx for bench helpers. */
export async function startServer(script: string, env: Record<string, string>, ready = /GraphQL: (http:\/\/\S+)/): Promise<{ url: string; child: ChildProcess }> {
  const args = script.endsWith('.ts') ? ['--import', 'tsx', script] : [script];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, child };
}

/**
 * Starts the baseline under a processor: a kafkajs consumer that only parses
 * each message and commits, reading `topic` from its beginning.
 */
export async function startBareConsumer(consumer: Consumer, topic: string): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (p) => {
      for (const m of p.batch.messages) JSON.parse(m.value!.toString());
      p.resolveOffset(p.batch.lastOffset());
      await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
    },
  });
}

/** The app key the benchmarks' collectors accept, with limits set out of reach. */
export const BENCH_APP_KEY = 'bench-app-key-0123';
/** What a collector role prints once it listens: its events URL. */
export const COLLECTOR_READY = /Collector: (http:\/\/\S+)/;
export const benchCollectorEnv = { COLLECTOR_APP_KEYS: `bench=${BENCH_APP_KEY}`, COLLECTOR_RATE_PER_APP: '100000000', COLLECTOR_RATE_PER_IP: '100000000' };

/** One POST of the JSON `body` to a collector on a keep-alive connection of `agent`; rejects unless 202. */
export function postEvents(url: URL, agent: Agent, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'x-app-key': BENCH_APP_KEY, 'content-length': Buffer.byteLength(body) };
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`collector answered ${res.statusCode}`))));
    });
    req.once('error', reject);
    req.end(body);
  });
}
