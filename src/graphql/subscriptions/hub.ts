/**
 * Fans feature updates out to this instance's subscriptions, by user, and
 * item graph updates to the subscriptions that watch the changed items (a
 * recommendations subscription watches its user's anchors, or TRENDING).
 *
 * Each subscription has a mailbox that holds at most one pending version,
 * the newest: while a subscriber is busy (its socket has not drained the
 * previous message), newer updates replace the pending one instead of
 * queueing behind it. A slow client therefore costs one slot, never a
 * backlog, and never slows anyone else. No I/O here.
 */
import { EventEmitter } from 'node:events';

/** A version to announce, with the time of the event behind it (epoch ms). */
export interface Pending {
  readonly version: number;
  readonly eventTime: number;
}

export interface HubEvents {
  /** A pending version was replaced by a newer one before it was taken. */
  superseded: [];
}

export class Mailbox implements AsyncIterableIterator<Pending> {
  #pending: Pending | undefined;
  #wake: ((r: IteratorResult<Pending>) => void) | undefined;
  #closed = false;

  constructor(
    private readonly onClose: (box: Mailbox) => void,
    private readonly onSuperseded: () => void,
  ) {}

  /** Keeps the newest version offered; wakes a waiting reader. */
  offer(p: Pending): void {
    if (this.#closed) return;
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake({ value: p, done: false });
      return;
    }
    if (this.#pending) {
      if (p.version <= this.#pending.version) return;
      this.onSuperseded();
    }
    this.#pending = p;
  }

  next(): Promise<IteratorResult<Pending>> {
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    const pending = this.#pending;
    if (pending) {
      this.#pending = undefined;
      return Promise.resolve({ value: pending, done: false });
    }
    return new Promise((resolve) => (this.#wake = resolve));
  }

  return(): Promise<IteratorResult<Pending>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#wake?.({ value: undefined, done: true });
      this.#wake = undefined;
      this.onClose(this);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** What a subscription watches to hear that the trending list changed. */
export const TRENDING = Symbol('trending');
export type Watched = string | typeof TRENDING;

export class UpdateHub extends EventEmitter<HubEvents> {
  readonly #byUser = new Map<string, Set<Mailbox>>();
  readonly #byItem = new Map<Watched, Set<Mailbox>>();
  readonly #watching = new Map<Mailbox, readonly Watched[]>();

  /** A mailbox for `userId`'s updates, open until its `return()`. */
  subscribe(userId: string): Mailbox {
    const box = new Mailbox(
      (b) => {
        const boxes = this.#byUser.get(userId);
        boxes?.delete(b);
        if (boxes?.size === 0) this.#byUser.delete(userId);
        this.watch(b, []);
      },
      () => this.emit('superseded'),
    );
    const boxes = this.#byUser.get(userId) ?? new Set<Mailbox>();
    boxes.add(box);
    this.#byUser.set(userId, boxes);
    return box;
  }

  publish(userId: string, pending: Pending): void {
    for (const box of this.#byUser.get(userId) ?? []) box.offer(pending);
  }

  /** Makes `box` hear changes of exactly `items` from now on (replacing what it watched). */
  watch(box: Mailbox, items: readonly Watched[]): void {
    for (const item of this.#watching.get(box) ?? []) {
      const boxes = this.#byItem.get(item);
      boxes?.delete(box);
      if (boxes?.size === 0) this.#byItem.delete(item);
    }
    if (items.length === 0) {
      this.#watching.delete(box);
      return;
    }
    this.#watching.set(box, items);
    for (const item of items) {
      const boxes = this.#byItem.get(item) ?? new Set<Mailbox>();
      boxes.add(box);
      this.#byItem.set(item, boxes);
    }
  }

  /**
   * Nudges every mailbox watching one of `items`, once: a nudge carries
   * version 0, so it only stands when nothing newer is pending.
   */
  publishItems(items: Iterable<Watched>, eventTime: number): void {
    const boxes = new Set<Mailbox>();
    for (const item of items) for (const box of this.#byItem.get(item) ?? []) boxes.add(box);
    for (const box of boxes) box.offer({ version: 0, eventTime });
  }

  /** Open subscriptions, over all users. */
  get size(): number {
    let n = 0;
    for (const boxes of this.#byUser.values()) n += boxes.size;
    return n;
  }
}
