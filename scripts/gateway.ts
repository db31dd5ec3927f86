/**
 * `npm run gateway`: composes the supergraph (this subgraph and the example
 * legacy users subgraph, at --activity and --users) into .run/supergraph.graphql
 * and serves it with Hive Gateway's CLI on 127.0.0.1 (--port, default 4000),
 * configured by gateway.config.ts. Runs until stopped; SIGTERM stops the gateway.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { composeSupergraph, standardSubgraphs } from './compose-supergraph.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { activity: { type: 'string' }, users: { type: 'string' }, port: { type: 'string' } } });
const supergraph = `${ROOT}.run/supergraph.graphql`;
mkdirSync(`${ROOT}.run`, { recursive: true });
writeFileSync(supergraph, composeSupergraph(standardSubgraphs(values.activity ?? 'http://127.0.0.1:4001/graphql', values.users ?? 'http://127.0.0.1:4002/graphql')));

// The package's own CLI (its `hive-gateway` bin), next to its entry point.
const bin = join(dirname(createRequire(import.meta.url).resolve('@graphql-hive/gateway')), 'bin.js');
const port = values.port ?? '4000';
const gateway = spawn(process.execPath, [bin, 'supergraph', supergraph, '--host', '127.0.0.1', '--port', port, '--config-path', `${ROOT}gateway.config.ts`], {
  cwd: ROOT,
  env: { ...process.env, SUPERGRAPH_FILE: supergraph, APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => gateway.kill(signal));
gateway.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
