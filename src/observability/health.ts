/**
 * Liveness and readiness: ready means started, every dependency answers, and
 * no start-up step is still being retried (the lifecycle's `pending`).
 */
import type { Lifecycle } from '../lifecycle.js';

/** A named dependency check; resolves when the dependency answers. */
export interface DependencyCheck {
  readonly name: string;
  readonly check: () => Promise<void>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly state: string;
  /** `ok`, or what went wrong. */
  readonly checks: Record<string, string>;
}

export async function readiness(
  lifecycle: Lifecycle,
  checks: readonly DependencyCheck[],
  timeoutMs = 1000,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
        ]);
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      }
    }),
  );
  // A step still retrying its start-up (Kafka not there yet, say) names what stands in its way.
  const pending = [...lifecycle.pending].map(([name, why]) => [name, `not ready: ${why}`] as const);
  const all = [...results, ...pending];
  const ok = all.every(([, r]) => r === 'ok');
  return { ready: lifecycle.state === 'ready' && ok, state: lifecycle.state, checks: Object.fromEntries(all) };
}
