/**
 * The bench result file (`bench/results/<timestamp>.json`): one schema gives
 * the type the runner writes and the check compare.ts runs on files it reads.
 */
import { machineSchema, readValidated } from './machine.ts';
import { z } from 'zod';

const loadResultSchema = z.object({
  rps: z.number(),
  ok: z.number(),
  durationS: z.number(),
  p50Ms: z.number(),
  p90Ms: z.number(),
  p99Ms: z.number(),
  meanMs: z.number(),
  maxMs: z.number(),
  non2xx: z.number(),
  errors: z.number(),
  timeouts: z.number(),
  mismatches: z.number(),
  statusCodes: z.record(z.string(), z.number()),
});

const targetResultSchema = loadResultSchema.extend({
  /** CPU time of the proxy process (floor or gateway) per 2xx response, µs. */
  proxyCpuUsPerReq: z.number().optional(),
  /** Proxy CPU time over wall time: 1 = one core fully busy. */
  proxyCpuBusy: z.number().optional(),
  /** `proxyCpuUsPerReq` of each interleaved round, in order. */
  proxyCpuUsPerReqByRound: z.array(z.number()).optional(),
  /** CPU time of the mock per response, µs (same work for every target). */
  mockCpuUsPerReq: z.number().optional(),
  /**
   * CPUs' worth of time used by processes outside the bench during the
   * measured runs (0.3 = 30% of one CPU): the noise indicator.
   */
  otherCpu: z.number().optional(),
});

const ratiosSchema = z.object({
  switchyardOverFloor: z.number(),
  switchyardOverDirect: z.number(),
  floorOverDirect: z.number(),
  /** Switchyard CPU per request ÷ the floor's. */
  cpuSwitchyardOverFloor: z.number().optional(),
  /**
   * The same ratio round by round: in a round the two run back to back, so a
   * disturbance of the machine that hits one round shows as one odd ratio.
   */
  cpuSwitchyardOverFloorByRound: z.array(z.number()).optional(),
});

const shapeResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  passthrough: z.boolean(),
  targets: z.object({ direct: targetResultSchema, floor: targetResultSchema, switchyard: targetResultSchema }),
  ratios: ratiosSchema,
});

const percentilesSchema = z.object({ p50Ms: z.number(), p99Ms: z.number() });

const addedLatencySchema = z.object({
  shape: z.string(),
  connections: z.literal(1),
  direct: percentilesSchema,
  floor: percentilesSchema,
  switchyard: percentilesSchema,
  floorMinusDirect: percentilesSchema,
  switchyardMinusDirect: percentilesSchema,
  failures: z.number(),
});

const percentilesUsSchema = z.object({ p50Us: z.number(), p90Us: z.number(), p99Us: z.number(), p999Us: z.number() });

/**
 * One target at a constant rate (open loop), latencies in µs: the percentiles
 * from the actual send, or from the scheduled time for requests held back by
 * the in-flight bound (coordinated omission); `fromSchedule*` from the
 * scheduled time for all (so they include the sender's own timer lag).
 */
const openLoopTargetSchema = percentilesUsSchema.extend({
  scheduled: z.number(),
  sent: z.number(),
  ok: z.number(),
  non2xx: z.number(),
  errors: z.number(),
  timeouts: z.number(),
  mismatches: z.number(),
  /** Sent more than 2 ms after their scheduled time. */
  late: z.number(),
  /** Scheduled but never sent (every in-flight slot taken until the run ended). */
  unsent: z.number(),
  /** Sent late because every in-flight slot was taken when they fell due. */
  waitedForSlot: z.number(),
  durationS: z.number(),
  /** Good responses per second of schedule. */
  achievedRps: z.number(),
  maxUs: z.number(),
  /** Send time − scheduled time of the sends that found a free slot: the load generator's own timing error. */
  sendLagP50Us: z.number(),
  sendLagP99Us: z.number(),
  fromScheduleP50Us: z.number(),
  fromScheduleP99Us: z.number(),
  fromScheduleP999Us: z.number(),
  proxyCpuBusy: z.number().optional(),
  proxyCpuUsPerReq: z.number().optional(),
});

const rateLatencySchema = z.object({
  shape: z.string(),
  ratePerS: z.number(),
  /** 'auto': a fraction of the shape's lowest closed-loop throughput; 'flag': --rate. */
  rateFrom: z.enum(['auto', 'flag']),
  /** Measured seconds per target, over the rounds. */
  durationS: z.number(),
  maxInFlight: z.number(),
  targets: z.object({ direct: openLoopTargetSchema, floor: openLoopTargetSchema, switchyard: openLoopTargetSchema }),
  floorMinusDirect: percentilesUsSchema,
  switchyardMinusDirect: percentilesUsSchema,
});

const rampStepSchema = z.object({
  rate: z.number(),
  sustained: z.boolean(),
  /** Why a step was not sustained. */
  reason: z.string().optional(),
  achievedRps: z.number(),
  p50Us: z.number(),
  p99Us: z.number(),
  late: z.number(),
  /** Held back by the in-flight bound (optional: absent in the first files with a ramp). */
  waitedForSlot: z.number().optional(),
  unsent: z.number(),
  failed: z.number(),
  /** The sender's own lag at p99 (sends that found a free slot): above ~1 ms the load generator was short of CPU. */
  sendLagP99Us: z.number().optional(),
  proxyCpuBusy: z.number().optional(),
});

