/**
 * Memory per user: Redis bytes (MEMORY USAGE of each of a user's keys) and
 * MongoDB bytes (the BSON size of the stored snapshot) at 10, 60, 100 and
 * 1,000 events a user, every arrival within one day, eventIds as clients send
 * them (UUIDs). The baseline is the older form of the dedupe memory in the
 * same run: the same ids with their arrivals as a sorted set (what Redis held
 * before the packed form) and as a JSON object in the snapshot.
 *
 *   npm run bench -- memory [--users 200]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BSON, MongoClient } from 'mongodb';
import { Redis } from 'ioredis';
import type { ActivityEvent } from '../src/features/activity.js';
import type { Delivery } from '../src/features/apply.js';
import { unpackSeen } from '../src/contracts/seen-ids.js';
import { redisKeys, userKeyList, type UserKeys } from '../src/stores/keys.js';
import { createMongoProfileStore } from '../src/stores/mongo-profile-store.js';
import { connectRedis, createRedisUserStateStore } from '../src/stores/redis-user-state-store.js';
import { benchConfig, benchServers, machine } from './support.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '200' } } });
const USERS = Number(values.users);
const PER_USER = [10, 60, 100, 1000];
const DAY = 86_400_000;
const TYPES = ['VIEW', 'VIEW', 'VIEW', 'CLICK', 'SEARCH', 'LIKE', 'ADD_TO_CART', 'PURCHASE', 'LOGIN'] as const;
const CATEGORIES = ['books', 'games', 'music', 'garden', 'tools', 'toys', 'food'];

const servers = await benchServers();
const config = benchConfig(servers);
const redis = new Redis(servers.REDIS_URL);
const store = createRedisUserStateStore({ redis: connectRedis(servers.REDIS_URL, 5000), keyPrefix: config.redis.keyPrefix, params: config.features });
const profiles = await createMongoProfileStore({ url: servers.MONGO_URL, db: config.mongo.db });
await profiles.init();
const mongo = new MongoClient(servers.MONGO_URL);
const documents = mongo.db(config.mongo.db).collection<{ _id: string; collections: string; seenIds?: unknown }>('user_profiles');

/** One user's day: `n` events, arrivals spread over the past day, a catalogue of 500 items. */
function day(userId: string, n: number, now: number, seed: number): Delivery[] {
  let x = seed;
  const rnd = () => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const arrivedAt = now - DAY + Math.floor(((i + rnd()) / n) * DAY);
    const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
    const event: ActivityEvent = {
      eventId: randomUUID(),
      userId,
      type,
      itemId: type === 'SEARCH' || type === 'LOGIN' ? undefined : `item-${Math.floor(rnd() * 500)}`,
      category: rnd() < 0.7 ? CATEGORIES[Math.floor(rnd() * CATEGORIES.length)] : undefined,
      occurredAt: arrivedAt - Math.floor(rnd() * 2000),
    };
    return { event, arrivedAt, source: `user-activity/${seed % 3}`, offset: i };
  });
}

const bytes = async (key: string) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
const PARTS: (keyof UserKeys)[] = ['state', 'seen', 'buckets', 'recent', 'recentIds', 'categories', 'offsets'];

const rows = [];
const now = Date.now();
for (const n of PER_USER) {
  const users = n >= 1000 ? Math.min(USERS, 50) : USERS;
  const parts = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<keyof UserKeys, number>;
  let oldSeen = 0;
  let keysPerUser = 0;
  let mongoNew = 0;
  let mongoOld = 0;
  for (let u = 0; u < users; u++) {
    const userId = `m${n}-${u}`;
    const deliveries = day(userId, n, now, u + 1);
    for (let i = 0; i < deliveries.length; i += 50) await store.applyEvents(new Map([[userId, deliveries.slice(i, i + 50)]]), now);
    const k = redisKeys(config.redis.keyPrefix).user(userId);
    for (const p of PARTS) parts[p] += await bytes(k[p]);
    keysPerUser += (await redis.exists(...userKeyList(k))) / users;
    // The older form, built from the same ids and arrivals: a sorted set of eventId → arrival (ms).
    const scratch = `${k.legacySeen}:bench`;
    const [snapshot] = await store.exportMany([userId]);
    const kept = unpackSeen(Buffer.from(snapshot!.seen, 'base64')).length;
    const legacy = deliveries.slice(-kept).map((d) => [d.event.eventId, d.arrivedAt] as const);
    await redis.zadd(scratch, ...legacy.flatMap(([id, at]) => [at, id]));
    oldSeen += await bytes(scratch);
    await redis.del(scratch);
    await profiles.upsertIfNewer({ userId, version: snapshot!.state.version, snapshot: snapshot!, updatedAt: now });
    const doc = (await documents.findOne({ _id: userId }))!;
    mongoNew += BSON.calculateObjectSize(doc);
    const older: Record<string, unknown> = { ...doc, collections: JSON.stringify({ ...JSON.parse(doc.collections), seen: Object.fromEntries(legacy) }) };
    delete older.seenIds;
    mongoOld += BSON.calculateObjectSize(older);
  }
  const per = (v: number) => Math.round(v / users);
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  rows.push({
    eventsPerUser: n,
    users,
    keysPerUser: Math.round(keysPerUser * 10) / 10,
    redisBytesPerUser: { packed: per(total), olderForm: per(total - parts.seen + oldSeen), ratio: Math.round((total / (total - parts.seen + oldSeen)) * 100) / 100 },
    redisBytesByPart: { ...Object.fromEntries(PARTS.map((p) => [p, per(parts[p])])), seenOlderForm: per(oldSeen) },
    mongoBytesPerSnapshot: { packed: per(mongoNew), olderForm: per(mongoOld) },
  });
}

process.stdout.write(`${JSON.stringify({ machine: machine(), method: 'MEMORY USAGE … SAMPLES 0 per key; BSON size of the stored document', rows }, null, 2)}\n`);
await Promise.all([store.close(), profiles.close(), mongo.close()]);
redis.disconnect();
