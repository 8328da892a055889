/**
 * `npm run bench:compare -- A.json B.json`: per-metric ratios B ÷ A between two
 * bench results, with the direction that counts as better for each metric.
 */
import { evaluateGoals } from './lib/goals.ts';
import { readResult, type BenchResult } from './lib/result.ts';

type Better = 'higher' | 'lower';

/**
 * How a metric is compared: by ratio B ÷ A (same within ±5%), or, for
 * differences that can be near zero or negative (added latency), by B − A
 * (same within an absolute tolerance in the metric's unit).
 */
export interface MetricKind {
  better: Better;
  /** Set for difference metrics: |B − A| up to this is "same". */
  tolerance?: number;
}

export interface MetricRow extends MetricKind {
  metric: string;
  a: number | undefined;
  b: number | undefined;
}

interface MetricValue extends MetricKind {
  value: number;
}

/** Flattens a result into named metrics. Metrics a result lacks (an older file) are simply absent. */
export function metrics(r: BenchResult): Map<string, MetricValue> {
  const out = new Map<string, MetricValue>();
  const put = (name: string, value: number | undefined, better: Better, tolerance?: number): void => {
    if (value !== undefined) out.set(name, tolerance === undefined ? { value, better } : { value, better, tolerance });
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
    put(`added latency (${a.shape}) switchyard−direct p50 ms`, a.switchyardMinusDirect.p50Ms, 'lower', 0.02);
    put(`added latency (${a.shape}) switchyard−direct p99 ms`, a.switchyardMinusDirect.p99Ms, 'lower', 0.05);
    put(`added latency (${a.shape}) floor−direct p50 ms`, a.floorMinusDirect.p50Ms, 'lower', 0.02);
  }
  for (const rl of r.rateLatency ?? []) {
    const prefix = `rate ${rl.shape}`;
    for (const [target, t] of Object.entries(rl.targets)) {
      put(`${prefix} ${target} p50 µs`, t.p50Us, 'lower');
      put(`${prefix} ${target} p99 µs`, t.p99Us, 'lower');
      put(`${prefix} ${target} p99.9 µs`, t.p999Us, 'lower');
      put(`${prefix} ${target} late+unsent`, t.late + t.unsent, 'lower');
    }
    put(`${prefix} switchyard−direct p50 µs`, rl.switchyardMinusDirect.p50Us, 'lower', 20);
    put(`${prefix} switchyard−direct p99 µs`, rl.switchyardMinusDirect.p99Us, 'lower', 100);
    put(`${prefix} switchyard−direct p99.9 µs`, rl.switchyardMinusDirect.p999Us, 'lower', 250);
  }
  const ramp = r.ramp;
  if (ramp !== undefined) {
    put(`ramp (${ramp.shape}) floor max req/s`, ramp.floor.maxSustainedRate ?? undefined, 'higher');
    put(`ramp (${ramp.shape}) switchyard max req/s`, ramp.switchyard.maxSustainedRate ?? undefined, 'higher');
    put(`ramp (${ramp.shape}) switchyard÷floor`, ramp.switchyardOverFloor ?? undefined, 'higher');
  }
  const m = r.memory;
  if (m !== undefined) {
    for (const [name, p] of [['floor', m.floor], ['switchyard', m.switchyard]] as const) {
      put(`memory ${name} peak RSS MiB`, p.peakRssMiB, 'lower');
      put(`memory ${name} idle RSS MiB`, p.idleRssMiB, 'lower');
    }
    put('memory switchyard heap used idle MiB', m.switchyard.heapUsedIdleMiB, 'lower');
  }
  return out;
}

export function compareRows(a: BenchResult, b: BenchResult): MetricRow[] {
  const ma = metrics(a);
  const mb = metrics(b);
  const names = [...new Set([...ma.keys(), ...mb.keys()])];
  return names.map((metric) => {
    const kind = (ma.get(metric) ?? mb.get(metric)) as MetricValue;
    return {
      metric,
      a: ma.get(metric)?.value,
      b: mb.get(metric)?.value,
      better: kind.better,
      ...(kind.tolerance === undefined ? {} : { tolerance: kind.tolerance }),
    };
  });
}

/** Ratio metrics: within ±5% is "same", below the run-to-run noise of this bench on a quiet machine. */
export function verdict(row: MetricRow): string {
  if (row.a === undefined || row.b === undefined) return row.a === undefined ? 'only in B' : 'only in A';
  let up: boolean;
  if (row.tolerance !== undefined) {
    const change = row.b - row.a;
    if (Math.abs(change) <= row.tolerance) return 'same';
    up = change > 0;
  } else if (row.a === 0) {
    if (row.b === 0) return 'same';
    up = row.b > 0;
  } else {
    const change = row.b / row.a;
    if (Math.abs(change - 1) < 0.05) return 'same';
    up = change > 1;
  }
  return up === (row.better === 'higher') ? 'better' : 'WORSE';
}

/** Rates of the constant-rate runs that differ between A and B: their latencies are not comparable. */
function rateMismatches(a: BenchResult, b: BenchResult): string[] {
  const ratesA = new Map((a.rateLatency ?? []).map((r) => [r.shape, r.ratePerS]));
  return (b.rateLatency ?? []).filter((r) => ratesA.has(r.shape) && ratesA.get(r.shape) !== r.ratePerS).map((r) => `${r.shape} ${ratesA.get(r.shape)} vs ${r.ratePerS} req/s`);
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
  const mismatched = rateMismatches(a, b);
  if (mismatched.length > 0) lines.push(`! constant-rate runs at different rates (${mismatched.join('; ')}): give both runs the same --rate to compare their latencies`);
  const width = 66;
  lines.push('', `${'metric'.padEnd(width)}${'A'.padStart(10)}${'B'.padStart(10)}${'change'.padStart(10)}  verdict`);
  for (const row of compareRows(a, b)) {
    const fmt = (n: number | undefined): string => (n === undefined ? '-' : Number.isInteger(n) || Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(3));
    let change = '-';
    if (row.a !== undefined && row.b !== undefined) {
      if (row.tolerance !== undefined) change = `${row.b - row.a >= 0 ? '+' : ''}${fmt(row.b - row.a)}`;
      else if (row.a !== 0) change = `${(row.b / row.a).toFixed(2)}×`;
    }
    lines.push(`${row.metric.padEnd(width)}${fmt(row.a).padStart(10)}${fmt(row.b).padStart(10)}${change.padStart(10)}  ${verdict(row)}`);
  }
  // A file from before the goal list gets it worked out from its figures.
  const goalsA = new Map((a.goals ?? evaluateGoals(a)).map((g) => [g.id, g]));
  const goalsB = b.goals ?? evaluateGoals(b);
  if (goalsB.length > 0) {
    const word = (met: boolean | null | undefined): string => (met === undefined ? '-' : met === null ? 'not measured' : met ? 'MET' : 'NOT MET');
    lines.push('', 'goals (A → B):');
    for (const g of goalsB) lines.push(`  issue ${g.issue}: ${g.text}: ${word(goalsA.get(g.id)?.met)} → ${word(g.met)}`);
  }
  return lines.join('\n');
}

if (import.meta.main) {
  const [fileA, fileB] = process.argv.slice(2);
  if (fileA === undefined || fileB === undefined) {
    process.stderr.write('Usage: npm run bench:compare -- A.json B.json   (prints B ÷ A per metric)\n');
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
