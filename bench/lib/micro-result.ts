/**
 * The micro-benchmark result file (`bench/results/micro-<timestamp>.json`,
 * and the committed `bench/results/micro-baseline.json`): one schema for the
 * file `bench/micro.ts` writes and the check it runs on files it reads back.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { hostSchema, loadAverages, machine, readValidated } from './machine.ts';

const taskResultSchema = z.object({
  /** Stable key the regression check matches tasks by. */
  id: z.string(),
  title: z.string(),
  /** Calls of the task function per timed sample (short tasks are timed in batches). */
  batch: z.number(),
  /** What the samples timed: wall time, or CPU time of the thread (long calls, which preemption would inflate). */
  clock: z.enum(['wall', 'cpu']),
  samples: z.number(),
  /** Per call, from the mean: 1e9 / meanNs. */
  opsPerSec: z.number(),
  meanNs: z.number(),
  /** Median of the samples, per call: what the regression check compares. */
  p50Ns: z.number(),
  /** 99th percentile of the samples (each the mean of `batch` calls), per call. */
  p99Ns: z.number(),
  /** Relative margin of error of the mean, %. */
  rmePct: z.number(),
  /** The task's own regression threshold, % (wider than the default for tasks whose timing varies more than the code does). */
  tolerancePct: z.number().optional(),
  /** What one call processes when it is more than one thing (a stream of N events): per-item time is p50Ns ÷ count. */
  items: z.object({ unit: z.string(), count: z.number() }).optional(),
});

export const microResultSchema = z.object({
  kind: z.literal('micro'),
  version: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  gitCommit: z.string().optional(),
  machine: hostSchema.extend({
    /** 1-, 5- and 15-minute load averages at start: well above 0 means other work shared the CPUs. */
    loadAverage: z.array(z.number()),
  }),
  /** `rounds`: each task was measured this many times and its best run (lowest median) kept. */
  options: z.object({ timeMs: z.number(), warmupMs: z.number(), rounds: z.number() }),
  tasks: z.array(taskResultSchema),
});

export type MicroTaskResult = z.infer<typeof taskResultSchema>;
export type MicroResult = z.infer<typeof microResultSchema>;
export type MachineInfo = MicroResult['machine'];

export const BASELINE_NAME = 'micro-baseline.json';

export function machineInfo(): MachineInfo {
  const { loadAverageAtStart: _first, ...host } = machine();
  return { ...host, loadAverage: loadAverages() };
}

export function gitCommit(cwd: string): string | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return dirty.trim() === '' ? commit : `${commit}-dirty`;
  } catch {
    return undefined;
  }
}

/** Reads and validates a micro result; throws with every problem listed. */
export function readMicroResult(file: string): MicroResult {
  return readValidated(file, microResultSchema, 'a micro-benchmark result');
}

/** The newest `micro-<timestamp>.json` in `dir` (timestamps sort by name), other than `exclude`; undefined if none. */
export function latestMicroResult(dir: string, exclude?: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const candidates = names
    .filter((n) => /^micro-\d{4}-.*\.json$/.test(n))
    .map((n) => join(dir, n))
    .filter((f) => f !== exclude)
    .sort();
  return candidates.at(-1);
}
