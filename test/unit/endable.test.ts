import { describe, expect, it } from 'vitest';
import { endable } from '../../src/graphql/subscriptions/endable.js';

/** A generator that yields once, then waits, as a subscription on its mailbox does, for an update that only `ended` cuts short. */
function waiting(log: string[]) {
  return endable(async function* (ended) {
    try {
      yield 'snapshot';
      await new Promise<void>((resolve) => ended.addEventListener('abort', () => resolve(), { once: true }));
      if (ended.aborted) return;
      yield 'never';
    } finally {
      log.push('finally');
    }
  });
}

describe('endable', () => {
  it('ends a generator that is waiting, when return() is called, instead of queueing the call until its next yield', async () => {
    const log: string[] = [];
    const it = waiting(log);
    expect(await it.next()).toEqual({ value: 'snapshot', done: false });
    const pending = it.next();
    expect(await it.return!(undefined)).toEqual({ value: undefined, done: true });
    expect(log).toEqual(['finally']);
    expect((await pending).done).toBe(true);
  });

  it('without it, the same return() would still be waiting (what graphql-ws met when a client left)', async () => {
    let release: () => void = () => undefined;
    const plain = (async function* () {
      yield 'snapshot';
      await new Promise<void>((resolve) => (release = resolve));
    })();
    await plain.next();
    void plain.next();
    let returned = false;
    const ret = plain.return(undefined).then(() => (returned = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(returned).toBe(false);
    release();
    await ret;
    expect(returned).toBe(true);
  });

  it('passes values and errors through, and is its own async iterator', async () => {
    const it = endable(async function* () {
      yield 1;
      yield 2;
    });
    expect(it[Symbol.asyncIterator]()).toBe(it);
    const seen: number[] = [];
    for await (const v of it) seen.push(v);
    expect(seen).toEqual([1, 2]);
  });
});
