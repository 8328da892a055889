/**
 * One shared Redis connection (ioredis) for the features that coordinate
 * gateway instances: limits and budgets, key revocation over pub/sub.
 *
 * Redis is a helper, never a dependency of serving: commands fail fast while
 * it is unreachable (no offline queue, a short command timeout) so callers fall
 * back to local state, and the connection keeps retrying in the background.
 * Going down and coming back are each logged once, and `up` / `stats()` say
 * where it stands for metrics.
 *
 * @example
 * const redis = createRedis(url, { logger, name: 'limits' });
 * redis.connect();
 * if (redis.up) await redis.client.incr('k');
 */
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

/** `redis.url` from the config, else REDIS_URL; undefined means no Redis. */
export function resolveRedisUrl(configured: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const url = configured ?? env.REDIS_URL;
  return url === undefined || url.trim() === '' ? undefined : url.trim();
}

/** host:port (and db) of a Redis URL, without credentials: safe to log. */
export function describeRedisUrl(url: string): string {
  if (!URL.canParse(url)) return 'redis (unparsable URL)';
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
}

export interface RedisStats {
  readonly url: string;
  readonly up: boolean;
  /** ioredis' own status: wait, connecting, connect, ready, reconnecting, close, end. */
  readonly status: string;
  /** Times it went from up to down since start. */
  readonly outages: number;
  /** When it last changed between up and down (epoch ms); 0 if never. */
  readonly since: number;
}

export interface RedisConnectionOptions {
  readonly logger: Logger;
  /** Who uses it, for log lines. */
  readonly name: string;
  /** A command that takes longer fails (default 1000 ms). */
  readonly commandTimeoutMs?: number;
  /** Longest wait between reconnection attempts (default 2000 ms). */
  readonly maxRetryDelayMs?: number;
}

export interface RedisConnection {
  readonly client: Redis;
  /** Connected and ready for commands. */
  readonly up: boolean;
  /** Starts connecting (once; later calls do nothing). Never throws: failures are logged and retried. */
  connect(): void;
  /** Settles after the first connection attempt (connect() starts it): true if it succeeded. */
  firstAttempt(): Promise<boolean>;
  /** Calls back on every change between up and down. */
  onChange(listener: (up: boolean) => void): () => void;
  stats(): RedisStats;
  close(): Promise<void>;
}

export function createRedis(url: string, options: RedisConnectionOptions): RedisConnection {
  const { logger, name } = options;
  const where = describeRedisUrl(url);
  const maxDelay = options.maxRetryDelayMs ?? 2000;
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail at once while disconnected instead of queueing behind a dead link.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(100 * times, maxDelay),
    // Without this a ready check that fails (LOADING…) would hold commands back.
    enableReadyCheck: true,
  });
  const listeners = new Set<(up: boolean) => void>();
  let up = false;
  let started = false;
  let closing = false;
  let outages = 0;
  let since = 0;
  // Logged once per outage, with the reason ioredis gave first.
  let lastError: string | undefined;
  let attempted: (up: boolean) => void = () => {};
  const first = new Promise<boolean>((resolve) => {
    attempted = resolve;
  });

  const change = (next: boolean): void => {
    if (next === up) return;
    up = next;
    since = Date.now();
    if (next) {
      logger.info({ redis: where, user: name }, 'redis connected');
    } else {
      outages++;
      if (!closing) logger.warn({ redis: where, user: name, reason: lastError }, 'redis unreachable; serving on local state until it is back');
    }
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (err) {
        logger.error({ err, user: name }, 'a redis status listener threw');
      }
    }
  };
  client.on('ready', () => {
    lastError = undefined;
    change(true);
  });
  client.on('close', () => change(false));
  client.on('end', () => change(false));
  // ioredis emits an error per failed attempt; keep the first reason for the one log line.
  client.on('error', (err: Error) => {
    lastError ??= err.message;
    if (!up && started && outages === 0 && since === 0) {
      // Never connected at all: say so once, like an outage.
      since = Date.now();
      outages++;
      logger.warn({ redis: where, user: name, reason: lastError }, 'redis unreachable; serving on local state until it is back');
    }
  });

  return {
    client,
    get up() {
      return up;
    },
    connect(): void {
      if (started) return;
      started = true;
      client.connect().then(
        () => attempted(true),
        // Reported through 'error'; ioredis keeps retrying by retryStrategy.
        () => attempted(false),
      );
    },
    firstAttempt(): Promise<boolean> {
      return first;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats(): RedisStats {
      return { url: where, up, status: client.status, outages, since };
    },
    async close(): Promise<void> {
      closing = true;
      listeners.clear();
      if (client.status === 'end') return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
