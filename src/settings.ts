/**
 * Every environment variable the service reads, declared once: where its
 * value lands in the {@link Config}, its default (as the text one would set),
 * the zod schema that parses it, and what it means. src/config.ts reads the
 * environment through this tree, the Config type is derived from it, and
 * the README's configuration table is generated from it
 * (`npm run config:docs`; `npm run lint` checks it is current).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ACTIVITY_TYPES, DEFAULT_WEIGHTS, type ActivityType } from './features/activity.js';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_RECOMMENDATION_PARAMS } from './features/params.js';
import { WINDOW_NAMES } from './features/windows.js';

export const ROLES = ['api', 'processor', 'sync', 'collector'] as const;
export type Role = (typeof ROLES)[number];

/** One environment variable. */
export interface Setting<T = unknown> {
  readonly env: string;
  /** The text used when the variable is unset; a function for a default known only at start. */
  readonly default: string | (() => string) | undefined;
  /** What the README shows as the default, where the text alone would mislead. */
  readonly shownDefault?: string | undefined;
  /** Parses the text (undefined: unset, no default). */
  readonly schema: z.ZodType<T>;
  readonly doc: string;
}

export interface SettingsTree {
  readonly [key: string]: Setting | SettingsTree;
}

/** Keys whose value may be undefined become optional. */
type Optional<O> = { readonly [K in keyof O as undefined extends O[K] ? never : K]: O[K] } & { readonly [K in keyof O as undefined extends O[K] ? K : never]?: O[K] };

/** The values a tree of settings parses to, in the tree's shape. */
export type Resolved<T> = Optional<{ [K in keyof T]: T[K] extends Setting<infer V> ? V : Resolved<T[K]> }>;

export const isSetting = (node: Setting | SettingsTree): node is Setting => typeof (node as Setting).env === 'string';

const setting = <T>(env: string, dflt: Setting['default'], schema: z.ZodType<T>, doc: string, shownDefault?: string): Setting<T> => ({
  env,
  default: dflt,
  schema,
  doc,
  shownDefault,
});

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const int = (min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS };
/** A duration such as `30d`, `12h`, `5s` or `250ms`, in milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a whole number and a unit: ms, s, m, h or d (e.g. 30d, 5s)')
  .transform((v) => Number(/^\d+/.exec(v)![0]) * UNIT_MS[/[a-z]+$/.exec(v)![0]]!)
  .refine((ms) => ms >= 1000, 'at least 1s');
const positive = z.coerce.number().positive();
const text = z.string();
const optional = z.string().optional();
const onOff = z.enum(['on', 'off']);
/** Loopback by default: this service never binds or dials anything else in dev and tests. */
const HOST = '127.0.0.1';

const roles = text.transform((value, ctx) => {
  const wanted = value === 'all' ? [...ROLES] : value.split(',').map((r) => r.trim());
  const unknown = wanted.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `unknown role(s) ${unknown.join(', ')}; use ${ROLES.join(', ')} or all` });
    return z.NEVER;
  }
  return [...new Set(wanted)] as readonly Role[];
});

const list = text.transform((v): readonly string[] => v.split(',').map((x) => x.trim()).filter(Boolean));

/** An optional comma list of `host:port`. */
const hostPorts = optional.transform((value, ctx): readonly string[] => {
  const nodes = (value ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  const bad = nodes.filter((n) => !/^[^\s:]+:\d{1,5}$/.test(n));
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `${bad.join(', ')}: expected host:port` });
    return z.NEVER;
  }
  return nodes;
});

/** `app=key` pairs, comma- or newline-separated: key → app. */
const appKeys = text.transform((value, ctx) => {
  const byKey: Record<string, string> = {};
  for (const pair of value.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
    const [app, key, extra] = pair.split('=').map((x) => x.trim());
    if (!app || !key || extra !== undefined || key.length < 8) {
      ctx.addIssue({ code: 'custom', message: `"${pair.replace(/=.*/, '=…')}" is not app=key with a key of at least 8 characters` });
      return z.NEVER;
    }
    byKey[key] = app;
  }
  return byKey;
});

