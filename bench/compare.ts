/**
 * `node bench/compare.ts A.json B.json`: per-metric ratios B ÷ A between two
 * bench results, with the direction that counts as better for each metric.
 */
import { readResult, type BenchResult } from './lib/result.ts';

type Better = 'higher' | 'lower';

export interface MetricRow {
  metric: string;
  a: number | undefined;
  b: number | undefined;
  better: Better;
}

/** Flattens a result into named metrics. */
export function metrics(r: BenchResult): Map<string, { value: number; better: Better }> {
  const out = new Map<string, { value: number; better: Better }>();
  const put = (name: string, value: number | undefined, better: Better): void => {
    if (value !== undefined) out.set(name, { value, better });
  };
  for (const s of r.shapes) {
    for (const [target, t] of Object.entries(s.targets)) {
      put(`${s.id} ${target} req/s`, t.rps, 'higher');
      put(`${s.id} ${target} p50 ms`, t.p50Ms, 'lower');
      put(`${s.id} ${target} p99 ms`, t.p99Ms, 'lower');
      put(`${s.id} ${target} CPU µs/req`, t.proxyCpuUsPerReq, 'lower');
    }
    put(`${s.id} switchyard÷floor req/s`, s.ratios.switchyardOverFloor, 'higher');
    put(`${s.id} switchyard÷direct req/s`, s.ratios.switchyardOverDirect, 'higher');
    put(`${s.id} switchyard÷floor CPU/req`, s.ratios.cpuSwitchyardOverFloor, 'lower');
  }
  const a = r.addedLatency;
  if (a !== undefined) {
    put(`added latency (${a.shape}) switchyard−direct p50 ms`, a.switchyardMinusDirect.p50Ms, 'lower');
    put(`added latency (${a.shape}) switchyard−direct p99 ms`, a.switchyardMinusDirect.p99Ms, 'lower');
    put(`added latency (${a.shape}) floor−direct p50 ms`, a.floorMinusDirect.p50Ms, 'lower');
  }
  return out;
}

export function compareRows(a: BenchResult, b: BenchResult): MetricRow[] {
  const ma = metrics(a);
  const mb = metrics(b);
  const names = [...new Set([...ma.keys(), ...mb.keys()])];
  return names.map((metric) => ({
    metric,
    a: ma.get(metric)?.value,
    b: mb.get(metric)?.value,
    better: (ma.get(metric) ?? mb.get(metric))?.better ?? 'higher',
  }));
}

/** Within ±5% is "same": below the run-to-run noise of this bench on a quiet machine. */
function verdict(row: MetricRow): string {
  if (row.a === undefined || row.b === undefined) return row.a === undefined ? 'only in B' : 'only in A';
  if (row.a === 0) return '';
  const change = row.b / row.a;
  if (Math.abs(change - 1) < 0.05) return 'same';
  const up = change > 1;
  return (up && row.better === 'higher') || (!up && row.better === 'lower') ? 'better' : 'WORSE';
}

export function formatComparison(fileA: string, a: BenchResult, fileB: string, b: BenchResult): string {
  const lines = [
    `A: ${fileA} (${a.startedAt}, ${a.options.gitCommit ?? 'unknown commit'}, ${a.options.durationS} s × ${a.options.connections} conns)`,
    `B: ${fileB} (${b.startedAt}, ${b.options.gitCommit ?? 'unknown commit'}, ${b.options.durationS} s × ${b.options.connections} conns)`,
  ];
  const differs = (x: unknown, y: unknown): boolean => JSON.stringify(x) !== JSON.stringify(y);
  const { loadAverageAtStart: _la, ...machineA } = a.machine;
  const { loadAverageAtStart: _lb, ...machineB } = b.machine;
  if (differs(machineA, machineB)) lines.push('! the two runs are from different machines or node versions');
  if (a.options.connections !== b.options.connections || a.options.outputTokens !== b.options.outputTokens || a.pinning.enabled !== b.pinning.enabled) {
    lines.push('! the two runs used different connections, reply sizes or pinning');
  }
  if (a.failures > 0 || b.failures > 0) lines.push(`! failed requests: A ${a.failures}, B ${b.failures}: a run with failures is not valid`);
  lines.push('', `${'metric'.padEnd(58)}${'A'.padStart(10)}${'B'.padStart(10)}${'B ÷ A'.padStart(9)}  verdict`);
  for (const row of compareRows(a, b)) {
    const fmt = (n: number | undefined): string => (n === undefined ? '-' : Number.isInteger(n) || n >= 100 ? n.toFixed(0) : n.toFixed(3));
    const r = row.a !== undefined && row.b !== undefined && row.a !== 0 ? `${(row.b / row.a).toFixed(2)}×` : '-';
    lines.push(`${row.metric.padEnd(58)}${fmt(row.a).padStart(10)}${fmt(row.b).padStart(10)}${r.padStart(9)}  ${verdict(row)}`);
  }
  return lines.join('\n');
}

if (import.meta.main) {
  const [fileA, fileB] = process.argv.slice(2);
  if (fileA === undefined || fileB === undefined) {
    process.stderr.write('Usage: node bench/compare.ts A.json B.json   (prints B ÷ A per metric)\n');
    process.exitCode = 2;
  } else {
    try {
      process.stdout.write(`${formatComparison(fileA, readResult(fileA), fileB, readResult(fileB))}\n`);
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
