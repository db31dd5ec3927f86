/**
 * Subscriptions in tests: the API role as the service runs it (its own
 * feature-updates consumer, hub and graphql-ws server) on a free port, and a
 * graphql-ws client whose events can be awaited with a deadline.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Config } from '../../src/config.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { startApiRole } from '../../src/roles/api.js';
import { openEventLog } from '../../src/ingest/kafka.js';
import { openStores } from '../../src/stores/index.js';
import { ROUTER_SECRET } from './api-harness.js';
import { waitFor } from './wait-for.js';

export interface LiveApi {
  readonly url: string;
  readonly wsUrl: string;
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

export async function startLiveApi(config: Config): Promise<LiveApi> {
  const logger = createLogger('silent');
  const lifecycle = new Lifecycle(logger);
  const stores = await openStores(config, logger);
  // What a processor's start does (ingest/supervisor.ts): without a generation the API reads MongoDB only.
  if ((await stores.userStates.generation()) === undefined) await stores.userStates.markOnline('test');
  lifecycle.onStop('stores', () => stores.close());
  const metrics = createMetrics();
  const url = await startApiRole({ ...config, http: { host: '127.0.0.1', port: 0 } }, openEventLog(config, logger), stores, lifecycle, logger, metrics);
  lifecycle.ready();
  return { url, wsUrl: url.replace('http://', 'ws://'), metrics, stop: () => lifecycle.stop() };
}

export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client as a router or UI would open it; `closed` settles with the close event. */
export function wsClient(wsUrl: string, params: Record<string, unknown> = {}): { client: Client; closed: Promise<Closed> } {
  let onClosed: (c: Closed) => void = () => undefined;
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { 'router-authorization': ROUTER_SECRET, ...params },
    on: { closed: (event) => onClosed({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
    onNonLazyError: () => undefined,
  });
  return { client, closed };
}

export interface Received<T> {
  readonly events: T[];
  readonly errors: unknown[];
  /** Waits until `n` events have arrived. */
  count(n: number, timeoutMs?: number): Promise<T[]>;
  stop(): void;
}

export function subscribe<T>(client: Client, query: string, variables: Record<string, unknown> = {}): Received<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        if (value.data) events.push(value.data);
      },
      error: (error) => errors.push(...(Array.isArray(error) ? (error as unknown[]) : [error])),
      complete: () => undefined,
    },
  );
  return {
    events,
    errors,
    async count(n, timeoutMs = 20_000) {
      await waitFor(() => events.length >= n || errors.length > 0, { timeoutMs, what: `${n} subscription events` });
      if (errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      return events;
    },
    stop,
  };
}
