/**
 * An async generator hears `return()` only when it next reaches a `yield`:
 * while it awaits (a subscription waiting on its mailbox for the user's next
 * update, which may be hours away) the call is queued. graphql-ws calls
 * `return()` when a client completes a subscription or closes its socket,
 * and awaits each in turn, so a departed client's subscriptions would stay
 * open, and counted, until their users changed.
 *
 * `endable` hands the generator a signal that `return()` aborts before
 * asking the generator to return, so whatever it awaits can end at once.
 */
export function endable<T>(start: (ended: AbortSignal) => AsyncGenerator<T>): AsyncIterableIterator<T> {
  const ended = new AbortController();
  const source = start(ended.signal);
  const iterator: AsyncIterableIterator<T> = {
    next: () => source.next(),
    return: (value?: unknown) => {
      ended.abort();
      return source.return(value);
    },
    throw: (error?: unknown) => {
      ended.abort();
      return source.throw(error);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
