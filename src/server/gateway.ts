/**
 * A running gateway: the HTTP app, the shared upstream pools and the current
 * state snapshot, with reload and graceful close.
 */
import type { AddressInfo } from 'node:net';
import type { ClusterLink } from '../cluster/link.ts';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { buildState, StateHolder, type GatewayState } from '../pipeline/state.ts';
import { ConcurrencyLimiter } from '../resilience/limiter.ts';
import { UpstreamPools, type PoolSettings } from '../upstream/pools.ts';
import { chainHooks, type GatewayExtension } from '../pipeline/hooks.ts';
import type { Db } from '../store/db.ts';
import { openStore } from '../store/index.ts';
import { authExtension } from '../tenancy/auth-extension.ts';
import { usageLedger } from '../usage/extension.ts';
import { metricsExtension } from '../observability/metrics-extension.ts';
import { tracingExtension } from '../observability/tracing.ts';
import { buildApp } from './app.ts';
import { streamErrorEvent, writeError } from './error-shapes.ts';
import { overloadedError } from '../errors.ts';
import type { ChatCall } from '../pipeline/chat.ts';
import { uiExtension } from '../ui/index.ts';
import { limitsExtension } from '../tenancy/limits.ts';
import { OpenRequests } from './open-requests.ts';

/** What an extension factory gets to build itself from. */
export interface ExtensionContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly holder: StateHolder;
  readonly pools: UpstreamPools;
  readonly limiter: ConcurrencyLimiter | undefined;
  /**
   * The gateway's store (config `store.url`, else DATABASE_URL, else the
   * embedded SQLite file), opened and migrated on first call and shared by
   * every extension; closed after the extensions have closed.
   */
  store(): Promise<Db>;
  /** The address the gateway binds (after CLI overrides): authentication refuses to run open off loopback. */
  readonly host: string;
  /** Re-reads the configuration from its source and applies it (the admin API's reload); absent without a source. */
  readonly reloadFromSource?: () => Promise<GatewayState>;
  /** Every extension of this gateway once it has started (read it later, e.g. when /metrics is scraped). */
  readonly extensions: readonly GatewayExtension[];
  /** The other workers, when this gateway is one worker of `switchyard start --workers N`. */
  readonly cluster?: ClusterLink;
}

/**
 * The features outside the core pipeline, in hook order: authentication first,
 * then limits, then whatever records the outcome. A factory returns nothing
 * when its feature is not configured.
 */
export type ExtensionFactory = (context: ExtensionContext) => Promise<GatewayExtension | undefined> | GatewayExtension | undefined;

