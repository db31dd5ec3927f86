/**
 * Group commit of item graph deltas: a write waits (boundedly) for the
 * batches being applied beside it, what arrives while a write is in flight is
 * summed into the next one, and each batch learns the outcome of the write
 * that carried its delta.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  const ok: WriteOutcome<void> = { kind: 'ok', value: undefined };
  /** A writer that records what it writes; the first write waits for `release` when `hold` is set. */
  function recording(hold = false, gatherMs = 100) {
    const written: ItemGraphDelta[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const writer = new GraphWriter(async (d) => {
      written.push(d);
      if (hold && written.length === 1) await gate;
      return ok;
    }, HALF_LIFE, gatherMs);
    return { writer, written, release };
  }
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a lone batch’s delta at once', async () => {
    const { writer, written } = recording();
    expect(await writer.ticket().submit(delta({ a: { b: 1 } }), control)).toEqual(ok);
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }]);
  });

  it('waits for the batches being applied beside it, then writes their sum once', async () => {
    const { writer, written } = recording();
    const [first, second, third] = [writer.ticket(), writer.ticket(), writer.ticket()];
    const outcomes = [first.submit(delta({ a: { b: 1 } }), control), second.submit(delta({ a: { b: 2 } }), control)];
    expect(written).toEqual([]);
    third.leave(); // a batch without item events
    expect(await Promise.all(outcomes)).toEqual([ok, ok]);
    expect(written.map(viewed)).toEqual([{ a: { b: 3 } }]);
  });

  it('waits no longer than the gathering bound for a batch that is slow to hand in its delta', async () => {
    vi.useFakeTimers();
    const { writer, written } = recording(false, 100);
    const slow = writer.ticket();
    const outcome = writer.ticket().submit(delta({ a: { b: 1 } }), control);
    await vi.advanceTimersByTimeAsync(99);
    expect(written).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toEqual(ok);
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }]);
    await slow.submit(delta({ c: { a: 1 } }), control);
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }, { c: { a: 1 } }]);
  });

  it('sums what arrives during a write into the next write', async () => {
    const { writer, written, release } = recording(true);
    const first = writer.ticket().submit(delta({ a: { b: 1 } }), control);
    const later = [writer.ticket().submit(delta({ a: { b: 2 } }), control), writer.ticket().submit(delta({ c: { a: 1 } }), control)];
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([ok, ok, ok]);
    expect(written.map(viewed)).toEqual([{ a: { b: 1 } }, { a: { b: 2 }, c: { a: 1 } }]);
  });

  it('gives every delta of a failed write that write’s failure, and writes later ones afresh', async () => {
    const outcomes: WriteOutcome<void>[] = [{ kind: 'failed', error: new Error('refused') }, ok];
    const writer = new GraphWriter(async () => outcomes.shift()!, HALF_LIFE, 100);
    expect((await writer.ticket().submit(delta({ a: { b: 1 } }), control)).kind).toBe('failed');
    expect(await writer.ticket().submit(delta({ a: { b: 1 } }), control)).toEqual(ok);
  });

  it('keeps a write going while any of its batches is still owned', async () => {
    let seen: BatchControl | undefined;
    const writer = new GraphWriter(async (_d, c) => {
      seen = c;
      return ok;
    }, HALF_LIFE, 100);
    const lost: BatchControl = { heartbeat: async () => undefined, isActive: () => false };
    const tickets = [writer.ticket(), writer.ticket()];
    await Promise.all([tickets[0]!.submit(delta({ a: { b: 1 } }), lost), tickets[1]!.submit(delta({ a: { b: 1 } }), control)]);
    expect(seen!.isActive()).toBe(true);
  });
});
