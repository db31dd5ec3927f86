/**
 * Provides real Redis, Kafka and MongoDB-protocol servers to the integration
 * tests: the ones named by REDIS_URL, KAFKA_BROKERS and MONGO_URL when all are
 * set, otherwise the local ones started by scripts/services.sh (and stopped
 * again at the end, unless they were already running: another run, or a
 * developer's `npm run services -- up`, may be using them). Prints what
 * answered, so a run's log shows the servers.
 */
import type { TestProject } from 'vitest/node';
import { localServicesStatus, startLocalServices, stopLocalServices } from '../../src/dev/local-services.js';
import { describeServers } from '../support/describe-servers.js';
import type { ServerEnv } from '../support/servers.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env;
  const useGiven = Boolean(given.REDIS_URL && given.KAFKA_BROKERS && given.MONGO_URL);
  const started = Date.now();
  const wasRunning = !useGiven && !/\bstopped\b/.test(await localServicesStatus());
  const env = (useGiven ? given : await startLocalServices()) as unknown as ServerEnv;
  const servers: ServerEnv = { REDIS_URL: env.REDIS_URL, KAFKA_BROKERS: env.KAFKA_BROKERS, MONGO_URL: env.MONGO_URL };
  project.provide('servers', servers);

  const lines = [
    `[servers] ${useGiven ? 'from the environment' : `started locally in ${((Date.now() - started) / 1000).toFixed(1)} s`}`,
    ...(await describeServers(servers)).map((l) => `[servers] ${l}`),
  ];
  if (!useGiven) lines.push(...(await localServicesStatus()).trim().split('\n').map((l) => `[services] ${l}`));
  process.stdout.write(`${lines.join('\n')}\n`);

  return async () => {
    if (!useGiven && !wasRunning) await stopLocalServices();
  };
}
