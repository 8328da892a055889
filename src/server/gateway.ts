/**
 * A running gateway: the HTTP app, the shared upstream pools and the current
 * state snapshot, with reload and graceful close.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { buildState, StateHolder } from '../pipeline/state.ts';
import { UpstreamPools, type PoolSettings } from '../upstream/pools.ts';
import { buildApp } from './app.ts';

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** Overrides `config.server` (CLI flags; tests pass port 0). */
  host?: string;
  port?: number;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly holder: StateHolder;
  readonly logger: Logger;
  /** Resolves once the upstream pools have been warmed (or the warm-up gave up). */
  readonly warmed: Promise<void>;
  /** Swaps in a new config; throws (and keeps the old one serving) if it cannot be built. */
  reload(config: Config): Promise<void>;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logging.level, format: config.logging.format });
  const holder = new StateHolder(await buildState(config, 1, logger));
  const pools = new UpstreamPools();
  let ready = false;
  const app = buildApp({
    holder,
    pools,
    logger,
    bodyLimit: config.server.bodyLimit,
    maxHeaderSize: config.server.maxHeaderSize,
    maxNestingDepth: config.server.maxNestingDepth,
    requestTimeoutMs: config.server.requestTimeoutMs,
    isReady: () => ready,
  });
  const host = options.host ?? config.server.host;
  const port = options.port ?? config.server.port;
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const warmTargets = (): Array<{ origin: string; path: string; settings: PoolSettings }> =>
    [...holder.current.providers.values()].map((p) => ({ origin: p.origin, path: p.warmPath, settings: p.pool }));
  const warmed = pools.warm(warmTargets()).then(() => {
    ready = true;
  });

  let version = 1;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    app,
    holder,
    logger,
    warmed,
    async reload(next: Config): Promise<void> {
      const state = await buildState(next, ++version, logger);
      holder.swap(state);
      await pools.retain(warmTargets());
      void pools.warm(warmTargets());
      logger.info({ configVersion: state.version }, 'configuration reloaded');
    },
    async close(): Promise<void> {
      // Fastify stops accepting and waits for requests in flight. A keep-alive
      // connection that goes idle after that would hold the close open until
      // its timeout, so idle connections are closed as they appear.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweeper);
      }
      await pools.close();
    },
  };
}
