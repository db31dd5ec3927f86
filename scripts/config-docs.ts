/**
 * Writes the README's configuration table from src/settings.ts, between the
 * `config:begin` and `config:end` markers; with `--check`, only says whether
 * it is current (exit 1 when not), as `npm run lint` does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settingsOf, type Setting } from '../src/settings.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const BEGIN = '<!-- config:begin (generated from src/settings.ts by `npm run config:docs`) -->';
const END = '<!-- config:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function shownDefault(s: Setting): string {
  if (s.shownDefault !== undefined) return s.shownDefault;
  if (s.default === undefined || s.default === '') return '–';
  return `\`${typeof s.default === 'function' ? s.default() : s.default}\``;
}

export function configTable(): string {
  const rows = settingsOf().map((s) => `| \`${s.env}\` | ${cell(shownDefault(s))} | ${cell(s.doc)} |`);
  return [BEGIN, '| variable | default | meaning |', '|---|---|---|', ...rows, END].join('\n');
}

const text = readFileSync(README, 'utf8');
const start = text.indexOf(BEGIN);
const end = text.indexOf(END);
if (start < 0 || end < start) {
  console.error(`README.md has no ${BEGIN} … ${END} section`);
  process.exit(1);
}
const next = text.slice(0, start) + configTable() + text.slice(end + END.length);
if (process.argv.includes('--check')) {
  if (next !== text) {
    console.error('README.md\'s configuration table is not what src/settings.ts declares: run npm run config:docs');
    process.exit(1);
  }
} else if (next !== text) {
  writeFileSync(README, next);
  console.log('README.md: configuration table written');
}
