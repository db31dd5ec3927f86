/** Structured JSON logs (pino). Components take a child logger with their name. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'user-activity-subgraph', ...base } });
}
