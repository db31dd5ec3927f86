/**
 * `npm run dev` on a machine with no servers: every role runs embedded on
 * in-process adapters, and the README's own commands (a PURCHASE POSTed to
 * the collector, then a query) show the user's score above 0 within a second,
 * on the service and through the supergraph (`npm run dev -- --supergraph`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

const sh = promisify(execFile);

/** The commands of the README's first bash block under `heading`, one per entry (continuation lines joined). */
function readmeCommands(heading: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = new RegExp(`### ${heading}[\\s\\S]*?\`\`\`bash\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  if (!block) throw new Error(`README.md has no bash block under "${heading}"`);
  return block.replace(/\\\n\s*/g, '').split('\n').filter((line) => line.trim() !== '');
}

const bash = async (command: string) => JSON.parse((await sh('bash', ['-c', command])).stdout) as unknown;

describe('embedded dev mode', () => {
  let service: ServiceProcess | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it('starts without servers, prints the GraphQL URL and answers { _service { sdl } }', async () => {
    service = startServiceProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'all'], { PORT: '0', COLLECTOR_PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'warn' });
    const url = (await service.printed(/GraphQL: (http:\/\/127\.0\.0\.1:\d+\/graphql)/, 30_000))[1]!;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ _service { sdl } }' }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { _service: { sdl: string } } };
    expect(body.data._service.sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
    const ready = await fetch(url.replace('/graphql', '/health/ready'));
    expect(await ready.json()).toMatchObject({ ready: true, checks: { redis: 'ok', mongodb: 'ok' } });
  });

  it('runs the README: npm run dev, the curl POST of a PURCHASE, then the query shows a score above 0 within a second', async () => {
    const [post, query, ...rest] = readmeCommands('Try it');
    expect(rest).toEqual([]);
    expect(post).toMatch(/^curl .*4003\/v1\/events.*PURCHASE/);
    expect(query).toMatch(/^curl .*4001\/graphql.*activityScore/);

    service = startServiceProcess('npm', ['run', 'dev'], {});
    await service.printed(/Collector: http:\/\/127\.0\.0\.1:4003\/v1\/events/, 60_000);
    await service.printed(/GraphQL: http:\/\/127\.0\.0\.1:4001\/graphql/, 60_000);

    // Before: the README's user has no activity.
    const before = JSON.parse((await sh('bash', ['-c', query!])).stdout) as { data: { _entities: { activityScore: number; tier: string }[] } };
    expect(before.data._entities[0]).toEqual({ activityScore: 0, tier: 'BRONZE' });

    expect(JSON.parse((await sh('bash', ['-c', post!])).stdout)).toEqual({ accepted: 1, rejected: [] });
    const posted = Date.now();
    let score = 0;
    while (score === 0 && Date.now() - posted < 1000) {
      score = (JSON.parse((await sh('bash', ['-c', query!])).stdout) as typeof before).data._entities[0]!.activityScore;
    }
    expect(score, 'the score within a second of the POST').toBeGreaterThan(0);
  }, 120_000);

  it('runs the README through the supergraph: npm run dev -- --supergraph, the POST, then a query joining username with activityScore', async () => {
    const [start, query, ...rest] = readmeCommands('Through the supergraph');
    expect(rest).toEqual([]);
    expect(start).toBe('npm run dev -- --supergraph');
    expect(query).toMatch(/^curl .*4000\/graphql.*username activityScore/);
    const [post] = readmeCommands('Try it');

    service = startServiceProcess('npm', ['run', 'dev', '--', '--supergraph'], {});
    await service.printed(/Supergraph: http:\/\/127\.0\.0\.1:4000\/graphql/, 90_000);
    expect(await bash(query!)).toEqual({ data: { user: { username: 'user1', activityScore: 0, tier: 'BRONZE' } } });
    expect(await bash(post!)).toEqual({ accepted: 1, rejected: [] });
    let answer: { data: { user: { username: string; activityScore: number; tier: string } } } | undefined;
    await waitFor(async () => (answer = (await bash(query!)) as typeof answer)!.data.user.activityScore > 0, { timeoutMs: 5000, what: 'u1’s score through the gateway' });
    expect(answer!.data.user).toMatchObject({ username: 'user1', tier: 'BRONZE' });
  }, 150_000);
});
