/**
 * Group commit of item graph deltas: what arrives while a write is in flight
 * is summed into the next write, and each caller learns the outcome of the
 * write that carried its delta.
 */
import { describe, expect, it } from 'vitest';
import { addDelta, type EdgeWeights, type ItemGraphDelta } from '../../src/features/cooccurrence.js';
import { GraphWriter } from '../../src/ingest/graph-writer.js';
import type { BatchControl, WriteOutcome } from '../../src/ingest/outcome-policy.js';

const HALF_LIFE = 60_000;
const T = Date.UTC(2026, 10, 21);
const control: BatchControl = { heartbeat: async () => undefined, isActive: () => true };

function delta(edges: Record<string, Record<string, number>>, popularity: Record<string, number> = {}, refTime = T): ItemGraphDelta {
  const out = new Map<string, EdgeWeights>();
  for (const [item, viewed] of Object.entries(edges)) out.set(item, { viewed: new Map(Object.entries(viewed)), bought: new Map() });
  return { edges: out, popularity: new Map(Object.entries(popularity)), refTime };
}
const viewed = (d: ItemGraphDelta) => Object.fromEntries([...d.edges].map(([item, r]) => [item, Object.fromEntries(r.viewed)]));

describe('adding item graph deltas up', () => {
  it('adds weights per item and neighbour, and carries popularity to the later reference time', () => {
    const first = delta({ a: { b: 1, c: 2 } }, { a: 4 }, T);
    const second = delta({ a: { b: 3 }, d: { a: 5 } }, { a: 1, d: 2 }, T + HALF_LIFE);
    const sum = addDelta(addDelta(undefined, first, HALF_LIFE), second, HALF_LIFE);
    expect(viewed(sum)).toEqual({ a: { b: 4, c: 2 }, d: { a: 5 } });
    expect(sum.refTime).toBe(T + HALF_LIFE);
    expect(sum.popularity.get('a')).toBeCloseTo(4 / 2 + 1, 12);
    expect(sum.popularity.get('d')).toBe(2);
    // The inputs are left as they were.
    expect(viewed(first)).toEqual({ a: { b: 1, c: 2 } });
  });

  it('leaves the reference time alone for a delta without popularity', () => {
    const sum = addDelta(addDelta(undefined, delta({}, { a: 1 }, T), HALF_LIFE), delta({ a: { b: 1 } }, {}, 0), HALF_LIFE);
    expect(sum.refTime).toBe(T);
    expect(sum.popularity.get('a')).toBe(1);
  });
});

describe('GraphWriter', () => {
  it('writes a lone delta at once, and sums what arrives during a write into one next write', async () => {
    const written: ItemGraphDelta[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const writer = new GraphWriter(async (d) => {
      written.push(d);
      if (written.length === 1) await gate;
      return { kind: 'ok', value: undefined };
    }, HALF_LIFE);
    const first = writer.submit(delta({ a: { b: 1 } }), control);
    const second = writer.submit(delta({ a: { b: 2 } }), control);
    const third = writer.submit(delta({ c: { a: 1 } }), control);
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }]);
    release();
    expect(await Promise.all([first, second, third])).toEqual(Array(3).fill({ kind: 'ok', value: undefined }));
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }, { a: { b: 2 }, c: { a: 1 } }]);
  });

  it('gives every delta of a failed write that write’s failure, and writes later ones afresh', async () => {
    const outcomes: WriteOutcome<void>[] = [{ kind: 'failed', error: new Error('refused') }, { kind: 'ok', value: undefined }];
    const writer = new GraphWriter(async () => outcomes.shift()!, HALF_LIFE);
    const failed = await writer.submit(delta({ a: { b: 1 } }), control);
    expect(failed.kind).toBe('failed');
    expect(await writer.submit(delta({ a: { b: 1 } }), control)).toEqual({ kind: 'ok', value: undefined });
  });

  it('keeps a write going while any of its batches is still owned', async () => {
    let seen: BatchControl | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const writer = new GraphWriter(async (_d, c) => {
      seen ??= c;
      await gate;
      return { kind: 'ok', value: undefined };
    }, HALF_LIFE);
    const lost: BatchControl = { heartbeat: async () => undefined, isActive: () => false };
    const pending = [writer.submit(delta({ a: { b: 1 } }), control)];
    pending.push(writer.submit(delta({ a: { b: 1 } }), lost), writer.submit(delta({ a: { b: 1 } }), control));
    release();
    await Promise.all(pending);
    expect(seen!.isActive()).toBe(true);
  });
});
