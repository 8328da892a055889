/**
 * What the admin dashboard costs: the `finished` hook (TrafficRecorder.record)
 * per request, and building one snapshot (what the page polls every 2 s) with
 * a full window and a full recent ring. `node bench/ui-recorder.ts`
 */
import type { ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import type { ChatCall } from '../src/pipeline/chat.ts';
import { TrafficRecorder } from '../src/ui/recorder.ts';
import { flagsOrExit } from './lib/harness.ts';

flagsOrExit('Usage: npm run bench:ui     (or: node bench/ui-recorder.ts); no options\n\n  -h, --help\n', () => {
  const { values } = parseArgs({ strict: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  return values;
});

const RECORDS = 500_000;
const calls: ChatCall[] = Array.from({ length: 64 }, (_, i) => ({
  surface: 'anthropic',
  body: { model: `model-${i % 4}` },
  query: '',
  headers: {},
  requestId: `req_${i}`,
  res: undefined as unknown as ServerResponse,
  startedAt: 0,
  summary: {
    surface: 'anthropic',
    rule: 'default',
    model: `model-${i % 4}`,
    deployment: `p/m-${i % 8}`,
    attempts: i % 10 === 0 ? [{ deployment: `p/m-${(i + 1) % 8}`, error: 'SWY_ERR_UPSTREAM_STATUS', status: 503, startMs: 0 }, { deployment: `p/m-${i % 8}`, status: 200, startMs: 5 }] : [{ deployment: `p/m-${i % 8}`, status: 200, startMs: 0 }],
    usage: { inputTokens: 1200, outputTokens: 300 },
    ttftMs: 120,
  },
  principal: { kind: 'key', tenantId: `t${i % 5}`, tenantName: `tenant-${i % 5}`, keyId: `key_${i % 16}` },
}));

let now = Date.now();
const recorder = new TrafficRecorder({ clock: () => now, cost: () => 0.001 });
// Spread the records over the whole 15-minute window so every bucket holds data.
const step = (15 * 60_000) / RECORDS;
const started = performance.now();
for (let i = 0; i < RECORDS; i++) {
  now += step;
  recorder.record(calls[i % calls.length]!, { status: i % 10 === 0 ? 503 : 200, latencyMs: 20 + (i % 400), clientAborted: false });
}
const perRecordNs = ((performance.now() - started) * 1e6) / RECORDS;

const SNAPSHOTS = 50;
const t0 = performance.now();
let bytes = 0;
for (let i = 0; i < SNAPSHOTS; i++) {
  const body = JSON.stringify({ buckets: recorder.window.buckets(), span: recorder.window.span(), recent: recorder.recent(), flows: recorder.flows(), usage: recorder.usage() });
  bytes = body.length;
}
const perSnapshotMs = (performance.now() - t0) / SNAPSHOTS;
console.log(JSON.stringify({ perRecordNs: Math.round(perRecordNs), perSnapshotMs: Math.round(perSnapshotMs * 100) / 100, snapshotKiB: Math.round(bytes / 1024) }));
