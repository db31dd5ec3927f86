/**
 * The one place that reads the environment. Everything else receives a
 * validated, frozen {@link Config}; a bad value fails at start with the name
 * of the variable, never later at first use.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ACTIVITY_TYPES, DEFAULT_WEIGHTS, type ActivityType } from './features/activity.js';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_RECOMMENDATION_PARAMS, type FeatureParams, type RecommendationParams } from './features/params.js';
import { WINDOW_NAMES } from './features/windows.js';

export const ROLES = ['api', 'processor', 'sync', 'collector'] as const;
export type Role = (typeof ROLES)[number];

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
const num = (fallback: number) => z.coerce.number().positive().default(fallback);

/** Loopback only: this service never binds or dials anything else in dev and tests. */
const host = z.string().default('127.0.0.1');

const roles = z
  .string()
  .default('api')
  .transform((value, ctx) => {
    const wanted = value === 'all' ? [...ROLES] : value.split(',').map((r) => r.trim());
    const unknown = wanted.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `unknown role(s) ${unknown.join(', ')}; use ${ROLES.join(', ')} or all` });
      return z.NEVER;
    }
    return [...new Set(wanted)] as Role[];
  });

/** `app=key` pairs, comma- or newline-separated: the app keys the collector accepts. */
const appKeys = z
  .string()
  .default('')
  .transform((value, ctx) => {
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

const list = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean));

