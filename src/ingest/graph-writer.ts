/**
 * Group commit of item graph deltas. Partitions handled at once touch the
 * same popular items, so one write of their deltas' sum costs Redis a
 * fraction of one write each. A write starts once every batch being applied
 * has handed in its delta (or has left without one), or `gatherMs` after the
 * first delta waiting, whichever comes first; deltas that arrive while a
 * write is in flight go into the next one. A lone batch is written at once.
 *
 * Each batch waits for the write that carries its delta, so its offsets are
 * still committed only after its part of the graph is in Redis: the crash
 * story of the item graph is unchanged (see the README).
 */
import { addDelta, type ItemGraphDelta, type MutableGraphDelta } from '../features/cooccurrence.js';
import type { BatchControl, WriteOutcome } from './outcome-policy.js';

/** Writes one (summed) delta under the write policy, lent the controls of the batches it carries. */
export type WriteDelta = (delta: ItemGraphDelta, control: BatchControl) => Promise<WriteOutcome<void>>;

/** A batch being applied: it hands in its delta, or leaves without one. */
export interface GraphTicket {
  /** Resolves with the outcome of the write that carried `delta`. */
  submit(delta: ItemGraphDelta, control: BatchControl): Promise<WriteOutcome<void>>;
  /** The batch is done; without a delta handed in, it is no longer waited for. */
  leave(): void;
}

interface Group {
  readonly deltas: ItemGraphDelta[];
  readonly controls: BatchControl[];
  readonly outcome: Promise<WriteOutcome<void>>;
  settle(outcome: WriteOutcome<void>): void;
}

export class GraphWriter {
  readonly #write: WriteDelta;
  readonly #trendingHalfLifeMs: number;
  readonly #gatherMs: number;
  /** Batches being applied that have not handed in a delta yet. */
  #expected = 0;
  /** The deltas of the next write. */
  #next: Group | undefined;
  #writing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(write: WriteDelta, trendingHalfLifeMs: number, gatherMs: number) {
    this.#write = write;
    this.#trendingHalfLifeMs = trendingHalfLifeMs;
    this.#gatherMs = gatherMs;
  }

  /** Called as a batch starts: the next write waits (a little) for its delta. */
  ticket(): GraphTicket {
    this.#expected++;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      this.#expected--;
    };
    return {
      submit: (delta, control) => {
        const group = (this.#next ??= newGroup());
        group.deltas.push(delta);
        group.controls.push(control);
        close();
        this.#startIfReady();
        return group.outcome;
      },
      leave: () => {
        close();
        this.#startIfReady();
      },
    };
  }

  #startIfReady(): void {
    if (this.#writing || !this.#next) return;
    if (this.#expected === 0) {
      void this.#drain();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#writing && this.#next) void this.#drain();
    }, this.#gatherMs);
  }

  async #drain(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = true;
    const group = this.#next!;
    this.#next = undefined;
    try {
      const { controls, deltas } = group;
      const sum = deltas.length === 1 ? deltas[0]! : deltas.reduce<MutableGraphDelta | undefined>((into, d) => addDelta(into, d, this.#trendingHalfLifeMs), undefined)!;
      // One consumer beats for all; the write goes on while any of its batches is still owned.
      const control: BatchControl = { heartbeat: () => controls[0]!.heartbeat(), isActive: () => controls.some((c) => c.isActive()) };
      group.settle(await this.#write(sum, control).catch((error: unknown) => ({ kind: 'failed' as const, error: error as Error })));
    } finally {
      this.#writing = false;
      this.#startIfReady();
    }
  }
}

function newGroup(): Group {
  let settle!: (outcome: WriteOutcome<void>) => void;
  const outcome = new Promise<WriteOutcome<void>>((resolve) => (settle = resolve));
  return { deltas: [], controls: [], outcome, settle };
}
