/**
 * `npm run bench`: Switchyard against the mock provider called directly and
 * against "the floor" (bench/floor-proxy.ts), shape by shape, in one run.
 * Methodology: docs/benchmarks.md. Stops by itself; children never outlive it.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCommit, log, machine, optionsOrExit, runBench, runScript } from './lib/harness.ts';
import { failures, latencyHistogram, runLoad } from './lib/load.ts';
import { describe, measure, preflight, type TargetSpec } from './lib/measure.ts';
import { evaluateGoals, ISSUE2_PASSTHROUGH } from './lib/goals.ts';
import { heapUsedBytes, RssSampler, rssBytes, toMiB } from './lib/memory.ts';
import { parseBenchArgs, plannedSeconds, RAMP_CALIBRATION_S, RAMP_GROWTH, RAMP_START_FRACTION, usage, type BenchOptions } from './lib/options.ts';
import { comfortableRate } from './lib/percentiles.ts';
import { measureAtRate, runRamps } from './lib/rate-phases.ts';
import type { ChildSet, Pinning } from './lib/processes.ts';
import { formatSummary, readProfile, summariseProfile } from './lib/profile.ts';
import { formatReport } from './lib/report.ts';
import { cpuByRound, ratio, type AddedLatency, type BenchResult, type Memory, type OpenLoopTarget, type Ramp, type RateLatency, type ShapeResult, type TargetResult } from './lib/result.ts';
import { targetNames, type Shape, type TargetName } from './lib/shapes.ts';
import { repoRoot, startBenchStack, type BenchStack } from './lib/stack.ts';
import { compareCounters, scrape, total as sumOf, type Sample } from './lib/prom-text.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function targetUrl(stack: BenchStack, target: TargetName): string {
  return target === 'direct' ? stack.mockUrl : target === 'floor' ? stack.floorUrl : stack.gatewayUrl;
}

function proxyPid(stack: BenchStack, target: TargetName): number | undefined {
  return target === 'direct' ? undefined : target === 'floor' ? stack.floor.pid : stack.gateway.pid;
}

function assertAlive(stack: BenchStack): void {
  for (const child of [stack.mock, stack.floor, stack.gateway]) {
    if (!child.alive()) throw new Error(`${child.name} died during the bench (${child.howEnded()}; log: ${child.logFile})`);
  }
}

/** The shape's headers, plus the gateway key for Switchyard (an Anthropic client sends x-api-key, an OpenAI one a bearer token). */
function headersFor(stack: BenchStack, shape: Shape, target: TargetName): Record<string, string> {
  if (target !== 'switchyard' || stack.gatewayKey === undefined) return shape.headers;
  const credential: Record<string, string> = shape.client === 'anthropic' ? { 'x-api-key': stack.gatewayKey } : { authorization: `Bearer ${stack.gatewayKey}` };
  return { ...shape.headers, ...credential };
}

function targetSpecs(stack: BenchStack, shape: Shape): TargetSpec[] {
  return targetNames.map((target) => ({ target, baseUrl: targetUrl(stack, target), proxyPid: proxyPid(stack, target), headers: headersFor(stack, shape, target) }));
}

async function measureShape(stack: BenchStack, shape: Shape, o: BenchOptions): Promise<{ result: ShapeResult; preflightFailures: number }> {
  log(`${shape.title} [${shape.id}]`);
  let preflightFailures = 0;
  for (const target of targetNames) {
    const problem = await preflight(shape, target, targetUrl(stack, target), headersFor(stack, shape, target));
    if (problem !== undefined) {
      preflightFailures++;
      log(`  !!! ${target}: a checked request failed: ${problem}`);
    }
  }
  const measured = await measure({
    shape,
    targets: targetSpecs(stack, shape),
    connections: o.connections,
    durationS: o.durationS,
    warmupS: o.warmupS,
    rounds: o.rounds,
    mockPid: stack.mock.pid,
    benchPids: [stack.mock.pid, stack.floor.pid, stack.gateway.pid],
    afterRun: () => assertAlive(stack),
  });
  const { direct, floor, switchyard } = Object.fromEntries(measured) as Record<TargetName, TargetResult>;
  for (const target of targetNames) log(`  ${target.padEnd(11)} ${describe(measured.get(target) as TargetResult)}`);
  const cpu =
    switchyard.proxyCpuUsPerReq !== undefined && floor.proxyCpuUsPerReq !== undefined
      ? { cpuSwitchyardOverFloor: ratio(switchyard.proxyCpuUsPerReq, floor.proxyCpuUsPerReq), ...cpuByRound(switchyard, floor) }
      : {};
  return {
    preflightFailures,
    result: {
      id: shape.id,
      title: shape.title,
      passthrough: shape.passthrough,
      targets: { direct, floor, switchyard },
      ratios: {
        switchyardOverFloor: ratio(switchyard.rps, floor.rps),
        switchyardOverDirect: ratio(switchyard.rps, direct.rps),
        floorOverDirect: ratio(floor.rps, direct.rps),
        ...cpu,
      },
    },
  };
}

