/**
 * The process lifecycle as one typed state, with an ordered shutdown:
 * starting → ready → draining → stopped. Components register a stop step as
 * they start; steps run in reverse order of registration (the HTTP server
 * stops taking requests before the stores it reads from are closed), each
 * bounded by a deadline so one stuck step cannot hold the process.
 * Start-up steps that wait for a dependency run through `retryUntilStopped`,
 * which a stop ends, and which readiness reports until they succeed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { isRetriable, StoppedError } from './errors.js';
import type { Logger } from './observability/logger.js';

export type LifecycleState = 'starting' | 'ready' | 'draining' | 'stopped';

interface StopStep {
  readonly name: string;
  readonly stop: () => Promise<void>;
}

/** Options of {@link Lifecycle.retryUntilStopped}. */
export interface RetryUntilStoppedOptions {
  /** The first backoff delay, growing (exponent 2, jittered) up to `maxDelayMs`. Defaults: 500 ms, 30 s. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A wait before the first attempt too, e.g. when restarting something that just crashed. Default 0. */
  readonly firstDelayMs?: number;
  /** List `name` in `pending` (so readiness fails) until it succeeds. Default true. */
  readonly reportNotReady?: boolean;
}

export class Lifecycle {
  #state: LifecycleState = 'starting';
  readonly #steps: StopStep[] = [];
  #stopping: Promise<void> | undefined;
  /** Aborted when the stop begins: ends every `retryUntilStopped`. */
  readonly #stopSignal = new AbortController();
  readonly #pending = new Map<string, string>();

  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = 10_000,
  ) {}

  get state(): LifecycleState {
    return this.#state;
  }

  /** Start-up steps still being retried, with what stands in their way. */
  get pending(): ReadonlyMap<string, string> {
    return this.#pending;
  }

  /** Registers a stop step; later registrations stop first. */
  onStop(name: string, stop: () => Promise<void>): void {
    this.#steps.push({ name, stop });
  }

  ready(): void {
    if (this.#state === 'starting') this.#state = 'ready';
  }

  /** Runs every stop step once, newest first; later calls share the first. */
  stop(): Promise<void> {
    this.#stopping ??= this.#runStops();
    return this.#stopping;
  }

  /**
   * Runs `fn` until it succeeds, for as long as this lifecycle is not
   * stopping: for start-up steps whose dependency may not be there yet, so a
   * role waits for it instead of exiting.
   *
   * - Resolves with `fn`'s first result.
   * - A retriable failure (errors.ts `isRetriable`) is logged once, at warn,
   *   with `name`, the attempt and the next delay, and `fn` runs again after
   *   an exponential backoff (cockatiel), with no limit on attempts.
   * - A failure that is not retriable is logged at error and rejects with that
   *   error: trying again cannot help, so the caller decides.
   * - When `stop()` begins, rejects at once with a StoppedError, even in the
   *   middle of an attempt or a backoff; `fn`'s signal is aborted then and
   *   `fn` is not called again.
   * - Until it settles, `pending` lists `name` with the last error (unless
   *   `reportNotReady` is false), so /health/ready says what is not ready.
   */
  retryUntilStopped<T>(name: string, fn: (signal: AbortSignal) => Promise<T>, opts: RetryUntilStoppedOptions = {}): Promise<T> {
    const { signal } = this.#stopSignal;
    const report = (why: string) => opts.reportNotReady !== false && this.#pending.set(name, why);
    const policy = retry(handleWhen(isRetriable), {
      maxAttempts: Infinity,
      backoff: new ExponentialBackoff({ initialDelay: opts.initialDelayMs ?? 500, maxDelay: opts.maxDelayMs ?? 30_000 }),
    });
    let failures = 0;
    policy.onRetry((event) => {
      const err: unknown = 'error' in event ? event.error : event.value;
      failures = event.attempt;
      this.logger.warn({ step: name, attempt: event.attempt, delayMs: Math.round(event.delay), err }, 'start-up step failed; retrying');
      report(err instanceof Error ? err.message : String(err));
    });
    const attempt = async () => {
      if (signal.aborted) throw new StoppedError(`${name}: stopping`);
      return fn(signal);
    };
    const run = async () => {
      if (opts.firstDelayMs) await sleep(opts.firstDelayMs, undefined, { signal });
      try {
        const value = await policy.execute(attempt, signal);
        if (failures > 0) this.logger.info({ step: name, attempts: failures + 1 }, 'start-up step succeeded');
        return value;
      } catch (error) {
        if (!signal.aborted) this.logger.error({ step: name, err: error }, 'start-up step failed; not retriable');
        throw error;
      }
    };
    // Not cockatiel's signal alone: it does not cut a backoff short, nor an attempt in flight.
    let onAbort: () => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => (onAbort = () => reject(new StoppedError(`${name}: stopped before it succeeded`))));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    report('not started yet');
    return Promise.race([run(), stopped]).finally(() => {
      signal.removeEventListener('abort', onAbort);
      this.#pending.delete(name);
    });
  }

  async #runStops(): Promise<void> {
    this.#state = 'draining';
    this.#stopSignal.abort();
    for (const step of [...this.#steps].reverse()) {
      const started = Date.now();
      try {
        await withDeadline(step.stop(), this.stepTimeoutMs, step.name);
        this.logger.info({ step: step.name, ms: Date.now() - started }, 'stopped');
      } catch (error) {
        this.logger.error({ step: step.name, err: error }, 'stop step failed');
      }
    }
    this.#state = 'stopped';
  }
}

function withDeadline(work: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not stop within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
