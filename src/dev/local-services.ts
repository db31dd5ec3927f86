/**
 * src/dev: embedded and local development only: the local servers (local-
 * services.ts) and the local supergraph (supergraph.ts). It may import the
 * tiers below the servers; main.ts alone uses it.
 *
 * Starts the local Redis, Kafka and MongoDB-protocol servers with
 * scripts/services.sh and returns the environment that points at them
 * (REDIS_URL, KAFKA_BROKERS, MONGO_URL). Used by `--services local` and by the
 * integration tests' global setup.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const TELEMETRY_OFF = { APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };

/** Runs scripts/services.sh with `args`; its stdout, or an error with its stderr. */
export async function services(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], {
      env: { ...process.env, ...TELEMETRY_OFF },
      maxBuffer: 16 * 1024 * 1024,
      encoding: 'utf8',
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`services.sh ${args.join(' ')} failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
}

/** Parses `KEY=value` lines. */
export function parseEnvLines(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [string, string] => [m[1]!, m[2]!.replace(/^['"]|['"]$/g, '')]);
  return Object.fromEntries(entries);
}

export async function startLocalServices(): Promise<Record<string, string>> {
  await services('up');
  return parseEnvLines(await services('env'));
}

export async function localServicesStatus(): Promise<string> {
  return services('status');
}

export async function stopLocalServices(): Promise<void> {
  await services('down');
}
