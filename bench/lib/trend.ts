/**
 * The arithmetic of the scale benches, kept pure so it is unit-tested:
 * memory per open stream, a least-squares line through memory samples, and
 * the soak's verdict on whether memory keeps growing.
 */

export interface Point {
  x: number;
  y: number;
}

export interface LineFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination: how much of the variation the line explains (0–1; 0 for a flat series). */
  r2: number;
  /** Standard error of the slope (0 with two points or a perfect fit). */
  slopeStdError: number;
  n: number;
}

/** Ordinary least squares y = intercept + slope·x. Needs two distinct x values. */
export function leastSquares(points: readonly Point[]): LineFit {
  const n = points.length;
  if (n < 2) throw new Error(`a line needs at least 2 points, got ${n}`);
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dx = p.x - mx;
    const dy = p.y - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new Error('a line needs at least two distinct x values');
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  // Residual sum of squares = syy − slope·sxy; clamp the rounding below 0.
  const residual = Math.max(0, syy - slope * sxy);
  const slopeStdError = n > 2 ? Math.sqrt(residual / (n - 2) / sxx) : 0;
  return { slope, intercept: my - slope * mx, r2, slopeStdError, n };
}

/** Bytes per open stream: the growth from the baseline over the streams open. Negative growth counts as 0. */
export function perStreamBytes(openBytes: number, baselineBytes: number, streams: number): number {
  if (!(streams > 0)) throw new Error(`streams must be positive, got ${streams}`);
  return Math.max(0, openBytes - baselineBytes) / streams;
}

export interface MemorySample {
  /** Seconds since the load started. */
  tS: number;
  bytes: number;
}

export interface TrendLimits {
  /** Samples before this are the warm-up: left out of the fit and the thirds. */
  warmupS: number;
  /** Largest slope that still counts as flat, MiB per minute. */
  maxSlopeMiBPerMin: number;
  /** Largest rise of the last third's mean over the first third's, as a fraction (0.05 = 5%). */
  maxThirdsRise: number;
}

export interface TrendVerdict {
  samples: number;
  slopeMiBPerMin: number;
  /** Two standard errors of the slope: the slope is known to about ± this. */
  slopeMarginMiBPerMin: number;
  r2: number;
  firstThirdMiB: number;
  lastThirdMiB: number;
  /** (last third − first third) / first third. */
  thirdsRise: number;
  /** No upward trend: the slope and the rise are both within their limits. */
  flat: boolean;
  reason: string;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Whether memory trends upward after the warm-up: the least-squares slope
 * (MiB/min), less two standard errors, must stay under the limit (a short or
 * noisy run does not raise a false alarm; over a long run the margin shrinks
 * and a real leak stands out), and the mean of the last third of the samples
 * must not exceed the first third's by more than the allowed rise. A sawtooth
 * (GC) averages out in both; a leak shows in both.
 */
export function memoryTrend(all: readonly MemorySample[], limits: TrendLimits): TrendVerdict {
  const samples = all.filter((s) => s.tS >= limits.warmupS);
  if (samples.length < 6) {
    return { samples: samples.length, slopeMiBPerMin: 0, slopeMarginMiBPerMin: 0, r2: 0, firstThirdMiB: 0, lastThirdMiB: 0, thirdsRise: 0, flat: false, reason: `too few samples after the warm-up (${samples.length}, need 6)` };
  }
  const MiB = 1024 * 1024;
  const fit = leastSquares(samples.map((s) => ({ x: s.tS / 60, y: s.bytes / MiB })));
  const third = Math.floor(samples.length / 3);
  const first = mean(samples.slice(0, third).map((s) => s.bytes / MiB));
  const last = mean(samples.slice(samples.length - third).map((s) => s.bytes / MiB));
  const rise = (last - first) / first;
  const margin = 2 * fit.slopeStdError;
  const slopeOk = fit.slope - margin <= limits.maxSlopeMiBPerMin;
  const riseOk = rise <= limits.maxThirdsRise;
  const reason =
    slopeOk && riseOk
      ? `slope ${round(fit.slope, 2)} ± ${round(margin, 2)} MiB/min not above ${limits.maxSlopeMiBPerMin}, last third ${round(rise * 100, 1)}% vs first ≤ ${limits.maxThirdsRise * 100}%`
      : [
          slopeOk ? undefined : `slope ${round(fit.slope, 2)} ± ${round(margin, 2)} MiB/min above ${limits.maxSlopeMiBPerMin}`,
          riseOk ? undefined : `last third ${round(rise * 100, 1)}% above the first (limit ${limits.maxThirdsRise * 100}%)`,
        ]
          .filter((x) => x !== undefined)
          .join('; ');
  return {
    samples: samples.length,
    slopeMiBPerMin: round(fit.slope, 3),
    slopeMarginMiBPerMin: round(margin, 3),
    r2: round(fit.r2, 3),
    firstThirdMiB: round(first, 1),
    lastThirdMiB: round(last, 1),
    thirdsRise: round(rise, 4),
    flat: slopeOk && riseOk,
    reason,
  };
}

/** Percentile (0–100) of an unsorted list, nearest rank; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
