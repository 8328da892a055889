/** The human-readable bench report: one table, the latency line, the goal line. */
import { formatGoal } from './goals.ts';
import type { BenchResult, Memory, OpenLoopTarget, PercentilesUsJson, Ramp, RateLatency, TargetResult } from './result.ts';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function num(n: number | undefined, digits: number): string {
  return n === undefined ? '-' : n.toFixed(digits);
}

function failuresOf(t: TargetResult): number {
  return t.non2xx + t.errors + t.mismatches;
}

function row(name: string, t: TargetResult): string {
  return (
    pad(`  ${name}`, 16) +
    lpad(num(t.rps, 0), 10) +
    lpad(num(t.p50Ms, 3), 10) +
    lpad(num(t.p99Ms, 3), 10) +
    lpad(num(t.proxyCpuUsPerReq, 0), 12) +
    lpad(t.proxyCpuBusy === undefined ? '-' : `${Math.round(t.proxyCpuBusy * 100)}%`, 10) +
    lpad(t.otherCpu === undefined ? '-' : t.otherCpu.toFixed(2), 11) +
    lpad(String(failuresOf(t)), 10)
  );
}

const x = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(2)}×`);
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(3)}`;

export function formatReport(r: BenchResult): string {
  const lines: string[] = [];
  const o = r.options;
  lines.push(
    `Switchyard bench: ${r.machine.cpus} CPU (${r.machine.cpuModel}), node ${r.machine.node}, ${r.machine.os}, ` +
      `load average ${r.machine.loadAverageAtStart} at start`,
    `closed loop, ${o.connections} connections, ${o.durationS} s per target in ${o.rounds} interleaved round(s) after ${o.initialWarmupS} s warm-up of everything and ${o.warmupS} s per target, ` +
      `mock replies ${o.outputTokens} tokens, gateway log level ${o.gatewayLogLevel}, metrics ${o.gatewayMetrics === false ? 'off' : 'on'}, pipeline ${o.pipeline ?? 'open'}${o.gatewayLedger === false ? ', ledger OFF' : ''}${o.gatewayDashboard === false ? ', dashboard OFF' : ''}${o.profiled ? ', GATEWAY PROFILED (numbers not comparable)' : ''}`,
    '',
    pad('shape / target', 16) +
      lpad('req/s', 10) +
      lpad('p50 ms', 10) +
      lpad('p99 ms', 10) +
      lpad('CPU µs/req', 12) +
      lpad('CPU busy', 10) +
      lpad('other CPU', 11) +
      lpad('failures', 10),
  );
  for (const s of r.shapes) {
    lines.push(`${s.title} [${s.id}]`);
    lines.push(row('direct', s.targets.direct), row('floor', s.targets.floor), row('switchyard', s.targets.switchyard));
    const byRound = s.ratios.cpuSwitchyardOverFloorByRound;
    const rounds = byRound === undefined || byRound.length < 2 ? '' : ` (by round ${byRound.map(x).join(', ')})`;
    const cpu = s.ratios.cpuSwitchyardOverFloor === undefined ? '' : `; CPU/req switchyard ÷ floor ${x(s.ratios.cpuSwitchyardOverFloor)}${rounds}`;
    lines.push(
      `  → throughput switchyard ÷ floor ${x(s.ratios.switchyardOverFloor)}, switchyard ÷ direct ${x(s.ratios.switchyardOverDirect)}, ` +
        `floor ÷ direct ${x(s.ratios.floorOverDirect)}${cpu}`,
    );
    const floorBusy = s.targets.floor.proxyCpuBusy;
    if (floorBusy !== undefined && floorBusy < 0.8) {
      lines.push(
        `  ! the floor used only ${Math.round(floorBusy * 100)}% of a CPU: something else limited it (the load generator and mock, ` +
          'or other processes), so the throughput ratio flatters Switchyard; CPU µs/req is the fairer comparison',
      );
    }
    const other = Math.max(...Object.values(s.targets).map((t) => t.otherCpu ?? 0));
    if (other > 0.25) {
      lines.push(`  ! other processes used up to ${other.toFixed(2)} CPU during these runs: the numbers are noisy`);
    }
  }
  lines.push(
    '',
    'CPU µs/req: CPU time of the proxy process (floor or gateway) per request; CPU busy: that time ÷ wall time (100% = one core);',
    'other CPU: CPUs used by processes outside the bench meanwhile (0 on a quiet machine); failures: non-2xx + errors + incomplete bodies.',
  );
  const a = r.addedLatency;
  if (a !== undefined) {
    lines.push(
      '',
      `Added latency at concurrency 1 (${a.shape}):`,
      `  direct      p50 ${a.direct.p50Ms.toFixed(3)} ms   p99 ${a.direct.p99Ms.toFixed(3)} ms`,
      `  floor       p50 ${a.floor.p50Ms.toFixed(3)} ms   p99 ${a.floor.p99Ms.toFixed(3)} ms   ` +
        `(floor − direct: p50 ${signed(a.floorMinusDirect.p50Ms)} ms, p99 ${signed(a.floorMinusDirect.p99Ms)} ms)`,
      `  switchyard  p50 ${a.switchyard.p50Ms.toFixed(3)} ms   p99 ${a.switchyard.p99Ms.toFixed(3)} ms   ` +
        `(switchyard − direct: p50 ${signed(a.switchyardMinusDirect.p50Ms)} ms, p99 ${signed(a.switchyardMinusDirect.p99Ms)} ms)`,
    );
    if (a.failures > 0) lines.push(`  ! ${a.failures} failed requests in the latency runs`);
  }
  if (r.rateLatency !== undefined) lines.push('', ...formatRateLatency(r.rateLatency));
  if (r.ramp !== undefined) lines.push('', ...formatRamp(r.ramp));
  if (r.memory !== undefined) lines.push('', ...formatMemory(r.memory));
  lines.push('');
  const cpuRatios = r.shapes.filter((s) => s.passthrough).filter((s) => s.ratios.cpuSwitchyardOverFloor !== undefined);
  if (cpuRatios.length > 0) {
    const worst = Math.max(...cpuRatios.map((s) => s.ratios.cpuSwitchyardOverFloor as number));
    lines.push(
      `CPU view: Switchyard spends up to ${x(worst)} the floor's CPU per passthrough request ` +
        `(${cpuRatios.map((s) => `${s.id} ${x(s.ratios.cpuSwitchyardOverFloor)}`).join(', ')}); ` +
        `when the proxy's CPU is the bottleneck its throughput tends to about 1 ÷ that (${x(1 / worst)}).`,
    );
  }
  if (r.goals !== undefined) {
    lines.push('Goals (they do not change the exit status; only failed requests do):', ...r.goals.map(formatGoal));
  } else {
    const g = r.goal;
    const passthrough = r.shapes.filter((s) => s.passthrough);
    if (g.minPassthroughRatio === null) {
      lines.push('Goal (passthrough throughput ≥ 0.7× the floor): not measured (no passthrough shape in this run)');
    } else {
      const each = passthrough.map((s) => `${s.id} ${x(s.ratios.switchyardOverFloor)}`).join(', ');
      lines.push(
        `Goal: passthrough throughput ≥ ${g.threshold}× the floor: ${g.met ? 'MET' : 'NOT MET'}` +
          `${!g.met && g.minPassthroughRatio >= g.threshold ? ' (the ratio is reached, but requests failed)' : ''} ` +
          `(lowest ${x(g.minPassthroughRatio)}; ${each})`,
      );
    }
  }
  if (r.failures > 0) {
    lines.push(
      '',
      `!!!!!!!! ${r.failures} REQUESTS FAILED (non-2xx, connection errors, timeouts or incomplete bodies). ` +
        'These numbers are NOT valid: see the failures column. !!!!!!!!',
    );
  }
  return lines.join('\n');
}