async function measureAddedLatency(stack: BenchStack, shape: Shape, o: BenchOptions): Promise<AddedLatency> {
  log(`Added latency, concurrency 1: ${shape.title} [${shape.id}]`);
  const measured = await measure({
    shape,
    targets: targetSpecs(stack, shape),
    connections: 1,
    durationS: o.durationS,
    warmupS: o.warmupS,
    rounds: o.rounds,
    mockPid: stack.mock.pid,
    benchPids: [stack.mock.pid, stack.floor.pid, stack.gateway.pid],
    afterRun: () => assertAlive(stack),
  });
  let failed = 0;
  for (const target of targetNames) {
    const r = measured.get(target) as TargetResult;
    failed += failures(r);
    log(`  ${target.padEnd(11)} ${describe(r)}`);
  }
  const pick = (target: TargetName) => {
    const r = measured.get(target) as TargetResult;
    return { p50Ms: r.p50Ms, p99Ms: r.p99Ms };
  };
  const [direct, floor, switchyard] = [pick('direct'), pick('floor'), pick('switchyard')];
  const minus = (a: { p50Ms: number; p99Ms: number }) => ({
    p50Ms: Math.round((a.p50Ms - direct.p50Ms) * 1000) / 1000,
    p99Ms: Math.round((a.p99Ms - direct.p99Ms) * 1000) / 1000,
  });
  return { shape: shape.id, connections: 1, direct, floor, switchyard, floorMinusDirect: minus(floor), switchyardMinusDirect: minus(switchyard), failures: failed };
}

const usStr = (n: number): string => String(Math.round(n)).padStart(6);
const signedUs = (n: number): string => `${n >= 0 ? '+' : ''}${Math.round(n)}`;

function describeOpenLoop(t: OpenLoopTarget): string {
  const failed = t.non2xx + t.errors + t.mismatches;
  return (
    `${t.achievedRps.toFixed(0).padStart(7)} req/s  p50 ${usStr(t.p50Us)}  p90 ${usStr(t.p90Us)}  p99 ${usStr(t.p99Us)}  p99.9 ${usStr(t.p999Us)} µs` +
    `  late ${t.late}, unsent ${t.unsent}` +
    (failed > 0 ? `  !! ${failed} FAILED (non-2xx ${t.non2xx}, errors ${t.errors}, incomplete ${t.mismatches})` : '')
  );
}

/** Open loop at a constant rate through the three targets, right after the shape's closed-loop runs (so the rate can derive from them). */
async function measureShapeAtRate(stack: BenchStack, shape: Shape, closed: ShapeResult, o: BenchOptions): Promise<RateLatency | undefined> {
  const rateFrom = o.ratePerS === undefined ? 'auto' : 'flag';
  const rate = o.ratePerS ?? comfortableRate(Object.values(closed.targets).map((t) => t.rps), o.rateFraction);
  if (rate <= 0) {
    log(`  !!! no constant-rate run for ${shape.id}: a closed-loop throughput was 0`);
    return undefined;
  }
  log(`  open loop at ${rate} req/s (${rateFrom === 'auto' ? `${o.rateFraction} × the lowest closed-loop req/s` : '--rate'}), latency in µs (see the report for how it is counted):`);
  const r = await measureAtRate({
    shape,
    targets: targetSpecs(stack, shape),
    ratePerS: rate,
    rateFrom,
    durationS: o.rateDurationS,
    rounds: o.rounds,
    warmupS: o.rateWarmupS,
    maxInFlight: o.maxInFlight,
    afterRun: () => assertAlive(stack),
  });
  for (const target of targetNames) log(`  ${target.padEnd(11)} ${describeOpenLoop(r.targets[target])}`);
  const d = r.switchyardMinusDirect;
  log(`  → switchyard − direct: p50 ${signedUs(d.p50Us)}, p90 ${signedUs(d.p90Us)}, p99 ${signedUs(d.p99Us)}, p99.9 ${signedUs(d.p999Us)} µs`);
  return r;
}

