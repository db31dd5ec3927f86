/**
 * The one place that reads the environment. Everything else receives a
 * validated, frozen {@link Config}; a bad value fails at start with the name
 * of the variable, never later at first use.
 */
import { z } from 'zod';

export const ROLES = ['api', 'processor', 'sync'] as const;
export type Role = (typeof ROLES)[number];

const DAY_MS = 24 * 60 * 60 * 1000;

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

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  ROLES: roles,
  HOST: host,
  PORT: int(4001),
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

  MONGO_URL: z.string().startsWith('mongodb').optional(),
  MONGO_DB: z.string().default('user_activity'),

  SCORE_HALF_LIFE_DAYS: num(7),
  SCORE_K: num(50),
  TIER_PLATINUM_MIN: num(95),
  TIER_GOLD_ABOVE: num(80),
  TIER_SILVER_MIN: num(40),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly roles: readonly Role[];
  readonly http: { readonly host: string; readonly port: number };
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
    };
  };
  readonly mongo: { readonly url: string; readonly db: string };
  readonly features: {
    readonly halfLifeMs: number;
    readonly scoreK: number;
    readonly tiers: { readonly platinumMin: number; readonly goldAbove: number; readonly silverMin: number };
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
export function loadConfig(overrides: Env = {}, source: Env = process.env): Config {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const parsed = EnvSchema.safeParse({ ...source, ...defined });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const adapters = e.ADAPTERS ?? (e.REDIS_URL || e.MONGO_URL || e.KAFKA_BROKERS ? 'servers' : 'memory');
  if (adapters === 'memory' && e.NODE_ENV === 'production') {
    throw new ConfigError('in-process adapters are for development only: set REDIS_URL, KAFKA_BROKERS and MONGO_URL');
  }
  if (adapters === 'servers') {
    const missing = (['REDIS_URL', 'KAFKA_BROKERS', 'MONGO_URL'] as const).filter((k) => !e[k]);
    if (missing.length > 0) throw new ConfigError(`servers mode needs ${missing.join(', ')}`);
  }
  return Object.freeze({
    env: e.NODE_ENV,
    roles: e.ROLES,
    http: { host: e.HOST, port: e.PORT },
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
      },
    },
    mongo: { url: e.MONGO_URL ?? '', db: e.MONGO_DB },
    features: {
      halfLifeMs: e.SCORE_HALF_LIFE_DAYS * DAY_MS,
      scoreK: e.SCORE_K,
      tiers: { platinumMin: e.TIER_PLATINUM_MIN, goldAbove: e.TIER_GOLD_ABOVE, silverMin: e.TIER_SILVER_MIN },
    },
  });
}
