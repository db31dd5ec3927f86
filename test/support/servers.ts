/** Access, from integration tests, to the real servers the global setup provides. */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

export interface ServerEnv {
  readonly REDIS_URL: string;
  readonly KAFKA_BROKERS: string;
  readonly MONGO_URL: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: ServerEnv;
  }
}

export const servers = (): ServerEnv => inject('servers');

/** A name no other test uses: for key prefixes, topics, groups and databases. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