async function rampFloorAndSwitchyard(stack: BenchStack, o: BenchOptions, shapes: readonly ShapeResult[], ramp: NonNullable<BenchOptions['ramp']>): Promise<Ramp | undefined> {
  const { shape } = ramp;
  let floorRps = shapes.find((s) => s.id === shape.id)?.targets.floor.rps;
  if (floorRps === undefined) {
    const load = { url: `${stack.floorUrl}${shape.path}`, body: shape.body('floor'), headers: headersFor(stack, shape, 'floor') };
    const counts = await runLoad({ ...load, connections: o.connections, durationS: RAMP_CALIBRATION_S, verify: shape.looksComplete }, latencyHistogram());
    floorRps = counts.ok / counts.durationS;
  }
  const startRate = Math.round(floorRps * RAMP_START_FRACTION);
  if (startRate < 1) {
    log(`!!! no ramp: the floor's closed-loop throughput for ${shape.id} was 0`);
    return undefined;
  }
  log(
    `Ramp: ${shape.title} [${shape.id}], floor and Switchyard, open loop from ${startRate} req/s (${RAMP_START_FRACTION} × the floor's closed-loop req/s) ×${RAMP_GROWTH} per step, ` +
      `${ramp.stepS} s steps, until p99 > ${ramp.p99ThresholdMs} ms, failures or > 1% held back by the in-flight bound (at most ${ramp.maxSteps} steps each)`,
  );
  const specs = targetSpecs(stack, shape).filter((t) => t.target !== 'direct');
  const result = await runRamps({
    shape,
    targets: specs,
    plan: { startRate, growth: RAMP_GROWTH, maxSteps: ramp.maxSteps, resolution: 0.06, minRate: 10 },
    stepS: ramp.stepS,
    p99ThresholdMs: ramp.p99ThresholdMs,
    maxInFlight: o.maxInFlight,
    afterRun: () => assertAlive(stack),
  });
  log('');
  return result;
}

/**
 * Load through every shape and target before anything is measured: the
 * gateway runs far more code than the floor, and its JIT needs several
 * seconds of traffic to settle (per-target warm-ups alone would leave the
 * first shapes measured on a half-warm gateway).
 */
async function warmUpStack(stack: BenchStack, o: BenchOptions): Promise<void> {
  const all = [...new Set([...o.shapes, ...(o.latencyShape === undefined ? [] : [o.latencyShape]), ...(o.ramp === undefined ? [] : [o.ramp.shape])])];
  const slice = Math.max(0.3, o.initialWarmupS / (all.length * targetNames.length));
  log(`warming up: ${all.length} shape(s) × 3 targets, ${slice.toFixed(2)} s each`);
  for (const shape of all) {
    for (const target of targetNames) {
      const load = { url: `${targetUrl(stack, target)}${shape.path}`, body: shape.body(target), headers: headersFor(stack, shape, target) };
      await runLoad({ ...load, connections: o.connections, durationS: slice, verify: shape.looksComplete }, latencyHistogram());
      assertAlive(stack);
    }
  }
  log('');
}

