/**
 * The structured logger: pino, JSON by default, pretty in a terminal when asked.
 * Redaction of keys and tokens is built in: secrets never reach a log line.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever they appear in a logged object. */
export const redactPaths = [
  'apiKey',
  '*.apiKey',
  'providers[*].apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'authorization',
  '["x-api-key"]',
  'token',
  '*.token',
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
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base);
}
