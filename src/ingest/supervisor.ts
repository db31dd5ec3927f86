/**
 * The processor and its retry worker, kept on one generation of the online
 * state. Before every write attempt and after the write, the applier checks
 * that Redis still holds the generation they started under, and so does a
 * probe every second while the input is idle. When it does not (Redis
 * restarted empty, or another instance recovered it meanwhile), nothing more
 * is written, the batch is left uncommitted,
 * both consumers stop, the state is recovered (or another instance's recovery
 * awaited, see `ensureOnline`), and fresh consumers start from the committed
 * offsets: the abandoned batches come again and count once.
 */
import type { Config } from '../config.js';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import type { ItemGraphStore } from '../stores/item-graph.js';
import type { ProfileStore } from '../stores/profile.js';
import type { UserStateStore } from '../stores/user-state.js';
import { ensureOnline, type RecoveryOptions } from './recovery.js';
import type { BatchApplier } from './batch-applier.js';
import { createProcessor, type ProcessorOptions } from './processor.js';
import { createRetryWorker } from './retry-worker.js';

export interface SupervisorOptions {
  readonly kafka: Kafka;
  readonly store: UserStateStore;
  readonly profiles: ProfileStore;
  readonly itemGraph?: ItemGraphStore;
  readonly config: ProcessorOptions['config'] & Pick<Config, 'redis'>;
  readonly logger: Logger;
  /** Called with each new applier (a restart makes new ones), to count what it does. */
  readonly observe?: (applier: BatchApplier) => void;
  /** How often the generation is checked besides after each write (default 1 s). */
  readonly probeIntervalMs?: number;
  /** Told when a restart after a loss begins (true) and ends (false). */
  readonly onRecovering?: (recovering: boolean) => void;
  /**
   * Runs a start, or a restart after a loss, until it succeeds: Kafka or
   * MongoDB may be down just then. The processor role passes its lifecycle's
   * `retryUntilStopped`; without it, one attempt, whose failure is thrown
   * (start) or logged (restart).
   */
  readonly retry?: <T>(step: string, attempt: () => Promise<T>) => Promise<T>;
}

export interface SupervisedProcessor {
  /** Recovers the online state if it was lost, then consumes. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Times the consumers were restarted after a loss. */
  readonly recoveries: number;
}

export function createSupervisedProcessor(o: SupervisorOptions): SupervisedProcessor {
  const log = o.logger.child({ component: 'supervisor' });
  const recovery: RecoveryOptions = { store: o.store, profiles: o.profiles, kafka: o.kafka, config: o.config, logger: o.logger, ...(o.itemGraph ? { itemGraph: o.itemGraph } : {}) };
  const stopping = new AbortController();
  let running: { stop(): Promise<void> } | undefined;
  let restarting: Promise<void> | undefined;
  let recoveries = 0;

  async function run(): Promise<void> {
    const generation = await ensureOnline({ ...recovery, signal: stopping.signal });
    const online = async () => (await o.store.generation()) === generation;
    const processor = createProcessor({ kafka: o.kafka, store: o.store, itemGraph: o.itemGraph, config: o.config, logger: o.logger, online });
    const retryWorker = createRetryWorker({ kafka: o.kafka, applier: processor.applier, topic: o.config.kafka.topics.activityRetry, groupId: `${o.config.processor.groupId}.retry`, logger: o.logger });
    o.observe?.(processor.applier);
    processor.applier.once('storeLost', () => void restart());
    const probe = setInterval(() => {
      online().then(
        (held) => held || void restart(),
        () => undefined, // Redis not answering: the applier holds its batches meanwhile
      );
    }, o.probeIntervalMs ?? 1000);
    running = {
      stop: async () => {
        clearInterval(probe);
        await Promise.allSettled([processor.stop(), retryWorker.stop()]);
      },
    };
    try {
      await processor.start();
      await retryWorker.start();
    } catch (error) {
      // A failed attempt leaves nothing running behind it: the next one starts afresh.
      await running.stop();
      running = undefined;
      throw error;
    }
  }
  const retry = o.retry ?? (<T>(_: string, attempt: () => Promise<T>) => attempt());

  function restart(): Promise<void> {
    restarting ??= (async () => {
      log.warn('the online state was lost while consuming: stopping, recovering, starting again');
      o.onRecovering?.(true);
      await running?.stop();
      running = undefined;
      if (stopping.signal.aborted) return;
      recoveries++;
      await retry('processor restart', run);
    })()
      .catch((err: unknown) => {
        if (!stopping.signal.aborted) log.error({ err }, 'restart after a loss failed');
      })
      .finally(() => {
        restarting = undefined;
        o.onRecovering?.(false);
      });
    return restarting;
  }

  return {
    start: () => retry('processor start', run),
    async stop() {
      stopping.abort();
      await restarting;
      await running?.stop();
    },
    get recoveries() {
      return recoveries;
    },
  };
}
