/** Percentile summaries of a latency histogram (µs) and differences between two of them. */
import type { RecordableHistogram } from 'node:perf_hooks';

export interface PercentilesUs {
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
}

/** p50, p90, p99 and p99.9 of a histogram of microseconds; all 0 when it is empty. */
export function percentilesUs(hist: RecordableHistogram): PercentilesUs & { maxUs: number } {
  if (hist.count === 0) return { p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 };
  return {
    p50Us: hist.percentile(50),
    p90Us: hist.percentile(90),
    p99Us: hist.percentile(99),
    p999Us: hist.percentile(99.9),
    maxUs: hist.max,
  };
}

/** a − b, percentile by percentile (what a proxy adds over the direct call). */
export function minusUs(a: PercentilesUs, b: PercentilesUs): PercentilesUs {
  return { p50Us: a.p50Us - b.p50Us, p90Us: a.p90Us - b.p90Us, p99Us: a.p99Us - b.p99Us, p999Us: a.p999Us - b.p999Us };
}

/**
 * A default rate that every target sustains comfortably: a fraction of the
 * lowest closed-loop throughput measured for the shape, rounded down to two
 * significant digits so that runs on one machine tend to land on the same rate.
 */
export function comfortableRate(closedLoopRps: readonly number[], fraction: number): number {
  const lowest = Math.min(...closedLoopRps);
  if (!Number.isFinite(lowest) || lowest <= 0) return 0;
  return roundDown2(lowest * fraction);
}

export function roundDown2(n: number): number {
  if (n < 10) return Math.max(1, Math.floor(n));
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / unit) * unit;
}
