/**
 * The worker's end of the cluster: answers the primary (reload, shutdown,
 * metrics collection, broadcasts from other workers) and implements
 * ClusterLink for the gateway running in this process.
 */
import cluster from 'node:cluster';
import type { ClusterLink } from './link.ts';
import { mergeWorkerMetrics } from './merge-metrics.ts';
import { asSwitchyardMessage, WORKER_ID_ENV, type ToPrimary, type ToWorker } from './messages.ts';

/** How long a scrape waits for the primary to gather every worker's metrics. */
const GATHER_TIMEOUT_MS = 3_000;

export interface WorkerEndpoint extends ClusterLink {
  /** Tells the primary this worker serves (after its signal handlers are in place). */
  listening(url: string): void;
  onReload(handler: () => void): void;
  onShutdown(handler: () => void): void;
}

/**
 * This process's worker slot when it was forked by a Switchyard primary; undefined otherwise.
 * A worker's channel to the primary is kept referenced: cluster's listen() waits on it, and a
 * preload that unref'd it (the bench's child guard) would let the worker exit mid-start.
 */
export function workerSlot(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (!cluster.isWorker) return undefined;
  const id = Number(env[WORKER_ID_ENV]);
  if (!Number.isInteger(id) || id <= 0) return undefined;
  process.channel?.ref();
  return id;
}

export function connectWorker(workerId: number): WorkerEndpoint {
  const send = (message: ToPrimary): void => {
    // Once the primary has gone the channel is closed; cluster then ends this process itself.
    if (process.connected) process.send!(message);
  };
  let renderMetrics: (() => Promise<string>) | undefined;
  let reload: (() => void) | undefined;
  let shutdown: (() => void) | undefined;
  const broadcasts = new Map<string, Array<(payload: string) => void>>();
  const gathering = new Map<number, (text: string) => void>();
  let nextGatherId = 1;

  process.on('message', (raw: unknown) => {
    const message = asSwitchyardMessage<ToWorker>(raw);
    if (message === undefined) return;
    switch (message.swy) {
      case 'reload':
        reload?.();
        break;
      case 'shutdown':
        shutdown?.();
        break;
      case 'collect-metrics': {
        const { id } = message;
        const answer = (text: string): void => send({ swy: 'metrics-text', id, text });
        if (renderMetrics === undefined) answer('');
        else renderMetrics().then(answer, () => answer(''));
        break;
      }
      case 'metrics':
        gathering.get(message.id)?.(message.text);
        break;
      case 'broadcast':
        for (const handler of broadcasts.get(message.topic) ?? []) handler(message.payload);
        break;
    }
  });

  const ownMetrics = async (): Promise<string> =>
    renderMetrics === undefined ? '' : mergeWorkerMetrics([{ worker: workerId, text: await renderMetrics() }]);

  return {
    workerId,
    async clusterMetrics(): Promise<string> {
      if (!process.connected) return ownMetrics();
      const id = nextGatherId++;
      let timer: NodeJS.Timeout | undefined;
      const gathered = await new Promise<string | undefined>((resolve) => {
        gathering.set(id, resolve);
        timer = setTimeout(resolve, GATHER_TIMEOUT_MS, undefined);
        send({ swy: 'gather-metrics', id });
      });
      clearTimeout(timer);
      gathering.delete(id);
      return gathered ?? ownMetrics();
    },
    setMetricsSource(render) {
      renderMetrics = render;
    },
    broadcast(topic, payload) {
      send({ swy: 'broadcast', topic, payload });
    },
    onBroadcast(topic, handler) {
      const list = broadcasts.get(topic);
      if (list === undefined) broadcasts.set(topic, [handler]);
      else list.push(handler);
    },
    reloadOthers() {
      send({ swy: 'reload-others' });
    },
    listening(url) {
      send({ swy: 'listening', url });
    },
    onReload(handler) {
      reload = handler;
    },
    onShutdown(handler) {
      shutdown = handler;
    },
  };
}
