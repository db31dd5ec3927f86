/** Liveness and readiness: ready means started and every dependency answers. */
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
  const ok = results.every(([, r]) => r === 'ok');
  return { ready: lifecycle.state === 'ready' && ok, state: lifecycle.state, checks: Object.fromEntries(results) };
}