/** `TYPE=weight` pairs over the default weights. */
const weights = text.transform((value, ctx) => {
  const out: Record<ActivityType, number> = { ...DEFAULT_WEIGHTS };
  for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
    const [type, weight] = pair.split('=').map((x) => x.trim());
    if (!(ACTIVITY_TYPES as readonly string[]).includes(type ?? '') || !Number.isFinite(Number(weight)) || weight === '') {
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not TYPE=number with TYPE one of ${ACTIVITY_TYPES.join(', ')}` });
      return z.NEVER;
    }
    out[type as ActivityType] = Number(weight);
  }
  return out;
});

const windowLengths = text.transform((value, ctx) => {
  const lengths = value.split(',').map(Number);
  if (lengths.length !== WINDOW_NAMES.length || lengths.some((n) => !Number.isInteger(n) || n <= 0)) {
    ctx.addIssue({ code: 'custom', message: `give ${WINDOW_NAMES.length} positive integers (ms) for ${WINDOW_NAMES.join(', ')}` });
    return z.NEVER;
  }
  return lengths;
});

/** `LEGACY=TYPE` pairs. */
const typeMap = text.transform((value, ctx) => {
  const out: Record<string, ActivityType> = {};
  for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
    const [legacy, type] = pair.split('=').map((x) => x.trim());
    if (!legacy || !(ACTIVITY_TYPES as readonly string[]).includes(type ?? '')) {
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not LEGACY=TYPE with TYPE one of ${ACTIVITY_TYPES.join(', ')}` });
      return z.NEVER;
    }
    out[legacy] = type as ActivityType;
  }
  return out;
});

const scaled = (unit: number) => positive.transform((n) => n * unit);
const F = DEFAULT_FEATURE_PARAMS;
const R = DEFAULT_RECOMMENDATION_PARAMS;

