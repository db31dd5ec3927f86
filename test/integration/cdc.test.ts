/**
 * Real CDC: rows of the legacy PostgreSQL table through Debezium (pgoutput)
 * and Kafka Connect into the processor, with the checked-in connector config
 * (deploy/debezium/user-activity.json), under both converter settings.
 * Rows there before the connector arrive as snapshot reads; later inserts,
 * updates of counted rows, deletes (default replica identity: the `before`
 * image holds only the key) and their tombstones, and Connect killed with
 * SIGKILL and restarted (it re-sends from its last flushed offset), give exactly the reference model over
 * the distinct rows as inserted, with nothing dead-lettered. Rows span three
 * days, past the 24-hour dedupe horizon.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, serviceTopics } from '../../src/ingest/kafka.js';
import { endOffsets, sum } from '../../src/ingest/offsets.js';
import { createProcessor } from '../../src/ingest/processor.js';
import type { ActivityEvent } from '../../src/features/activity.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, createRedisUserStateStore } from '../../src/stores/redis-user-state-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';
import { connectDb, connectorConfig, dropConnector, insertRows, killConnect, LEGACY_TYPES, putConnector, rowEvent, services, startCdcServers, type CdcServers, type LegacyRow } from '../support/cdc.js';
import { expectSameState } from '../support/events.js';
import { isolatedConfig, random, readAll, referenceStates } from '../support/processor-harness.js';
import { unique } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const logger = createLogger('silent');
const DAY = 86_400_000;

/** `n` rows of `users` users over the last three days, the same for the same seed. */
function legacyRows(n: number, users: number, seed: number, now = Date.now()): LegacyRow[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    const [type, , product] = LEGACY_TYPES[Math.floor(next() * LEGACY_TYPES.length)]!;
    const productId = product === 'product' || (product === 'maybe' && next() < 0.5) ? 1 + Math.floor(next() * 300) : null;
    return { userId: 1 + Math.floor(next() * users), type, productId, at: now - Math.floor(next() * 3 * DAY) };
  });
}

/** Whether every user's state in `store` is the reference model's over `events` (the failure, if not). */
async function mismatch(store: UserStateStore, events: readonly ActivityEvent[], config: Config): Promise<string | undefined> {
  const expected = referenceStates(events, config.features);
  const users = [...expected.keys()];
  const states = await store.loadMany(users);
  try {
    users.forEach((id, i) => expectSameState(states[i], expected.get(id), 1e-9, { bookkeeping: false }));
    return undefined;
  } catch (error) {
    return (error as Error).message.slice(0, 500);
  }
}

