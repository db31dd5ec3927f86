/** Calls `fn` at most once per `intervalMs`, with the latest argument; the first call waits out no interval. */
export function throttle<T>(intervalMs: number, fn: (arg: T) => void): { call(arg: T): void; cancel(): void } {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: T;
  const fire = () => {
    timer = undefined;
    last = Date.now();
    fn(latest);
  };
  return {
    call(arg) {
      latest = arg;
      if (timer) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait).unref();
    },
    cancel: () => clearTimeout(timer),
  };
}
