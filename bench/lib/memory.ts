/**
 * Memory of the processes under test: resident set size from
 * /proc/<pid>/status (VmRSS), sampled on a timer while the load runs to find
 * the peak, and the gateway's V8 heap from its /metrics (prom-client's
 * default `nodejs_heap_size_used_bytes`), which the floor does not have.
 */
import { readFileSync } from 'node:fs';
import type { Sample } from './prom-text.ts';

export const MiB = 2 ** 20;
const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;

/** VmRSS of `pid` in bytes, or undefined where /proc is not available (or the process is gone). */
export function rssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return parseVmRss(status);
}

/** The VmRSS line of a /proc/<pid>/status text ("VmRSS:	  123456 kB"), in bytes. */
export function parseVmRss(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** Heap used by the gateway's V8 according to a /metrics scrape, bytes; undefined when the metric is not exposed. */
export function heapUsedBytes(samples: readonly Sample[]): number | undefined {
  const found = samples.filter((s) => s.name === 'nodejs_heap_size_used_bytes');
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

/** Samples the RSS of some processes every `intervalMs` until stopped; keeps the first reading and the peak (MiB). */
export class RssSampler {
  readonly intervalMs: number;
  #pids: Map<string, number>;
  #start = new Map<string, number>();
  #peak = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: Record<string, number>, intervalMs = 200) {
    this.#pids = new Map(Object.entries(pids));
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.sample();
    for (const [name, bytes] of this.#peak) this.#start.set(name, bytes);
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    for (const [name, pid] of this.#pids) {
      const bytes = rssBytes(pid);
      if (bytes !== undefined && bytes > (this.#peak.get(name) ?? 0)) this.#peak.set(name, bytes);
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
  }

  /** MiB at start and at peak; undefined where /proc could not be read. */
  figures(name: string): { startMiB: number | undefined; peakMiB: number | undefined } {
    const start = this.#start.get(name);
    const peak = this.#peak.get(name);
    return { startMiB: start === undefined ? undefined : mib(start), peakMiB: peak === undefined ? undefined : mib(peak) };
  }
}

export function toMiB(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : mib(bytes);
}