/** Stops the RSS sampler, waits idle, and reads RSS and (from /metrics) the gateway's heap. */
async function idleMemory(stack: BenchStack, o: BenchOptions, sampler: RssSampler, warm: readonly Sample[] | undefined, loaded: readonly Sample[] | undefined): Promise<Memory> {
  sampler.stop();
  log(`memory: waiting ${o.idleS} s idle`);
  await sleep(o.idleS * 1000);
  const idle = o.gatewayMetrics ? await scrape(`${stack.gatewayUrl}/metrics`) : undefined;
  const heap = { warm: heapUsedBytes(warm ?? []), loaded: heapUsedBytes(loaded ?? []), idle: heapUsedBytes(idle?.samples ?? []) };
  const heapSource = !o.gatewayMetrics
    ? 'none: the gateway ran with --gateway-metrics off'
    : heap.idle === undefined
      ? "none: the gateway's /metrics has no nodejs_heap_size_used_bytes"
      : "the gateway's /metrics (nodejs_heap_size_used_bytes); the floor has no metrics, RSS only";
  const floor = sampler.figures('floor');
  const switchyard = sampler.figures('switchyard');
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    sampleIntervalMs: sampler.intervalMs,
    idleS: o.idleS,
    heapSource,
    floor: defined({ startRssMiB: floor.startMiB, peakRssMiB: floor.peakMiB, idleRssMiB: toMiB(rssBytes(stack.floor.pid)) }),
    switchyard: defined({
      startRssMiB: switchyard.startMiB,
      peakRssMiB: switchyard.peakMiB,
      idleRssMiB: toMiB(rssBytes(stack.gateway.pid)),
      heapUsedAfterWarmupMiB: toMiB(heap.warm),
      heapUsedAfterLoadMiB: toMiB(heap.loaded),
      heapUsedIdleMiB: toMiB(heap.idle),
    }),
  };
}

