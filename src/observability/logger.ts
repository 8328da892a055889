/**
 * The structured logger: pino, JSON by default, pretty in a terminal when asked.
 * Redaction of keys and tokens is built in: secrets never reach a log line.
 *
 * Cost matters: one line per request sits on the hot path. Lines are written
 * asynchronously in batches (flushed on shutdown), timestamps are epoch
 * milliseconds, and redaction uses exact paths only — a leading wildcard
 * (`*.apiKey`) makes pino walk every key of every line.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever a logged object carries them. */
export const redactPaths = [
  'apiKey',
  'token',
  'authorization',
  '["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'provider.apiKey',
  'config.providers[*].apiKey',
  'providers[*].apiKey',
];

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  /** For tests: capture lines instead of writing to stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    base: { service: 'switchyard' },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  // Batched asynchronous writes to stdout. A quiet gateway must still show its
  // lines promptly, so the buffer is also flushed every 200 ms; shutdown
  // calls `logger.flush()` for the rest.
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 200 }));
}
