/** The ledger's numbers in the Prometheus text format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ledgerMetricsText } from '../../src/usage/metrics.ts';

test('ledger stats render as Prometheus gauges and counters, times in seconds', () => {
  const text = ledgerMetricsText({ queued: 12, waiting: 3, lagMs: 1500, lastBatchSize: 1000, lastFlushMs: 42, written: 98765, batches: 99, failures: 4, failingFor: 2 });
  const samples = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(' ') as [string, string]),
  );
  assert.deepEqual(samples, {
    switchyard_usage_queue_depth: '12',
    switchyard_usage_admission_waiting: '3',
    switchyard_usage_flush_lag_seconds: '1.5',
    switchyard_usage_last_batch_size: '1000',
    switchyard_usage_last_flush_seconds: '0.042',
    switchyard_usage_events_written_total: '98765',
    switchyard_usage_batches_written_total: '99',
    switchyard_usage_write_failures_total: '4',
    switchyard_usage_write_failing: '2',
  });
  assert.match(text, /^# TYPE switchyard_usage_events_written_total counter$/m);
  assert.match(text, /^# TYPE switchyard_usage_queue_depth gauge$/m);
});
