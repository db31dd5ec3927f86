/**
 * Group commit of item graph deltas: the deltas of batches that arrive while
 * a write is in flight are added up and written together by the next one.
 * Partitions handled at once touch the same popular items, so one write of
 * their sum costs Redis a fraction of one write each; an idle processor
 * still writes each batch's delta at once, with no timer and no delay.
 *
 * Each batch waits for the write that carries its delta, so its offsets are
 * still committed only after its part of the graph is in Redis: the crash
 * story of the item graph is unchanged (see the README).
 */
import { addDelta, type ItemGraphDelta, type MutableGraphDelta } from '../features/cooccurrence.js';
import type { BatchControl, WriteOutcome } from './outcome-policy.js';

/** Writes one (summed) delta under the write policy, lent the controls of the batches it carries. */
export type WriteDelta = (delta: ItemGraphDelta, control: BatchControl) => Promise<WriteOutcome<void>>;

interface Group {
  readonly deltas: ItemGraphDelta[];
  readonly controls: BatchControl[];
  readonly outcome: Promise<WriteOutcome<void>>;
  settle(outcome: WriteOutcome<void>): void;
}

export class GraphWriter {
  readonly #write: WriteDelta;
  readonly #trendingHalfLifeMs: number;
  /** The deltas waiting for the write in flight to finish. */
  #next: Group | undefined;
  #writing = false;

  constructor(write: WriteDelta, trendingHalfLifeMs: number) {
    this.#write = write;
    this.#trendingHalfLifeMs = trendingHalfLifeMs;
  }

  /** Resolves with the outcome of the write that carried `delta`. */
  submit(delta: ItemGraphDelta, control: BatchControl): Promise<WriteOutcome<void>> {
    const group = (this.#next ??= newGroup());
    group.deltas.push(delta);
    group.controls.push(control);
    if (!this.#writing) void this.#drain();
    return group.outcome;
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      for (let group = this.#next; group; group = this.#next) {
        this.#next = undefined;
        const { controls, deltas } = group;
        const sum = deltas.length === 1 ? deltas[0]! : deltas.reduce<MutableGraphDelta | undefined>((into, d) => addDelta(into, d, this.#trendingHalfLifeMs), undefined)!;
        // One consumer beats for all; the write goes on while any of its batches is still owned.
        const control: BatchControl = { heartbeat: () => controls[0]!.heartbeat(), isActive: () => controls.some((c) => c.isActive()) };
        group.settle(await this.#write(sum, control).catch((error: unknown) => ({ kind: 'failed' as const, error: error as Error })));
      }
    } finally {
      this.#writing = false;
    }
  }
}

function newGroup(): Group {
  let settle!: (outcome: WriteOutcome<void>) => void;
  const outcome = new Promise<WriteOutcome<void>>((resolve) => (settle = resolve));
  return { deltas: [], controls: [], outcome, settle };
}
