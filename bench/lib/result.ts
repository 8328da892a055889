/**
 * The bench result file (`bench/results/<timestamp>.json`): one schema gives
 * the type the runner writes and the check compare.ts runs on files it reads.
 */
import { readFileSync } from 'node:fs';
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

export const benchResultSchema = z.object({
  version: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  machine: z.object({
    cpus: z.number(),
    cpuModel: z.string(),
    node: z.string(),
    os: z.string(),
    totalMemoryGiB: z.number(),
    /** 1-minute load average when the run started: above ~0.5 something else is using the CPUs. */
    loadAverageAtStart: z.number(),
  }),
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
    pipeline: z.enum(['full', 'open']).optional(),
    profiled: z.boolean(),
    gitCommit: z.string().optional(),
  }),
  shapes: z.array(shapeResultSchema),
  addedLatency: addedLatencySchema.optional(),
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
});

export type LoadResultJson = z.infer<typeof loadResultSchema>;
export type TargetResult = z.infer<typeof targetResultSchema>;
export type ShapeResult = z.infer<typeof shapeResultSchema>;
export type AddedLatency = z.infer<typeof addedLatencySchema>;
export type BenchResult = z.infer<typeof benchResultSchema>;

/** Reads and validates a result file; throws with every problem listed. */
export function readResult(file: string): BenchResult {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not readable JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = benchResultSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new Error(`${file}: not a bench result:\n${problems}`);
  }
  return parsed.data;
}

/** a ÷ b, rounded to 3 decimals; 0 when b is 0. */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 1000) / 1000;
}
