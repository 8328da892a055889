/** Text output of the micro-benchmarks: durations with a readable unit, the results table. */
import type { MicroResult } from './micro-result.ts';

/** 45 ns, 1.23 µs, 12.3 ms: three significant digits, the unit chosen by size. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const [value, unit] = ns < 1e3 ? [ns, 'ns'] : ns < 1e6 ? [ns / 1e3, 'µs'] : ns < 1e9 ? [ns / 1e6, 'ms'] : [ns / 1e9, 's'];
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** 1234567 → "1,234,567"; small rates keep one decimal. */
export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString('en-US') : perSecond.toFixed(1);
}

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

export function formatResultTable(result: MicroResult): string[] {
  const m = result.machine;
  const lines = [
    `Switchyard micro-benchmarks: ${m.cpus} CPU (${m.cpuModel}), node ${m.node}, load average ${m.loadAverage.join(' ')}, ` +
      `commit ${result.gitCommit ?? 'unknown'}, ${result.options.timeMs} ms per task`,
    '',
  ];
  const idWidth = Math.max(4, ...result.tasks.map((t) => t.id.length));
  lines.push(
    `${pad('task', idWidth, true)}  ${pad('ops/s', 12)}  ${pad('mean', 9)}  ${pad('p50', 9)}  ${pad('p99', 9)}  ${pad('±%', 5)}  per item`,
  );
  for (const t of result.tasks) {
    const perItem = t.items === undefined ? '' : `${formatDuration(t.p50Ns / t.items.count)}/${t.items.unit} (${t.items.count})`;
    lines.push(
      `${pad(t.id, idWidth, true)}  ${pad(formatRate(t.opsPerSec), 12)}  ${pad(formatDuration(t.meanNs), 9)}  ` +
        `${pad(formatDuration(t.p50Ns), 9)}  ${pad(formatDuration(t.p99Ns), 9)}  ${pad(t.rmePct.toFixed(1), 5)}  ${perItem}`,
    );
  }
  lines.push(
    '',
    'Per call of the task. p50/p99 are over timed samples; a short task is timed in batches of calls, so its p99 is that of a',
    "batch's mean, not of one call. ±% is the margin of error of the mean (95%). per item: p50 ÷ items per call (events of a stream).",
  );
  return lines;
}
