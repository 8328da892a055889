/**
 * The ramp's arithmetic, kept pure so it can be tested: which rate to try
 * next given the steps so far, and whether a step was sustained. Rates grow
 * geometrically from the start until a step fails, then the gap between the
 * highest sustained rate and the lowest failed one is halved until it is
 * narrow enough or the steps run out. A failed first step halves the rate.
 */

export interface RampPlan {
  startRate: number;
  /** Factor between two rates while no step has failed. */
  growth: number;
  maxSteps: number;
  /** Stop bisecting once failed ÷ sustained ≤ 1 + this. */
  resolution: number;
  /** Do not go below this rate when the first steps fail. */
  minRate: number;
}

export interface StepOutcome {
  rate: number;
  sustained: boolean;
}

/** What one step measured, as far as judging it goes. */
export interface StepFigures {
  scheduled: number;
  p99Us: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  /** Held back by the in-flight bound: the target was not keeping up. (Requests late through the sender's own lag do not count here.) */
  waitedForSlot: number;
  unsent: number;
}

/** Share of a step's requests that may wait for an in-flight slot or go unsent before the rate counts as not sustained. */
export const MAX_LATE_SHARE = 0.01;

export function judgeStep(f: StepFigures, p99ThresholdMs: number): { sustained: boolean; reason?: string } {
  const failed = f.non2xx + f.errors + f.mismatches;
  if (failed > 0) return { sustained: false, reason: `${failed} failed` };
  if (f.p99Us > p99ThresholdMs * 1000) return { sustained: false, reason: `p99 ${(f.p99Us / 1000).toFixed(1)} ms` };
  const behind = f.waitedForSlot + f.unsent;
  if (behind > f.scheduled * MAX_LATE_SHARE) return { sustained: false, reason: `${behind} of ${f.scheduled} waited for a free slot or were never sent` };
  return { sustained: true };
}

/** Highest sustained rate and lowest failed rate above it. */
export function bracket(steps: readonly StepOutcome[]): { sustained: number | undefined; failed: number | undefined } {
  let sustained: number | undefined;
  for (const s of steps) if (s.sustained && (sustained === undefined || s.rate > sustained)) sustained = s.rate;
  let failed: number | undefined;
  for (const s of steps) {
    if (!s.sustained && (sustained === undefined || s.rate > sustained) && (failed === undefined || s.rate < failed)) failed = s.rate;
  }
  return { sustained, failed };
}

/** The next rate to try, or undefined when the ramp is over. */
export function nextRampRate(plan: RampPlan, steps: readonly StepOutcome[]): number | undefined {
  if (steps.length >= plan.maxSteps) return undefined;
  if (steps.length === 0) return Math.round(plan.startRate);
  const { sustained, failed } = bracket(steps);
  if (failed === undefined) return Math.round((sustained as number) * plan.growth);
  if (sustained === undefined) {
    const lower = Math.round(failed / 2);
    return lower < plan.minRate ? undefined : lower;
  }
  if (failed / sustained <= 1 + plan.resolution) return undefined;
  const middle = Math.round((sustained + failed) / 2);
  return middle === sustained || middle === failed ? undefined : middle;
}
