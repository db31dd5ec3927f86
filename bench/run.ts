/**
 * Runs a benchmark by name: `npm run bench -- processor [options]`.
 * Each prints its figures as JSON; BENCHMARKS.md records them with the method.
 *
 * Every run is a fresh Node process with the flags production gives the part
 * it measures (the processor's, for the benchmarks that run it in-process).
 * `--repeat N` runs it N times and prints every figure as its median with the
 * range (summary.ts), then the runs themselves.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { PROCESSOR_NODE_FLAGS } from './support.js';
import { summarise } from './summary.js';

const BENCHES = ['processor', 'popular-item', 'entities', 'push', 'collector', 'cdc', 'cluster', 'memory'] as const;
const [name, ...rest] = process.argv.slice(2);
if (!BENCHES.includes(name as (typeof BENCHES)[number])) {
  process.stderr.write(`usage: npm run bench -- <${BENCHES.join('|')}> [--repeat N] [options]\n`);
  process.exit(2);
}
/** Benchmarks that run a processor in their own process. */
const RUN_A_PROCESSOR = new Set(['processor', 'popular-item', 'cdc']);
const nodeArgs = [...(RUN_A_PROCESSOR.has(name!) ? PROCESSOR_NODE_FLAGS : []), '--import', 'tsx', `bench/${name}.ts`];
const at = rest.indexOf('--repeat');
if (at >= 0) {
  const repeat = Number(rest[at + 1]);
  if (!Number.isInteger(repeat) || repeat < 1) {
    process.stderr.write('--repeat takes a whole number of runs\n');
    process.exit(2);
  }
  const args = [...rest.slice(0, at), ...rest.slice(at + 2)];
  const runs: unknown[] = [];
  for (let r = 1; r <= repeat; r++) {
    process.stderr.write(`[bench] ${name}: run ${r} of ${repeat}\n`);
    const out = execFileSync(process.execPath, [...nodeArgs, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    runs.push(JSON.parse(out.slice(out.indexOf('{'))));
  }
  process.stdout.write(`${JSON.stringify({ repeat, summary: summarise(runs), runs }, null, 2)}\n`);
} else {
  process.exit(spawnSync(process.execPath, [...nodeArgs, ...rest], { stdio: 'inherit' }).status ?? 1);
}