async function bench(o: BenchOptions, children: ChildSet, pinning: Pinning, tmpDir: string): Promise<number> {
  const startedAt = new Date();
  const host = machine();
  if (host.loadAverageAtStart > 0.5) {
    log(`! load average ${host.loadAverageAtStart} at start: other processes are using the CPUs, expect noisy numbers`);
  }
  const profileDir = o.profile ? join(tmpDir, 'profile') : undefined;
  const stack = await startBenchStack(children, {
    tmpDir,
    pinning,
    outputTokens: o.outputTokens,
    gatewayLogLevel: o.gatewayLogLevel,
    gatewayMetrics: o.gatewayMetrics,
    gatewayLedger: o.gatewayLedger,
    gatewayDashboard: o.gatewayDashboard,
    pipeline: o.pipeline,
    profileDir,
  });
  log(`mock ${stack.mockUrl} (pid ${stack.mock.pid}), floor ${stack.floorUrl} (pid ${stack.floor.pid}), switchyard ${stack.gatewayUrl} (pid ${stack.gateway.pid})`);
  log('');

  const sampler = o.memory ? new RssSampler({ floor: stack.floor.pid, switchyard: stack.gateway.pid }) : undefined;
  sampler?.start();
  await warmUpStack(stack, o);
  // Issue 5, done when: /metrics scraped before and after the load shows consistent counters.
  const metricsBefore = o.gatewayMetrics ? await scrape(`${stack.gatewayUrl}/metrics`) : undefined;

  const shapeResults: ShapeResult[] = [];
  const rateLatency: RateLatency[] = [];
  let total = 0;
  for (const shape of o.shapes) {
    const { result, preflightFailures } = await measureShape(stack, shape, o);
    shapeResults.push(result);
    total += preflightFailures;
    for (const t of Object.values(result.targets)) total += t.non2xx + t.errors + t.mismatches;
    if (o.rateShapes.includes(shape)) {
      const atRate = await measureShapeAtRate(stack, shape, result, o);
      if (atRate !== undefined) {
        rateLatency.push(atRate);
        for (const t of Object.values(atRate.targets)) total += t.non2xx + t.errors + t.mismatches;
      }
    }
  }
  const addedLatency = o.latencyShape === undefined ? undefined : await measureAddedLatency(stack, o.latencyShape, o);
  total += addedLatency?.failures ?? 0;
  if (addedLatency !== undefined) log('');
  // Failures in the ramp are one of its stopping signals (overload), not a broken run: reported, not counted.
  const ramp = o.ramp === undefined ? undefined : await rampFloorAndSwitchyard(stack, o, shapeResults, o.ramp);

  let metricsCheck: BenchResult['metricsCheck'];
  const metricsAfter = metricsBefore === undefined ? undefined : await scrape(`${stack.gatewayUrl}/metrics`);
  if (metricsBefore !== undefined && metricsAfter !== undefined) {
    const after = metricsAfter;
    const { series, decreased } = compareCounters(metricsBefore, after);
    const requestsCounted = sumOf(after.samples, 'switchyard_requests_total') - sumOf(metricsBefore.samples, 'switchyard_requests_total');
    metricsCheck = { series, decreased, requestsCounted };
    log(
      decreased.length === 0 && requestsCounted > 0
        ? `metrics: ${series} counter series scraped before and after the load, none went down; ${requestsCounted} requests counted meanwhile`
        : `!!! metrics inconsistent under load: ${decreased.length} series went down (${decreased.slice(0, 3).join('; ')}), ${requestsCounted} requests counted`,
    );
    if (decreased.length > 0 || requestsCounted <= 0) total += 1;
  }
  const memory = sampler === undefined ? undefined : await idleMemory(stack, o, sampler, metricsBefore?.samples, metricsAfter?.samples);

  const passthrough = shapeResults.filter((s) => s.passthrough).map((s) => s.ratios.switchyardOverFloor);
  const minRatio = passthrough.length === 0 ? null : Math.min(...passthrough);
  const commit = gitCommit();
  const result: BenchResult = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: host,
    pinning,
    options: {
      quick: o.quick,
      durationS: o.durationS,
      warmupS: o.warmupS,
      initialWarmupS: o.initialWarmupS,
      rounds: o.rounds,
      connections: o.connections,
      outputTokens: o.outputTokens,
      gatewayLogLevel: o.gatewayLogLevel,
      gatewayMetrics: o.gatewayMetrics,
      gatewayLedger: o.gatewayLedger,
      gatewayDashboard: o.gatewayDashboard,
      pipeline: o.pipeline,
      profiled: o.profile,
      ...(commit === undefined ? {} : { gitCommit: commit }),
      ...(o.ratePerS === undefined ? {} : { ratePerS: o.ratePerS }),
      rateFraction: o.rateFraction,
      rateDurationS: o.rateDurationS,
      maxInFlight: o.maxInFlight,
    },
    shapes: shapeResults,
    ...(addedLatency === undefined ? {} : { addedLatency }),
    ...(rateLatency.length === 0 ? {} : { rateLatency }),
    ...(ramp === undefined ? {} : { ramp }),
    ...(memory === undefined ? {} : { memory }),
    goal: { threshold: ISSUE2_PASSTHROUGH, minPassthroughRatio: minRatio, met: minRatio !== null && minRatio >= ISSUE2_PASSTHROUGH && total === 0 },
    failures: total,
    ...(metricsCheck === undefined ? {} : { metricsCheck }),
  };
  result.goals = evaluateGoals(result);

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const out = o.out ?? join(resultsDir, `${stamp}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log('');
  log(formatReport(result));
  log('');
  log(`results: ${out}`);

  if (profileDir !== undefined) {
    // A profile is written when its process exits: stop both gracefully first.
    await Promise.all([children.stop('gateway', 15_000), children.stop('floor proxy', 15_000)]);
    for (const [name, top] of [['gateway', 30], ['floor', 12]] as const) {
      const dir = join(profileDir, name);
      const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (file === undefined) {
        log(`!!! the ${name} wrote no .cpuprofile`);
        continue;
      }
      const kept = join(resultsDir, `${name}-${stamp}.cpuprofile`);
      copyFileSync(join(dir, file), kept);
      log('');
      log(`${name === 'gateway' ? 'Switchyard' : 'Floor proxy'} CPU profile (${kept}):`);
      log(formatSummary(summariseProfile(readProfile(kept)), top));
    }
  }
  return total === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const parsed = optionsOrExit(() => parseBenchArgs(argv), usage);
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.options;

  const planned = plannedSeconds(o);
  return runBench('bench', { budgetS: Math.ceil(planned * 1.5 + 60), pin: o.pin }, async ({ children, tmpDir, pinning }) => {
    const parts = [
      `${o.shapes.length} shapes × 3 targets${o.latencyShape === undefined ? '' : ' + 3 latency runs'}, ${o.warmupS} s warm-up + ${o.durationS} s each`,
      ...(o.rateShapes.length === 0 ? [] : [`${o.rateShapes.length} shape(s) × 3 targets at a constant rate, ${o.rateDurationS} s each`]),
      ...(o.ramp === undefined ? [] : [`a ramp of at most ${o.ramp.maxSteps} × ${o.ramp.stepS} s steps on floor and Switchyard`]),
      ...(o.memory ? [`${o.idleS} s idle for memory`] : []),
    ];
    log(`planned: about ${Math.round(planned)} s (${parts.join('; ')})`);
    return bench(o, children, pinning, tmpDir);
  });
}

runScript('bench failed', () => main(process.argv.slice(2)));
