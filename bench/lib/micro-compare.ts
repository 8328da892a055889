/**
 * The micro-benchmark regression check: a run against a reference run, task
 * by task, by the median time per call (steadier than the mean on a shared
 * machine, where a few preempted samples drag the mean up). Pure: no I/O.
 */
import { formatDuration } from './micro-report.ts';
import type { MicroResult } from './micro-result.ts';

export type Verdict = 'same' | 'faster' | 'REGRESSION' | 'new' | 'missing' | 'n/a';

export interface ComparisonRow {
  id: string;
  /** Median ns per call in the reference run; undefined for a new task. */
  baselineNs: number | undefined;
  /** Median ns per call now; undefined for a task no longer measured. */
  currentNs: number | undefined;
  /** current ÷ baseline: above 1 is slower. */
  ratio: number | undefined;
  /** The threshold this task was judged by, in percent (wider than the run's for tasks that declare more noise). */
  thresholdPct: number;
  verdict: Verdict;
}

export interface Comparison {
  rows: ComparisonRow[];
  /** Ids of the tasks whose verdict is REGRESSION. */
  regressions: string[];
  /** Why the two runs may not be comparable (machine, Node, settings, load). */
  warnings: string[];
}

export const DEFAULT_THRESHOLD_PCT = 25;
/**
 * A change smaller than this per call is never a verdict: a few-ns task
 * varies by more than 25% with the neighbours' load (SMT siblings, caches).
 */
export const MIN_DELTA_NS = 10;

/**
 * `current ÷ baseline` judged against a threshold in percent: slower by more
 * than the threshold is a REGRESSION, faster by the same factor (ratio below
 * 1 ÷ (1 + threshold)) is `faster`, anything between is `same`; so is a
 * change of less than MIN_DELTA_NS per call, whatever its ratio.
 */
export function verdictFor(ratio: number, thresholdPct: number, deltaNs = Infinity): Verdict {
  if (!Number.isFinite(ratio) || ratio <= 0) return 'n/a';
  if (Math.abs(deltaNs) < MIN_DELTA_NS) return 'same';
  const limit = 1 + thresholdPct / 100;
  if (ratio > limit) return 'REGRESSION';
  if (ratio < 1 / limit) return 'faster';
  return 'same';
}

/** Reads `--threshold`: a percentage, with or without `%` ("25", "25%", "12.5"). */
export function parseThresholdPct(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const value = match === null ? NaN : Number(match[1]);
  if (!Number.isFinite(value) || value <= 0 || value >= 1000) {
    throw new Error(`--threshold must be a percentage above 0 and below 1000 (e.g. 25 or 25%), got "${text}"`);
  }
  return value;
}

type Comparable = Pick<MicroResult, 'tasks' | 'machine' | 'options'>;

function machineWarnings(baseline: Comparable, current: Comparable): string[] {
  const out: string[] = [];
  const a = baseline.machine;
  const b = current.machine;
  if (a.cpuModel !== b.cpuModel || a.cpus !== b.cpus) {
    out.push(`different machines: reference ${a.cpus} × ${a.cpuModel}, now ${b.cpus} × ${b.cpuModel}`);
  }
  const major = (v: string): string => v.replace(/^v/, '').split('.')[0] ?? v;
  if (major(a.node) !== major(b.node)) out.push(`different Node major versions: reference ${a.node}, now ${b.node}`);
  if (baseline.options.timeMs !== current.options.timeMs) {
    out.push(`different time per task: reference ${baseline.options.timeMs} ms, now ${current.options.timeMs} ms`);
  }
  const busy = (m: Comparable['machine']): boolean => (m.loadAverage[0] ?? 0) > m.cpus * 0.5;
  if (busy(a) || busy(b)) {
    out.push(
      `the machine was busy (1-minute load average: reference ${a.loadAverage[0] ?? '?'}, now ${b.loadAverage[0] ?? '?'}, ` +
        `on ${b.cpus} CPUs): expect noise; rerun before believing a regression`,
    );
  }
  return out;
}

