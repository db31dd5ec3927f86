import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  it('defaults to embedded in-process adapters on loopback when no server is named', () => {
    const c = loadConfig({}, {});
    expect(c.adapters).toBe('memory');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 4001 });
    expect(c.roles).toEqual(['api']);
    expect(c.features.halfLifeMs).toBe(7 * 86_400_000);
    expect(c.features.tiers).toEqual({ platinumMin: 95, goldAbove: 80, silverMin: 40 });
  });

  it('uses the real servers when they are named, and needs all three', () => {
    const servers = { REDIS_URL: 'redis://127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:2, 127.0.0.1:3', MONGO_URL: 'mongodb://127.0.0.1:4' };
    const c = loadConfig({}, servers);
    expect(c.adapters).toBe('servers');
    expect(c.kafka.brokers).toEqual(['127.0.0.1:2', '127.0.0.1:3']);
    expect(() => loadConfig({}, { REDIS_URL: 'redis://127.0.0.1:1' })).toThrow(/KAFKA_BROKERS, MONGO_URL/);
  });

  it('waits for one replica on a Redis Cluster by default, none on a single node, and keeps WAIT inside the command deadline', () => {
    const rest = { KAFKA_BROKERS: '127.0.0.1:2', MONGO_URL: 'mongodb://127.0.0.1:4' };
    const cluster = { ...rest, REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' };
    expect(loadConfig({}, { ...rest, REDIS_URL: 'redis://127.0.0.1:1' }).redis.waitReplicas).toBe(0);
    expect(loadConfig({}, cluster).redis).toMatchObject({ waitReplicas: 1, waitTimeoutMs: 500 });
    expect(loadConfig({}, { ...cluster, REDIS_WAIT_REPLICAS: '0' }).redis.waitReplicas).toBe(0);
    expect(() => loadConfig({}, { ...cluster, REDIS_WAIT_TIMEOUT_MS: '1000' })).toThrow(/REDIS_WAIT_TIMEOUT_MS \(1000\) must be below REDIS_COMMAND_TIMEOUT_MS/);
  });

  it('sizes the processor’s fetches: 4 MiB a partition by default, at least 1 KiB', () => {
    expect(loadConfig({}, {}).processor.fetchBytes).toBe(4 * 1024 * 1024);
    expect(loadConfig({}, { PROCESSOR_FETCH_BYTES: '32768' }).processor.fetchBytes).toBe(32_768);
    expect(() => loadConfig({}, { PROCESSOR_FETCH_BYTES: '512' })).toThrow(/PROCESSOR_FETCH_BYTES/);
  });

  it('reads the idle TTL as a duration: 30 days by default, seconds for tests, never below a second', () => {
    expect(loadConfig({}, {}).redis.idleTtlMs).toBe(30 * 86_400_000);
    expect(loadConfig({}, { REDIS_IDLE_TTL: '5s' }).redis.idleTtlMs).toBe(5_000);
    expect(loadConfig({}, { REDIS_IDLE_TTL: '12h' }).redis.idleTtlMs).toBe(12 * 3_600_000);
    expect(() => loadConfig({}, { REDIS_IDLE_TTL: '30' })).toThrow(/REDIS_IDLE_TTL/);
    expect(() => loadConfig({}, { REDIS_IDLE_TTL: '500ms' })).toThrow(/REDIS_IDLE_TTL/);
  });

  it('expands roles, lets flags override the environment, and names a bad variable', () => {
    expect(loadConfig({ ROLES: 'all' }, { ROLES: 'api' }).roles).toEqual(['api', 'processor', 'sync', 'collector']);
    expect(loadConfig({ ROLES: undefined }, { ROLES: 'sync,api' }).roles).toEqual(['sync', 'api']);
    expect(() => loadConfig({}, { ROLES: 'api,cron' })).toThrow(/ROLES: unknown role\(s\) cron/);
    expect(() => loadConfig({}, { PORT: 'http' })).toThrow(ConfigError);
  });

  it('shows the demo in embedded development only by default, and never sends demo traffic in production', () => {
    const servers = { REDIS_URL: 'redis://127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:2', MONGO_URL: 'mongodb://127.0.0.1:4' };
    expect(loadConfig({}, {}).demo).toEqual({ traffic: true, trafficRate: 3, page: true });
    expect(loadConfig({}, servers).demo).toEqual({ traffic: false, trafficRate: 3, page: true });
    expect(loadConfig({}, { ...servers, DEMO_TRAFFIC: 'on', DEMO_TRAFFIC_RATE: '0.5' }).demo).toMatchObject({ traffic: true, trafficRate: 0.5 });
    expect(loadConfig({}, { DEMO_TRAFFIC: 'off', DEMO_PAGE: 'off' }).demo).toMatchObject({ traffic: false, page: false });
    const prod = { ...servers, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), ROUTER_SECRET: 'none' };
    expect(loadConfig({}, prod).demo).toMatchObject({ traffic: false, page: false });
    expect(loadConfig({}, { ...prod, DEMO_PAGE: 'on' }).demo.page).toBe(true);
    expect(() => loadConfig({}, { ...prod, DEMO_TRAFFIC: 'on' })).toThrow(/DEMO_TRAFFIC=on is for development/);
  });

  it('lets the live page send through the collector: its origin is allowed unless an allow-list is given', () => {
    expect(loadConfig({}, { PORT: '4101' }).collector.corsOrigins).toEqual(['http://127.0.0.1:4101', 'http://localhost:4101']);
    expect(loadConfig({}, { COLLECTOR_CORS_ORIGINS: 'https://shop.example' }).collector.corsOrigins).toEqual(['https://shop.example']);
    expect(loadConfig({}, { DEMO_PAGE: 'off' }).collector.corsOrigins).toEqual([]);
  });

  it('refuses in-process adapters in production', () => {
    expect(() => loadConfig({}, { NODE_ENV: 'production' })).toThrow(/development only/);
  });

  it('fails closed in production: a router secret is required (none opts out), tokens need exp, metrics stay on loopback', () => {
    const prod = { NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:2', MONGO_URL: 'mongodb://127.0.0.1:4', JWT_SECRET: 'x'.repeat(32) };
    expect(() => loadConfig({}, prod)).toThrow(/production needs ROUTER_SECRET .* set ROUTER_SECRET=none/);
    expect(() => loadConfig({}, { ...prod, ROUTER_SECRET: 'short' })).toThrow(/ROUTER_SECRET/);
    const optedOut = loadConfig({}, { ...prod, ROUTER_SECRET: 'none' });
    expect(optedOut.auth).toMatchObject({ routerSecret: undefined, requireExpiry: true });
    expect(loadConfig({}, { ...prod, ROUTER_SECRET: 'r'.repeat(16) }).auth.routerSecret).toBe('r'.repeat(16));
    expect(optedOut.metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({}, {}).auth.requireExpiry).toBe(false);
  });

  it('reads the collector’s app keys from the variable and from a file, and refuses a malformed pair', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uas-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, 'ios=ios-key-0123\n\nandroid=droid-key-4567\n');
    const c = loadConfig({}, { COLLECTOR_APP_KEYS: 'web=web-key-0123', COLLECTOR_APP_KEYS_FILE: file });
    expect(c.collector.appKeys).toEqual({ 'web-key-0123': 'web', 'ios-key-0123': 'ios', 'droid-key-4567': 'android' });
    expect(() => loadConfig({}, { COLLECTOR_APP_KEYS: 'web=short' })).toThrow(/COLLECTOR_APP_KEYS: "web=…" is not app=key/);
    expect(() => loadConfig({}, { COLLECTOR_APP_KEYS_FILE: join(dir, 'missing') })).toThrow(/COLLECTOR_APP_KEYS_FILE: cannot read/);
    const prod = { NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:2', MONGO_URL: 'mongodb://127.0.0.1:4', JWT_SECRET: 'x'.repeat(32), ROUTER_SECRET: 'none' };
    expect(() => loadConfig({}, { ...prod, ROLES: 'collector' })).toThrow(/the collector needs COLLECTOR_APP_KEYS/);
    expect(loadConfig({}, { ...prod, ROLES: 'api' }).roles).toEqual(['api']);
  });

  it('reads the recommendation bounds and refuses anchors beyond the recent items', () => {
    const c = loadConfig({}, { RECS_ANCHORS: '5', RECS_NEIGHBOURS: '20', TRENDING_HALF_LIFE_HOURS: '2', RECOMMENDATIONS: 'off' });
    expect(c.recommendations).toMatchObject({ enabled: false, anchors: 5, neighbours: 20, maxLimit: 50, trendingHalfLifeMs: 7_200_000 });
    expect(() => loadConfig({}, { RECS_ANCHORS: '21' })).toThrow(/RECS_ANCHORS \(21\) cannot exceed RECENT_ITEMS \(20\)/);
    expect(() => loadConfig({}, { RECS_MAX_LIMIT: '5' })).toThrow(/RECS_MAX_LIMIT/);
  });
});