/** `TYPE=weight` pairs, e.g. `PURCHASE=12,LOGIN=0`; unnamed types keep their default. */
const weights = z
  .string()
  .default('')
  .transform((value, ctx) => {
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

/** Window lengths in ms, in the order of WINDOW_NAMES. */
const windowLengths = z
  .string()
  .default(DEFAULT_FEATURE_PARAMS.windows.map((w) => w.lengthMs).join(','))
  .transform((value, ctx) => {
    const lengths = value.split(',').map(Number);
    if (lengths.length !== WINDOW_NAMES.length || lengths.some((n) => !Number.isInteger(n) || n <= 0)) {
      ctx.addIssue({ code: 'custom', message: `give ${WINDOW_NAMES.length} positive integers (ms) for ${WINDOW_NAMES.join(', ')}` });
      return z.NEVER;
    }
    return lengths;
  });

/** `LEGACY=TYPE` pairs mapping the legacy table's activity types to this service's. */
const typeMap = z
  .string()
  .default('VIEW_PRODUCT=VIEW,CLICK_PRODUCT=CLICK,SEARCH_QUERY=SEARCH,LIKE_PRODUCT=LIKE,COMMENT_PRODUCT=COMMENT,SHARE_PRODUCT=SHARE,CART_ADD=ADD_TO_CART,ORDER_PLACED=PURCHASE,SIGN_IN=LOGIN')
  .transform((value, ctx) => {
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

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  ROLES: roles,
  HOST: host,
  PORT: int(4001),
  METRICS_HOST: host,
  METRICS_PORT: int(9464),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ADAPTERS: z.enum(['memory', 'servers']).optional(),

  REDIS_URL: z.url().optional(),
  REDIS_KEY_PREFIX: z.string().default('uas:'),
  REDIS_COMMAND_TIMEOUT_MS: int(1000),

  KAFKA_BROKERS: z.string().optional(),
  KAFKA_CLIENT_ID: z.string().default('user-activity-subgraph'),
  TOPIC_ACTIVITY: z.string().default('user-activity'),
  TOPIC_ACTIVITY_RETRY: z.string().default('user-activity.retry'),
  TOPIC_ACTIVITY_DLQ: z.string().default('user-activity.dlq'),
  TOPIC_PROFILE: z.string().default('user-profile'),
  TOPIC_FEATURE_UPDATES: z.string().default('user-feature-updates'),
  TOPIC_CDC: z.string().default('legacy.public.user_activity'),
  TOPIC_ITEM_UPDATES: z.string().default('item-graph-updates'),
  TOPIC_SYNC_PARKED: z.string().default('user-sync.parked'),
  CDC_TYPE_MAP: typeMap,
  PROCESSOR_GROUP: z.string().default('user-activity-processor'),
  PROCESSOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
  APPLY_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  RETRY_TOPIC_ATTEMPTS: z.coerce.number().int().min(1).default(6),
  RETRY_BASE_DELAY_MS: int(1000),
  INSTANCE_ID: z.string().default(`${hostname()}-${process.pid}`),

  ROUTER_SECRET: z.union([z.literal('none'), z.string().min(16)]).optional(),
  JWT_SECRET: z.string().min(32).optional(),
  JWT_PUBLIC_KEY: z.string().startsWith('-----BEGIN').optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  INTERNAL_SCOPE: z.string().default('activity:read:any'),
  INTROSPECTION: z.enum(['true', 'false', '1', '0']).optional(),
  MAX_DEPTH: z.coerce.number().int().min(2).default(12),
  MAX_ALIASES: z.coerce.number().int().min(1).default(15),
  MAX_TOKENS: z.coerce.number().int().min(50).default(2000),
  MAX_COST: z.coerce.number().int().min(1).default(5000),
  MAX_DIRECTIVES: z.coerce.number().int().min(1).default(50),
  MAX_ENTITY_REPRESENTATIONS: z.coerce.number().int().min(1).default(500),
  ENTITY_BATCH_SIZE: z.coerce.number().int().min(1).default(500),
  L1_CACHE_TTL_MS: int(0),
  L1_CACHE_MAX: z.coerce.number().int().min(1).default(50_000),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).default(100),
  WS_MAX_SUBSCRIPTIONS_PER_ROUTER_SOCKET: z.coerce.number().int().min(1).default(20_000),
  WS_MAX_SOCKETS: z.coerce.number().int().min(1).default(60_000),
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).default(16),
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  WS_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).default(65_536),
  SYNC_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
  SYNC_BATCH_SIZE: z.coerce.number().int().min(1).default(500),
  SYNC_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
  SYNC_PARK_AFTER: z.coerce.number().int().min(1).default(5),

  COLLECTOR_PORT: int(4003),
  COLLECTOR_MAX_BATCH: z.coerce.number().int().min(1).default(500),
  COLLECTOR_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  COLLECTOR_ACK_TIMEOUT_MS: z.coerce.number().int().min(10).default(5000),
  COLLECTOR_CORS_ORIGINS: list,
  COLLECTOR_APP_KEYS: appKeys,
  COLLECTOR_APP_KEYS_FILE: z.string().optional(),
  COLLECTOR_RATE_PER_APP: z.coerce.number().int().min(1).default(20_000),
  COLLECTOR_RATE_PER_IP: z.coerce.number().int().min(1).default(2_000),
  COLLECTOR_BURST_SECONDS: z.coerce.number().int().min(1).default(2),

  DEMO_TRAFFIC: z.enum(['on', 'off']).optional(),
  DEMO_TRAFFIC_RATE: num(3),
  DEMO_PAGE: z.enum(['on', 'off']).optional(),

  MONGO_URL: z.string().startsWith('mongodb').optional(),
  MONGO_DB: z.string().default('user_activity'),

  SCORE_HALF_LIFE_DAYS: num(7),
  SCORE_K: num(50),
  TIER_PLATINUM_MIN: num(95),
  TIER_GOLD_ABOVE: num(80),
  TIER_SILVER_MIN: num(40),
  ACTIVITY_WEIGHTS: weights,
  WINDOWS_MS: windowLengths,
  WINDOW_BUCKETS: z.coerce.number().int().min(30).default(30),
  RECENT_ITEMS: int(20),
  TOP_CATEGORIES: int(5),
  MAX_CATEGORIES_PER_USER: int(100),
  MAX_SEEN_IDS_PER_USER: int(100_000),
  DEDUPE_HORIZON_HOURS: z.coerce.number().min(24).default(24),
  MAX_EVENT_AGE_DAYS: num(30),
  MAX_CLOCK_SKEW_MS: int(300_000),
  FRESHNESS_SECONDS: num(86_400),

  RECOMMENDATIONS: z.enum(['on', 'off']).default('on'),
  RECS_ANCHORS: z.coerce.number().int().min(1).default(DEFAULT_RECOMMENDATION_PARAMS.anchors),
  RECS_NEIGHBOURS: z.coerce.number().int().min(1).max(1000).default(DEFAULT_RECOMMENDATION_PARAMS.neighbours),
  RECS_MAX_LIMIT: z.coerce.number().int().min(10).max(1000).default(DEFAULT_RECOMMENDATION_PARAMS.maxLimit),
  RECS_RECENCY_HALF_LIFE_HOURS: num(DEFAULT_RECOMMENDATION_PARAMS.recencyHalfLifeMs / HOUR_MS),
  TRENDING_HALF_LIFE_HOURS: num(DEFAULT_RECOMMENDATION_PARAMS.trendingHalfLifeMs / HOUR_MS),
  TRENDING_SIZE: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_RECOMMENDATION_PARAMS.trendingSize),
  TRENDING_PUSH_INTERVAL_MS: z.coerce.number().int().min(0).default(5000),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly roles: readonly Role[];
  readonly http: { readonly host: string; readonly port: number };
  /** Prometheus metrics, served apart from the API (loopback by default); port 0 picks a free one. */
  readonly metrics: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  /** `memory`: in-process adapters (embedded dev mode); `servers`: real Redis, Kafka, MongoDB. */
  readonly adapters: 'memory' | 'servers';
  readonly redis: { readonly url: string; readonly keyPrefix: string; readonly commandTimeoutMs: number };
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly topics: {
      readonly activity: string;
      readonly activityRetry: string;
      readonly activityDlq: string;
      readonly profile: string;
      readonly featureUpdates: string;
      readonly cdc: string;
      /** Items whose neighbour lists changed, per processed batch: API instances re-rank their subscribers'. */
      readonly itemUpdates: string;
      /** User snapshots the sync could not write to MongoDB (src/sync/parked.ts). */
      readonly syncParked: string;
    };
  };
  readonly processor: {
    readonly groupId: string;
    readonly concurrency: number;
    /** Legacy activity types of the CDC topic → this service's types. */
    readonly cdcTypeMap: Readonly<Record<string, ActivityType>>;
    /** Tries of a batch's Redis write, with backoff, before the store is probed. */
    readonly applyAttempts: number;
    /** Tries from the retry topic before a message goes to the dead-letter topic. */
    readonly retryTopicAttempts: number;
    /** First delay on the retry topic; each later try waits twice as long. */
    readonly retryBaseDelayMs: number;
  };
  /** Names this process in dead letters and logs. */
  readonly instanceId: string;
  readonly api: {
    readonly introspection: boolean;
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxTokens: number;
    /** graphql-armor's cost limit (fields, with nested lists weighted). */
    readonly maxCost: number;
    readonly maxDirectives: number;
    /** `_entities` refuses more representations than this. */
    readonly maxEntityRepresentations: number;
    /** Keys per DataLoader batch: per Redis round trip. */
    readonly entityBatchSize: number;
    /** In-process cache of user states in front of Redis; 0 turns it off. */
    readonly l1CacheTtlMs: number;
    readonly l1CacheMax: number;
    readonly subscriptions: {
      /** A client's socket: a UI, or a service with its own token. */
      readonly maxSubscriptionsPerSocket: number;
      /** A router's socket (it proved the router secret): a gateway multiplexes many clients over it. */
      readonly maxSubscriptionsPerRouterSocket: number;
      /** Open sockets on this instance; an upgrade past it is refused with 503. */
      readonly maxSockets: number;
      /** Open sockets of one user (or internal subject) on this instance. */
      readonly maxSocketsPerUser: number;
      readonly connectionInitTimeoutMs: number;
      readonly maxPayloadBytes: number;
    };
  };
  readonly sync: {
    readonly intervalMs: number;
    readonly batchSize: number;
    /** How long a claim holds before another instance may take the user over. */
    readonly leaseMs: number;
    /** Failed passes in a row (while others' writes succeed) before a user is parked. */
    readonly parkAfter: number;
  };
  readonly auth: {
    /** Absent: no router check (development, or production with ROUTER_SECRET=none). */
    readonly routerSecret?: string | undefined;
    readonly jwtSecret?: string | undefined;
    readonly jwtPublicKey?: string | undefined;
    readonly issuer?: string | undefined;
    readonly audience?: string | undefined;
    readonly internalScope: string;
    /** Refuse tokens without `exp` (production): a socket is closed when its token expires. */
    readonly requireExpiry: boolean;
  };
  readonly collector: {
    readonly host: string;
    readonly port: number;
    /** Events in one request (a JSON array or NDJSON lines). */
    readonly maxBatch: number;
    /** A larger body is refused with 413 before the rest is read. */
    readonly maxBodyBytes: number;
    /** Kafka must acknowledge (acks = all) within this, or the request is answered 503. */
    readonly ackTimeoutMs: number;
    /** Browser origins allowed by CORS (`*`: any). */
    readonly corsOrigins: readonly string[];
    /** App key → app id; empty: in development every caller is app `default`. */
    readonly appKeys: Readonly<Record<string, string>>;
    /** Events per second, per app and per client IP; a burst may spend `burstSeconds` of it at once. */
    readonly ratePerApp: number;
    readonly ratePerIp: number;
    readonly burstSeconds: number;
  };
  /** What `npm run dev` shows a newcomer; never synthetic traffic in production. */
  readonly demo: {
    /** Synthetic events through this process's collector (default: embedded development). */
    readonly traffic: boolean;
    /** Synthetic events per second. */
    readonly trafficRate: number;
    /** The live page at the API's `/` (default: development). */
    readonly page: boolean;
  };
  readonly mongo: { readonly url: string; readonly db: string };
  readonly features: FeatureParams;
  readonly recommendations: RecommendationParams & {
    /** Subscribers on the trending fallback are re-ranked at most this often (ms); 0: on every change. */
    readonly trendingPushIntervalMs: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Builds the config from the process environment, with `overrides` (from
 * command-line flags) taking precedence. In `servers` mode every server URL
 * is required; `memory` mode is refused in production.
 */
/** The app keys file's text (same format as COLLECTOR_APP_KEYS, one pair a line), read once at start. */
function appKeysFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`COLLECTOR_APP_KEYS_FILE: cannot read ${path}: ${(error as Error).message}`);
  }
}

