/** Produces split to stay under the broker's limit on one record batch, in order, small ones left whole. */
import { describe, expect, it } from 'vitest';
import { produceParts } from '../../src/ingest/batch-plan.js';

const msg = (i: number, size = 100) => ({ key: `k${i}`, value: 'x'.repeat(size) });

describe('produceParts', () => {
  it('keeps a small send of several topics as one produce', () => {
    const parts = produceParts([{ topic: 'a', messages: [msg(1)] }, { topic: 'b', messages: [msg(2), msg(3)] }]);
    expect(parts).toEqual([[{ topic: 'a', messages: [msg(1)] }, { topic: 'b', messages: [msg(2), msg(3)] }]]);
  });

  it('splits a large send into produces under the budget, every message once and in order', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => msg(i, 1000));
    const parts = produceParts([{ topic: 'retry', messages }, { topic: 'dlq', messages: [msg(-1)] }], 64 * 1024);
    expect(parts.length).toBeGreaterThan(10);
    for (const part of parts) {
      const bytes = part.flatMap((t) => t.messages).reduce((n, m) => n + 64 + String(m.key).length + String(m.value).length, 0);
      expect(bytes).toBeLessThanOrEqual(64 * 1024);
    }
    const flat = parts.flat();
    expect(flat.filter((t) => t.topic === 'retry').flatMap((t) => t.messages)).toEqual(messages);
    expect(flat.at(-1)).toEqual({ topic: 'dlq', messages: [msg(-1)] });
  });

  it('sends a message larger than the budget by itself rather than not at all', () => {
    expect(produceParts([{ topic: 'a', messages: [msg(1, 10), msg(2, 5000), msg(3, 10)] }], 1000).map((p) => p.flatMap((t) => t.messages).map((m) => m.key))).toEqual([['k1'], ['k2'], ['k3']]);
  });
});
