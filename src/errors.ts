/**
 * One hierarchy for the service's own errors. `retriable` alone decides
 * whether a failure is retried: a bad message never is, a dependency that did
 * not answer always is (within the caller's bound). Driver errors are
 * classified here too (`isRetriable`, `classify`), so a deterministic failure
 * (a failing script, an invalid document) is not sent through every backoff round.
 */
import { ReplyError } from 'ioredis';
import kafkajs from 'kafkajs';
import { BSON, MongoError, MongoInvalidArgumentError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';

// kafkajs spreads its errors into module.exports, which Node cannot see as named ESM exports.
const { KafkaJSError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

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

const messageOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));

/** Redis, MongoDB or Kafka did not answer in time. */
export class DependencyError extends ServiceError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  readonly retriable = true;
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${messageOf(cause)}`, { cause });
  }
}

/**
 * Users absent from Redis (expired, or lost) could not be read from MongoDB
 * to restore them before their events apply: the batch waits for MongoDB
 * (see {@link holdsWrites}) rather than apply them to an empty state.
 */
export class DurableCopyUnavailableError extends ServiceError {
  readonly code = 'DURABLE_COPY_UNAVAILABLE';
  readonly retriable: boolean;
  constructor(users: number, cause: unknown) {
    super(`${users} users absent from Redis could not be restored from MongoDB: ${messageOf(cause)}`, { cause });
    this.retriable = isRetriable(cause);
  }
}

/** Redis, MongoDB or Kafka answered and refused: the same request would fail the same way again. */
export class DependencyRejectedError extends ServiceError {
  readonly code = 'DEPENDENCY_REJECTED';
  readonly retriable = false;
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} refused: ${messageOf(cause)}`, { cause });
  }
}

/** The process is stopping: the work was given up on purpose, it did not fail. */
export class StoppedError extends ServiceError {
  readonly code = 'STOPPED';
  readonly retriable = false;
}

// ioredis types ReplyError as `any`; it is redis-errors' class.
const RedisReplyError = ReplyError as new (message: string) => Error;
/** Replies that a retry cannot change: the script itself fails, or the key holds another type. */
const REDIS_DETERMINISTIC = /^(ERR Error running script|ERR user_script|WRONGTYPE)/;
/** BadValue, BSONObjectTooLarge, two "document too large", DocumentValidationFailure. */
const MONGO_DETERMINISTIC = new Set([2, 10334, 17419, 17420, 121]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const NETWORK_MESSAGES = /^(Command timed out|Connection is closed)/;

/** Our verdict on a driver error, or undefined when `error` is none we know. */
function driverVerdict(error: unknown): boolean | undefined {
  // kafkajs marks its "gave up" wrapper non-retriable only to stop nested retriers; it wraps a retriable error.
  if (error instanceof KafkaJSNumberOfRetriesExceeded) return true;
  if (error instanceof KafkaJSError) return error.retriable;
  if (error instanceof RedisReplyError) return !REDIS_DETERMINISTIC.test(error.message);
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  if (error instanceof MongoError && error.hasErrorLabel('RetryableWriteError')) return true;
  if (error instanceof MongoServerError && typeof error.code === 'number' && MONGO_DETERMINISTIC.has(error.code)) return false;
  if (error instanceof MongoInvalidArgumentError || BSON.BSONError.isBSONError(error)) return false;
  if (!(error instanceof Error)) return undefined;
  // ioredis does not export it; a command queued through more reconnects than allowed.
  if (error.name === 'MaxRetriesPerRequestError' || NETWORK_MESSAGES.test(error.message)) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code) ? true : undefined;
}

/** Redis' refusal of a write while its memory is full (`maxmemory` under `noeviction`); scripts are refused before they run. */
const REDIS_FULL = /^OOM /;

/**
 * Whether `error` (or an error it wraps) says the store answers but takes no
 * writes until memory frees: what it refuses is neither wrong nor lost, so a
 * writer waits for it instead of handing the data on.
 */
export function isStoreFull(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof RedisReplyError && REDIS_FULL.test(e.message)) return true;
  }
  return false;
}

/**
 * Whether a failed write must wait rather than be handed on to the retry
 * topic, although the store answers: a full Redis, or users to restore from a
 * MongoDB that does not answer (their events would otherwise apply to an
 * empty state once retried elsewhere, or be dead-lettered in the end).
 */
export const holdsWrites = (error: unknown): boolean => isStoreFull(error) || (error instanceof DurableCopyUnavailableError && error.retriable);

/** Whether `error` is worth trying again: our flag, else the driver's verdict, else assume a passing fault. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ServiceError) return error.retriable;
  const verdict = driverVerdict(error);
  if (verdict !== undefined) return verdict;
  if (error && typeof error === 'object' && 'retriable' in error) return Boolean(error.retriable);
  return true;
}

function dependencyOf(error: unknown): string {
  if (error instanceof KafkaJSError) return 'kafka';
  if (error instanceof MongoError || BSON.BSONError.isBSONError(error)) return 'mongodb';
  if (error instanceof RedisReplyError || (error instanceof Error && error.name === 'MaxRetriesPerRequestError')) return 'redis';
  return 'dependency';
}

/** `error` as one of ours: itself if it is one, else the driver error wrapped (as `cause`) by its verdict. */
export function classify(error: unknown, dependency = dependencyOf(error)): ServiceError {
  if (error instanceof ServiceError) return error;
  return isRetriable(error) ? new DependencyError(dependency, error) : new DependencyRejectedError(dependency, error);
}