export function loadConfig(overrides: Env = {}, source: Env = process.env): Config {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const merged = { ...source, ...defined };
  const fromFile = appKeysFile(merged.COLLECTOR_APP_KEYS_FILE);
  if (fromFile !== undefined) merged.COLLECTOR_APP_KEYS = [merged.COLLECTOR_APP_KEYS, fromFile].filter(Boolean).join('\n');
  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const adapters = e.ADAPTERS ?? (e.REDIS_URL || e.MONGO_URL || e.KAFKA_BROKERS ? 'servers' : 'memory');
  if (adapters === 'memory' && e.NODE_ENV === 'production') {
    throw new ConfigError('in-process adapters are for development only: set REDIS_URL, KAFKA_BROKERS and MONGO_URL');
  }
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET && !e.JWT_PUBLIC_KEY) {
    throw new ConfigError('production needs JWT_SECRET or JWT_PUBLIC_KEY: without them every caller reads every user');
  }
  if (e.NODE_ENV === 'production' && !e.ROUTER_SECRET) {
    throw new ConfigError('production needs ROUTER_SECRET (what the router sends in router-authorization); set ROUTER_SECRET=none to serve without the router check');
  }
  if (e.NODE_ENV === 'production' && e.ROLES.includes('collector') && Object.keys(e.COLLECTOR_APP_KEYS).length === 0) {
    throw new ConfigError('the collector needs COLLECTOR_APP_KEYS (app=key,…) in production: without them any caller could send events');
  }
  if (e.NODE_ENV === 'production' && e.DEMO_TRAFFIC === 'on') {
    throw new ConfigError('DEMO_TRAFFIC=on is for development: production state must hold real events only');
  }
  if (e.TOP_CATEGORIES > e.MAX_CATEGORIES_PER_USER) {
    throw new ConfigError(`TOP_CATEGORIES (${e.TOP_CATEGORIES}) cannot exceed MAX_CATEGORIES_PER_USER (${e.MAX_CATEGORIES_PER_USER}): the top ones are among those kept`);
  }
  if (e.RECS_ANCHORS > e.RECENT_ITEMS) {
    throw new ConfigError(`RECS_ANCHORS (${e.RECS_ANCHORS}) cannot exceed RECENT_ITEMS (${e.RECENT_ITEMS}): anchors are among the recent items`);
  }
  if (adapters === 'servers') {
    const missing = (['REDIS_URL', 'KAFKA_BROKERS', 'MONGO_URL'] as const).filter((k) => !e[k]);
    if (missing.length > 0) throw new ConfigError(`servers mode needs ${missing.join(', ')}`);
  }
  const demoPage = e.DEMO_PAGE === undefined ? e.NODE_ENV === 'development' : e.DEMO_PAGE === 'on';
  // The page sends through the collector from the API's origin: allow it unless an allow-list is given.
  const pageOrigins = demoPage && e.COLLECTOR_CORS_ORIGINS.length === 0 ? [`http://127.0.0.1:${e.PORT}`, `http://localhost:${e.PORT}`] : [];
  return Object.freeze({
    env: e.NODE_ENV,
    roles: e.ROLES,
    http: { host: e.HOST, port: e.PORT },
    metrics: { host: e.METRICS_HOST, port: e.METRICS_PORT },
    logLevel: e.LOG_LEVEL,
    adapters,
    redis: { url: e.REDIS_URL ?? '', keyPrefix: e.REDIS_KEY_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
    kafka: {
      brokers: (e.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean),
      clientId: e.KAFKA_CLIENT_ID,
      topics: {
        activity: e.TOPIC_ACTIVITY,
        activityRetry: e.TOPIC_ACTIVITY_RETRY,
        activityDlq: e.TOPIC_ACTIVITY_DLQ,
        profile: e.TOPIC_PROFILE,
        featureUpdates: e.TOPIC_FEATURE_UPDATES,
        cdc: e.TOPIC_CDC,
        itemUpdates: e.TOPIC_ITEM_UPDATES,
        syncParked: e.TOPIC_SYNC_PARKED,
      },
    },
    processor: {
      groupId: e.PROCESSOR_GROUP,
      concurrency: e.PROCESSOR_CONCURRENCY,
      cdcTypeMap: e.CDC_TYPE_MAP,
      applyAttempts: e.APPLY_ATTEMPTS,
      retryTopicAttempts: e.RETRY_TOPIC_ATTEMPTS,
      retryBaseDelayMs: e.RETRY_BASE_DELAY_MS,
    },
    instanceId: e.INSTANCE_ID,
    api: {
      introspection: e.INTROSPECTION === undefined ? e.NODE_ENV !== 'production' : e.INTROSPECTION === 'true' || e.INTROSPECTION === '1',
      maxDepth: e.MAX_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxCost: e.MAX_COST,
      maxDirectives: e.MAX_DIRECTIVES,
      maxEntityRepresentations: e.MAX_ENTITY_REPRESENTATIONS,
      entityBatchSize: e.ENTITY_BATCH_SIZE,
      l1CacheTtlMs: e.L1_CACHE_TTL_MS,
      l1CacheMax: e.L1_CACHE_MAX,
      subscriptions: {
        maxSubscriptionsPerSocket: e.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
        maxSubscriptionsPerRouterSocket: e.WS_MAX_SUBSCRIPTIONS_PER_ROUTER_SOCKET,
        maxSockets: e.WS_MAX_SOCKETS,
        maxSocketsPerUser: e.WS_MAX_SOCKETS_PER_USER,
        connectionInitTimeoutMs: e.WS_INIT_TIMEOUT_MS,
        maxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
      },
    },
    sync: { intervalMs: e.SYNC_INTERVAL_MS, batchSize: e.SYNC_BATCH_SIZE, leaseMs: e.SYNC_LEASE_MS, parkAfter: e.SYNC_PARK_AFTER },
    auth: {
      routerSecret: e.ROUTER_SECRET === 'none' ? undefined : e.ROUTER_SECRET,
      jwtSecret: e.JWT_SECRET,
      jwtPublicKey: e.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      internalScope: e.INTERNAL_SCOPE,
      requireExpiry: e.NODE_ENV === 'production',
    },
    collector: {
      host: e.HOST,
      port: e.COLLECTOR_PORT,
      maxBatch: e.COLLECTOR_MAX_BATCH,
      maxBodyBytes: e.COLLECTOR_MAX_BODY_BYTES,
      ackTimeoutMs: e.COLLECTOR_ACK_TIMEOUT_MS,
      corsOrigins: [...e.COLLECTOR_CORS_ORIGINS, ...pageOrigins],
      appKeys: e.COLLECTOR_APP_KEYS,
      ratePerApp: e.COLLECTOR_RATE_PER_APP,
      ratePerIp: e.COLLECTOR_RATE_PER_IP,
      burstSeconds: e.COLLECTOR_BURST_SECONDS,
    },
    demo: {
      traffic: e.DEMO_TRAFFIC === undefined ? adapters === 'memory' && e.NODE_ENV === 'development' : e.DEMO_TRAFFIC === 'on',
      trafficRate: e.DEMO_TRAFFIC_RATE,
      page: demoPage,
    },
    mongo: { url: e.MONGO_URL ?? '', db: e.MONGO_DB },
    features: {
      ...DEFAULT_FEATURE_PARAMS,
      weights: e.ACTIVITY_WEIGHTS,
      halfLifeMs: e.SCORE_HALF_LIFE_DAYS * DAY_MS,
      scoreK: e.SCORE_K,
      tiers: { platinumMin: e.TIER_PLATINUM_MIN, goldAbove: e.TIER_GOLD_ABOVE, silverMin: e.TIER_SILVER_MIN },
      windows: WINDOW_NAMES.map((name, i) => ({ name, lengthMs: e.WINDOWS_MS[i]!, buckets: e.WINDOW_BUCKETS })),
      recentItems: e.RECENT_ITEMS,
      topCategories: e.TOP_CATEGORIES,
      maxCategories: e.MAX_CATEGORIES_PER_USER,
      maxSeenIds: e.MAX_SEEN_IDS_PER_USER,
      dedupeHorizonMs: e.DEDUPE_HORIZON_HOURS * HOUR_MS,
      maxEventAgeMs: e.MAX_EVENT_AGE_DAYS * DAY_MS,
      maxClockSkewMs: e.MAX_CLOCK_SKEW_MS,
      freshnessMs: e.FRESHNESS_SECONDS * 1000,
    },
    recommendations: {
      enabled: e.RECOMMENDATIONS === 'on',
      anchors: e.RECS_ANCHORS,
      neighbours: e.RECS_NEIGHBOURS,
      maxLimit: e.RECS_MAX_LIMIT,
      recencyHalfLifeMs: e.RECS_RECENCY_HALF_LIFE_HOURS * HOUR_MS,
      trendingHalfLifeMs: e.TRENDING_HALF_LIFE_HOURS * HOUR_MS,
      trendingSize: e.TRENDING_SIZE,
      trendingPushIntervalMs: e.TRENDING_PUSH_INTERVAL_MS,
    },
  });
}
