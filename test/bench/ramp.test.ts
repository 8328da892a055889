/** The ramp's arithmetic: which rate comes next, when it stops, and what counts as sustained. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bracket, judgeStep, nextRampRate, type RampPlan, type StepOutcome } from '../../bench/lib/ramp.ts';

const plan: RampPlan = { startRate: 1000, growth: 1.25, maxSteps: 10, resolution: 0.06, minRate: 10 };

/** Runs the ramp against a server that sustains every rate up to `capacity`. */
function ramp(p: RampPlan, capacity: number): StepOutcome[] {
  const steps: StepOutcome[] = [];
  for (let rate = nextRampRate(p, steps); rate !== undefined; rate = nextRampRate(p, steps)) steps.push({ rate, sustained: rate <= capacity });
  return steps;
}

test('the rate grows geometrically from the start until a step fails, then bisects', () => {
  const steps = ramp(plan, 2100);
  assert.deepEqual(
    steps.map((s) => s.rate),
    [1000, 1250, 1563, 1954, 2443, 2199, 2077],
  );
  assert.deepEqual(bracket(steps), { sustained: 2077, failed: 2199 });
});

test('bisection stops once the gap is within the resolution', () => {
  const { sustained, failed } = bracket(ramp(plan, 2100));
  assert.ok(sustained !== undefined && failed !== undefined);
  assert.ok(failed / sustained <= 1 + plan.resolution);
});

test('the number of steps is bounded, even for a server that never fails', () => {
  const steps = ramp(plan, Number.POSITIVE_INFINITY);
  assert.equal(steps.length, plan.maxSteps);
  assert.ok(steps.every((s) => s.sustained));
  assert.deepEqual(bracket(steps), { sustained: steps.at(-1)?.rate, failed: undefined });
});

test('a failed first step halves the rate, down to the minimum, then gives up', () => {
  const steps = ramp(plan, 0);
  assert.deepEqual(
    steps.map((s) => s.rate),
    [1000, 500, 250, 125, 63, 32, 16],
  );
  assert.deepEqual(bracket(steps), { sustained: undefined, failed: 16 });
});

test('halving finds a low capacity and bisects above it', () => {
  const steps = ramp(plan, 300);
  assert.deepEqual(
    steps.map((s) => s.rate),
    [1000, 500, 250, 375, 313, 282, 298],
  );
  assert.deepEqual(bracket(steps), { sustained: 298, failed: 313 });
});

test('a noisy step that fails below a sustained one does not become the upper bound', () => {
  const steps: StepOutcome[] = [
    { rate: 1000, sustained: true },
    { rate: 1250, sustained: true },
    { rate: 900, sustained: false },
    { rate: 1563, sustained: false },
  ];
  assert.deepEqual(bracket(steps), { sustained: 1250, failed: 1563 });
  assert.equal(nextRampRate(plan, steps), 1407);
});

const clean = { scheduled: 1000, p99Us: 5000, non2xx: 0, errors: 0, mismatches: 0, waitedForSlot: 0, unsent: 0 };

test('a step is sustained with p99 at or under the threshold, no failures and at most 1% held back by the in-flight bound', () => {
  assert.deepEqual(judgeStep(clean, 20), { sustained: true });
  assert.deepEqual(judgeStep({ ...clean, p99Us: 20_000 }, 20), { sustained: true });
  assert.deepEqual(judgeStep({ ...clean, waitedForSlot: 6, unsent: 4 }, 20), { sustained: true });
});

test('a step is not sustained with a p99 over the threshold, any failure, or more than 1% held back or unsent', () => {
  assert.deepEqual(judgeStep({ ...clean, p99Us: 20_001 }, 20), { sustained: false, reason: 'p99 20.0 ms' });
  assert.deepEqual(judgeStep({ ...clean, errors: 1 }, 20), { sustained: false, reason: '1 failed' });
  assert.deepEqual(judgeStep({ ...clean, non2xx: 1, mismatches: 2 }, 20), { sustained: false, reason: '3 failed' });
  assert.deepEqual(judgeStep({ ...clean, waitedForSlot: 7, unsent: 4 }, 20), { sustained: false, reason: '11 of 1000 waited for a free slot or were never sent' });
});
