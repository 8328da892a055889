/** /metrics of a cluster: every worker's exposition in one, each sample labelled with its worker. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProm } from '../../bench/lib/prom-text.ts';
import { mergeWorkerMetrics } from '../../src/cluster/merge-metrics.ts';

const worker = (requests: number, resident: number): string => `# HELP switchyard_requests_total Chat requests finished.
# TYPE switchyard_requests_total counter
switchyard_requests_total{surface="anthropic",status_class="2xx"} ${requests}
# HELP switchyard_request_duration_seconds Latency.
# TYPE switchyard_request_duration_seconds histogram
switchyard_request_duration_seconds_bucket{le="0.1"} ${requests}
switchyard_request_duration_seconds_bucket{le="+Inf"} ${requests}
switchyard_request_duration_seconds_sum 0.5
switchyard_request_duration_seconds_count ${requests}
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes ${resident}
`;

test('each sample carries worker="N" and keeps its own labels and value', () => {
  const merged = mergeWorkerMetrics([
    { worker: 1, text: worker(3, 100) },
    { worker: 2, text: worker(5, 200) },
  ]);
  const samples = parseProm(merged);
  const requests = samples.filter((s) => s.name === 'switchyard_requests_total');
  assert.deepEqual(requests, [
    { name: 'switchyard_requests_total', labels: { worker: '1', surface: 'anthropic', status_class: '2xx' }, value: 3 },
    { name: 'switchyard_requests_total', labels: { worker: '2', surface: 'anthropic', status_class: '2xx' }, value: 5 },
  ]);
  assert.deepEqual(
    samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => [s.labels, s.value]),
    [
      [{ worker: '1' }, 100],
      [{ worker: '2' }, 200],
    ],
  );
  assert.equal(samples.length, 2 * 6);
});

test('each family is one block: HELP and TYPE once, then every worker\'s samples of it', () => {
  const merged = mergeWorkerMetrics([
    { worker: 1, text: worker(1, 1) },
    { worker: 2, text: worker(2, 2) },
    { worker: 3, text: worker(3, 3) },
  ]);
  const lines = merged.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('# TYPE switchyard_request_duration_seconds ')).length, 1);
  assert.equal(lines.filter((l) => l.startsWith('# HELP ')).length, 3);
  // Histogram lines stay under their family: between its TYPE and the next family's HELP.
  const start = lines.indexOf('# TYPE switchyard_request_duration_seconds histogram');
  const end = lines.indexOf('# HELP process_resident_memory_bytes Resident memory size in bytes.');
  const block = lines.slice(start + 1, end);
  assert.equal(block.length, 3 * 4);
  assert.ok(block.every((l) => l.startsWith('switchyard_request_duration_seconds_')));
  assert.ok(block.includes('switchyard_request_duration_seconds_sum{worker="3"} 0.5'));
});

test('a family only one worker has is kept, and nothing at all gives an empty text', () => {
  const merged = mergeWorkerMetrics([
    { worker: 1, text: worker(1, 1) },
    { worker: 2, text: '# HELP only_here A gauge.\n# TYPE only_here gauge\nonly_here{} 7\n' },
  ]);
  assert.match(merged, /^only_here\{worker="2"\} 7$/m);
  assert.equal(mergeWorkerMetrics([]), '');
  assert.equal(mergeWorkerMetrics([{ worker: 1, text: '' }]), '');
});
