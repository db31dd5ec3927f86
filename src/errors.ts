/**
 * One hierarchy for the service's own errors. `retriable` alone decides
 * whether a failure is retried: a bad message never is, a dependency that did
 * not answer always is (within the caller's bound).
 */
export abstract class ServiceError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A message that cannot be decoded or validated. Goes to the dead-letter topic. */
export class DecodeError extends ServiceError {
  readonly code = 'DECODE_FAILED';
  readonly retriable = false;
}

/** An event dated further in the future than the allowed clock skew: it would move the user's reference time. */
export class EventInFutureError extends ServiceError {
  readonly code = 'EVENT_IN_FUTURE';
  readonly retriable = false;
}

/** Redis, MongoDB or Kafka did not answer in time. */
export class DependencyError extends ServiceError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  readonly retriable = true;
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Whether `error` is worth trying again: our flag, else kafkajs' own, else assume a passing fault. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ServiceError) return error.retriable;
  if (error && typeof error === 'object' && 'retriable' in error) return Boolean(error.retriable);
  return true;
}
