/**
 * The folder order of .dependency-cruiser.cjs, as `npm run lint` applies it:
 * it passes on the tree, and fails on a fixture whose pure features module
 * imports a server.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const depcruise = resolve(root, 'node_modules/.bin/depcruise');
const config = resolve(root, '.dependency-cruiser.cjs');

const cruise = (cwd: string) => spawnSync(depcruise, ['src', '--config', config, '--output-type', 'err'], { cwd, encoding: 'utf8' });

describe('folder order', () => {
  it('passes on the tree', () => {
    const run = cruise(root);
    expect(run.stdout + run.stderr).toContain('no dependency violations found');
    expect(run.status).toBe(0);
  }, 60_000);

  it('fails on an import that breaks it, naming the rule and the import', () => {
    const run = cruise(resolve(root, 'test/fixtures/layering'));
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('layer-features-up: src/features/leak.ts → src/api/server.ts');
    expect(run.stdout).toContain('features-pure: src/features/leak.ts → src/api/server.ts');
  }, 60_000);
});
