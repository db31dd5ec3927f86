/** Checks of field arguments the SDL cannot express. */
import { badUserInput } from './errors.js';

/** The SDL's default `limit`, also taken for an explicit null; within every allowed maximum. */
const DEFAULT_LIMIT = 10;

/** A list's `limit`: 1 to `max`. */
export function listLimit(limit: number | null | undefined, max: number): number {
  const n = limit ?? DEFAULT_LIMIT;
  if (n < 1 || n > max) throw badUserInput(`limit must be between 1 and ${max}, not ${n}`);
  return n;
}
