/**
 * Loads the Lua scripts beside this file once and registers them on an ioredis
 * client with `defineCommand`, which sends EVALSHA and falls back to EVAL.
 * Each script's header states its keys, arguments and result.
 */
import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

const source = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');

const SCRIPTS = {
  putStateIfNewer: { numberOfKeys: 1, lua: source('put-state-if-newer') },
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    putStateIfNewer(key: string, version: number, ...fieldValues: (string | number)[]): Result<0 | 1, Context>;
  }
}

export function defineScripts(redis: Redis): Redis {
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  return redis;
}