export const SETTINGS = {
  env: setting('NODE_ENV', 'development', z.enum(['development', 'test', 'production']), '`production` refuses in-process adapters, needs a JWT key and `ROUTER_SECRET`, refuses tokens without `exp`, turns introspection off; `development` logs one line saying what is open'),
  roles: setting('ROLES', 'api', roles, '`api`, `processor`, `sync`, `collector`, a comma list, or `all` (`--role` overrides)'),
  http: {
    host: setting('HOST', HOST, text, 'listen address of the API and the collector'),
    port: setting('PORT', '4001', int(), 'the API\'s HTTP port (`0` picks a free one)'),
  },
  metrics: {
    host: setting('METRICS_HOST', HOST, text, 'listen address of Prometheus `/metrics`, every role, apart from the API'),
    port: setting('METRICS_PORT', '9464', int(), 'its port (`0` picks a free one)'),
  },
  logLevel: setting('LOG_LEVEL', 'info', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'pino level'),
  adapters: setting('ADAPTERS', undefined, z.enum(['memory', 'servers']).optional(), '`memory`: in-process twins (embedded dev mode); `servers`: real Redis, Kafka, MongoDB', '`servers` if any server URL is set, else `memory`'),
  redis: {
    url: setting('REDIS_URL', undefined, z.url().optional().transform((v) => v ?? ''), 'e.g. `redis://127.0.0.1:61379`'),
    clusterNodes: setting(
      'REDIS_CLUSTER_NODES',
      undefined,
      hostPorts,
      'Redis Cluster seed nodes, comma list of `host:port` (any few of the cluster\'s nodes); when set, the service talks to the cluster (reads from masters) and `REDIS_URL` is not used',
    ),
    keyPrefix: setting('REDIS_KEY_PREFIX', 'uas:', text, 'prefix of every Redis key'),
    commandTimeoutMs: setting('REDIS_COMMAND_TIMEOUT_MS', '1000', int(), 'per-command deadline'),
    waitReplicas: setting(
      'REDIS_WAIT_REPLICAS',
      undefined,
      int(0, 16).optional(),
      'replicas of each master that must hold a batch\'s writes (`WAIT`) before its offsets are committed; a master with fewer connected replicas is waited for by those it has; `0` commits what only the master holds, which a failover can lose',
      '`1` with `REDIS_CLUSTER_NODES`, else `0`',
    ),
    waitTimeoutMs: setting('REDIS_WAIT_TIMEOUT_MS', '500', int(1), 'how long `WAIT` may take (below `REDIS_COMMAND_TIMEOUT_MS`); past it the batch fails and is retried'),
    idleTtlMs: setting(
      'REDIS_IDLE_TTL',
      '30d',
      duration,
      'a user untouched this long (no event, no restore) leaves Redis, once MongoDB holds its latest version; reads and its next event bring it back from MongoDB (see Memory)',
    ),
  },
  kafka: {
    brokers: setting('KAFKA_BROKERS', undefined, optional.transform((v): readonly string[] => (v ?? '').split(',').map((b) => b.trim()).filter(Boolean)), 'comma list, e.g. `127.0.0.1:61092`'),
    clientId: setting('KAFKA_CLIENT_ID', 'user-activity-subgraph', text, 'the Kafka client id'),
    topics: {
      activity: setting('TOPIC_ACTIVITY', 'user-activity', text, 'activity events (key = userId)'),
      activityRetry: setting('TOPIC_ACTIVITY_RETRY', 'user-activity.retry', text, 'transiently failed events, retried with backoff'),
      activityDlq: setting('TOPIC_ACTIVITY_DLQ', 'user-activity.dlq', text, 'events that cannot be applied, with their error context'),
      profile: setting('TOPIC_PROFILE', 'user-profile', text, 'static profile attributes from the legacy system'),
      featureUpdates: setting('TOPIC_FEATURE_UPDATES', 'user-feature-updates', text, 'one message per changed user, with its version'),
      cdc: setting('TOPIC_CDC', 'legacy.public.user_activity', text, 'Debezium topic of the legacy `user_activity` table'),
      itemUpdates: setting('TOPIC_ITEM_UPDATES', 'item-graph-updates', text, 'per processed batch, the items whose neighbour lists changed'),
      syncParked: setting('TOPIC_SYNC_PARKED', 'user-sync.parked', text, 'user snapshots MongoDB would not take (see Durability: parked users)'),
      partitions: setting('KAFKA_PARTITIONS', '3', int(1, 10_000), 'partitions of the topics the service creates (the DLQ, item-update and parked topics keep 1): the most processors that share the work; an input topic that already has fewer is named in a warning at start'),
      replicationFactor: setting('KAFKA_REPLICATION_FACTOR', '1', int(1, 32), 'replicas of each topic the service creates: `3` on a cluster of three brokers or more, with the brokers\' `min.insync.replicas=2`'),
    },
  },
  processor: {
    groupId: setting('PROCESSOR_GROUP', 'user-activity-processor', text, 'consumer group (the retry worker uses `<group>.retry`)'),
    concurrency: setting('PROCESSOR_CONCURRENCY', '3', int(1, 64), 'partitions handled at once'),
    fetchBytes: setting(
      'PROCESSOR_FETCH_BYTES',
      '4194304',
      int(1024, 64 * 1024 * 1024),
      'bytes fetched from a partition at a time, i.e. the most one batch carries (a fetch holds up to four partitions\' worth): larger batches put more of a user\'s events into one script call under backlog; smaller ones bound a batch\'s memory and the work a crash hands to the next member',
    ),
    cdcTypeMap: setting(
      'CDC_TYPE_MAP',
      'VIEW_PRODUCT=VIEW,CLICK_PRODUCT=CLICK,SEARCH_QUERY=SEARCH,LIKE_PRODUCT=LIKE,COMMENT_PRODUCT=COMMENT,SHARE_PRODUCT=SHARE,CART_ADD=ADD_TO_CART,ORDER_PLACED=PURCHASE,SIGN_IN=LOGIN',
      typeMap,
      'legacy activity types → this service\'s, as `LEGACY=TYPE,…` (a legacy type equal to one of ours passes as is)',
    ),
    applyAttempts: setting('APPLY_ATTEMPTS', '5', int(1), 'tries of a batch\'s Redis write (backoff 100 ms → 2 s) before the store is probed'),
    retryTopicAttempts: setting('RETRY_TOPIC_ATTEMPTS', '6', int(1), 'tries from the retry topic before a message goes to the dead-letter topic'),
    retryBaseDelayMs: setting('RETRY_BASE_DELAY_MS', '1000', int(), 'first delay on the retry topic; each later try waits twice as long'),
  },
  instanceId: setting('INSTANCE_ID', () => `${hostname()}-${process.pid}`, text, 'names this process in dead letters and logs', '`<hostname>-<pid>`'),
  api: {
    introspection: setting('INTROSPECTION', undefined, z.enum(['true', 'false', '1', '0']).optional().transform((v) => (v === undefined ? undefined : v === 'true' || v === '1')), 'GraphQL introspection', 'on unless `NODE_ENV=production`'),
    maxDepth: setting('MAX_DEPTH', '12', int(2), 'query depth limit, both transports'),
    maxAliases: setting('MAX_ALIASES', '15', int(1), 'aliases per query, both transports'),
    maxTokens: setting('MAX_TOKENS', '2000', int(50), 'tokens per query, both transports'),
    maxCost: setting('MAX_COST', '5000', int(1), 'graphql-armor\'s cost limit (fields, nested lists weighted), both transports'),
    maxDirectives: setting('MAX_DIRECTIVES', '50', int(1), 'directives per query, both transports'),
    maxEntityRepresentations: setting('MAX_ENTITY_REPRESENTATIONS', '500', int(1), '`_entities` refuses more, with `BAD_USER_INPUT`'),
    entityBatchSize: setting('ENTITY_BATCH_SIZE', '500', int(1), 'keys per DataLoader batch, i.e. per Redis round trip (subscriptions\' reads too)'),
    l1CacheTtlMs: setting('L1_CACHE_TTL_MS', '0', int(), 'in-process cache of user states in front of Redis, invalidated by feature updates; `0` turns it off'),
    l1CacheMax: setting('L1_CACHE_MAX', '50000', int(1), 'users the in-process cache holds'),
    subscriptions: {
      maxSubscriptionsPerSocket: setting('WS_MAX_SUBSCRIPTIONS_PER_SOCKET', '100', int(1), 'on a client\'s socket; more are refused with `BAD_USER_INPUT`'),
      maxSubscriptionsPerRouterSocket: setting('WS_MAX_SUBSCRIPTIONS_PER_ROUTER_SOCKET', '20000', int(1), 'on a router\'s socket (it proved the router secret): a gateway multiplexes every client with the same credentials over one'),
      maxSockets: setting('WS_MAX_SOCKETS', '60000', int(1), 'open sockets per instance; the upgrade past it is answered 503 with `Retry-After`'),
      maxSocketsPerUser: setting('WS_MAX_SOCKETS_PER_USER', '16', int(1), 'a client\'s sockets per user (or internal subject); past it `connection_init` is closed with 4029'),
      connectionInitTimeoutMs: setting('WS_INIT_TIMEOUT_MS', '3000', int(100), 'a socket that sends no `connection_init` by then is closed with 4408'),
      maxPayloadBytes: setting('WS_MAX_PAYLOAD_BYTES', '65536', int(1024), 'a larger frame closes the socket with 1009'),
    },
  },
  sync: {
    intervalMs: setting('SYNC_INTERVAL_MS', '1000', int(10), 'time between sync passes (and one more at shutdown)'),
    batchSize: setting('SYNC_BATCH_SIZE', '500', int(1), 'users claimed at a time'),
    leaseMs: setting('SYNC_LEASE_MS', '30000', int(100), 'how long a claim holds before another sync instance may take the user over'),
    parkAfter: setting('SYNC_PARK_AFTER', '5', int(1), 'failed passes in a row, while other users\' writes succeed, before a user is parked'),
  },
  auth: {
    routerSecret: setting('ROUTER_SECRET', undefined, z.union([z.literal('none'), z.string().min(16)]).optional(), 'when set (≥ 16 chars), only callers sending it in `router-authorization` are served; required in production, where `none` turns the check off (and is logged)'),
    jwtSecret: setting('JWT_SECRET', undefined, z.string().min(32).optional(), 'HS256 secret (≥ 32 chars); this or `JWT_PUBLIC_KEY` is required in production'),
    jwtPublicKey: setting('JWT_PUBLIC_KEY', undefined, z.string().startsWith('-----BEGIN').optional().transform((v) => v?.replace(/\\n/g, '\n')), 'RS256 public key (PEM, `\\n` escapes allowed)'),
    issuer: setting('JWT_ISSUER', undefined, optional, 'checked when set'),
    audience: setting('JWT_AUDIENCE', undefined, optional, 'checked when set'),
    internalScope: setting('INTERNAL_SCOPE', 'activity:read:any', text, 'a token with this scope reads every user'),
  },
  collector: {
    port: setting('COLLECTOR_PORT', '4003', int(), 'the collector\'s HTTP port (on `HOST`)'),
    maxBatch: setting('COLLECTOR_MAX_BATCH', '500', int(1), 'events per request, a JSON array or NDJSON lines (413 past it)'),
    maxBodyBytes: setting('COLLECTOR_MAX_BODY_BYTES', '1048576', int(1024), 'bytes per body: a larger one is refused with 413 before the rest is read'),
    ackTimeoutMs: setting('COLLECTOR_ACK_TIMEOUT_MS', '5000', int(10), 'Kafka must acknowledge (acks = all) within this, or the request gets 503'),
    corsOrigins: setting('COLLECTOR_CORS_ORIGINS', '', list, 'browser origins allowed to send (comma list, `*` for any)', '– (with the live page on: its own origin)'),
    appKeys: setting('COLLECTOR_APP_KEYS', '', appKeys, '`app=key,…` (keys ≥ 8 chars): the apps that may send events; required in production; without any, in development, every caller is app `default`', '–'),
    appKeysFile: setting('COLLECTOR_APP_KEYS_FILE', undefined, optional, 'a file of `app=key` pairs, one a line, read once at start and added to `COLLECTOR_APP_KEYS`'),
    ratePerApp: setting('COLLECTOR_RATE_PER_APP', '20000', int(1), 'events per second per app, shared by every collector through Redis'),
    ratePerIp: setting('COLLECTOR_RATE_PER_IP', '2000', int(1), 'events per second per client address, shared likewise'),
    burstSeconds: setting('COLLECTOR_BURST_SECONDS', '2', int(1), 'the rates are spent in windows of this many seconds (a burst may use a whole window at once)'),
  },
  demo: {
    traffic: setting('DEMO_TRAFFIC', undefined, onOff.optional().transform((v) => (v === undefined ? undefined : v === 'on')), 'synthetic events for a dozen demo users through this process\'s collector; refused in production', '`on` in embedded development, else `off`'),
    trafficRate: setting('DEMO_TRAFFIC_RATE', '3', positive, 'demo events per second'),
    page: setting('DEMO_PAGE', undefined, onOff.optional().transform((v) => (v === undefined ? undefined : v === 'on')), 'the live page at the API\'s `/` (it reads with the caller\'s token: `/?token=…` where JWTs are on)', '`on` in development, else `off`'),
  },
  mongo: {
    url: setting('MONGO_URL', undefined, z.string().startsWith('mongodb').optional().transform((v) => v ?? ''), 'e.g. `mongodb://127.0.0.1:61017`'),
    db: setting('MONGO_DB', 'user_activity', text, 'database of the `user_profiles` collection'),
  },
  features: {
    halfLifeMs: setting('SCORE_HALF_LIFE_DAYS', String(F.halfLifeMs / DAY_MS), scaled(DAY_MS), 'half-life of the decayed score, in days'),
    scoreK: setting('SCORE_K', String(F.scoreK), positive, '`activityScore = 100·(1 − e^(−S/K))`'),
    tiers: {
      platinumMin: setting('TIER_PLATINUM_MIN', String(F.tiers.platinumMin), positive, 'PLATINUM at a score ≥ this'),
      goldAbove: setting('TIER_GOLD_ABOVE', String(F.tiers.goldAbove), positive, 'GOLD above this'),
      silverMin: setting('TIER_SILVER_MIN', String(F.tiers.silverMin), positive, 'SILVER at ≥ this, else BRONZE'),
    },
    weights: setting('ACTIVITY_WEIGHTS', '', weights, 'weights over the defaults, as `TYPE=weight,…`', Object.entries(DEFAULT_WEIGHTS).map(([t, w]) => `${t} ${w}`).join(', ')),
    windowLengthsMs: setting('WINDOWS_MS', F.windows.map((w) => w.lengthMs).join(','), windowLengths, `lengths of ${WINDOW_NAMES.join(', ')}`),
    windowBuckets: setting('WINDOW_BUCKETS', '30', int(30), 'buckets per window (≥ 30, so a bucket is at most W/30)'),
    recentItems: setting('RECENT_ITEMS', String(F.recentItems), int(), 'recent items kept per user'),
    topCategories: setting('TOP_CATEGORIES', String(F.topCategories), int(), 'top categories shown (≤ `MAX_CATEGORIES_PER_USER`)'),
    maxCategories: setting('MAX_CATEGORIES_PER_USER', String(F.maxCategories), int(), 'categories kept per user, the most affine (see Durability)'),
    maxSeenIds: setting('MAX_SEEN_IDS_PER_USER', String(F.maxSeenIds), int(), 'seen event ids kept per user, the latest recorded, 16 bytes each (see Durability)'),
    dedupeHorizonMs: setting('DEDUPE_HORIZON_HOURS', String(F.dedupeHorizonMs / HOUR_MS), z.coerce.number().min(24).transform((n) => n * HOUR_MS), 'an event id is remembered for at least this span of arrival time (≥ 24): a re-send within it changes nothing'),
    maxEventAgeMs: setting('MAX_EVENT_AGE_DAYS', String(F.maxEventAgeMs / DAY_MS), scaled(DAY_MS), 'an event dated this long before its arrival is dropped and counted as `expired`'),
    maxClockSkewMs: setting('MAX_CLOCK_SKEW_MS', String(F.maxClockSkewMs), int(), 'an event dated more than this after its arrival is dead-lettered with `EVENT_IN_FUTURE`'),
    freshnessMs: setting('FRESHNESS_SECONDS', String(F.freshnessMs / 1000), scaled(1000), '`isStale` after this long without a change'),
  },
  recommendations: {
    enabled: setting('RECOMMENDATIONS', 'on', onOff.transform((v) => v === 'on'), '`off`: the processor keeps no item graph, so recommendations and item lists stay empty'),
    anchors: setting('RECS_ANCHORS', String(R.anchors), int(1), 'K: an interaction pairs its item with at most this many of the user\'s latest items (≤ `RECENT_ITEMS`)'),
    neighbours: setting('RECS_NEIGHBOURS', String(R.neighbours), int(1, 1000), 'M: neighbours an item keeps per relation, the strongest'),
    maxLimit: setting('RECS_MAX_LIMIT', String(R.maxLimit), int(10, 1000), 'the largest `limit` of `recommendations`, `alsoViewed`, `alsoBought`'),
    recencyHalfLifeMs: setting('RECS_RECENCY_HALF_LIFE_HOURS', String(R.recencyHalfLifeMs / HOUR_MS), scaled(HOUR_MS), 'an anchor this much older than the user\'s latest item counts half'),
    trendingHalfLifeMs: setting('TRENDING_HALF_LIFE_HOURS', String(R.trendingHalfLifeMs / HOUR_MS), scaled(HOUR_MS), 'trending popularity halves over this span of event time'),
    trendingSize: setting('TRENDING_SIZE', String(R.trendingSize), int(1, 100_000), 'items the trending list keeps'),
    trendingPushIntervalMs: setting('TRENDING_PUSH_INTERVAL_MS', '5000', int(), 'subscribers shown trending items are re-ranked at most this often (`0`: on every change)'),
  },
} satisfies SettingsTree;

/** Every setting, in declaration order. */
export function settingsOf(tree: SettingsTree = SETTINGS): Setting[] {
  return Object.values(tree).flatMap((node) => (isSetting(node) ? [node] : settingsOf(node)));
}
