import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROCESSOR_NODE_FLAGS } from '../../bench/support.js';

// The benchmarks measure the processor with the flags `npm run start:processor` gives it.
describe('the processor Node flags', () => {
  it('are the ones the start:processor script runs with', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(PROCESSOR_NODE_FLAGS.length).toBeGreaterThan(0);
    expect(scripts['start:processor']).toBe(`node ${PROCESSOR_NODE_FLAGS.join(' ')} dist/main.js --role processor`);
  });
});
