/**
 * Loads the Lua scripts beside this file once and registers them on an ioredis
 * client with `defineCommand`, which sends EVALSHA and falls back to EVAL.
 * Each script's header states its keys, arguments and result.
 */
import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

const source = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');

const SCRIPTS = {
  applyEvents: { numberOfKeys: 8, lua: source('apply-events') },
  applyProfile: { numberOfKeys: 8, lua: source('apply-profile') },
  expireSynced: { numberOfKeys: 8, lua: source('expire-synced') },
  restoreState: { numberOfKeys: 8, lua: source('restore-state') },
  claimDirty: { numberOfKeys: 3, lua: source('claim-dirty') },
  completeClaims: { numberOfKeys: 2, lua: source('complete-claims') },
  markDirty: { numberOfKeys: 1, lua: source('mark-dirty') },
  dirtyClock: { numberOfKeys: 1, lua: source('dirty-clock') },
  addNeighbours: { numberOfKeys: 2, lua: source('add-neighbours') },
  addTrending: { numberOfKeys: 2, lua: source('add-trending') },
} as const;

type Arg = string | number | Buffer;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    applyEvents(...keysAndArgs: Arg[]): Result<[number, number, number, number, string, string[]] | [-1], Context>;
    applyProfile(...keysAndArgs: Arg[]): Result<number, Context>;
    expireSynced(...keysAndArgs: Arg[]): Result<0 | 1, Context>;
    restoreState(...keysAndArgs: Arg[]): Result<0 | 1, Context>;
    claimDirty(dirty: string, claims: string, leases: string, now: Arg, leaseMs: Arg, max: Arg): Result<string[], Context>;
    completeClaims(claims: string, leases: string, ...userIds: string[]): Result<number, Context>;
    markDirty(dirty: string, ...userIds: string[]): Result<number, Context>;
    dirtyClock(dirty: string): Result<number, Context>;
    addNeighbours(viewed: string, bought: string, max: Arg, ...countsAndPairs: Arg[]): Result<number, Context>;
    addTrending(items: string, epoch: string, halfLife: Arg, size: Arg, refTime: Arg, rebaseAt: Arg, ...itemPopularityPairs: Arg[]): Result<number, Context>;
  }
}

export function defineScripts(redis: Redis): Redis {
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  return redis;
}