const rampTargetSchema = z.object({
  steps: z.array(rampStepSchema),
  /** Highest rate sustained (p99 under the threshold, no failures, ≤ 1% held back by the in-flight bound); null if none was. */
  maxSustainedRate: z.number().nullable(),
  /** Lowest rate above it that was not sustained; null if the ramp never failed. */
  lowestFailedRate: z.number().nullable(),
});

const rampSchema = z.object({
  shape: z.string(),
  p99ThresholdMs: z.number(),
  stepS: z.number(),
  maxSteps: z.number(),
  startRate: z.number(),
  growth: z.number(),
  maxInFlight: z.number(),
  floor: rampTargetSchema,
  switchyard: rampTargetSchema,
  switchyardOverFloor: z.number().nullable(),
});

const processMemorySchema = z.object({
  /** VmRSS once started, before any load. */
  startRssMiB: z.number().optional(),
  /** Highest VmRSS sampled while the load ran. */
  peakRssMiB: z.number().optional(),
  /** VmRSS after the load and a few idle seconds. */
  idleRssMiB: z.number().optional(),
  /** V8 heap used (gateway /metrics): after the initial warm-up, right after the last load, after the idle seconds. */
  heapUsedAfterWarmupMiB: z.number().optional(),
  heapUsedAfterLoadMiB: z.number().optional(),
  heapUsedIdleMiB: z.number().optional(),
});

const memorySchema = z.object({
  sampleIntervalMs: z.number(),
  idleS: z.number(),
  /** Where the heap figures come from, or why there are none. */
  heapSource: z.string(),
  floor: processMemorySchema,
  switchyard: processMemorySchema,
});

const goalSchema = z.object({
  id: z.string(),
  issue: z.number(),
  text: z.string(),
  /** null: not measured in this run. */
  met: z.boolean().nullable(),
  detail: z.string(),
});

export const benchResultSchema = z.object({
  version: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  machine: machineSchema,
  pinning: z.object({
    enabled: z.boolean(),
    reason: z.string().optional(),
    loadCpu: z.number().optional(),
    proxyCpu: z.number().optional(),
  }),
  options: z.object({
    quick: z.boolean(),
    durationS: z.number(),
    warmupS: z.number(),
    initialWarmupS: z.number(),
    rounds: z.number(),
    connections: z.number(),
    outputTokens: z.number(),
    gatewayLogLevel: z.string(),
    gatewayMetrics: z.boolean().optional(),
    gatewayLedger: z.boolean().optional(),
    gatewayDashboard: z.boolean().optional(),
    pipeline: z.enum(['full', 'open']).optional(),
    profiled: z.boolean(),
    gitCommit: z.string().optional(),
    /** --rate, when given (else each shape's rate is a fraction of its closed-loop throughput). */
    ratePerS: z.number().optional(),
    rateFraction: z.number().optional(),
    rateDurationS: z.number().optional(),
    maxInFlight: z.number().optional(),
  }),
  shapes: z.array(shapeResultSchema),
  addedLatency: addedLatencySchema.optional(),
  /** Open loop at a constant rate, per shape (absent in results from before issue 6, or with --rate-latency none). */
  rateLatency: z.array(rateLatencySchema).optional(),
  ramp: rampSchema.optional(),
  memory: memorySchema.optional(),
  /** Issue 2's goal, kept as it was; `goals` lists it again with those of later issues. */
  goal: z.object({
    threshold: z.number(),
    /** Lowest switchyard ÷ floor throughput among passthrough shapes. */
    minPassthroughRatio: z.number().nullable(),
    met: z.boolean(),
  }),
  /** Non-2xx + errors + incomplete bodies over every measured run (+ counters that went down between two /metrics scrapes). */
  failures: z.number(),
  /** /metrics scraped before and after the load: counter series compared, and those that went down (must be none). */
  metricsCheck: z.object({ series: z.number(), decreased: z.array(z.string()), requestsCounted: z.number() }).optional(),
  goals: z.array(goalSchema).optional(),
});

export type LoadResultJson = z.infer<typeof loadResultSchema>;
export type TargetResult = z.infer<typeof targetResultSchema>;
export type ShapeResult = z.infer<typeof shapeResultSchema>;
export type AddedLatency = z.infer<typeof addedLatencySchema>;
export type BenchResult = z.infer<typeof benchResultSchema>;
export type PercentilesUsJson = z.infer<typeof percentilesUsSchema>;
export type OpenLoopTarget = z.infer<typeof openLoopTargetSchema>;
export type RateLatency = z.infer<typeof rateLatencySchema>;
export type RampStep = z.infer<typeof rampStepSchema>;
export type RampTarget = z.infer<typeof rampTargetSchema>;
export type Ramp = z.infer<typeof rampSchema>;
export type ProcessMemory = z.infer<typeof processMemorySchema>;
export type Memory = z.infer<typeof memorySchema>;
export type Goal = z.infer<typeof goalSchema>;

/** Reads and validates a result file; throws with every problem listed. */
export function readResult(file: string): BenchResult {
  return readValidated(file, benchResultSchema, 'a bench result');
}

/** a ÷ b, rounded to 3 decimals; 0 when b is 0. */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 1000) / 1000;
}

/** Switchyard's CPU per request ÷ the floor's, round by round; empty when either lacks a round. */
export function cpuByRound(switchyard: TargetResult, floor: TargetResult): { cpuSwitchyardOverFloorByRound?: number[] } {
  const a = switchyard.proxyCpuUsPerReqByRound;
  const b = floor.proxyCpuUsPerReqByRound;
  if (a === undefined || b === undefined || a.length !== b.length || a.length === 0) return {};
  return { cpuSwitchyardOverFloorByRound: a.map((us, i) => ratio(us, b[i] as number)) };
}
