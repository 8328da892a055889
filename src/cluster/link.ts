/**
 * What a gateway running as one worker of a cluster (`server.workers` > 1) can
 * ask of the others, through the primary. The gateway and its extensions see
 * only this interface; src/cluster/worker.ts implements it over node:cluster IPC.
 */
export interface ClusterLink {
  /** This worker's slot, 1…N (stable across restarts of the slot). */
  readonly workerId: number;
  /**
   * The Prometheus text of every worker, each sample labelled `worker="N"`;
   * this worker's own (labelled) when the primary does not answer in time.
   */
  clusterMetrics(): Promise<string>;
  /** Renders this worker's metrics when the primary collects them (set by the metrics extension). */
  setMetricsSource(render: () => Promise<string>): void;
  /** Sends a message to every other worker. */
  broadcast(topic: string, payload: string): void;
  /** Receives what other workers broadcast on `topic`. */
  onBroadcast(topic: string, handler: (payload: string) => void): void;
  /** After this worker reloaded its configuration through the admin API: every other worker reloads too. */
  reloadOthers(): void;
}
