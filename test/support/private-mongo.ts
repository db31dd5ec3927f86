/**
 * A MongoDB-protocol server of one test's own (the same FerretDB the services
 * script runs, on a free port, in its own run directory), so a fault test can
 * freeze it without touching the server other tests share.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './private-redis.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

export interface PrivateMongo {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startPrivateMongo(): Promise<PrivateMongo> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'uas-mongo-'));
  const env = { ...process.env, UAS_RUN_DIR: dir, UAS_MONGO_PORT: String(port), DO_NOT_TRACK: '1' };
  await run('bash', [SCRIPT, 'up', 'mongo'], { env });
  const pid = Number(readFileSync(join(dir, 'mongo', 'pid'), 'utf8'));
  return {
    url: `mongodb://127.0.0.1:${port}`,
    pid,
    async stop() {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await run('bash', [SCRIPT, 'down', 'mongo'], { env });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
