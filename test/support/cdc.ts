/**
 * The CDC servers for tests: `scripts/services.sh up cdc` (PostgreSQL with the
 * legacy table, Kafka Connect with Debezium), a pg client on the `legacy`
 * database, rows of `user_activity` and their meaning as activity events,
 * and connectors registered over Connect's REST API from the checked-in
 * deploy/debezium/user-activity.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parseEnvLines, services } from '../../src/dev/local-services.js';
import type { ActivityEvent, ActivityType } from '../../src/features/activity.js';
import { ROOT } from './service-process.js';
import { waitFor } from './wait-for.js';

export interface CdcServers {
  readonly postgresUrl: string;
  readonly connectUrl: string;
}

export { services };

/**
 * Starts (or restarts, fresh) PostgreSQL and Kafka Connect; Kafka must be up
 * (the tests' global setup). `offsetFlushMs`: how often Connect records its
 * source offsets, which is how much a killed worker re-sends.
 */
export async function startCdcServers(o: { offsetFlushMs?: number } = {}): Promise<CdcServers> {
  if (o.offsetFlushMs !== undefined) process.env.UAS_CONNECT_OFFSET_FLUSH_MS = String(o.offsetFlushMs);
  await services('up', 'cdc');
  const env = parseEnvLines(await services('env'));
  return { postgresUrl: env.POSTGRES_URL!, connectUrl: env.KAFKA_CONNECT_URL! };
}

/** Legacy activity types (CDC_TYPE_MAP's defaults) and whether a row of the type carries a product. */
export const LEGACY_TYPES: readonly (readonly [string, ActivityType, 'product' | 'maybe' | 'none'])[] = [
  ['VIEW_PRODUCT', 'VIEW', 'product'],
  ['CLICK_PRODUCT', 'CLICK', 'product'],
  ['CART_ADD', 'ADD_TO_CART', 'product'],
  ['ORDER_PLACED', 'PURCHASE', 'product'],
  ['LIKE_PRODUCT', 'LIKE', 'maybe'],
  ['SIGN_IN', 'LOGIN', 'none'],
];

export interface LegacyRow {
  readonly userId: number;
  readonly type: string;
  readonly productId: number | null;
  /** Epoch ms (whole ms: `timestamp` keeps µs, Debezium's `connect` precision gives ms). */
  readonly at: number;
}

/** Inserts `rows` in one statement (one transaction); returns their ids in order. */
export async function insertRows(db: pg.ClientBase, rows: readonly LegacyRow[]): Promise<number[]> {
  const res = await db.query<{ id: string }>(
    `INSERT INTO user_activity (user_id, activity_type, product_id, activity_timestamp)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::timestamp[]) RETURNING id`,
    [rows.map((r) => r.userId), rows.map((r) => r.type), rows.map((r) => r.productId), rows.map((r) => new Date(r.at).toISOString().replace('Z', ''))],
  );
  return res.rows.map((r) => Number(r.id));
}

/** What the service makes of a row as it was inserted (later updates and deletes change nothing). */
export function rowEvent(id: number, row: LegacyRow): ActivityEvent {
  const type = LEGACY_TYPES.find(([legacy]) => legacy === row.type)![1];
  return { eventId: String(id), userId: String(row.userId), type, ...(row.productId === null ? {} : { itemId: String(row.productId) }), occurredAt: row.at, source: 'cdc' };
}

/** Kills the Connect worker with SIGKILL (no offset flush, no goodbye) and waits until it is gone. */
export async function killConnect(): Promise<void> {
  const pid = Number(/^connect\s+running\s+pid=(\d+)/m.exec(await services('status'))?.[1]);
  if (!pid) throw new Error('Kafka Connect is not running');
  process.kill(pid, 'SIGKILL');
  await waitFor(
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 10_000, what: `Connect (pid ${pid}) to be gone` },
  );
}

export const connectDb = async (url: string): Promise<pg.Client> => {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  return db;
};

/** The recommended connector config with this test's topic prefix, slot and converter setting. */
export function connectorConfig(o: { prefix: string; schemas: boolean; postgresPort: number }): Record<string, string> {
  const { config } = JSON.parse(readFileSync(join(ROOT, 'deploy/debezium/user-activity.json'), 'utf8')) as { config: Record<string, string> };
  return {
    ...config,
    'database.port': String(o.postgresPort),
    'topic.prefix': o.prefix,
    'slot.name': o.prefix.replace(/[^a-z0-9_]/g, '_'),
    'key.converter.schemas.enable': String(o.schemas),
    'value.converter.schemas.enable': String(o.schemas),
  };
}

/** Creates or updates connector `name`, and waits until it and its task run. */
export async function putConnector(connectUrl: string, name: string, config: Record<string, string>): Promise<void> {
  const res = await fetch(`${connectUrl}/connectors/${name}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) }).catch(
    async (error: Error) => {
      // Say why the worker is not there: its state and its last log lines.
      throw new Error(`no Kafka Connect at ${connectUrl}: ${error.message}\n${await services('status')}\n${await services('logs', 'connect').catch(() => '')}`, { cause: error });
    },
  );
  if (res.status >= 300) throw new Error(`Connect refused ${name}: ${res.status} ${await res.text()}`);
  await waitFor(
    async () => {
      const status = await fetch(`${connectUrl}/connectors/${name}/status`);
      if (status.status !== 200) return false;
      const body = (await status.json()) as { connector: { state: string }; tasks: { state: string; trace?: string }[] };
      const failed = body.tasks.find((t) => t.state === 'FAILED');
      if (failed) throw new Error(`connector ${name} failed: ${failed.trace}`);
      return body.connector.state === 'RUNNING' && body.tasks.length > 0 && body.tasks.every((t) => t.state === 'RUNNING');
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `connector ${name} to run` },
  );
}

/** Deletes connector `name`, then its replication slot once PostgreSQL has let go of it. */
export async function dropConnector(connectUrl: string, db: pg.ClientBase, name: string, slot: string): Promise<void> {
  await fetch(`${connectUrl}/connectors/${name}`, { method: 'DELETE' });
  await waitFor(
    async () => {
      const r = await db.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (r.rows.length === 0) return true;
      if (r.rows[0]!.active) return false;
      await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `slot ${slot} to be dropped` },
  );
}
