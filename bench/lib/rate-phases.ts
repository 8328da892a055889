/**
 * The open-loop parts of the bench: latency of every target at one constant
 * rate (interleaved rounds, like the closed-loop runs), and the ramp that
 * raises the rate on the floor and on Switchyard until the p99 or failures
 * say a rate is no longer sustained.
 */
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { cpuMicros } from './cpu.ts';
import { latencyHistogram } from './load.ts';
import type { TargetSpec } from './measure.ts';
import { openLoopPool, runOpenLoop, sumCounts, type OpenLoopCounts, type OpenLoopHistograms } from './open-loop.ts';
import { minusUs, percentilesUs } from './percentiles.ts';
import { judgeStep, nextRampRate, bracket, type RampPlan, type StepOutcome } from './ramp.ts';
import { ratio, type OpenLoopTarget, type Ramp, type RampStep, type RampTarget, type RateLatency } from './result.ts';
import type { Shape, TargetName } from './shapes.ts';

const log = (line: string): void => void process.stdout.write(`${line}\n`);

function histograms(): OpenLoopHistograms {
  return { latency: latencyHistogram(), fromDue: latencyHistogram(), lag: latencyHistogram() };
}

interface Runner {
  spec: TargetSpec;
  pool: Pool;
  body: Buffer;
}

function runners(shape: Shape, targets: readonly TargetSpec[], maxInFlight: number): Runner[] {
  return targets.map((spec) => ({ spec, pool: openLoopPool(spec.baseUrl, maxInFlight), body: Buffer.from(shape.body(spec.target)) }));
}

async function closeAll(list: readonly Runner[]): Promise<void> {
  await Promise.all(list.map((r) => r.pool.destroy()));
}

interface Timed {
  counts: OpenLoopCounts;
  proxyCpuUs: number | undefined;
  wallUs: number;
}

/** One open-loop run of one target, with the proxy's CPU time around it. */
async function timedRun(shape: Shape, r: Runner, ratePerS: number, durationS: number, maxInFlight: number, hists: OpenLoopHistograms): Promise<Timed> {
  const pid = r.spec.proxyPid;
  const before = pid === undefined ? undefined : cpuMicros(pid);
  const started = performance.now();
  const counts = await runOpenLoop(r.pool, { path: shape.path, body: r.body, headers: r.spec.headers, ratePerS, durationS, maxInFlight, verify: shape.looksComplete }, hists);
  const wallUs = (performance.now() - started) * 1000;
  const after = pid === undefined ? undefined : cpuMicros(pid);
  return { counts, proxyCpuUs: before === undefined || after === undefined ? undefined : after - before, wallUs };
}

function summarise(counts: OpenLoopCounts, hists: OpenLoopHistograms, ratePerS: number, cpuUs: number | undefined, wallUs: number): OpenLoopTarget {
  const lag = percentilesUs(hists.lag);
  const strict = percentilesUs(hists.fromDue);
  const scheduleS = counts.scheduled / ratePerS;
  const cpu =
    cpuUs === undefined || counts.ok === 0 ? {} : { proxyCpuBusy: Math.round((cpuUs / wallUs) * 1000) / 1000, proxyCpuUsPerReq: Math.round(cpuUs / counts.ok) };
  return {
    ...counts,
    achievedRps: Math.round((counts.ok / scheduleS) * 10) / 10,
    ...percentilesUs(hists.latency),
    sendLagP50Us: lag.p50Us,
    sendLagP99Us: lag.p99Us,
    fromScheduleP50Us: strict.p50Us,
    fromScheduleP99Us: strict.p99Us,
    fromScheduleP999Us: strict.p999Us,
    ...cpu,
  };
}

export interface RateLatencySpec {
  shape: Shape;
  targets: readonly TargetSpec[];
  ratePerS: number;
  rateFrom: 'auto' | 'flag';
  /** Measured seconds per target, split over the rounds. */
  durationS: number;
  rounds: number;
  /** Discarded run per target first (opens connections at this rate). */
  warmupS: number;
  maxInFlight: number;
  afterRun: () => void;
}

