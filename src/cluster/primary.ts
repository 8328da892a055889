/**
 * The primary of `switchyard start --workers N` (issue 6): it does the
 * one-time work (the config is already loaded and validated; here the store
 * is migrated), forks N workers that each run the normal gateway on the shared
 * port, and then only supervises them. It serves no request itself.
 *
 * - SIGTERM / SIGINT: every worker drains (requests in flight finish, the usage
 *   ledger flushes) and the primary exits once all have; a second signal kills them.
 * - SIGHUP and edits of the config file: the primary validates the file once
 *   and tells every worker to reload it (each worker reads it itself), so an
 *   invalid edit is reported once and N workers never race N file watchers.
 * - A worker that dies is forked again after a backoff; a slot that keeps
 *   crashing stops the whole cluster (restarts.ts).
 * - `/metrics` on any worker asks the primary, which collects every worker's
 *   text and merges it, each sample labelled `worker="N"` (merge-metrics.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { ConfigError, loadConfigFile, watchConfigFile, type Config, type ConfigWatcher } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { openStore } from '../store/index.ts';
import { resolveRedisUrl } from '../store/redis.ts';
import { mergeWorkerMetrics, type WorkerMetrics } from './merge-metrics.ts';
import { asSwitchyardMessage, WORKER_ID_ENV, type ToPrimary, type ToWorker } from './messages.ts';
import { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './restarts.ts';

/** How long the primary waits for one worker's metrics before leaving it out of a scrape. */
const COLLECT_TIMEOUT_MS = 2_000;
/** Past the workers' own shutdown deadline, the primary kills whatever still runs. */
const KILL_MARGIN_MS = 2_000;

export interface PrimaryOptions {
  readonly workers: number;
  /** Loaded and validated. */
  readonly config: Config;
  /** Absolute path of the config file, when there is one: watched, and re-validated on SIGHUP. */
  readonly configFile: string | undefined;
  readonly logger: Logger;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly restarts?: RestartPolicyOptions;
}

interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  ready: boolean;
  everReady: boolean;
  readonly restarts: RestartPolicy;
  restartTimer: NodeJS.Timeout | undefined;
}

