/** The human-readable bench report: one table, the latency line, the goal line. */
import type { BenchResult, TargetResult } from './result.ts';

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
      `mock replies ${o.outputTokens} tokens, gateway log level ${o.gatewayLogLevel}, metrics ${o.gatewayMetrics === false ? 'off' : 'on'}, pipeline ${o.pipeline ?? 'open'}${o.profiled ? ', GATEWAY PROFILED (numbers not comparable)' : ''}`,
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
    const cpu = s.ratios.cpuSwitchyardOverFloor === undefined ? '' : `; CPU/req switchyard ÷ floor ${x(s.ratios.cpuSwitchyardOverFloor)}`;
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
  if (r.failures > 0) {
    lines.push(
      '',
      `!!!!!!!! ${r.failures} REQUESTS FAILED (non-2xx, connection errors, timeouts or incomplete bodies). ` +
        'These numbers are NOT valid: see the failures column. !!!!!!!!',
    );
  }
  return lines.join('\n');
}
