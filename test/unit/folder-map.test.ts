/**
 * The README's folder map matches the tree: every folder of src/ is listed
 * with a main file that exists, and that file opens with the paragraph
 * naming the folder, what lives there and what it may import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
const table = readme.split('\n').filter((line) => /^\| \d+ \| /.test(line));
/** Each listed folder with its main file (the last cell, relative to the folder, or to src/ for the base row). */
const rows = table.flatMap((line) => {
  const folders = [...line.matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1]!);
  const main = /\| `([^`]+)` \|$/.exec(line)?.[1];
  if (!main) return [];
  if (folders.length === 1) return [{ folder: folders[0]!, main: main.replace(`${folders[0]}/`, '') }];
  return folders.filter((f) => main.startsWith(`${f}/`)).map((folder) => ({ folder, main: main.slice(folder.length + 1) }));
});

describe('README folder map', () => {
  it('lists every folder of src/, and only those', () => {
    const folders = readdirSync(resolve(root, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(new Set(rows.map((r) => r.folder))).toEqual(new Set(folders));
  });

  it('names a main file per folder that opens with the folder\'s paragraph', () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const { folder, main } of rows) {
      const text = readFileSync(resolve(root, 'src', folder, main), 'utf8').replace(/\n \* /g, ' ');
      expect(text.startsWith(`/** src/${folder}: `), `src/${folder}/${main}`).toBe(true);
      expect(text.slice(0, 1200), `src/${folder}/${main}`).toMatch(/may import|imports nothing/);
    }
  });
});
