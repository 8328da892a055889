/**
 * Worker scaling (issue 6): closed-loop throughput of one passthrough shape
 * through Switchyard with 1 worker and with N workers (`start --workers N`),
 * with the floor proxy for reference, in one run, and the ratio N ÷ 1.
 *
 *   npm run bench:workers [-- --workers 2] [--shape openai-json] [--duration S] [--rounds N]
 *                          [--warmup S] [--connections N] [--pin]
 *
 * Nothing is pinned by default: the N-worker gateway needs N cores to scale,
 * and on a 2-core machine the load generator and the mock provider compete
 * with it for the same two, so the ratio measured there is a floor, not the
 * gateway's scaling (the goal, ≥ 1.7× for 2 workers, assumes the load comes
 * from elsewhere). `--pin` puts the bench and the mock on CPU 0 and every
 * gateway process on CPU 1: then N workers share one core, and the ratio
 * shows what the cluster itself costs (it cannot be above 1). See
 * docs/benchmarks.md, "Workers".
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { flagsOrExit, log, runScript } from './lib/harness.ts';
import { cpuMicros } from './lib/cpu.ts';
import { combine, failures, latencyHistogram, runLoad, type LoadCounts, type LoadResult } from './lib/load.ts';
import { preflight } from './lib/measure.ts';
import { ChildSet, freePort, logTail, planPinning, waitReady, type Child, type Pinning } from './lib/processes.ts';
import { findShape, shapes, type Shape } from './lib/shapes.ts';
import { repoRoot, startBenchStack } from './lib/stack.ts';

const usage = `Usage: npm run bench:workers -- [options]     (or: node bench/workers.ts [options])

  --workers N       workers of the second gateway (default 2)
  --shape ID        the passthrough shape (default openai-json): ${shapes.map((s) => s.id).join(', ')}
  --duration S      measured seconds per target and round (default 6)
  --rounds N        interleaved rounds (default 3)
  --warmup S        warm-up seconds per target (default 4)
  --connections N   closed-loop connections (default 32)
  --tokens N        words per mock reply (default 24)
  --pin             put the bench and the mock on CPU 0 and every gateway process on CPU 1
  --out FILE        write the JSON result here instead of bench/results/workers-<timestamp>.json
  -h, --help
`;

function positive(name: string, text: string, integer = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)) || n > 600) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'} (at most 600), got '${text}'`);
  return n;
}

const { values, workers, durationS, rounds, warmupS, connections, outputTokens, shape } = flagsOrExit(usage, () => {
  const { values } = parseArgs({
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      workers: { type: 'string', default: '2' },
    shape: { type: 'string', default: 'openai-json' },
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '4' },
    connections: { type: 'string', default: '32' },
    tokens: { type: 'string', default: '24' },
    pin: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const shape = findShape(values.shape);
  if (shape === undefined) throw new Error(`unknown --shape '${values.shape}': one of ${shapes.map((s) => s.id).join(', ')}`);
  return {
    help: values.help,
    values,
    workers: positive('workers', values.workers, true),
    durationS: positive('duration', values.duration),
    rounds: positive('rounds', values.rounds, true),
    warmupS: positive('warmup', values.warmup),
    connections: positive('connections', values.connections, true),
    outputTokens: positive('tokens', values.tokens, true),
    shape,
  };
});

interface Target {
  readonly name: string;
  readonly url: string;
  /** The process measured, and with it its children (a cluster's workers). */
  readonly pid: number;
  readonly headers: Record<string, string>;
  /** The body as the bench's targets know it: the floor gets the upstream model name. */
  readonly bodyFor: 'floor' | 'switchyard';
}

interface Row {
  name: string;
  result: LoadResult;
  failures: number;
  cpuMicrosPerRequest: number | null;
  /** CPU time of the target ÷ wall time: cores it kept busy. */
  coresBusy: number | null;
}


/** CPU microseconds of `pid` and every process it started (a cluster primary's workers). */
function treeCpuMicros(pid: number): number | undefined {
  const own = cpuMicros(pid);
  if (own === undefined) return undefined;
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no /proc children list: the primary's own time only
  }
  return children.reduce((sum, child) => sum + (treeCpuMicros(child) ?? 0), own);
}

