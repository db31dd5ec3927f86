/**
 * `npm run dev` on a machine with no servers: the process runs embedded on
 * in-process adapters and answers the federation SDL query.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('embedded dev mode', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('starts without servers, prints the GraphQL URL and answers { _service { sdl } }', async () => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOG_LEVEL: 'warn', APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'all'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no GraphQL URL printed within 30 s:\n${out}`)), 30_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const match = /GraphQL: (http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);

    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { _service: { sdl: string } } };
    expect(body.data._service.sdl).toMatch(/type User\s+@key\(fields: "id"\)/);

    const ready = await fetch(url.replace('/graphql', '/health/ready'));
    expect(await ready.json()).toMatchObject({ ready: true, checks: { redis: 'ok', mongodb: 'ok' } });
  });
});
