/**
 * One micro-benchmark task and how it is measured: tinybench times samples
 * for a bounded time; a task much shorter than the timer's resolution is timed
 * in batches of calls, and every figure is reported per call.
 */
import { Bench, type TimestampProvider } from 'tinybench';
import type { MicroTaskResult } from '../lib/micro-result.ts';

export interface MicroTask {
  /** Stable key the regression check matches runs by: `area.what`. */
  id: string;
  title: string;
  /** When one call processes several things (the events of a stream): reported per item too. */
  items?: { unit: string; count: number };
  /**
   * A regression threshold in percent for this task when it must be wider
   * than the run's: its timing varies more than the code does. Say why.
   */
  tolerancePct?: number;
  /** One operation. Its return value is kept, so the JIT cannot drop the work. */
  run(): unknown;
  /** Puts shared state where the task needs it, right before it is measured (e.g. fills a cache). */
  prepare?(): void;
  /**
   * Run once before measuring: throws when the operation does not do what the
   * task claims (a route that is not taken, a stream that does not translate),
   * so a broken benchmark fails instead of timing the wrong thing.
   */
  verify?(): void;
}

export interface MeasureOptions {
  timeMs: number;
  warmupMs: number;
  signal?: AbortSignal;
}

/** A timed sample should last at least this long, so the timer's cost and resolution stay negligible. */
const MIN_SAMPLE_NS = 25_000;
const MAX_BATCH = 10_000;
/**
 * From this long a call on, samples are timed in CPU time of the thread, not
 * wall time: on a shared machine nearly every sample that long spans a
 * preemption, which wall time would count (2-4× medians were seen under load).
 * Shorter samples mostly fit in a time slice, so their median is unaffected,
 * and reading the thread's CPU time costs microseconds, too much for them.
 */
const CPU_CLOCK_FROM_NS = 500_000;
/** Enough samples for a p99 even for slow tasks (tinybench keeps running past the time budget until it has them). */
const MIN_SAMPLES = 20;

let sink: unknown;
/** Keeps the last result reachable (the JIT may not prove it unused). */
export function lastSink(): unknown {
  return sink;
}

export type Clock = 'wall' | 'cpu';

function threadCpuNs(): number {
  const usage = process.threadCpuUsage();
  return (usage.user + usage.system) * 1000;
}

/**
 * Calls `run` for about `ns` of wall time (at most a million calls) and
 * returns the CPU time per call: unlike wall time, not inflated when other
 * processes take the CPU meanwhile.
 */
function cpuPerCall(run: () => unknown, ns: bigint): number {
  let calls = 0;
  const cpuStart = threadCpuNs();
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < ns && calls < 1_000_000) {
    sink = run();
    calls++;
  }
  // The clock counts whole microseconds: never less than one per window.
  return Math.max(1000, threadCpuNs() - cpuStart) / calls;
}

/**
 * Calls per sample, sized so a sample lasts MIN_SAMPLE_NS, and the clock. The
 * code is warmed first: cold, a call is many times slower than once the JIT
 * has compiled it, and would make the batches far too small.
 */
export function calibrate(run: () => unknown): { batch: number; clock: Clock } {
  cpuPerCall(run, 20_000_000n);
  const perCall = cpuPerCall(run, 10_000_000n);
  return {
    batch: Math.max(1, Math.min(MAX_BATCH, Math.ceil(MIN_SAMPLE_NS / perCall))),
    clock: perCall >= CPU_CLOCK_FROM_NS ? 'cpu' : 'wall',
  };
}

/** CPU time of this thread (user + system), in µs. */
const threadCpuClock: TimestampProvider = {
  name: 'threadCpuUsage',
  fn: () => {
    const usage = process.threadCpuUsage();
    return usage.user + usage.system;
  },
  toMs: (us) => Number(us) / 1000,
  fromMs: (ms) => ms * 1000,
};

export async function measure(task: MicroTask, options: MeasureOptions): Promise<MicroTaskResult> {
  task.prepare?.();
  task.verify?.();
  const { batch, clock } = calibrate(() => task.run());
  const run = task.run.bind(task);
  const bench = new Bench({
    time: options.timeMs,
    warmupTime: options.warmupMs,
    iterations: MIN_SAMPLES,
    warmupIterations: 5,
    timestampProvider: clock === 'cpu' ? threadCpuClock : 'hrtimeNow',
    throws: true,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  bench.add(
    task.id,
    batch === 1
      ? () => {
          sink = run();
        }
      : () => {
          for (let i = 0; i < batch; i++) sink = run();
        },
  );
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result === undefined || (result.state !== 'completed' && result.state !== 'aborted-with-statistics')) {
    throw new Error(`task ${task.id}: no measurement (${result?.state ?? 'not run'})`);
  }
  const msToNsPerCall = 1e6 / batch;
  const meanNs = result.latency.mean * msToNsPerCall;
  const out: MicroTaskResult = {
    id: task.id,
    title: task.title,
    batch,
    clock,
    samples: result.latency.samplesCount,
    opsPerSec: meanNs > 0 ? 1e9 / meanNs : 0,
    meanNs,
    p50Ns: result.latency.p50 * msToNsPerCall,
    p99Ns: result.latency.p99 * msToNsPerCall,
    // Infinite when the mean is 0, which JSON cannot carry.
    rmePct: Number.isFinite(result.latency.rme) ? result.latency.rme : 0,
  };
  if (task.items !== undefined) out.items = task.items;
  if (task.tolerancePct !== undefined) out.tolerancePct = task.tolerancePct;
  return out;
}
