/**
 * Per-app and per-client-IP limits on events, shared by every collector
 * instance through Redis (rate-limiter-flexible's atomic counters), or held
 * in process in embedded mode. A limit is `rate` events per second, spent in
 * windows of `burstSeconds`: a burst may use the whole window at once. When
 * Redis does not answer, each instance falls back to its own in-process
 * limiter rather than refusing events or letting them all through.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface RateLimits {
  readonly ratePerApp: number;
  readonly ratePerIp: number;
  readonly burstSeconds: number;
}

/** Where the limits live: a Redis client and the key prefix (stores/keys.ts), or this process. */
export type LimitStore = { readonly redis: Redis; readonly keyPrefix: string } | undefined;

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly scope: 'app' | 'ip'; readonly retryAfterSeconds: number };

export interface EventLimiter {
  /** Spends `events` of `app`'s and `ip`'s budgets; the first exhausted one refuses. */
  take(app: string, ip: string, events: number): Promise<Verdict>;
}

function limiter(store: LimitStore, scope: string, rate: number, burstSeconds: number): RateLimiterAbstract {
  const opts = { points: rate * burstSeconds, duration: burstSeconds, keyPrefix: `${store?.keyPrefix ?? 'rate'}:${scope}` };
  if (!store) return new RateLimiterMemory(opts);
  return new RateLimiterRedis({ ...opts, storeClient: store.redis, insuranceLimiter: new RateLimiterMemory(opts) });
}

export function createEventLimiter(store: LimitStore, limits: RateLimits): EventLimiter {
  const byApp = limiter(store, 'app', limits.ratePerApp, limits.burstSeconds);
  const byIp = limiter(store, 'ip', limits.ratePerIp, limits.burstSeconds);
  const spend = async (l: RateLimiterAbstract, key: string, n: number, scope: 'app' | 'ip'): Promise<Verdict> => {
    try {
      await l.consume(key, n);
      return { ok: true };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return { ok: false, scope, retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)) };
    }
  };
  return {
    async take(app, ip, events) {
      const [a, i] = await Promise.all([spend(byApp, app, events, 'app'), spend(byIp, ip, events, 'ip')]);
      return !a.ok ? a : i;
    },
  };
}