const us = (n: number): string => lpad(String(Math.round(n)), 8);
const signedUs = (n: number): string => `${n >= 0 ? '+' : ''}${Math.round(n)}`;
const deltas = (d: PercentilesUsJson): string => `p50 ${signedUs(d.p50Us)}, p90 ${signedUs(d.p90Us)}, p99 ${signedUs(d.p99Us)}, p99.9 ${signedUs(d.p999Us)}`;

function openLoopRow(name: string, t: OpenLoopTarget): string {
  return (
    pad(`  ${name}`, 16) +
    lpad(t.achievedRps.toFixed(0), 8) +
    us(t.p50Us) +
    us(t.p90Us) +
    us(t.p99Us) +
    us(t.p999Us) +
    lpad(String(Math.round(t.fromScheduleP99Us)), 11) +
    lpad(String(t.late), 7) +
    lpad(String(t.unsent), 8) +
    lpad(t.proxyCpuBusy === undefined ? '-' : `${Math.round(t.proxyCpuBusy * 100)}%`, 10) +
    lpad(String(t.non2xx + t.errors + t.mismatches), 10)
  );
}

export function formatRateLatency(list: readonly RateLatency[]): string[] {
  const first = list[0];
  if (first === undefined) return [];
  const lines = [
    `Constant-rate latency (open loop, at most ${first.maxInFlight} in flight), µs:`,
    pad('shape / target', 16) +
      lpad('req/s', 8) +
      lpad('p50', 8) +
      lpad('p90', 8) +
      lpad('p99', 8) +
      lpad('p99.9', 8) +
      lpad('sched p99', 11) +
      lpad('late', 7) +
      lpad('unsent', 8) +
      lpad('CPU busy', 10) +
      lpad('failures', 10),
  ];
  for (const r of list) {
    lines.push(`${r.shape} at ${r.ratePerS} req/s (${r.rateFrom === 'flag' ? '--rate' : 'auto'}, ${r.durationS} s per target)`);
    lines.push(openLoopRow('direct', r.targets.direct), openLoopRow('floor', r.targets.floor), openLoopRow('switchyard', r.targets.switchyard));
    lines.push(`  → switchyard − direct: ${deltas(r.switchyardMinusDirect)}; floor − direct: ${deltas(r.floorMinusDirect)}`);
    const behind = Object.entries(r.targets).filter(([, t]) => t.waitedForSlot + t.unsent > t.scheduled * 0.01);
    if (behind.length > 0) {
      lines.push(
        `  ! more than 1% of requests waited for an in-flight slot or were never sent (${behind.map(([n]) => n).join(', ')}): ` +
          'the rate was not sustained, these latencies include that queueing',
      );
    }
    const lag = Math.max(...Object.values(r.targets).map((t) => t.sendLagP99Us));
    if (lag > 1000) lines.push(`  ! the load generator itself sent 1% of requests ${Math.round(lag)} µs or more after their time (its CPU was short): all latencies here are inflated`);
  }
  lines.push(
    'p50…p99.9: from the send, or from the scheduled time for a request held back by the in-flight bound (coordinated omission);',
    "sched p99: from the scheduled time for every request (adds the sender's own 0–1 ms timer lag); late: sent > 2 ms after its time;",
    'unsent: never sent (every in-flight slot taken until the run ended).',
  );
  return lines;
}