/**
 * Compares every task of either run, in the current run's order, then tasks
 * only the reference has. A task is judged by the run's threshold, or by its
 * own `tolerancePct` when that is wider.
 */
export function compareMicro(baseline: Comparable, current: Comparable, thresholdPct = DEFAULT_THRESHOLD_PCT): Comparison {
  const before = new Map(baseline.tasks.map((t) => [t.id, t]));
  const rows: ComparisonRow[] = [];
  for (const task of current.tasks) {
    const ref = before.get(task.id);
    const threshold = Math.max(thresholdPct, task.tolerancePct ?? 0);
    if (ref === undefined) {
      rows.push({ id: task.id, baselineNs: undefined, currentNs: task.p50Ns, ratio: undefined, thresholdPct: threshold, verdict: 'new' });
      continue;
    }
    const ratio = ref.p50Ns > 0 ? task.p50Ns / ref.p50Ns : NaN;
    rows.push({
      id: task.id,
      baselineNs: ref.p50Ns,
      currentNs: task.p50Ns,
      ratio: Number.isFinite(ratio) ? ratio : undefined,
      thresholdPct: threshold,
      verdict: verdictFor(ratio, threshold, task.p50Ns - ref.p50Ns),
    });
  }
  const clockChanged = current.tasks.filter((t) => {
    const ref = before.get(t.id);
    return ref !== undefined && ref.clock !== t.clock;
  });
  const measured = new Set(current.tasks.map((t) => t.id));
  for (const ref of baseline.tasks) {
    if (!measured.has(ref.id)) {
      rows.push({ id: ref.id, baselineNs: ref.p50Ns, currentNs: undefined, ratio: undefined, thresholdPct, verdict: 'missing' });
    }
  }
  return {
    rows,
    regressions: rows.filter((r) => r.verdict === 'REGRESSION').map((r) => r.id),
    warnings: [
      ...machineWarnings(baseline, current),
      ...(clockChanged.length === 0
        ? []
        : [`timed with another clock than in the reference (wall time vs CPU time, chosen by a call's length): ${clockChanged.map((t) => t.id).join(', ')}`]),
    ],
  };
}

export function formatComparison(comparison: Comparison, thresholdPct: number, reference: string): string[] {
  const idWidth = Math.max(4, ...comparison.rows.map((r) => r.id.length));
  const lines = [
    `Regression check against ${reference}: median time per call, now ÷ reference; REGRESSION above ${(1 + thresholdPct / 100).toFixed(2)}× ` +
      `(and ${MIN_DELTA_NS} ns), or a task's own wider limit.`,
    '',
    `${'task'.padEnd(idWidth)}  ${'reference'.padStart(10)}  ${'now'.padStart(10)}  ${'ratio'.padStart(6)}  verdict`,
  ];
  for (const r of comparison.rows) {
    const ref = r.baselineNs === undefined ? '-' : formatDuration(r.baselineNs);
    const now = r.currentNs === undefined ? '-' : formatDuration(r.currentNs);
    const ratio = r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}×`;
    const own = r.thresholdPct > thresholdPct ? ` (noisy task: limit ${(1 + r.thresholdPct / 100).toFixed(2)}×)` : '';
    lines.push(`${r.id.padEnd(idWidth)}  ${ref.padStart(10)}  ${now.padStart(10)}  ${ratio.padStart(6)}  ${r.verdict}${own}`);
  }
  for (const w of comparison.warnings) lines.push(`warning: ${w}`);
  lines.push(
    '',
    comparison.regressions.length === 0
      ? 'No regression.'
      : `!!! ${comparison.regressions.length} REGRESSION(S): ${comparison.regressions.join(', ')}`,
  );
  return lines;
}

/**
 * Of two measurements of one task, the one with the lower median. Noise on a
 * shared machine only ever adds time, so a task that looked regressed is
 * measured again and judged by its better run.
 */
export function fasterOf<T extends { p50Ns: number }>(first: T, second: T): T {
  return second.p50Ns < first.p50Ns ? second : first;
}