export async function measureAtRate(spec: RateLatencySpec): Promise<RateLatency> {
  const { shape } = spec;
  const list = runners(shape, spec.targets, spec.maxInFlight);
  try {
    for (const r of list) {
      await timedRun(shape, r, spec.ratePerS, spec.warmupS, spec.maxInFlight, histograms());
      spec.afterRun();
    }
    const tallies = list.map(() => ({ runs: [] as OpenLoopCounts[], hists: histograms(), cpuUs: 0 as number | undefined, wallUs: 0 }));
    const slice = spec.durationS / spec.rounds;
    for (let round = 0; round < spec.rounds; round++) {
      for (let i = 0; i < list.length; i++) {
        const index = (i + round) % list.length;
        const t = tallies[index] as (typeof tallies)[number];
        const run = await timedRun(shape, list[index] as Runner, spec.ratePerS, slice, spec.maxInFlight, t.hists);
        t.runs.push(run.counts);
        t.wallUs += run.wallUs;
        t.cpuUs = t.cpuUs === undefined || run.proxyCpuUs === undefined ? undefined : t.cpuUs + run.proxyCpuUs;
        spec.afterRun();
      }
    }
    const byTarget = new Map<TargetName, OpenLoopTarget>();
    list.forEach((r, i) => {
      const t = tallies[i] as (typeof tallies)[number];
      byTarget.set(r.spec.target, summarise(sumCounts(t.runs), t.hists, spec.ratePerS, r.spec.proxyPid === undefined ? undefined : t.cpuUs, t.wallUs));
    });
    const [direct, floor, switchyard] = (['direct', 'floor', 'switchyard'] as const).map((name) => byTarget.get(name) as OpenLoopTarget) as [OpenLoopTarget, OpenLoopTarget, OpenLoopTarget];
    return {
      shape: shape.id,
      ratePerS: spec.ratePerS,
      rateFrom: spec.rateFrom,
      durationS: spec.durationS,
      maxInFlight: spec.maxInFlight,
      targets: { direct, floor, switchyard },
      floorMinusDirect: minusUs(floor, direct),
      switchyardMinusDirect: minusUs(switchyard, direct),
    };
  } finally {
    await closeAll(list);
  }
}

export interface RampSpec {
  shape: Shape;
  /** The floor and Switchyard. */
  targets: readonly TargetSpec[];
  plan: RampPlan;
  stepS: number;
  p99ThresholdMs: number;
  maxInFlight: number;
  afterRun: () => void;
}

const us = (n: number): string => `${(n / 1000).toFixed(2)} ms`;

/** Both ramps in lock step (floor, Switchyard; then the other way round), each ending on its own. */
export async function runRamps(spec: RampSpec): Promise<Ramp> {
  const { shape, plan } = spec;
  const list = runners(shape, spec.targets, spec.maxInFlight);
  const steps = new Map<TargetName, RampStep[]>(list.map((r) => [r.spec.target, []]));
  try {
    // Open the connections at the start rate first; the numbers are discarded.
    for (const r of list) {
      await timedRun(shape, r, plan.startRate, Math.min(0.5, spec.stepS), spec.maxInFlight, histograms());
      spec.afterRun();
    }
    for (let round = 0; round < plan.maxSteps; round++) {
      let ran = false;
      const order = round % 2 === 0 ? list : [...list].reverse();
      for (const r of order) {
        const done = steps.get(r.spec.target) as RampStep[];
        const rate = nextRampRate(plan, done);
        if (rate === undefined) continue;
        ran = true;
        const hists = histograms();
        const run = await timedRun(shape, r, rate, spec.stepS, spec.maxInFlight, hists);
        spec.afterRun();
        const s = summarise(run.counts, hists, rate, run.proxyCpuUs, run.wallUs);
        const verdict = judgeStep(s, spec.p99ThresholdMs);
        const step: RampStep = {
          rate,
          sustained: verdict.sustained,
          ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
          achievedRps: s.achievedRps,
          p50Us: s.p50Us,
          p99Us: s.p99Us,
          late: s.late,
          waitedForSlot: s.waitedForSlot,
          unsent: s.unsent,
          failed: s.non2xx + s.errors + s.mismatches,
          sendLagP99Us: s.sendLagP99Us,
          ...(s.proxyCpuBusy === undefined ? {} : { proxyCpuBusy: s.proxyCpuBusy }),
        };
        done.push(step);
        const cpu = s.proxyCpuBusy === undefined ? '' : `, CPU ${Math.round(s.proxyCpuBusy * 100)}%`;
        const lag = s.sendLagP99Us > 1000 ? ` (! the sender itself was ${(s.sendLagP99Us / 1000).toFixed(1)} ms late at p99)` : '';
        log(
          `  ${r.spec.target.padEnd(11)} ${String(rate).padStart(6)} req/s: p50 ${us(s.p50Us)}, p99 ${us(s.p99Us)}${cpu} ` +
            `${verdict.sustained ? 'sustained' : `NOT sustained (${verdict.reason ?? ''})`}${lag}`,
        );
      }
      if (!ran) break;
    }
  } finally {
    await closeAll(list);
  }
  const result = (target: TargetName): RampTarget => {
    const done = steps.get(target) ?? [];
    const { sustained, failed } = bracket(done as StepOutcome[]);
    return { steps: done, maxSustainedRate: sustained ?? null, lowestFailedRate: failed ?? null };
  };
  const floor = result('floor');
  const switchyard = result('switchyard');
  return {
    shape: shape.id,
    p99ThresholdMs: spec.p99ThresholdMs,
    stepS: spec.stepS,
    maxSteps: plan.maxSteps,
    startRate: plan.startRate,
    growth: plan.growth,
    maxInFlight: spec.maxInFlight,
    floor,
    switchyard,
    switchyardOverFloor: floor.maxSustainedRate === null || switchyard.maxSustainedRate === null ? null : ratio(switchyard.maxSustainedRate, floor.maxSustainedRate),
  };
}
