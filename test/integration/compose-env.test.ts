/**
 * docker-compose.yml without Docker: the service is started with exactly the
 * environment the compose file gives it (over the image's own ENV), with only
 * what must differ here replaced: the server URLs by the local servers, the
 * container's listen address by loopback, its ports by free ones, and its
 * namespace (topics, group, Redis prefix, database) by one of this test's.
 * It must become ready and answer the README's examples. The helpers' commands
 * (the example users subgraph, the supergraph's composition) run as written,
 * with the same replacements, and the gateway and the CDC servers are given
 * the files the tests use.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { isolatedEnv } from '../support/processor-harness.js';
import { freePort } from '../support/private-redis.js';
import { servers, unique } from '../support/servers.js';
import { CLEAN_ENV, ROOT, startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);

interface ComposeService {
  readonly build?: string | { context: string; target?: string };
  readonly image?: string;
  readonly command?: string[];
  readonly environment?: Record<string, string | number>;
  readonly volumes?: string[];
  readonly depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };

/** The final stage's ENV of the Dockerfile: what the image gives every container before compose does. */
function imageEnv(): Record<string, string> {
  const stages = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m);
  const env: Record<string, string> = {};
  for (const line of stages.at(-1)!.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, k, v] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
  }
  return env;
}

const stringEnv = (e: ComposeService['environment']) => Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, String(v)]));

describe('the compose stack’s configuration', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('starts the service with the compose environment: it becomes ready and answers the README’s purchase and query', async () => {
    const given = { ...imageEnv(), ...stringEnv(compose.services.subgraph!.environment) };
    // What the file says about the service, before anything is replaced.
    expect(given).toMatchObject({ NODE_ENV: 'development', ROLES: 'all', PORT: '4001', COLLECTOR_PORT: '4003', REDIS_URL: 'redis://redis:6379', KAFKA_BROKERS: 'kafka:9092', MONGO_URL: 'mongodb://mongo:27017' });
    const [port, collectorPort] = [await freePort(), await freePort()];
    const s = servers();
    const env = {
      ...given,
      REDIS_URL: s.REDIS_URL,
      KAFKA_BROKERS: s.KAFKA_BROKERS,
      MONGO_URL: s.MONGO_URL,
      HOST: '127.0.0.1',
      PORT: String(port),
      COLLECTOR_PORT: String(collectorPort),
      METRICS_PORT: '0',
      ...isolatedEnv(unique('compose')),
    };
    const service: ServiceProcess = startServiceProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], env);
    stops.push(() => service.stop());
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (/exited with/.test(service.output())) throw new Error(`the service exited:\n${service.output().slice(-3000)}`);
        return (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the service under the compose environment to be ready' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${service.output().slice(-3000)}`);
    });

    // The README's examples, at this run's ports: a purchase through the collector, then the score.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const [post, query] = /### Try it[\s\S]*?```bash\n([\s\S]*?)```/.exec(readme)![1]!.replace(/\\\n\s*/g, '').split('\n').filter(Boolean);
    const here = (command: string) => command.replace('127.0.0.1:4003', `127.0.0.1:${collectorPort}`).replace('127.0.0.1:4001', `127.0.0.1:${port}`);
    expect(JSON.parse((await run('bash', ['-c', here(post!)])).stdout)).toEqual({ accepted: 1, rejected: [] });
    let score = 0;
    await waitFor(async () => (score = (JSON.parse((await run('bash', ['-c', here(query!)])).stdout) as { data: { _entities: { activityScore: number }[] } }).data._entities[0]!.activityScore) > 0, {
      timeoutMs: 10_000,
      what: 'u1’s score under the compose environment',
    });
    expect(score).toBeGreaterThan(0);
    // The live page is served (development), and the demo traffic the file turns on reaches the demo users.
    expect((await fetch(`${base}/`)).status).toBe(200);
    await waitFor(
      async () => {
        const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ _entities(representations: [{__typename: "User", id: "demo-user-1"}, {__typename: "User", id: "demo-user-2"}]) { ... on User { features { version } } } }' }) });
        const body = (await res.json()) as { data: { _entities: { features: { version: number } }[] } };
        return body.data._entities.some((u) => u.features.version > 0);
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'demo traffic to move a demo user' },
    );
  }, 120_000);

  it('runs the users subgraph and composes the supergraph with the commands the file gives, for the gateway it mounts', async () => {
    const { users, supergraph, gateway } = compose.services;
    // The example users subgraph, its container address replaced by loopback and its port by a free one.
    const port = await freePort();
    // The file's command ends with the port and the listen address (examples/legacy-users/server.ts [port] [host]).
    const given = users!.command!;
    expect(given.at(-2)).toBe('4002');
    const [cmd, ...args] = [...given.slice(0, -2), String(port), '127.0.0.1'];
    expect(cmd).toBe('npx');
    const subgraph = startServiceProcess(cmd, args, stringEnv(users!.environment));
    stops.push(() => subgraph.stop());
    await subgraph.printed(/legacy users subgraph: /, 60_000);
    const answer = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ user(id: "u1") { username } }' }) });
    expect(await answer.json()).toEqual({ data: { user: { username: 'user1' } } });

    // The composition step, writing where the gateway reads.
    const out = join(mkdtempSync(join(tmpdir(), 'supergraph-')), 'supergraph.graphql');
    const composeArgs = supergraph!.command!.map((a) => (a === '/supergraph/supergraph.graphql' ? out : a));
    await run(composeArgs[0]!, composeArgs.slice(1), { cwd: ROOT, env: { ...CLEAN_ENV, ...stringEnv(supergraph!.environment) } });
    const sdl = readFileSync(out, 'utf8');
    expect(sdl).toContain('url: "http://subgraph:4001/graphql"');
    expect(sdl).toContain('url: "http://users:4002/graphql"');
    expect(sdl).toMatch(/type User[\s\S]*username[\s\S]*activityScore|type User[\s\S]*activityScore[\s\S]*username/);
    expect(gateway!.command).toEqual(['supergraph', '/supergraph/supergraph.graphql']);
    expect(gateway!.environment).toMatchObject({ SUPERGRAPH_FILE: '/supergraph/supergraph.graphql' });
    const mounted = gateway!.volumes!.find((v) => v.endsWith(':/gateway/gateway.config.ts:ro'))!.split(':')[0]!;
    expect(existsSync(join(ROOT, mounted))).toBe(true);
    expect(gateway!.depends_on).toMatchObject({ supergraph: { condition: 'service_completed_successfully' }, subgraph: { condition: 'service_healthy' } });

    // The CDC servers: the legacy schema the tests use, logical decoding, and the checked-in connector.
    const { postgres, connector } = compose.services;
    expect(postgres!.command).toContain('wal_level=logical');
    const schema = postgres!.volumes!.find((v) => v.includes('/docker-entrypoint-initdb.d/'))!.split(':')[0]!;
    expect(readFileSync(join(ROOT, schema), 'utf8')).toMatch(/CREATE TABLE IF NOT EXISTS user_activity[\s\S]*CREATE PUBLICATION dbz_user_activity/);
    expect(connector!.command!.slice(0, 3)).toEqual(['npx', 'tsx', 'scripts/register-connector.ts']);
    expect(connector!.command).toEqual(expect.arrayContaining(['database.hostname=postgres', 'database.port=5432']));
  }, 120_000);
});
