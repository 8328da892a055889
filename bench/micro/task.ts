/**
 * One micro-benchmark task and how it is measured: tinybench times samples
 * for a bounded time; a task much shorter than the timer's resolution is timed
 * in batches of calls, and every figure is reported per call.
 */
import { Bench } from 'tinybench';
import type { MicroTaskResult } from '../lib/micro-result.ts';

export interface MicroTask {
  /** Stable key the regression check matches runs by: `area.what`. */
  id: string;
  title: string;
  /** When one call processes several things (the events of a stream): reported per item too. */
  items?: { unit: string; count: number };
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
/** Enough samples for a p99 even for slow tasks (tinybench keeps running past the time budget until it has them). */
const MIN_SAMPLES = 20;

let sink: unknown;
/** Keeps the last result reachable (the JIT may not prove it unused). */
export function lastSink(): unknown {
  return sink;
}

/** Calls of `run` in about `ns` nanoseconds (at most a million): how many, and how long they took. */
function timeCalls(run: () => unknown, ns: bigint): { calls: number; elapsed: bigint } {
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < ns && calls < 1_000_000) {
    sink = run();
    calls++;
    elapsed = process.hrtime.bigint() - start;
  }
  return { calls, elapsed };
}

/**
 * Calls per sample, sized so a sample lasts MIN_SAMPLE_NS. The code is warmed
 * first: cold, a call is many times slower than once the JIT has compiled it,
 * and would make the batches far too small.
 */
export function batchSize(run: () => unknown): number {
  timeCalls(run, 20_000_000n);
  const { calls, elapsed } = timeCalls(run, 5_000_000n);
  const perCall = Number(elapsed) / calls;
  return Math.max(1, Math.min(MAX_BATCH, Math.ceil(MIN_SAMPLE_NS / perCall)));
}

export async function measure(task: MicroTask, options: MeasureOptions): Promise<MicroTaskResult> {
  task.prepare?.();
  task.verify?.();
  const batch = batchSize(() => task.run());
  const run = task.run.bind(task);
  const bench = new Bench({
    time: options.timeMs,
    warmupTime: options.warmupMs,
    iterations: MIN_SAMPLES,
    warmupIterations: 5,
    timestampProvider: 'hrtimeNow',
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
    samples: result.latency.samplesCount,
    opsPerSec: meanNs > 0 ? 1e9 / meanNs : 0,
    meanNs,
    p50Ns: result.latency.p50 * msToNsPerCall,
    p99Ns: result.latency.p99 * msToNsPerCall,
    // Infinite when the mean is 0, which JSON cannot carry.
    rmePct: Number.isFinite(result.latency.rme) ? result.latency.rme : 0,
  };
  if (task.items !== undefined) out.items = task.items;
  return out;
}
