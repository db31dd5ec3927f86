/**
 * What becomes of a write the store does not take, for activity and profile
 * events alike:
 *
 *  - retry: a retriable failure is tried again with backoff, up to the
 *    configured attempts, heartbeating all along (one slow write must not
 *    cost the group membership);
 *  - hold: past that bound, if the store does not answer at all, or answers
 *    that it is full (Redis' OOM refusal), or users to restore first cannot
 *    be read from MongoDB, nothing can be applied until that passes, so the
 *    batch waits (committing nothing) instead of handing data on;
 *  - hand on: if it answers, the batch's messages go to the retry topic, so
 *    fresh data keeps flowing;
 *  - dead-letter: out of retry-topic attempts, or refused for good.
 *
 * Only the error's `retriable` flag (errors.ts) decides what is retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Message } from 'kafkajs';
import { attemptOf, retryRecord, type Origin } from '../contracts/retry-record.js';
import { holdsWrites, isRetriable } from '../errors.js';

/** What the caller's consumer lends while a batch is handled. */
export interface BatchControl {
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition is revoked: abandon, commit nothing. */
  isActive(): boolean;
}

export type WriteOutcome<T> = { kind: 'ok'; value: T } | { kind: 'failed'; error: Error } | { kind: 'abandoned' };

export interface WriteOptions {
  /** Tries of the write before the store is probed. */
  readonly attempts: number;
  /** Resolves when the store answers at all. */
  reachable(): Promise<void>;
  /** Told each time the store does not answer and the write is held. */
  onUnavailable(error: unknown): void;
  /**
   * The rest of a batch whose user states are already written: tried even
   * once the consumer stops, and given up as failed rather than held then.
   */
  readonly finish?: boolean;
}

/** Below kafkajs' 3 s heartbeat interval and far below the 30 s session timeout. */
const HEARTBEAT_EVERY_MS = 2_000;

/** While the store does not answer, it is probed this often. */
const HOLD_PROBE_MS = 1_000;

/** Runs `write` under the policy: ok, failed (hand the batch on), or abandoned (the consumer stopped first). */
export async function writeWithPolicy<T>(write: () => Promise<T>, control: BatchControl, o: WriteOptions): Promise<WriteOutcome<T>> {
  const policy = retry(handleWhen(isRetriable), {
    maxAttempts: o.attempts - 1,
    backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }),
  });
  const beat = () => void control.heartbeat().catch(() => undefined);
  policy.onRetry(beat);
  for (;;) {
    if (!o.finish && !control.isActive()) return { kind: 'abandoned' };
    const heartbeats = setInterval(beat, HEARTBEAT_EVERY_MS);
    try {
      return { kind: 'ok', value: await policy.execute(write) };
    } catch (error) {
      const answers = await o.reachable().then(
        () => true,
        () => false,
      );
      if (!isRetriable(error) || (answers && !holdsWrites(error)) || (o.finish && !control.isActive())) return { kind: 'failed', error: error as Error };
      o.onUnavailable(error);
      beat();
      await sleep(HOLD_PROBE_MS);
    } finally {
      clearInterval(heartbeats);
    }
  }
}

export interface HandOnOptions {
  /** Tries from the retry topic before a message is dead-lettered. */
  readonly retryTopicAttempts: number;
  /** First delay on the retry topic; each later try waits twice as long. */
  readonly retryBaseDelayMs: number;
  readonly now: number;
  deadLetter(origin: Origin, error: Error): Message;
}

/** Splits messages whose write failed with `error` into retry records and dead letters. */
export function handOn(origins: readonly Origin[], error: Error, o: HandOnOptions): { retries: Message[]; dead: Message[] } {
  const retries: Message[] = [];
  const dead: Message[] = [];
  for (const origin of origins) {
    const attempt = attemptOf(origin.message) + 1;
    if (!isRetriable(error) || attempt > o.retryTopicAttempts) dead.push(o.deadLetter(origin, error));
    else retries.push(retryRecord(origin, error, o.now + o.retryBaseDelayMs * 2 ** (attempt - 1)));
  }
  return { retries, dead };
}