const extensionFactories: readonly ExtensionFactory[] = [
  // Authentication goes first (it sets call.principal), then limits, then what records the outcome.
  authExtension(),
  limitsExtension,
  usageLedger,
  metricsExtension,
  tracingExtension,
  (context) => uiExtension(context),
];

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** Extra extensions after the built-in ones (tests, embedders). */
  extensions?: readonly ExtensionFactory[];
  /** Overrides `config.server` (CLI flags; tests pass port 0). */
  host?: string;
  port?: number;
  /** Re-reads the configuration (its file), for a reload asked through the admin API. */
  loadConfig?: () => Promise<Config>;
  /** Set when this gateway is one worker of a cluster (src/cluster/worker.ts). */
  cluster?: ClusterLink;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly holder: StateHolder;
  readonly logger: Logger;
  /** The global chat concurrency limit (`server.maxConcurrent`), absent when unlimited; `stats()` for metrics. */
  readonly limiter: ConcurrencyLimiter | undefined;
  /** Resolves once the upstream pools have been warmed (or the warm-up gave up). */
  readonly warmed: Promise<void>;
  /** The extensions built at start, in hook order. */
  readonly extensions: readonly GatewayExtension[];
  /** Swaps in a new config; throws (and keeps the old one serving) if it cannot be built. */
  reload(config: Config): Promise<void>;
  close(): Promise<void>;
  /**
   * Ends every chat request still open, well-formed: a stream with the protocol's
   * error event, a request not yet answered with an overloaded error. For a
   * shutdown past its deadline; resolves once those responses are flushed (or
   * after `graceMs`). Returns how many there were.
   */
  interruptOpenRequests(message: string, graceMs?: number): Promise<number>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logging.level, format: config.logging.format, levels: config.logging.levels });
  const holder = new StateHolder(await buildState(config, 1, logger));
  applyDeploymentCaps(holder.current);
  const pools = new UpstreamPools();
  // Server settings are read at start only (like host and port): a reload keeps this limit.
  const limiter =
    config.server.maxConcurrent > 0
      ? new ConcurrencyLimiter({
          maxConcurrent: config.server.maxConcurrent,
          maxQueue: config.server.maxQueue,
          maxQueueWaitMs: config.server.maxQueueWaitMs,
        })
      : undefined;
  let store: Promise<Db> | undefined;
  // Set once started: the admin API's reload runs through the gateway's own reload.
  const started: { gateway?: Gateway } = {};
  const { loadConfig } = options;
  const host = options.host ?? config.server.host;
  const extensions: GatewayExtension[] = [];
  const context: ExtensionContext = {
    extensions,
    config,
    logger,
    holder,
    pools,
    limiter,
    store: () => (store ??= openStore(config, logger)),
    host,
    ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
    ...(loadConfig === undefined
      ? {}
      : {
          reloadFromSource: async () => {
            if (started.gateway === undefined) throw new Error('the gateway is still starting');
            await started.gateway.reload(await loadConfig());
            return holder.current;
          },
        }),
  };
  for (const factory of [...extensionFactories, ...(options.extensions ?? [])]) {
    const extension = await factory(context);
    if (extension !== undefined) extensions.push(extension);
  }
  let ready = false;
  const openCalls = new OpenRequests<ChatCall>();
  const app = buildApp({
    openCalls,
    holder,
    pools,
    logger,
    bodyLimit: config.server.bodyLimit,
    maxHeaderSize: config.server.maxHeaderSize,
    maxNestingDepth: config.server.maxNestingDepth,
    requestTimeoutMs: config.server.requestTimeoutMs,
    corsOrigins: config.server.corsOrigins,
    isReady: () => ready,
    limiter,
    hooks: chainHooks(extensions),
    extensions,
  });
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
  let reloadsAsked = 0;
  let reloading: Promise<void> = Promise.resolve();
  const applyReload = async (next: Config, ticket: number): Promise<void> => {
    const state = await buildState(next, ++version, logger);
    if (ticket !== reloadsAsked) {
      logger.info({ configVersion: state.version }, 'configuration reload superseded by a newer one before it was applied');
      return;
    }
    holder.swap(state);
    applyDeploymentCaps(state);
    await pools.retain(warmTargets());
    void pools.warm(warmTargets());
    for (const extension of extensions) await extension.reloaded?.(state);
    logger.info({ configVersion: state.version }, 'configuration reloaded');
  };
  const gateway: Gateway = {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    app,
    holder,
    logger,
    limiter,
    warmed,
    extensions,
    reload(next: Config): Promise<void> {
      // Reloads run one at a time and the newest wins: a slow build (a custom router
      // module to import) must not land after a later edit and bring an older file back.
      const ticket = ++reloadsAsked;
      const run = reloading.then(() => (ticket === reloadsAsked ? applyReload(next, ticket) : undefined));
      reloading = run.catch(() => undefined);
      return run;
    },
    async interruptOpenRequests(message: string, graceMs = 1000): Promise<number> {
      const calls = openCalls.values();
      const flushed = calls.map((call) => {
        const { res } = call;
        if (res.writableEnded) return Promise.resolve();
        // A passed-through stream may have stopped mid-event: the blank line ends that one first.
        if (res.headersSent) res.end(`\n\n${streamErrorEvent(call.surface, { kind: 'overloaded', message })}`);
        else writeError(res, call.surface, overloadedError(call.surface, message), call.requestId);
        return new Promise<void>((done) => res.once('close', () => done()));
      });
      const grace = new Promise<void>((done) => setTimeout(done, graceMs).unref());
      await Promise.race([Promise.all(flushed), grace]);
      return calls.length;
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
      // Extensions close after the last request finished, so a ledger flushes every event.
      for (const extension of extensions) {
        try {
          await extension.close?.();
        } catch (err) {
          logger.error({ err, extension: extension.name }, 'an extension failed to close');
        }
      }
      if (store !== undefined) await (await store.catch(() => undefined))?.close();
      await pools.close();
    },
  };
  started.gateway = gateway;
  return gateway;
}

/**
 * Sets each tracked deployment's concurrency cap from `models[].deployments[].maxConcurrent`
 * (0 when unset, so a reload can lift a cap). Health is per deployment id and
 * shared by every group that names it: the smallest cap configured for it wins.
 * Call after `holder.swap`, which hands over the health objects that carry the cap.
 */
export function applyDeploymentCaps(state: GatewayState): void {
  const caps = new Map<string, number>();
  for (const model of state.config.models) {
    const deployments = state.router.decideByName(model.name)?.deployments;
    if (deployments === undefined) continue;
    model.deployments.forEach((spec, i) => {
      const id = deployments[i]?.id;
      const cap = spec.maxConcurrent;
      if (id === undefined || cap === undefined) return;
      const known = caps.get(id);
      caps.set(id, known === undefined ? cap : Math.min(known, cap));
    });
  }
  for (const [id, health] of state.resilience.registry.entries()) health.maxConcurrent = caps.get(id) ?? 0;
}
