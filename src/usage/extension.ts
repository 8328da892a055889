/**
 * The usage ledger as a gateway extension (src/pipeline/hooks.ts):
 *
 *   admit    → holds a new request back while the event queue is full (backpressure,
 *              never dropping); refuses it as overloaded after `usage.admitWaitMs`
 *   finished → builds one usage event and queues it (no I/O, no await)
 *   routes   → GET /admin/v1/usage
 *   close    → writes every queued event (the gateway calls it after the last request)
 *
 * plus hourly retention when `usage.retentionDays` is set.
 */
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { overloadedStatus } from '../errors.ts';
import type { ChatCall } from '../pipeline/chat.ts';
import type { GatewayExtension, RequestEnd } from '../pipeline/hooks.ts';
import type { GatewayState } from '../pipeline/state.ts';
import type { ExtensionContext } from '../server/gateway.ts';
import { registerUsageRoutes } from './admin-routes.ts';
import { costFunction } from './cost.ts';
import { eventIdGenerator, usageEventOf, type CostFn } from './event.ts';
import { UsageQueries } from './queries.ts';
import { pruneUsage, retentionCutoff } from './retention.ts';
import { UsageWriter, type LedgerStats } from './writer.ts';

export const USAGE_EXTENSION_NAME = 'usage-ledger';

const RETENTION_EVERY_MS = 60 * 60 * 1000;
/** The first retention run waits a little, so it never competes with start-up. */
const RETENTION_FIRST_MS = 30 * 1000;

/** The ledger extension, with what /metrics and the dashboard read. */
export interface UsageLedger extends GatewayExtension {
  stats(): LedgerStats;
  readonly queries: UsageQueries;
  /** Writes everything queued so far (tests). */
  flush(): Promise<void>;
}

export async function usageLedger(context: ExtensionContext): Promise<UsageLedger | undefined> {
  const { config, logger, holder } = context;
  const settings = config.usage;
  if (!settings.enabled) return undefined;
  const db = await context.store();
  const writer = new UsageWriter(db, {
    batchSize: settings.batchSize,
    flushIntervalMs: settings.flushIntervalMs,
    maxQueue: settings.maxQueue,
    retryMaxMs: settings.retryMaxMs,
    logger,
  });
  const queries = new UsageQueries(db, { cacheMs: settings.queryCacheMs });
  const nextId = eventIdGenerator(randomBytes(6).toString('base64url'));
  let cost: CostFn = costFunction(config);

  // Retention reads the current config each round, so a reload can change it.
  const pruning = new AbortController();
  let pruneRun: Promise<unknown> | undefined;
  const prune = (): void => {
    const days = holder.current.config.usage.retentionDays;
    if (days <= 0 || pruneRun !== undefined) return;
    pruneRun = pruneUsage(db, { before: retentionCutoff(days), signal: pruning.signal })
      .then((deleted) => {
        if (deleted > 0) logger.info({ deleted, retentionDays: days }, 'usage ledger: deleted events past retention');
      })
      .catch((err: unknown) => logger.error({ err }, 'usage ledger: retention failed; it runs again next hour'))
      .finally(() => {
        pruneRun = undefined;
      });
  };
  const firstPrune = setTimeout(prune, RETENTION_FIRST_MS).unref();
  const everyHour = setInterval(prune, RETENTION_EVERY_MS).unref();

  const waitForRoom = async (call: ChatCall): Promise<void> => {
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    call.res.once('close', onClose);
    try {
      if (await writer.waitForRoom(holder.current.config.usage.admitWaitMs, gone.signal)) return;
    } finally {
      call.res.off('close', onClose);
    }
    throw new GatewayError('SWY_ERR_LEDGER_BACKLOG', 'The gateway cannot record usage fast enough right now (its usage ledger is behind); retry shortly.', {
      status: overloadedStatus(call.surface),
      headers: { 'retry-after': '1' },
    });
  };

  return {
    name: USAGE_EXTENSION_NAME,
    queries,
    stats: () => writer.stats(),
    flush: () => writer.flush(),
    hooks: {
      admit(call: ChatCall): void | Promise<void> {
        // The common case stays synchronous: one comparison.
        if (writer.hasRoom()) return;
        return waitForRoom(call);
      },
      finished(call: ChatCall, end: RequestEnd): void {
        writer.push(usageEventOf(nextId(), call, end, cost));
      },
    },
    routes(app) {
      registerUsageRoutes(app, { db, queries });
    },
    reloaded(state: GatewayState) {
      cost = costFunction(state.config);
    },
    async close() {
      clearTimeout(firstPrune);
      clearInterval(everyHour);
      pruning.abort();
      await pruneRun;
      await writer.close(config.server.shutdownTimeoutMs);
    },
  };
}
