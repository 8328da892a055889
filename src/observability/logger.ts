/**
 * The structured logger: pino, JSON by default, pretty in a terminal when asked.
 * Redaction of keys and tokens is built in: secrets never reach a log line.
 *
 * Cost matters: one line per request sits on the hot path. Lines are written
 * asynchronously in batches (flushed on shutdown), timestamps are epoch
 * milliseconds, and redaction uses exact paths only — a leading wildcard
 * (`*.apiKey`) makes pino walk every key of every line.
 *
 * Each part of the gateway logs through a module logger (`moduleLogger`):
 * its lines carry `module`, and `logging.levels` sets a level per module,
 * e.g. `{ request: warn }` silences the per-request lines.
 */
import { fstatSync } from 'node:fs';
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** The modules that log, for `logging.levels`. */
export const logModules = ['request', 'server', 'gateway', 'routing', 'tracing', 'metrics', 'config', 'usage', 'tenancy', 'limits', 'ui'] as const;

/** Paths pino censors wherever a logged object carries them. */
export const redactPaths = [
  'apiKey',
  'apiKeys',
  'token',
  'jwt',
  'secret',
  'password',
  'authorization',
  'cookie',
  '["x-api-key"]',
  '["proxy-authorization"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'provider.apiKey',
  'provider.apiKeys',
  'config.providers[*].apiKey',
  'config.providers[*].apiKeys',
  'config.admin.apiKeys',
  'providers[*].apiKey',
  'providers[*].apiKeys',
  'admin.apiKeys',
];

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  /** Level per module (`logging.levels`); modules not listed log at `level`. */
  levels?: Readonly<Record<string, string>>;
  /** For tests: capture lines instead of writing to stdout. */
  destination?: DestinationStream;
  /**
   * The process's place in a cluster (`server.workers` > 1): 0 the primary, 1…N a
   * worker. Every line then carries `worker`, and when stdout is a pipe each write
   * is whole lines of at most PIPE_BUF bytes, which a pipe never interleaves with
   * the writes of the other processes sharing it.
   */
  worker?: number;
}

/** Linux's PIPE_BUF: a write to a pipe up to this size is atomic. */
const PIPE_BUF = 4096;

/**
 * Whether stdout is a pipe or a socket, where a large write of one process can
 * be split around another's. Appends to a regular file are never interleaved.
 */
function stdoutIsPipe(): boolean {
  try {
    const stat = fstatSync(1);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return true;
  }
}

/**
 * Hands each line to sonic-boom as bytes. In its default string mode
 * sonic-boom appends each line to the string being batched and then measures
 * that string's UTF-8 length, which flattens it: ~5 µs per line with 32 KB
 * batches, quadratic in the batch. In buffer mode it keeps a list of buffers
 * and their lengths, and joins them once per write: under 1 µs per line. The
 * wrapper holds nothing itself, so sonic-boom's own flush on exit still
 * writes every line.
 */
function asBuffers(sink: DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void }): DestinationStream {
  return {
    write: (line: string) => sink.write(Buffer.from(line) as unknown as string),
    flush: (cb?: (err?: Error) => void) => sink.flush(cb),
    flushSync: () => sink.flushSync(),
  } as DestinationStream;
}

const moduleLevels = new WeakMap<Logger, Readonly<Record<string, string>>>();

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    base: options.worker === undefined ? { service: 'switchyard' } : { service: 'switchyard', worker: options.worker },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  let logger: Logger;
  if (options.destination !== undefined) {
    logger = pino(base, options.destination);
  } else if (options.format === 'pretty') {
    logger = pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  } else {
    // Batched asynchronous writes to stdout. A write costs ~30 µs of CPU
    // whatever its size up to tens of KB, so lines are gathered into 32 KB
    // writes (~70 request lines); a quiet gateway must still show its lines
    // promptly, so the buffer is also flushed every 200 ms; shutdown calls
    // `logger.flush()` for the rest.
    const sizes = options.worker !== undefined && stdoutIsPipe() ? { minLength: PIPE_BUF / 2, maxWrite: PIPE_BUF } : { minLength: 32 * 1024, maxWrite: 64 * 1024 };
    logger = pino(base, asBuffers(pino.destination({ dest: 1, sync: false, contentMode: 'buffer', ...sizes, periodicFlush: 200 })));
  }
  if (options.levels !== undefined && Object.keys(options.levels).length > 0) moduleLevels.set(logger, options.levels);
  return logger;
}

/**
 * The logger of one module: a child whose lines carry `module` and whose level
 * is `logging.levels[module]` when set (finer or coarser than the root's).
 */
export function moduleLogger(logger: Logger, module: string): Logger {
  const level = moduleLevels.get(logger)?.[module];
  return level === undefined ? logger.child({ module }) : logger.child({ module }, { level: level as LevelWithSilent });
}

/** A body for a log line when `logging.bodies` is on: JSON, cut at `maxChars` with a note of how much was left out. */
export function truncatedBody(body: unknown, maxChars: number): string {
  let text: string;
  try {
    text = typeof body === 'string' ? body : JSON.stringify(body) ?? '';
  } catch {
    text = String(body);
  }
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… [${text.length - maxChars} more characters]`;
}
