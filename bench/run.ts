/**
 * Runs a benchmark by name: `npm run bench -- processor [options]`.
 * Each prints its figures as JSON; BENCHMARKS.md records them with the method.
 */
const BENCHES = ['processor', 'popular-item', 'entities', 'push', 'collector', 'cdc'] as const;
const [name, ...rest] = process.argv.slice(2);
if (!BENCHES.includes(name as (typeof BENCHES)[number])) {
  process.stderr.write(`usage: npm run bench -- <${BENCHES.join('|')}> [options]\n`);
  process.exit(2);
}
process.argv = [process.argv[0]!, `bench/${name}.ts`, ...rest];
await import(`./${name}.ts`);
