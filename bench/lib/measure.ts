/**
 * Measures one shape against its targets: a checked preflight request per
 * target, a warm-up run per target whose numbers are thrown away, then the
 * measured time split into rounds that visit the targets in turn (rotating
 * the order), so a burst of outside load hits all targets alike instead of
 * skewing one ratio. The CPU time of the proxy and the mock is read around
 * every measured run.
 */
import { performance } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';
import { cpuMicros, systemBusyMicros } from './cpu.ts';
import { combine, failures, latencyHistogram, runLoad, type LoadCounts, type LoadResult, type LoadSpec } from './load.ts';
import type { TargetResult } from './result.ts';
import type { Shape, TargetName } from './shapes.ts';

export interface TargetSpec {
  target: TargetName;
  baseUrl: string;
  /** The process under test (floor or gateway); undefined for direct. */
  proxyPid: number | undefined;
  /** The shape's headers plus this target's credentials (Switchyard runs with auth on). */
  headers: Record<string, string>;
}

export interface MeasureSpec {
  shape: Shape;
  targets: TargetSpec[];
  connections: number;
  /** Measured seconds per target, split evenly over the rounds. */
  durationS: number;
  warmupS: number;
  rounds: number;
  mockPid: number;
  /** Every process the bench started: their CPU is not "other" load. */
  benchPids: number[];
  /** Called after every run, e.g. to check the children are still alive. */
  afterRun?: () => void;
}

/** One request, fully checked. Returns what is wrong, or undefined. */
export async function preflight(shape: Shape, target: TargetName, baseUrl: string, headers: Record<string, string>): Promise<string | undefined> {
  let status: number;
  let text: string;
  try {
    const res = await fetch(`${baseUrl}${shape.path}`, {
      method: 'POST',
      headers,
      body: shape.body(target),
      signal: AbortSignal.timeout(10_000),
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    return `request failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const problem = shape.validate(status, text);
  if (problem !== undefined) return problem;
  // The per-response check used under load must agree with the full one, or every request would count as failed.
  if (!shape.looksComplete(text)) return `bench bug: the cheap completeness check rejects a valid response: ${text.slice(-200)}`;
  return undefined;
}

interface Tally {
  spec: TargetSpec;
  load: Omit<LoadSpec, 'durationS'>;
  hist: RecordableHistogram;
  runs: LoadCounts[];
  proxyCpuUs: number;
  /** Proxy CPU per good response in each round (the interleaved slices), µs. */
  proxyCpuPerRound: number[];
  mockCpuUs: number;
  wallUs: number;
  cpuKnown: boolean;
  /** CPU time used by processes outside the bench during the measured runs; undefined if unknown. */
  otherCpuUs: number | undefined;
}

/** CPU time of this process and every process the bench started. */
function benchCpuMicros(pids: number[]): number | undefined {
  const self = process.cpuUsage();
  let total = self.user + self.system;
  for (const pid of pids) {
    const us = cpuMicros(pid);
    if (us === undefined) return undefined;
    total += us;
  }
  return total;
}

export async function measure(spec: MeasureSpec): Promise<Map<TargetName, TargetResult>> {
  const { shape } = spec;
  const tallies: Tally[] = spec.targets.map((t) => ({
    spec: t,
    load: { url: `${t.baseUrl}${shape.path}`, body: shape.body(t.target), headers: t.headers, connections: spec.connections, verify: shape.looksComplete },
    hist: latencyHistogram(),
    runs: [],
    proxyCpuUs: 0,
    proxyCpuPerRound: [],
    mockCpuUs: 0,
    wallUs: 0,
    cpuKnown: true,
    otherCpuUs: 0,
  }));

  for (const t of tallies) {
    await runLoad({ ...t.load, durationS: spec.warmupS }, latencyHistogram());
    spec.afterRun?.();
  }

  const slice = spec.durationS / spec.rounds;
  for (let round = 0; round < spec.rounds; round++) {
    for (let i = 0; i < tallies.length; i++) {
      const t = tallies[(i + round) % tallies.length] as Tally;
      const pid = t.spec.proxyPid;
      const proxyBefore = pid === undefined ? undefined : cpuMicros(pid);
      const mockBefore = cpuMicros(spec.mockPid);
      const systemBefore = systemBusyMicros();
      const benchBefore = benchCpuMicros(spec.benchPids);
      const started = performance.now();
      t.runs.push(await runLoad({ ...t.load, durationS: slice }, t.hist));
      t.wallUs += (performance.now() - started) * 1000;
      const proxyAfter = pid === undefined ? undefined : cpuMicros(pid);
      const mockAfter = cpuMicros(spec.mockPid);
      const systemAfter = systemBusyMicros();
      const benchAfter = benchCpuMicros(spec.benchPids);
      if (systemBefore === undefined || systemAfter === undefined || benchBefore === undefined || benchAfter === undefined) t.otherCpuUs = undefined;
      else if (t.otherCpuUs !== undefined) t.otherCpuUs += Math.max(0, systemAfter - systemBefore - (benchAfter - benchBefore));
      if (proxyBefore !== undefined && proxyAfter !== undefined) {
        t.proxyCpuUs += proxyAfter - proxyBefore;
        const ok = t.runs.at(-1)?.ok ?? 0;
        if (ok > 0) t.proxyCpuPerRound.push(Math.round((proxyAfter - proxyBefore) / ok));
      } else if (pid !== undefined) t.cpuKnown = false;
      if (mockBefore !== undefined && mockAfter !== undefined) t.mockCpuUs += mockAfter - mockBefore;
      else t.cpuKnown = false;
      spec.afterRun?.();
    }
  }

  const out = new Map<TargetName, TargetResult>();
  for (const t of tallies) {
    const result: TargetResult = combine(t.runs, t.hist);
    if (result.ok > 0 && t.cpuKnown) {
      if (t.spec.proxyPid !== undefined) {
        result.proxyCpuUsPerReq = Math.round(t.proxyCpuUs / result.ok);
        result.proxyCpuBusy = Math.round((t.proxyCpuUs / t.wallUs) * 1000) / 1000;
        if (t.proxyCpuPerRound.length === spec.rounds) result.proxyCpuUsPerReqByRound = t.proxyCpuPerRound;
      }
      result.mockCpuUsPerReq = Math.round(t.mockCpuUs / result.ok);
    }
    if (t.otherCpuUs !== undefined && t.wallUs > 0) result.otherCpu = Math.round((t.otherCpuUs / t.wallUs) * 100) / 100;
    out.set(t.spec.target, result);
  }
  return out;
}

export function describe(r: LoadResult): string {
  const f = failures(r);
  return (
    `${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms` +
    (f > 0 ? `  !! ${f} FAILED (non-2xx ${r.non2xx}, errors ${r.errors}, incomplete ${r.mismatches})` : '')
  );
}
