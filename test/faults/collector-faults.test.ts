/**
 * Fault row 6 for the collector: a private broker killed with kill -9 while
 * a sender keeps POSTing. The collector answers 503 (with Retry-After) and
 * turns not ready meanwhile, accepts again once the broker is back, and
 * every event it answered 202 for is on the topic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/ingest/kafka.js';
import { createLogger } from '../../src/observability/logger.js';
import { APP_KEYS, postEvents, startCollector } from '../support/collector-harness.js';
import { startPrivateServer } from '../support/private-server.js';
import { isolatedConfig, readAll } from '../support/processor-harness.js';
import { waitFor } from '../support/wait-for.js';

describe('the collector through a broker outage', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  it('row 6: answers 503 while the broker is down, 202 again after its restart, and loses no event it answered 202 for', async () => {
    const broker = await startPrivateServer('kafka');
    cleanup.push(() => broker.stop());
    const config = isolatedConfig({ KAFKA_BROKERS: broker.address, COLLECTOR_APP_KEYS: APP_KEYS, COLLECTOR_ACK_TIMEOUT_MS: '2000' });
    const collector = await startCollector(config);
    cleanup.push(() => collector.stop());
    const ready = async () => (await fetch(collector.eventsUrl.replace('/v1/events', '/health/ready'))).status;

    const acknowledged = new Set<string>();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let sending = true;
    let n = 0;
    // A sender of 10 events a request, one request at a time, for as long as the test runs.
    const sender = (async () => {
      while (sending) {
        const events = Array.from({ length: 10 }, () => ({ eventId: `o-${n++}`, userId: `u${n % 17}`, type: 'VIEW', itemId: 'sku-1', occurredAt: Date.now() }));
        const res = await postEvents(collector.eventsUrl, events).catch(() => ({ status: 0, headers: new Headers(), body: {} }));
        statuses.push(res.status);
        if (res.status === 202) for (const e of events) acknowledged.add(e.eventId);
        if (res.status === 503) retryAfter ??= res.headers.get('retry-after');
      }
    })();
    try {
      await waitFor(() => acknowledged.size >= 100, { timeoutMs: 30_000, what: '100 events acknowledged before the fault' });
      broker.kill9();
      const atKill = statuses.length;
      await waitFor(() => statuses.slice(atKill).filter((s) => s === 503).length >= 3, { timeoutMs: 60_000, what: 'three 503 answers while the broker is down' });
      expect(await ready()).toBe(503);
      await broker.restart();
      const atRestart = statuses.length;
      await waitFor(() => statuses.slice(atRestart).filter((s) => s === 202).length >= 5, { timeoutMs: 90_000, intervalMs: 100, what: '202 answers again after the restart' });
      await waitFor(async () => (await ready()) === 200, { timeoutMs: 30_000, what: 'ready again' });
    } finally {
      sending = false;
      await sender;
    }
    expect(retryAfter).toBe('1');
    expect(new Set(statuses.filter((s) => s !== 202 && s !== 503))).toEqual(new Set());
    const onTopic = new Set((await readAll(createKafka(config.kafka, createLogger('silent')), config.kafka.topics.activity, 60_000)).map((m) => (JSON.parse(m.value!) as { eventId: string }).eventId));
    const lost = [...acknowledged].filter((id) => !onTopic.has(id));
    expect(lost).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(150);
  }, 300_000);
});
