/** The collector role on a free loopback port over the real Kafka and Redis, and a client for it. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Config } from '../../src/config.js';
import { endOffsets, sum } from '../../src/ingest/offsets.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { startCollectorRole } from '../../src/roles/collector.js';
import { openEventLog } from '../../src/ingest/kafka.js';
import { configEnv } from './processor-harness.js';

export const APP_KEYS = 'web=web-key-0123,shop-app=app-key-4567';
export const WEB_KEY = 'web-key-0123';
export const APP_KEY = 'app-key-4567';

export interface RunningCollector {
  /** e.g. http://127.0.0.1:40123/v1/events */
  readonly eventsUrl: string;
  readonly metrics: Metrics;
  readonly lifecycle: Lifecycle;
  stop(): Promise<void>;
}

export async function startCollector(config: Config): Promise<RunningCollector> {
  const logger = createLogger('silent');
  const lifecycle = new Lifecycle(logger);
  const metrics = createMetrics();
  const url = await startCollectorRole({ ...config, collector: { ...config.collector, port: 0 } }, openEventLog(config, logger), lifecycle, logger, metrics);
  lifecycle.ready();
  return { eventsUrl: `${url}/v1/events`, metrics, lifecycle, stop: () => lifecycle.stop() };
}

export interface CollectorAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { accepted?: number; rejected?: { index: number; errors: { path: string; message: string }[] }[]; error?: string };
}

/** POSTs `body` (a value, sent as JSON, or raw text) as app `key`. */
export async function postEvents(url: string, body: unknown, opts: { key?: string | null; contentType?: string; origin?: string } = {}): Promise<CollectorAnswer> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  if (opts.key !== null) headers['x-app-key'] = opts.key ?? WEB_KEY;
  if (opts.origin) headers.origin = opts.origin;
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as CollectorAnswer['body'] };
}

/** Messages on `topic` so far: "nothing produced" is this number unchanged. */
export const messagesOn = async (kafka: Parameters<typeof endOffsets>[0], topic: string) => sum(await endOffsets(kafka, [topic]));

/** The collector as its own process (`main --role collector`), for what only a process shows: its RSS. */
export async function spawnCollector(config: Config, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'collector'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...configEnv(config), COLLECTOR_APP_KEYS: APP_KEYS, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /Collector: (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the collector exited with ${code}`)));
  });
  return {
    eventsUrl: url,
    /** Resident set size now, in bytes (Linux /proc). */
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    async stop() {
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}
