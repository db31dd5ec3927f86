/**
 * Registers (creates or updates) the Debezium connector of
 * deploy/debezium/user-activity.json with a Kafka Connect worker, waits until
 * it runs, and prints its status. `--set key=value` overrides a setting (the
 * compose stack points it at its own PostgreSQL).
 *
 *   npm run cdc:register -- [--connect http://127.0.0.1:61083] [--set database.port=61432 ...]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { connect: { type: 'string', default: 'http://127.0.0.1:61083' }, set: { type: 'string', multiple: true, default: [] } } });
const file = JSON.parse(readFileSync(new URL('../deploy/debezium/user-activity.json', import.meta.url), 'utf8')) as { name: string; config: Record<string, string> };
const config: Record<string, string> = { ...file.config, ...(Object.fromEntries(values.set.map((kv) => kv.split(/=(.*)/s).slice(0, 2))) as Record<string, string>) };

async function main(): Promise<void> {
  const deadline = Date.now() + 120_000;
  // The worker may still be starting (compose starts both at once).
  for (;;) {
    const res = await fetch(`${values.connect}/connectors/${file.name}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) }).catch(() => undefined);
    if (res && res.status < 300) break;
    if (res && res.status < 500) throw new Error(`Connect refused the connector: ${res.status} ${await res.text()}`);
    if (Date.now() > deadline) throw new Error(`no Kafka Connect at ${values.connect} within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  for (;;) {
    const status = (await (await fetch(`${values.connect}/connectors/${file.name}/status`)).json()) as { connector: { state: string }; tasks: { state: string; trace?: string }[] };
    const failed = status.tasks.find((t) => t.state === 'FAILED');
    if (failed) throw new Error(`the connector's task failed: ${failed.trace}`);
    if (status.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING')) {
      process.stdout.write(`connector ${file.name} running on ${values.connect}\n`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`connector ${file.name} not running within 120 s: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
