/**
 * The one place that reads the environment. Every variable is declared once,
 * in src/settings.ts; here the environment is parsed through that tree, the
 * values that depend on several variables are settled, and the rules that
 * span variables are checked. Everything else receives a validated, frozen
 * {@link Config}; a bad value fails at start with the name of the variable,
 * never later at first use.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_FEATURE_PARAMS, type FeatureParams } from './features/params.js';
import { WINDOW_NAMES } from './features/windows.js';
import { isSetting, SETTINGS, type Resolved, type SettingsTree } from './settings.js';

export { ROLES, type Role } from './settings.js';

type Parsed = Resolved<typeof SETTINGS>;

/** What is settled from several variables at once, laid over the parsed tree. */
interface Settled {
  /** `memory`: in-process adapters (embedded dev mode); `servers`: real Redis, Kafka, MongoDB. */
  readonly adapters: 'memory' | 'servers';
  readonly api: { readonly introspection: boolean };
  readonly auth: {
    /** Absent: no router check (development, or production with ROUTER_SECRET=none). */
    readonly routerSecret?: string | undefined;
    /** Refuse tokens without `exp` (production): a socket is closed when its token expires. */
    readonly requireExpiry: boolean;
  };
  readonly collector: { readonly host: string };
  /** Replicas to wait for, settled from whether a cluster is configured. */
  readonly redis: { readonly waitReplicas: number };
  /** What `npm run dev` shows a newcomer; never synthetic traffic in production. */
  readonly demo: { readonly traffic: boolean; readonly page: boolean };
  readonly features: FeatureParams;
}

/** The parsed tree with the settled values laid over it; the feature maths get their own type whole. */
export type Config = Omit<Parsed, keyof Settled> & {
  readonly [K in Exclude<keyof Settled, 'features'>]: K extends keyof Parsed ? Omit<Parsed[K], keyof Settled[K]> & Settled[K] : Settled[K];
} & { readonly features: FeatureParams };

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The app keys file's text (same format as COLLECTOR_APP_KEYS, one pair a line), read once at start. */
function appKeysFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`COLLECTOR_APP_KEYS_FILE: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Parses every setting of `tree` from `env`, in the tree's shape; issues are collected as `NAME: message`. */
function parseTree(tree: SettingsTree, env: Env, issues: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    if (!isSetting(node)) {
      out[key] = parseTree(node, env, issues);
      continue;
    }
    const raw = env[node.env] ?? (typeof node.default === 'function' ? node.default() : node.default);
    const parsed = node.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else issues.push(...parsed.error.issues.map((i) => `  ${[node.env, ...i.path].join('.')}: ${i.message}`));
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Builds the config from the process environment, with `overrides` (from
 * command-line flags) taking precedence. In `servers` mode every server URL
 * is required; `memory` mode is refused in production.
 */
export function loadConfig(overrides: Env = {}, source: Env = process.env): Config {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const env: Env = { ...source, ...defined };
  const fromFile = appKeysFile(env.COLLECTOR_APP_KEYS_FILE);
  if (fromFile !== undefined) env.COLLECTOR_APP_KEYS = [env.COLLECTOR_APP_KEYS, fromFile].filter(Boolean).join('\n');
  const issues: string[] = [];
  const p = parseTree(SETTINGS, env, issues) as unknown as Parsed;
  if (issues.length > 0) throw new ConfigError(`invalid environment:\n${issues.join('\n')}`);

  const production = p.env === 'production';
  const adapters = p.adapters ?? (p.redis.url || p.redis.clusterNodes.length > 0 || p.mongo.url || p.kafka.brokers.length > 0 ? 'servers' : 'memory');
  if (adapters === 'memory' && production) {
    throw new ConfigError('in-process adapters are for development only: set REDIS_URL, KAFKA_BROKERS and MONGO_URL');
  }
  if (production && !p.auth.jwtSecret && !p.auth.jwtPublicKey) {
    throw new ConfigError('production needs JWT_SECRET or JWT_PUBLIC_KEY: without them every caller reads every user');
  }
  if (production && !p.auth.routerSecret) {
    throw new ConfigError('production needs ROUTER_SECRET (what the router sends in router-authorization); set ROUTER_SECRET=none to serve without the router check');
  }
  if (production && p.roles.includes('collector') && Object.keys(p.collector.appKeys).length === 0) {
    throw new ConfigError('the collector needs COLLECTOR_APP_KEYS (app=key,…) in production: without them any caller could send events');
  }
  if (production && p.demo.traffic === true) {
    throw new ConfigError('DEMO_TRAFFIC=on is for development: production state must hold real events only');
  }
  const f = p.features;
  if (f.topCategories > f.maxCategories) {
    throw new ConfigError(`TOP_CATEGORIES (${f.topCategories}) cannot exceed MAX_CATEGORIES_PER_USER (${f.maxCategories}): the top ones are among those kept`);
  }
  if (p.recommendations.anchors > f.recentItems) {
    throw new ConfigError(`RECS_ANCHORS (${p.recommendations.anchors}) cannot exceed RECENT_ITEMS (${f.recentItems}): anchors are among the recent items`);
  }
  if (adapters === 'servers') {
    const missing = [!p.redis.url && p.redis.clusterNodes.length === 0 && 'REDIS_URL (or REDIS_CLUSTER_NODES)', p.kafka.brokers.length === 0 && 'KAFKA_BROKERS', !p.mongo.url && 'MONGO_URL'].filter(Boolean);
    if (missing.length > 0) throw new ConfigError(`servers mode needs ${missing.join(', ')}`);
  }
  const waitReplicas = p.redis.waitReplicas ?? (p.redis.clusterNodes.length > 0 ? 1 : 0);
  if (waitReplicas > 0 && p.redis.waitTimeoutMs >= p.redis.commandTimeoutMs) {
    throw new ConfigError(`REDIS_WAIT_TIMEOUT_MS (${p.redis.waitTimeoutMs}) must be below REDIS_COMMAND_TIMEOUT_MS (${p.redis.commandTimeoutMs}): the command would time out first`);
  }

  const page = p.demo.page ?? p.env === 'development';
  // The page sends through the collector from the API's origin: allow it unless an allow-list is given.
  const pageOrigins = page && p.collector.corsOrigins.length === 0 ? [`http://127.0.0.1:${p.http.port}`, `http://localhost:${p.http.port}`] : [];
  const { windowLengthsMs, windowBuckets, ...features } = f;
  const config: Config = {
    ...p,
    adapters,
    api: { ...p.api, introspection: p.api.introspection ?? !production },
    auth: { ...p.auth, routerSecret: p.auth.routerSecret === 'none' ? undefined : p.auth.routerSecret, requireExpiry: production },
    redis: { ...p.redis, waitReplicas },
    collector: { ...p.collector, host: p.http.host, corsOrigins: [...p.collector.corsOrigins, ...pageOrigins] },
    demo: { ...p.demo, traffic: p.demo.traffic ?? (adapters === 'memory' && p.env === 'development'), page },
    features: { ...DEFAULT_FEATURE_PARAMS, ...features, windows: WINDOW_NAMES.map((name, i) => ({ name, lengthMs: windowLengthsMs[i]!, buckets: windowBuckets })) },
  };
  return deepFreeze(config);
}
