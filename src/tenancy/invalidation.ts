/**
 * Key and tenant changes, broadcast to every gateway instance over Redis
 * pub/sub, so a revoked key stops working at once everywhere instead of when
 * each instance's cache entry expires. One dedicated subscriber connection
 * (a subscribed ioredis client can do nothing else) and one for publishing.
 * Without Redis, each instance still clears its own cache, and others within
 * `auth.cacheTtlMs`.
 *
 * Its own connections rather than src/store/redis.ts's: a subscriber must queue
 * its SUBSCRIBE until connected and renew it after each reconnect, which that
 * fail-fast connection (no offline queue) is built not to do.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

export const INVALIDATION_CHANNEL = 'switchyard:auth:invalidate';

/** What changed: one key, every key of a tenant, or (neither) "keys were created: re-check". */
export interface Invalidation {
  readonly keyId?: string;
  readonly tenantId?: string;
}

function connect(url: string, name: string, subscriber = false): Redis {
  return new Redis(url, {
    connectionName: name,
    lazyConnect: !subscriber,
    // A publish waits for at most one reconnect: it must never stall a request. The
    // subscription waits as long as it takes (ioredis queues it and resubscribes after reconnects).
    maxRetriesPerRequest: subscriber ? null : 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(200 * attempt, 5000),
  });
}

export function parseInvalidation(message: string): Invalidation | undefined {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    if (value === null || typeof value !== 'object') return undefined;
    const out: { keyId?: string; tenantId?: string } = {};
    if (typeof value.keyId === 'string') out.keyId = value.keyId;
    if (typeof value.tenantId === 'string') out.tenantId = value.tenantId;
    return out;
  } catch {
    return undefined;
  }
}

/** Publishes one change; resolves false (and never throws) when Redis is unreachable. */
export async function publishInvalidation(publisher: Redis, change: Invalidation): Promise<boolean> {
  try {
    await publisher.publish(INVALIDATION_CHANNEL, JSON.stringify(change));
    return true;
  } catch {
    return false;
  }
}

export interface InvalidationBus {
  publish(change: Invalidation): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Subscribes to changes from other instances (and the CLI) and lets this one
 * publish its own. When the subscriber reconnects after an outage, messages may
 * have been missed, so `onChange({})` (forget everything) is called then.
 */
export async function startInvalidationBus(url: string, logger: Logger, onChange: (change: Invalidation) => void): Promise<InvalidationBus> {
  const subscriber = connect(url, 'switchyard-auth-sub', true);
  const publisher = connect(url, 'switchyard-auth-pub');
  let lostConnection = false;
  subscriber.on('error', (err: Error) => {
    if (!lostConnection) logger.warn({ err: err.message }, 'auth: Redis unreachable; revocations reach other instances only when their cache entries expire');
    lostConnection = true;
  });
  publisher.on('error', () => {});
  subscriber.on('ready', () => {
    if (lostConnection) {
      lostConnection = false;
      logger.info('auth: Redis is back; cached keys cleared in case a revocation was missed');
      onChange({});
    }
  });
  subscriber.on('message', (_channel: string, message: string) => {
    const change = parseInvalidation(message);
    if (change !== undefined) onChange(change);
  });
  // ioredis queues the subscription until connected and renews it after every reconnect;
  // the start waits for it only briefly, so an unreachable Redis does not hold the gateway.
  const subscribed = subscriber.subscribe(INVALIDATION_CHANNEL).then(
    () => true,
    () => false,
  );
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([subscribed, new Promise<boolean>((resolve) => (timer = setTimeout(resolve, 3000, false)))]);
  clearTimeout(timer);
  if (!inTime) {
    logger.warn('auth: Redis unreachable at start; revocations from other instances apply when it is back');
    lostConnection = true;
  }
  publisher.connect().catch(() => {});
  return {
    publish: (change) => publishInvalidation(publisher, change),
    async close() {
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}

/** One publish from a short-lived process (the CLI): connect, publish, quit. */
export async function publishOnce(url: string, change: Invalidation): Promise<boolean> {
  const publisher = connect(url, 'switchyard-cli');
  publisher.on('error', () => {});
  try {
    await publisher.connect();
    return await publishInvalidation(publisher, change);
  } catch {
    return false;
  } finally {
    publisher.disconnect();
  }
}