/** Resolves 0 once every worker serves, 1 when one could not start (the others are stopped by then). */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { workers, config, configFile, logger } = options;
  logger.info({ workers, pid: process.pid }, `starting ${workers} worker processes`);
  // Migrations run once, here, before any worker opens the store.
  await (await openStore(config, logger, options.env)).close();
  warnAboutPerProcessState(config, workers, logger, options.env ?? process.env);

  const restartPolicy = options.restarts ?? DEFAULT_RESTART_POLICY;
  const slots: Slot[] = Array.from({ length: workers }, (_, i) => ({ id: i + 1, worker: undefined, ready: false, everReady: false, restarts: new RestartPolicy(restartPolicy), restartTimer: undefined }));
  let starting = true;
  let stopping = false;
  let failed = false;
  let url = '';
  let watcher: ConfigWatcher | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let started!: (ok: boolean) => void;
  const startup = new Promise<boolean>((resolve) => (started = resolve));
  const collecting = new Map<number, (text: string) => void>();
  let nextCollectId = 1;

  const send = (slot: Slot, message: ToWorker): boolean => {
    const worker = slot.worker;
    if (worker === undefined || !worker.isConnected()) return false;
    worker.send(message);
    return true;
  };
  const serving = (): Slot[] => slots.filter((s) => s.ready && s.worker !== undefined);

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    const worker = cluster.fork({ [WORKER_ID_ENV]: String(slot.id) });
    slot.worker = worker;
    slot.ready = false;
    // A send racing the worker's exit fails with an 'error' event; the exit handler does the rest.
    worker.on('error', (err) => logger.debug({ err, slot: slot.id }, 'ipc with a worker failed'));
    worker.on('message', (raw: unknown) => onMessage(slot, worker, raw));
    worker.once('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  const onMessage = (slot: Slot, worker: Worker, raw: unknown): void => {
    const message = asSwitchyardMessage<ToPrimary>(raw);
    if (message === undefined || slot.worker !== worker) return;
    switch (message.swy) {
      case 'listening':
        slot.ready = true;
        url = message.url;
        if (slot.everReady) logger.info({ slot: slot.id, pid: worker.process.pid }, `worker ${slot.id} restarted and serving`);
        slot.everReady = true;
        if (starting && slots.every((s) => s.ready)) started(true);
        break;
      case 'gather-metrics': {
        const { id } = message;
        void gatherMetrics().then((text) => send(slot, { swy: 'metrics', id, text }));
        break;
      }
      case 'metrics-text':
        collecting.get(message.id)?.(message.text);
        break;
      case 'broadcast':
        for (const other of serving()) if (other !== slot) send(other, { swy: 'broadcast', topic: message.topic, payload: message.payload });
        break;
      case 'reload-others':
        for (const other of serving()) if (other !== slot) send(other, { swy: 'reload' });
        break;
    }
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker === worker) {
      slot.worker = undefined;
      slot.ready = false;
    }
    if (stopping) {
      if (code !== 0) failed = true;
      if (slots.every((s) => s.worker === undefined)) finish();
      return;
    }
    if (starting && !slot.everReady) {
      logger.error({ slot: slot.id, code, signal }, `worker ${slot.id} could not start; stopping the others`);
      failed = true;
      started(false);
      stop('start failed');
      return;
    }
    const decision = slot.restarts.crashed(Date.now());
    if ('giveUp' in decision) {
      logger.fatal(
        { slot: slot.id, code, signal, crashesInWindow: decision.crashesInWindow },
        `worker ${slot.id} crashed ${decision.crashesInWindow} times within ${restartPolicy.windowMs / 1000} s: not restarting it; stopping every worker`,
      );
      failed = true;
      stop('crash loop');
      return;
    }
    const delay = decision.restartInMs;
    logger.error(
      { slot: slot.id, pid: worker.process.pid, code, signal, restartInMs: delay, crashesInWindow: decision.crashesInWindow },
      `worker ${slot.id} exited unexpectedly; restarting it in ${delay} ms`,
    );
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  };

  /** Every serving worker's metrics, merged; a worker that does not answer in time is left out. */
  const gatherMetrics = async (): Promise<string> => {
    const parts = await Promise.all(
      serving().map(
        (slot) =>
          new Promise<WorkerMetrics | undefined>((resolve) => {
            const id = nextCollectId++;
            const timer = setTimeout(() => {
              collecting.delete(id);
              resolve(undefined);
            }, COLLECT_TIMEOUT_MS);
            collecting.set(id, (text) => {
              clearTimeout(timer);
              collecting.delete(id);
              resolve({ worker: slot.id, text });
            });
            if (!send(slot, { swy: 'collect-metrics', id })) collecting.get(id)?.('');
          }),
      ),
    );
    return mergeWorkerMetrics(parts.filter((p): p is WorkerMetrics => p !== undefined));
  };

  const reloadAll = (): void => {
    for (const slot of serving()) send(slot, { swy: 'reload' });
  };

  const stop = (reason: string): void => {
    if (stopping) {
      logger.warn({ reason }, 'second signal: killing every worker now');
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    watcher?.close();
    for (const slot of slots) clearTimeout(slot.restartTimer);
    logger.info({ reason }, 'shutting down: each worker finishes its requests in flight and flushes its usage ledger');
    for (const slot of slots) {
      // A worker still starting has no handler for the message yet; a signal ends it either way.
      if (slot.worker !== undefined && !(slot.ready && send(slot, { swy: 'shutdown' }))) slot.worker.process.kill('SIGTERM');
    }
    killTimer = setTimeout(() => {
      logger.warn('workers still running past the shutdown deadline: killing them');
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    }, config.server.shutdownTimeoutMs + KILL_MARGIN_MS);
    if (slots.every((s) => s.worker === undefined)) finish();
  };

  const finish = (): void => {
    clearTimeout(killTimer);
    logger.info({ failed }, 'stopped');
    logger.flush();
    process.exitCode = failed ? 1 : 0;
    // Nothing of ours is left to keep the process alive; cluster's own handles may be.
    setImmediate(() => process.exit(process.exitCode));
  };

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (configFile === undefined) {
      logger.info('SIGHUP: there is no configuration file to reload');
      return;
    }
    loadConfigFile(configFile).then(
      () => {
        logger.info('SIGHUP: reloading the configuration in every worker');
        reloadAll();
      },
      (err: unknown) => {
        logger.error({ problems: err instanceof ConfigError ? err.problems : String(err) }, 'reload on SIGHUP failed; the previous configuration keeps serving');
      },
    );
  });
  for (const slot of slots) fork(slot);

  const ok = await startup;
  starting = false;
  if (!ok) return 1;
  if (configFile !== undefined) {
    watcher = watchConfigFile(configFile, (result) => {
      if ('error' in result) {
        logger.error({ problems: result.error.problems }, 'the edited configuration is invalid; the previous one keeps serving');
      } else {
        logger.info('the configuration file changed: reloading it in every worker');
        reloadAll();
      }
    });
  }
  // Logged last, as by a single process: once a supervisor reads this line, every worker serves.
  const dashboard = config.ui.enabled ? `${url}/ui` : undefined;
  logger.info(
    { url, workers, config: configFile ?? '(no file)', dashboard },
    `Switchyard listening on ${url} (${workers} workers)${dashboard === undefined ? '' : `, dashboard: ${dashboard}`}`,
  );
  return 0;
}

/**
 * Limits kept in memory are counted by each worker on its own; say so once,
 * loudly, with what to do about it.
 */
function warnAboutPerProcessState(config: Config, workers: number, logger: Logger, env: Readonly<Record<string, string | undefined>>): void {
  const redis = resolveRedisUrl(config.redis.url, env);
  if (config.limits.backend === 'memory' || (config.limits.backend === 'auto' && redis === undefined)) {
    logger.warn(
      { workers, limitsBackend: 'memory' },
      `Limits and budgets are counted per process: with ${workers} workers each limit (requests and tokens per minute, concurrency, budgets) is effectively ${workers}× looser. ` +
        'Set redis.url (or REDIS_URL) so the workers share them.',
    );
  }
  if (config.server.maxConcurrent > 0) {
    logger.info({ workers, maxConcurrent: config.server.maxConcurrent }, `server.maxConcurrent applies per worker: up to ${workers * config.server.maxConcurrent} chat requests at once in all`);
  }
}
