/**
 * One shared undici pool per upstream origin (ARCHITECTURE.md, "upstream pool"):
 * keep-alive, bounded connections, connect/header/body timeouts. Every request
 * to that origin, whatever its deployment, reuses the same warm sockets.
 */
import { Pool } from 'undici';

export interface PoolSettings {
  connections: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

function settingsKey(origin: string, s: PoolSettings): string {
  return `${origin}|${s.connections}|${s.connectTimeoutMs}|${s.headersTimeoutMs}|${s.bodyTimeoutMs}|${s.keepAliveTimeoutMs}`;
}

export class UpstreamPools {
  #pools = new Map<string, Pool>();
  /**
   * The last pool handed out for a provider's settings object: every request of a
   * config version passes the same one, so the string key (~0.4 µs) is built once.
   * Cleared whenever a pool closes.
   */
  #recent = new WeakMap<PoolSettings, { origin: string; pool: Pool }>();

  /** The pool for an origin; created on first use, shared afterwards. */
  get(origin: string, settings: PoolSettings): Pool {
    const recent = this.#recent.get(settings);
    if (recent !== undefined && recent.origin === origin) return recent.pool;
    const pool = this.#lookup(origin, settings);
    this.#recent.set(settings, { origin, pool });
    return pool;
  }

  #lookup(origin: string, settings: PoolSettings): Pool {
    const key = settingsKey(origin, settings);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: settings.connections,
        connect: { timeout: settings.connectTimeoutMs },
        headersTimeout: settings.headersTimeoutMs,
        bodyTimeout: settings.bodyTimeoutMs,
        keepAliveTimeout: settings.keepAliveTimeoutMs,
        keepAliveMaxTimeout: Math.max(settings.keepAliveTimeoutMs, 1000),
        pipelining: 1,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /**
   * Opens one connection to each origin so the first real request finds a
   * warm socket. Best effort and bounded: an origin that cannot be reached
   * (no network, provider down) must not hold back readiness forever.
   */
  async warm(targets: ReadonlyArray<{ origin: string; path: string; settings: PoolSettings }>, timeoutMs = 2000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    await Promise.allSettled(
      targets.map(async ({ origin, path, settings }) => {
        const res = await this.get(origin, settings).request({ method: 'HEAD', path, signal });
        await res.body.dump();
      }),
    );
  }

  /** Closes pools whose key is not in `keep` (after a config reload). */
  async retain(keep: ReadonlyArray<{ origin: string; settings: PoolSettings }>): Promise<void> {
    const wanted = new Set(keep.map((k) => settingsKey(k.origin, k.settings)));
    const closing: Promise<void>[] = [];
    this.#recent = new WeakMap();
    for (const [key, pool] of this.#pools) {
      if (!wanted.has(key)) {
        this.#pools.delete(key);
        closing.push(pool.close());
      }
    }
    await Promise.allSettled(closing);
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#recent = new WeakMap();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  /** Connection counts per origin, for /ready and later metrics. */
  stats(): Array<{ origin: string; connected: number; pending: number; running: number }> {
    return [...this.#pools.entries()].map(([key, pool]) => ({
      origin: key.slice(0, key.indexOf('|')),
      connected: pool.stats.connected,
      pending: pool.stats.pending,
      running: pool.stats.running,
    }));
  }
}