describe('CDC from PostgreSQL through Debezium', () => {
  let cdc: CdcServers;
  let db: pg.Client;
  const postgresPort = () => Number(new URL(cdc.postgresUrl).port);

  beforeAll(async () => {
    // Connect records its offsets once a minute here: a worker killed within a test re-sends all it sent.
    cdc = await startCdcServers({ offsetFlushMs: 60_000 });
    db = await connectDb(cdc.postgresUrl);
  }, 600_000);

  afterAll(async () => {
    await db?.end();
    // Started for this file only: the rest of the run does not carry them.
    await services('down', 'cdc');
  }, 60_000);

  /** A processor over an isolated namespace whose CDC topic is `<prefix>.public.user_activity`. */
  async function pipeline(prefix: string, schemas: boolean) {
    const config = isolatedConfig({ TOPIC_CDC: `${prefix}.public.user_activity` });
    const kafka = createKafka(config.kafka, logger);
    await ensureTopics(kafka, serviceTopics(config.kafka.topics));
    const store = createRedisUserStateStore({ redis: connectRedis(config.redis.url, 1000), keyPrefix: config.redis.keyPrefix, params: config.features });
    await store.markOnline('test');
    const processor = createProcessor({ kafka, store, config, logger });
    await processor.start();
    const connector = connectorConfig({ prefix, schemas, postgresPort: postgresPort() });
    return {
      config,
      kafka,
      store,
      connector,
      register: () => putConnector(cdc.connectUrl, prefix, connector),
      /** Never throws: a failed clean-up must not hide what failed the test (it is logged instead). */
      close: async () => {
        try {
          await dropConnector(cdc.connectUrl, db, prefix, connector['slot.name']!);
          await processor.stop();
          await store.close();
        } catch (error) {
          console.error('[cdc] clean-up failed:', error);
        }
      },
    };
  }

  const awaitModel = async (store: UserStateStore, events: readonly ActivityEvent[], config: Config, what: string, timeoutMs = 120_000) => {
    let last: string | undefined;
    await waitFor(async () => (last = await mismatch(store, events, config)) === undefined, { timeoutMs, intervalMs: 500, what }).catch((error: Error) => {
      throw new Error(`${error.message}: ${last}`);
    });
  };

  for (const schemas of [false, true]) {
    it(`${schemas ? 'schema-wrapped' : 'plain'} JSON: snapshot, inserts, updates, deletes and Connect killed mid-stream give exactly the reference model`, async () => {
      await db.query('TRUNCATE user_activity RESTART IDENTITY');
      const prefix = unique(schemas ? 'cdcs' : 'cdcp');
      const events: ActivityEvent[] = [];
      const insert = async (rows: LegacyRow[]) => (await insertRows(db, rows)).forEach((id, i) => events.push(rowEvent(id, rows[i]!)));

      // Before the connector: read by its snapshot.
      await insert(legacyRows(2000, 40, schemas ? 11 : 12));
      const p = await pipeline(prefix, schemas);
      try {
        await p.register();
        await awaitModel(p.store, events, p.config, 'the snapshot to be applied');

        // Streaming: inserts in several transactions, updates of counted rows, deletes.
        for (let t = 0; t < 5; t++) await insert(legacyRows(150, 40, 100 + t));
        await db.query("UPDATE user_activity SET activity_type = 'ORDER_PLACED', product_id = 999 WHERE id % 10 = 3 AND id <= 2000");
        await db.query('DELETE FROM user_activity WHERE id % 10 = 7 AND id <= 2000');
        await awaitModel(p.store, events, p.config, 'the streamed rows to be applied');
        // Connect is killed mid-stream (kill -9: nothing flushed since it started) and started again with its
        // offsets file: it re-sends from its last recorded offset; rows written meanwhile wait in the slot.
        await killConnect();
        for (let t = 0; t < 2; t++) await insert(legacyRows(150, 40, 300 + t));
        await services('up', 'connect', '--keep-data');
        await p.register(); // a standalone worker keeps offsets, not connectors
        for (let t = 0; t < 3; t++) await insert(legacyRows(150, 40, 200 + t));
        await awaitModel(p.store, events, p.config, 'every row, once, after the restart');

        const messages = await readAll(p.kafka, p.config.kafka.topics.cdc);
        const ops = new Map<string, number>();
        const readOrCreated = new Set<string>();
        for (const m of messages) {
          const body = m.value === null ? null : (JSON.parse(m.value) as Record<string, unknown>);
          const envelope = (schemas ? body?.payload : body) as { op: string; after?: { id: number } | null } | null | undefined;
          const op = envelope ? envelope.op : 'tombstone';
          ops.set(op, (ops.get(op) ?? 0) + 1);
          if ((op === 'r' || op === 'c') && envelope?.after) readOrCreated.add(String(envelope.after.id));
          if (schemas && body) expect(body).toHaveProperty('schema');
        }
        console.log(`[cdc] ${schemas ? 'schema-wrapped' : 'plain'}: messages by op`, Object.fromEntries(ops));
        // Every change at least once: every row read or created, every update, delete and tombstone.
        // The killed worker had recorded no offset, so it snapshotted again: rows it had sent came twice.
        expect([...readOrCreated].sort()).toEqual(events.map((e) => e.eventId).sort());
        expect((ops.get('r') ?? 0) + (ops.get('c') ?? 0), 'a re-send after the kill').toBeGreaterThan(events.length);
        expect(ops.get('u')).toBeGreaterThanOrEqual(200);
        expect(ops.get('d')).toBeGreaterThanOrEqual(200);
        expect(ops.get('tombstone')).toBeGreaterThanOrEqual(200);
        // Key = user id: every row of a user is on one partition.
        const partitionOf = new Map<string, Set<number>>();
        for (const m of messages.filter((x) => x.value !== null)) {
          const body = JSON.parse(m.value!) as Record<string, unknown>;
          const after = ((schemas ? body.payload : body) as { after: { user_id: number } | null }).after;
          if (after) partitionOf.set(String(after.user_id), (partitionOf.get(String(after.user_id)) ?? new Set()).add(m.partition));
        }
        expect([...partitionOf.values()].every((parts) => parts.size === 1)).toBe(true);
        expect(partitionOf.size).toBe(40);
        // Nothing was dead-lettered: deletes, tombstones and updates were skipped or de-duplicated.
        expect(sum(await endOffsets(p.kafka, [p.config.kafka.topics.activityDlq]))).toBe(0);
        // And it stays so: the model still holds once everything has been read.
        expect(await mismatch(p.store, events, p.config)).toBeUndefined();
      } finally {
        await p.close();
      }
    }, 420_000);
  }

  it('applies 50,000 rows inserted in one transaction completely, and says how long COMMIT to the last update took', async () => {
    await db.query('TRUNCATE user_activity RESTART IDENTITY');
    const prefix = unique('cdcb');
    const p = await pipeline(prefix, false);
    try {
      await p.register();
      const rows = legacyRows(50_000, 500, 31);
      const events: ActivityEvent[] = [];
      await db.query('BEGIN');
      for (let i = 0; i < rows.length; i += 10_000) {
        const chunk = rows.slice(i, i + 10_000);
        (await insertRows(db, chunk)).forEach((id, j) => events.push(rowEvent(id, chunk[j]!)));
      }
      await db.query('COMMIT');
      const committed = Date.now();
      await awaitModel(p.store, events, p.config, 'the 50,000-row transaction to be applied', 180_000);
      const ms = Date.now() - committed;
      console.log(`[cdc] 50,000 rows in one transaction: COMMIT to every user's state applied in ${ms} ms`);
      expect(await mismatch(p.store, events, p.config)).toBeUndefined();
    } finally {
      await p.close();
    }
  }, 420_000);
});