function rampSteps(t: Ramp['floor']): string {
  return t.steps.map((s) => `${s.rate}${s.sustained ? '✓' : '✗'}`).join(' ');
}

export function formatRamp(r: Ramp): string[] {
  const line = (name: string, t: Ramp['floor']): string => {
    const best = t.steps.find((s) => s.rate === t.maxSustainedRate);
    const cpu = best?.proxyCpuBusy === undefined ? '' : `, CPU ${Math.round(best.proxyCpuBusy * 100)}% there`;
    const stop = t.steps.find((s) => s.rate === t.lowestFailedRate)?.reason;
    const verdict =
      t.maxSustainedRate === null
        ? 'no rate sustained'
        : `max sustained ${t.maxSustainedRate} req/s (p99 ${((best?.p99Us ?? 0) / 1000).toFixed(2)} ms${cpu})` +
          (t.lowestFailedRate === null ? ', never failed: the ramp ran out of steps' : `; ${t.lowestFailedRate} failed: ${stop ?? ''}`);
    return `  ${pad(name, 11)} ${verdict}\n              steps (req/s): ${rampSteps(t)}`;
  };
  const lines = [
    `Ramp (${r.shape}, open loop, ${r.stepS} s steps; sustained = p99 ≤ ${r.p99ThresholdMs} ms, no failures, ≤ 1% held back by the in-flight bound):`,
    line('floor', r.floor),
    line('switchyard', r.switchyard),
    `  → highest sustained rate switchyard ÷ floor ${x(r.switchyardOverFloor ?? undefined)}`,
  ];
  const floorBest = r.floor.steps.find((s) => s.rate === r.floor.maxSustainedRate);
  if (floorBest?.proxyCpuBusy !== undefined && floorBest.proxyCpuBusy < 0.8 && r.floor.lowestFailedRate !== null) {
    lines.push(`  ! the floor stopped while using ${Math.round(floorBest.proxyCpuBusy * 100)}% of its CPU: the load generator and mock (CPU 0) were likely the limit, so the ratio flatters Switchyard`);
  }
  const lagging = [...r.floor.steps, ...r.switchyard.steps].filter((s) => (s.sendLagP99Us ?? 0) > 1000).length;
  if (lagging > 0) lines.push(`  ! in ${lagging} step(s) the load generator itself sent 1% of requests over 1 ms late (its CPU was short): the ramp is unreliable`);
  return lines;
}

const mib = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(1)} MiB`);

export function formatMemory(m: Memory): string[] {
  const rss = (p: Memory['floor']): string => `RSS at start ${mib(p.startRssMiB)}, peak under load ${mib(p.peakRssMiB)}, after ${m.idleS} s idle ${mib(p.idleRssMiB)}`;
  const s = m.switchyard;
  const heap =
    s.heapUsedIdleMiB === undefined
      ? `  heap: ${m.heapSource}`
      : `  switchyard heap used: after warm-up ${mib(s.heapUsedAfterWarmupMiB)}, right after the load ${mib(s.heapUsedAfterLoadMiB)}, idle ${mib(s.heapUsedIdleMiB)}`;
  const source = s.heapUsedIdleMiB === undefined ? '' : "; heap from the gateway's /metrics";
  return [`Memory (VmRSS from /proc every ${m.sampleIntervalMs} ms${source}):`, `  floor       ${rss(m.floor)}`, `  switchyard  ${rss(s)}`, heap];
}