/** Bounded wait for a line in a child's log (the cluster primary says when every worker listens). */
async function waitForLog(child: Child, needle: string, timeoutMs = 60_000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (!child.alive()) throw new Error(`${child.name} exited during start-up (${child.howEnded()}):\n${logTail(child.logFile)}`);
    if (readFileSync(child.logFile, 'utf8').includes(needle)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${child.name} did not log '${needle}' within ${timeoutMs} ms:\n${logTail(child.logFile)}`);
}

async function run(target: Target, s: Shape, seconds: number, hist = latencyHistogram()): Promise<{ counts: LoadCounts; cpu: number | undefined; wallS: number }> {
  const cpuBefore = treeCpuMicros(target.pid);
  const started = performance.now();
  const counts = await runLoad(
    { url: `${target.url}${s.path}`, body: s.body(target.bodyFor), headers: target.headers, connections, durationS: seconds, verify: (body) => s.looksComplete(body) },
    hist,
  );
  const wallS = (performance.now() - started) / 1000;
  const cpuAfter = treeCpuMicros(target.pid);
  return { counts, cpu: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore, wallS };
}

async function measure(targets: Target[], s: Shape): Promise<Row[]> {
  for (const target of targets) {
    const problem = await preflight(s, target.bodyFor, target.url, target.headers);
    if (problem !== undefined) throw new Error(`preflight of ${target.name} failed: ${problem}`);
  }
  // Every worker compiles its own code: N workers share the warm-up traffic, so each target gets the same time.
  for (const target of targets) await run(target, s, warmupS);
  const per = new Map(targets.map((t) => [t.name, { runs: [] as LoadCounts[], hist: latencyHistogram(), cpu: 0, cpuKnown: true, wallS: 0 }]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round, so outside load hits every target alike.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const target of order) {
      const acc = per.get(target.name)!;
      const { counts, cpu, wallS } = await run(target, s, durationS / rounds, acc.hist);
      acc.runs.push(counts);
      acc.wallS += wallS;
      if (cpu === undefined) acc.cpuKnown = false;
      else acc.cpu += cpu;
    }
  }
  return targets.map((target) => {
    const acc = per.get(target.name)!;
    const result = combine(acc.runs, acc.hist);
    return {
      name: target.name,
      result,
      failures: failures(result),
      cpuMicrosPerRequest: acc.cpuKnown && result.ok > 0 ? Math.round(acc.cpu / result.ok) : null,
      coresBusy: acc.cpuKnown ? Math.round((acc.cpu / 1e6 / acc.wallS) * 100) / 100 : null,
    };
  });
}

async function main(): Promise<number> {
  const children = new ChildSet();
  const tmpDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-workers-'));
  process.on('exit', () => children.killNow());
  const interrupt = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the bench and its child processes\n`);
    setTimeout(() => process.exit(130), 3_000).unref();
    void children.stopAll(2_000).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const plannedS = 3 * (warmupS + durationS) + 30;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\n!!! the bench ran past its budget (${Math.ceil(plannedS * 1.5 + 60)} s): stopping everything\n`);
    children.killNow();
    process.exit(1);
  }, (plannedS * 1.5 + 60) * 1000);
  watchdog.unref();

  const pinning: Pinning = values.pin ? planPinning(true) : { enabled: false, reason: 'not pinned (pass --pin to put every gateway process on CPU 1)' };
  const load = loadavg()[0] ?? 0;
  log(`worker scaling: shape ${shape!.id}, 1 vs ${workers} workers, ${connections} connections, ${warmupS} s warm-up + ${durationS} s in ${rounds} rounds per target`);
  log(`machine: ${cpus().length} CPUs, load average ${load.toFixed(2)} at start${load > 0.5 ? ' (other processes are busy: expect noisy numbers)' : ''}`);
  log(pinning.enabled ? 'pinned: bench + mock on CPU 0, floor and every gateway process on CPU 1' : `${pinning.reason}: the bench, the mock and the gateways share every CPU`);

  let code = 1;
  try {
    const stack = await startBenchStack(children, { tmpDir, pinning, outputTokens, gatewayLogLevel: 'info', gatewayMetrics: true, pipeline: 'full', profileDir: undefined });
    // The second gateway serves the same config and store (so the same key) on its own port, as a cluster.
    const clusterPort = await freePort();
    const cli = join(repoRoot, 'src/cli/main.ts');
    const cluster = children.start({
      name: `gateway ×${workers}`,
      args: [cli, 'start', '--config', stack.configFile, '--port', String(clusterPort), '--workers', String(workers), '--log-format', 'json'],
      cpu: pinning.proxyCpu,
      logFile: join(tmpDir, 'gateway-cluster.log'),
      cwd: repoRoot,
    });
    const clusterUrl = `http://127.0.0.1:${clusterPort}`;
    await waitForLog(cluster, 'Switchyard listening');
    await waitReady(`${clusterUrl}/ready`, cluster, (status) => status === 200);

    const credential: Record<string, string> =
      stack.gatewayKey === undefined ? {} : shape!.client === 'anthropic' ? { 'x-api-key': stack.gatewayKey } : { authorization: `Bearer ${stack.gatewayKey}` };
    const targets: Target[] = [
      { name: 'floor', url: stack.floorUrl, pid: stack.floor.pid, headers: shape!.headers, bodyFor: 'floor' },
      { name: 'switchyard ×1', url: stack.gatewayUrl, pid: stack.gateway.pid, headers: { ...shape!.headers, ...credential }, bodyFor: 'switchyard' },
      { name: `switchyard ×${workers}`, url: clusterUrl, pid: cluster.pid, headers: { ...shape!.headers, ...credential }, bodyFor: 'switchyard' },
    ];
    const benchCpuBefore = cpuMicros(process.pid);
    const mockCpuBefore = cpuMicros(stack.mock.pid);
    const wallBefore = performance.now();
    const rows = await measure(targets, shape!);
    const wallS = (performance.now() - wallBefore) / 1000;
    const benchCores = (((cpuMicros(process.pid) ?? 0) - (benchCpuBefore ?? 0)) / 1e6 / wallS).toFixed(2);
    const mockCores = (((cpuMicros(stack.mock.pid) ?? 0) - (mockCpuBefore ?? 0)) / 1e6 / wallS).toFixed(2);

    log('');
    log('target               req/s    p50 ms    p99 ms  CPU µs/req  cores busy  failures');
    for (const r of rows) {
      log(
        `${r.name.padEnd(16)} ${r.result.rps.toFixed(0).padStart(9)} ${r.result.p50Ms.toFixed(3).padStart(9)} ${r.result.p99Ms.toFixed(3).padStart(9)}` +
          ` ${String(r.cpuMicrosPerRequest ?? '-').padStart(11)} ${String(r.coresBusy ?? '-').padStart(11)} ${String(r.failures).padStart(9)}`,
      );
    }
    const [floor, one, many] = rows as [Row, Row, Row];
    const ratio = (a: Row, b: Row): number => (b.result.rps === 0 ? 0 : Math.round((a.result.rps / b.result.rps) * 100) / 100);
    const scaling = ratio(many, one);
    log('');
    log(`→ scaling: switchyard ×${workers} ÷ ×1 = ${scaling}×   (switchyard ×1 ÷ floor ${ratio(one, floor)}×, ×${workers} ÷ floor ${ratio(many, floor)}×)`);
    log(`  meanwhile the load generator used ${benchCores} cores and the mock provider ${mockCores} (averaged over the whole measurement)`);
    if (!pinning.enabled && cpus().length <= workers) {
      log(`  ! ${cpus().length} CPUs for ${workers} workers plus the load generator and the mock: the workers cannot each have a core, so this ratio`);
      log('    is not the gateway\'s scaling (the goal, ≥ 1.7× for 2 workers, assumes the load generator runs on other cores).');
    }
    if (pinning.enabled) {
      log(`  pinned: all ${workers} workers share CPU 1, so this ratio is what the cluster costs on one core, not scaling: ≤ 1 on a quiet`);
      log(`  machine (on a busy one, ${workers} processes win a larger share of the core from the others than one does).`);
    }

    const total = rows.reduce((sum, r) => sum + r.failures, 0);
    if (total > 0) log(`\n!!!!!!!! ${total} failed requests: see the failures column !!!!!!!!`);
    const out = values.out ?? join(repoRoot, 'bench/results', `workers-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      out,
      `${JSON.stringify({ shape: shape!.id, workers, connections, durationS, rounds, warmupS, pinning, cpus: cpus().length, loadAverageAtStart: load, rows, scaling, benchCores: Number(benchCores), mockCores: Number(mockCores) }, null, 2)}\n`,
    );
    log(`results: ${out}`);
    code = total === 0 ? 0 : 1;
    return code;
  } finally {
    await children.stopAll();
    clearTimeout(watchdog);
    if (code === 0) rmSync(tmpDir, { recursive: true, force: true });
    else process.stderr.write(`child process logs kept in ${tmpDir}\n`);
  }
}

runScript('bench failed', main);
