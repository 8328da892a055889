/**
 * The ledger's own numbers in the Prometheus text format, for `/metrics`
 * (the metrics extension appends them at scrape time).
 */
import type { LedgerStats } from './writer.ts';

/** One gauge or counter per stat, with HELP and TYPE lines. */
export function ledgerMetricsText(stats: LedgerStats): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  };
  metric('switchyard_usage_queue_depth', 'gauge', 'Usage events accepted and not yet written to the store.', stats.queued);
  metric('switchyard_usage_admission_waiting', 'gauge', 'Chat requests waiting for room in the usage queue.', stats.waiting);
  metric('switchyard_usage_flush_lag_seconds', 'gauge', 'Age of the oldest unwritten usage event.', stats.lagMs / 1000);
  metric('switchyard_usage_last_batch_size', 'gauge', 'Events in the last batch written.', stats.lastBatchSize);
  metric('switchyard_usage_last_flush_seconds', 'gauge', 'How long the last batch took to write.', stats.lastFlushMs / 1000);
  metric('switchyard_usage_events_written_total', 'counter', 'Usage events written to the store.', stats.written);
  metric('switchyard_usage_batches_written_total', 'counter', 'Batches (transactions) of usage events written.', stats.batches);
  metric('switchyard_usage_write_failures_total', 'counter', 'Failed attempts to write a batch of usage events (each is retried).', stats.failures);
  metric('switchyard_usage_write_failing', 'gauge', 'Failed write attempts in a row right now (0 when the store is healthy).', stats.failingFor);
  return `${lines.join('\n')}\n`;
}
