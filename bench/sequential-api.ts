/**
 * The batched-vs-per-key baseline taken honestly: the same API role over the
 * same Redis, but its store answers one user at a time, each read waiting
 * for the one before, as a `__resolveReference` that awaits its own read
 * would (no DataLoader, no concurrency). Prints `GraphQL: <url>` like the
 * service. Started by bench/entities.ts with the service's environment.
 */
import { loadConfig } from '../src/config.js';
import { openEventLog } from '../src/ingest/kafka.js';
import { Lifecycle } from '../src/lifecycle.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { startApiRole } from '../src/roles/api.js';
import { openStores } from '../src/stores/index.js';
import type { UserStateStore } from '../src/stores/user-state.js';

/** Each read starts once the previous one has answered. */
function oneAtATime(store: UserStateStore): UserStateStore {
  let previous: Promise<unknown> = Promise.resolve();
  return {
    ...store,
    loadMany(userIds, options) {
      const read = previous.then(async () => {
        const states = [];
        for (const id of userIds) states.push(...(await store.loadMany([id], options)));
        return states;
      });
      previous = read.catch(() => undefined);
      return read;
    },
  };
}

const config = loadConfig({ ROLES: 'api' });
const logger = createLogger(config.logLevel);
const stores = await openStores(config, logger);
const lifecycle = new Lifecycle(logger);
const url = await startApiRole(config, openEventLog(config, logger), { ...stores, userStates: oneAtATime(stores.userStates) }, lifecycle, logger, createMetrics());
lifecycle.ready();
process.stdout.write(`GraphQL: ${url}\n`);
process.once('SIGTERM', () => void lifecycle.stop().then(() => process.exit(0)));
