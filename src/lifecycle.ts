/**
 * The process lifecycle as one typed state, with an ordered shutdown:
 * starting → ready → draining → stopped. Components register a stop step as
 * they start; steps run in reverse order of registration (the HTTP server
 * stops taking requests before the stores it reads from are closed), each
 * bounded by a deadline so one stuck step cannot hold the process.
 */
import type { Logger } from './observability/logger.js';

export type LifecycleState = 'starting' | 'ready' | 'draining' | 'stopped';

interface StopStep {
  readonly name: string;
  readonly stop: () => Promise<void>;
}

export class Lifecycle {
  #state: LifecycleState = 'starting';
  readonly #steps: StopStep[] = [];
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = 10_000,
  ) {}

  get state(): LifecycleState {
    return this.#state;
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

  async #runStops(): Promise<void> {
    this.#state = 'draining';
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
