import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A JVM that writes HotSpot perf data changes its working directory for a moment at start, and
// scripts/services.sh knows its servers by their working directory: one started that way was
// taken for a dead server and stopped. Every JVM must start through `JVM` (perf data off).
const DIR = 'scripts/services';
const JAVA_COMMAND = /(?:^|[\s;&|(])java\s+["$-]/;

describe('the JVMs scripts/services.sh starts', () => {
  const lines = readdirSync(DIR)
    .filter((f) => f.endsWith('.sh'))
    .flatMap((f) => readFileSync(join(DIR, f), 'utf8').split('\n').map((text, i) => ({ where: `${f}:${i + 1}`, text })));

  it('all start through the one `JVM` command, with perf data off', () => {
    const definition = lines.filter((l) => /^JVM=\(java -XX:-UsePerfData\)$/.test(l.text));
    expect(definition.map((l) => l.where)).toEqual(['common.sh:12']);
    const direct = lines.filter((l) => !l.text.trimStart().startsWith('#') && JAVA_COMMAND.test(l.text) && !l.text.startsWith('JVM='));
    expect(direct.map((l) => `${l.where}: ${l.text.trim()}`)).toEqual([]);
    expect(lines.filter((l) => l.text.includes('"${JVM[@]}"')).length).toBeGreaterThanOrEqual(7);
  });
});
