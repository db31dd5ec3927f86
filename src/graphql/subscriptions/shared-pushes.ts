/**
 * One execution per update and selection, shared by every subscriber of it.
 *
 * graphql's `subscribe` executes the selection once per subscriber and event.
 * Every subscriber of a user wakes on the same update and reads the same
 * state, so their results only differ by selection: an event that carries a
 * {@link PUSH_KEY} (what it shows, e.g. the user and version) is executed
 * once per selection (document, operation, variables), and the prepared
 * result (formatted and serialised by the transport) is handed to every
 * subscriber that takes the same event in the same turn of the event loop.
 *
 * Each push executes in a fresh context from the subscriber's (its viewer,
 * the clock read now), so scores, windows and staleness are those at the
 * push. Sharing across viewers is sound because every subscriber has passed
 * the subscription's own authorization for that user, and the fields under it
 * check nothing else (a user's private fields need exactly that, items
 * nothing).
 */
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';

/** Names what a source event shows: equal keys, equal results for one selection. */
export const PUSH_KEY = Symbol('push key');

export interface SharedPushesOptions<R extends ExecutionResult> {
  /** A context for one push, from the subscription's arguments. */
  context(args: ExecutionArgs): unknown;
  /** What subscribers are given of a result: prepared once, given to every sharer. */
  prepare(result: ExecutionResult): R;
}

/** graphql's `subscribe`, with each shareable event executed once per selection. */
export function createSharedPushes<R extends ExecutionResult>(o: SharedPushesOptions<R>) {
  let shared = new Map<string, Promise<R>>();
  let sweeping = false;
  const sweep = () => {
    shared = new Map();
    sweeping = false;
  };
  const run = async (args: ExecutionArgs, event: unknown): Promise<R> =>
    o.prepare(await execute({ ...args, rootValue: event, contextValue: o.context(args) }));

  return async function subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<R> | ExecutionResult> {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const selection = `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? null)}\n${args.document.loc?.source.body ?? print(args.document)}`;
    return mapStream(stream, (event) => {
      const key = (event as { [PUSH_KEY]?: unknown } | null)?.[PUSH_KEY];
      if (typeof key !== 'string') return run(args, event);
      const at = `${key}\n${selection}`;
      let result = shared.get(at);
      if (!result) {
        result = run(args, event);
        shared.set(at, result);
        // Sharers take the event in the same turn; afterwards a result is only memory.
        if (!sweeping) {
          sweeping = true;
          setImmediate(sweep);
        }
      }
      return result;
    });
  };
}

/**
 * `stream` mapped by `map`, as graphql's own mapping does: `return()` ends the
 * source at once, even while it waits for its next event.
 */
function mapStream<T, R>(stream: AsyncIterable<T>, map: (value: T) => Promise<R>): AsyncIterableIterator<R> {
  const source = stream[Symbol.asyncIterator]();
  const end = async (): Promise<IteratorResult<R>> => {
    await source.return?.();
    return { value: undefined, done: true };
  };
  return {
    async next() {
      const next = await source.next();
      if (next.done) return { value: undefined, done: true };
      try {
        return { value: await map(next.value), done: false };
      } catch (error) {
        await source.return?.().catch(() => undefined);
        throw error;
      }
    },
    return: end,
    async throw(error: unknown) {
      if (source.throw) {
        const next = await source.throw(error);
        return next.done ? { value: undefined, done: true } : { value: await map(next.value), done: false };
      }
      await end();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
