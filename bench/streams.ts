/**
 * `npm run bench:streams`: memory per open stream. N long-lived Anthropic
 * streams (default 5000) held open at once through Switchyard (full pipeline)
 * and then through the floor proxy, against a mock that paces its output
 * (an event every few seconds per stream). RSS and V8 heap (after a forced GC)
 * before, with every stream open, and after they close; memory per stream =
 * (RSS open − RSS baseline) / N. Goal: under 20 KiB per stream.
 * Methodology: docs/benchmarks.md. Bounded in time; children never outlive it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { cpuMicros } from './lib/cpu.ts';
import { ensureOpenFiles, openFileLimit, type FileLimitCheck } from './lib/fd-limit.ts';
import { gitCommit, log, machine, mib, numberFlag, optionsOrExit, runBench, runScript, since, writeResult } from './lib/harness.ts';
import { Inspector } from './lib/inspector.ts';
import { rssBytes } from './lib/memory.ts';
import type { Child } from './lib/processes.ts';
import { assertStackAlive, gatewayCredential, startScaleStack, type ScaleStack } from './lib/scale-stack.ts';
import { openStream, unboundedAgent, type OpenStream, type StreamOutcome } from './lib/stream-client.ts';
import { percentile, perStreamBytes } from './lib/trend.ts';

const GOAL_BYTES_PER_STREAM = 20 * 1024;
/** Tokens per second the mock writes: a stream of S seconds asks for TPS·S tokens, in one chunk every --event-interval seconds. */
const TPS = 10;

const usage = `Usage: npm run bench:streams -- [options]     (or: node bench/streams.ts [options])

  --streams N          streams held open at once (default 5000)
  --stream-seconds S   how long each stream lasts, by the mock's pacing (default 60; must cover opening them all + 10 s)
  --event-interval S   seconds between two events of a stream (default 5: the streams are alive, yet cheap while opening)
  --batch N            streams opened at a time; the next batch waits for this one's response headers (default 250)
  --targets a,b        switchyard, floor (default both, in that order)
  --gateway-log-level L  default info, as in production
  --no-pin             do not pin processes to CPUs with taskset
  --out FILE           write the JSON result here instead of bench/results/streams-<timestamp>.json
  -h, --help
`;

interface Options {
  streams: number;
  streamSeconds: number;
  eventIntervalS: number;
  batch: number;
  targets: Array<'switchyard' | 'floor'>;
  gatewayLogLevel: string;
  pin: boolean;
  out: string | undefined;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      streams: { type: 'string' },
      'stream-seconds': { type: 'string' },
      'event-interval': { type: 'string' },
      batch: { type: 'string' },
      targets: { type: 'string', default: 'switchyard,floor' },
      'gateway-log-level': { type: 'string', default: 'info' },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const targets = values.targets.split(',').map((t) => t.trim());
  for (const t of targets) if (t !== 'switchyard' && t !== 'floor') throw new Error(`--targets: unknown target '${t}' (switchyard, floor)`);
  return {
    streams: numberFlag('streams', values.streams, 5000, { max: 20_000, integer: true }),
    streamSeconds: numberFlag('stream-seconds', values['stream-seconds'], 60, { min: 9, max: 300, integer: true }),
    eventIntervalS: numberFlag('event-interval', values['event-interval'], 5, { max: 30, integer: true }),
    batch: numberFlag('batch', values.batch, 250, { max: 5000, integer: true }),
    targets: targets as Options['targets'],
    gatewayLogLevel: values['gateway-log-level'],
    pin: !values['no-pin'],
    out: values.out,
  };
}

interface MemoryPoint {
  rssBytes: number;
  /** V8 heap in use after a full collection. */
  heapUsedBytes: number;
}

interface TargetResult {
  target: 'switchyard' | 'floor';
  streams: number;
  /** Seconds from the first request to the last stream's response headers. */
  openSeconds: number;
  /** Streams still open when the "open" memory was sampled (all of them, unless the run was too slow). */
  openWhenSampled: number;
  completed: number;
  failed: number;
  problems: string[];
  baseline: MemoryPoint;
  /** With half the streams open. */
  halfOpen: MemoryPoint;
  open: MemoryPoint;
  after: MemoryPoint;
  /** (RSS all open − RSS baseline) / streams open. */
  rssPerStreamBytes: number;
  /**
   * (RSS all open − RSS half open) / streams opened in between: the cost of one more stream, without what load
   * alone adds (young generation, buffers). Null when streams had already ended by the second sample.
   */
  marginalRssPerStreamBytes: number | null;
  /** (heap all open − heap baseline) / streams open, both after a full collection. */
  heapPerStreamBytes: number;
  /** The proxy's CPU while every stream was open (an event every --event-interval seconds each): 1 = one core. */
  cpuBusyWhileOpen?: number;
  /** Time to the last byte of the long streams, ms. */
  durationMs: { p50: number; max: number };
}

const median = (xs: number[]): number => percentile(xs, 50);
const kib = (bytes: number | null): string => (bytes === null ? '-' : (bytes / 1024).toFixed(1));

function body(model: string, maxTokens: number): string {
  return JSON.stringify({ model, max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: 'Stream a long answer, slowly, as a model would.' }] });
}
const endsWithStop = (tail: string): boolean => tail.includes('event: message_stop');

/**
 * Memory of the process under test over a few samples, each right after a
 * full collection forced through the inspector: the median heap in use (what
 * is really retained) and the median RSS (from /proc).
 */
async function sampleMemory(inspector: Inspector, pid: number, samples = 3): Promise<MemoryPoint> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < samples; i++) {
    heap.push((await inspector.collectAndMeasure()).usedBytes);
    rss.push(rssBytes(pid) ?? 0);
    if (i < samples - 1) await sleep(300);
  }
  return { rssBytes: median(rss), heapUsedBytes: median(heap) };
}

function describePoint(p: MemoryPoint): string {
  return `RSS ${mib(p.rssBytes)} MiB, heap ${mib(p.heapUsedBytes)} MiB (after a full GC)`;
}

async function measureTarget(stack: ScaleStack, target: 'switchyard' | 'floor', o: Options): Promise<TargetResult> {
  const base = target === 'switchyard' ? stack.gatewayUrl : (stack.floorUrl as string);
  const url = new URL('/v1/messages', base);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  Object.assign(headers, target === 'switchyard' ? gatewayCredential(stack, 'anthropic') : { 'x-api-key': 'sk-bench' });
  const model = target === 'switchyard' ? 'claude-mock' : 'upstream-claude';
  const child = target === 'switchyard' ? stack.gateway : (stack.floor as Child);
  const pid = child.pid;
  const inspector = await Inspector.fromLog(child.logFile);
  const agent = unboundedAgent();
  // Well over the time between two events of a stream.
  const idleTimeoutMs = Math.max(30_000, 3_000 * o.eventIntervalS);
  log(`${target}: pid ${pid}, open files ${JSON.stringify(openFileLimit(pid) ?? 'unknown')}`);

  // Warm-up: short streams (half a second each), so the code is compiled and the baseline is a warm process.
  const warm: Promise<StreamOutcome>[] = [];
  for (let i = 0; i < 300; i++) {
    warm.push(openStream(agent, { url, headers, body: body(model, 5), isComplete: endsWithStop, idleTimeoutMs }).done);
    if (warm.length % 50 === 0) await Promise.all(warm.slice(-50));
  }
  const warmFailed = (await Promise.all(warm)).filter((r) => !r.ok);
  if (warmFailed.length > 0) throw new Error(`${target}: ${warmFailed.length} of 300 warm-up streams failed, e.g. ${warmFailed[0]?.problem}`);
  await sleep(2_000);
  const baseline = await sampleMemory(inspector, pid);
  log(`  baseline: ${describePoint(baseline)}`);

  // Open N streams in batches (each batch waits for its response headers), sampling memory at N/2 and at N.
  const started = performance.now();
  const streams: OpenStream[] = [];
  let ended = 0;
  let openFailures = 0;
  let lastProgress = started;
  const longBody = body(model, TPS * o.streamSeconds);
  const half = Math.floor(o.streams / 2);
  const openUpTo = async (count: number): Promise<void> => {
    while (streams.length < count) {
      const batch: Promise<boolean>[] = [];
      for (let i = 0; i < o.batch && streams.length < count; i++) {
        const s = openStream(agent, { url, headers, body: longBody, isComplete: endsWithStop, idleTimeoutMs });
        void s.done.then(() => ended++);
        streams.push(s);
        batch.push(s.opened);
      }
      openFailures += (await Promise.all(batch)).filter((ok) => !ok).length;
      if (performance.now() - lastProgress > 1_000 || streams.length === count) {
        lastProgress = performance.now();
        log(`  opened ${streams.length}/${o.streams} streams (${since(started)})${openFailures > 0 ? `, ${openFailures} FAILED to open` : ''}`);
      }
      assertStackAlive(stack);
    }
  };
  await openUpTo(half);
  const halfOpen = await sampleMemory(inspector, pid);
  const openAtHalf = half - ended;
  log(`  half open: ${describePoint(halfOpen)}`);
  await openUpTo(o.streams);
  const openSeconds = (performance.now() - started) / 1000;
  if (openSeconds + 10 > o.streamSeconds) {
    log(`  ! opening took ${openSeconds.toFixed(1)} s of the streams' ${o.streamSeconds} s: the first ones may end before the sample; raise --stream-seconds`);
  }

  // Steady: every stream open. The proxy's CPU over 3 s (before the forced collections), then memory.
  const cpuBefore = cpuMicros(pid);
  const tCpu = performance.now();
  await sleep(3_000);
  const cpuAfter = cpuMicros(pid);
  const cpuWallUs = (performance.now() - tCpu) * 1000;
  const open = await sampleMemory(inspector, pid, 5);
  const openWhenSampled = o.streams - ended;
  const cpuBusyWhileOpen = cpuBefore !== undefined && cpuAfter !== undefined ? Math.round(((cpuAfter - cpuBefore) / cpuWallUs) * 100) / 100 : undefined;
  log(`  all open: ${describePoint(open)} (${openWhenSampled} open while sampled; proxy CPU ${cpuBusyWhileOpen === undefined ? '?' : `${Math.round(cpuBusyWhileOpen * 100)}%`})`);

  // Let them finish (the mock's pacing ends them), with progress.
  const all = Promise.all(streams.map((s) => s.done));
  const deadline = performance.now() + (o.streamSeconds + 60) * 1000;
  while (ended < o.streams && performance.now() < deadline) {
    await Promise.race([all, sleep(5_000)]);
    if (ended < o.streams) log(`  ${o.streams - ended} streams still open (${since(started)})`);
    assertStackAlive(stack);
  }
  if (ended < o.streams) throw new Error(`${target}: ${o.streams - ended} streams did not end within ${o.streamSeconds + 60} s`);
  const outcomes = await all;
  agent.destroy();
  const failedOutcomes = outcomes.filter((r) => !r.ok);
  const problems = [...new Set(failedOutcomes.map((r) => r.problem ?? '?'))].slice(0, 5);
  await sleep(5_000);
  const after = await sampleMemory(inspector, pid);
  log(`  after close: ${describePoint(after)}`);

  inspector.close();
  const durations = outcomes.filter((r) => r.ok).map((r) => r.ms);
  const result: TargetResult = {
    target,
    streams: o.streams,
    openSeconds: Math.round(openSeconds * 10) / 10,
    openWhenSampled,
    completed: outcomes.length - failedOutcomes.length,
    failed: failedOutcomes.length,
    problems,
    baseline,
    open,
    after,
    halfOpen,
    rssPerStreamBytes: Math.round(perStreamBytes(open.rssBytes, baseline.rssBytes, openWhenSampled || o.streams)),
    marginalRssPerStreamBytes: openWhenSampled === o.streams ? Math.round(perStreamBytes(open.rssBytes, halfOpen.rssBytes, o.streams - openAtHalf)) : null,
    heapPerStreamBytes: Math.round(perStreamBytes(open.heapUsedBytes, baseline.heapUsedBytes, openWhenSampled || o.streams)),
    ...(cpuBusyWhileOpen === undefined ? {} : { cpuBusyWhileOpen }),
    durationMs: { p50: Math.round(median(durations)), max: Math.round(Math.max(0, ...durations)) },
  };
  log(
    `  → ${(result.rssPerStreamBytes / 1024).toFixed(1)} KiB RSS per open stream (marginal ${kib(result.marginalRssPerStreamBytes)} KiB)` +
      `, heap ${(result.heapPerStreamBytes / 1024).toFixed(1)} KiB` +
      `; ${result.completed} completed, ${result.failed} failed${problems.length > 0 ? `: ${problems.join(' | ')}` : ''}`,
  );
  return result;
}

async function main(argv: string[]): Promise<number> {
  const parsed = optionsOrExit(() => parseOptions(argv), usage);
  if ('exit' in parsed) return parsed.exit;
  const opts = parsed.options;
  // The gateway holds two sockets per stream (client and upstream); the floor too. Plus files, logs, the pool's spares.
  const fds: FileLimitCheck = ensureOpenFiles(2 * opts.streams + 512);
  log(fds.note);
  if (!fds.ok) {
    process.stderr.write(`!!! the open-file limit is too low for ${opts.streams} streams: ${fds.note}\n`);
    return 1;
  }
  // Per target: warm-up and baseline (~10 s), opening, the streams themselves, the close, margins.
  const budgetS = opts.targets.length * (opts.streamSeconds + 120) + 60;
  log(`planned: ${opts.targets.join(' then ')}, ${opts.streams} streams of ~${opts.streamSeconds} s each; at most ${budgetS} s`);
  return runBench('streams', { budgetS, pin: opts.pin }, async ({ children, tmpDir, pinning }) => {
    const startedAt = new Date();
    const host = machine();
    if (host.loadAverageAtStart > 0.5) log(`! load average ${host.loadAverageAtStart} at start: other processes are using the CPUs, expect noisy numbers`);
    const stack = await startScaleStack(children, {
      tmpDir,
      pinning,
      // Enough words for the longest stream, paced at TPS tokens a second, one event every --event-interval seconds.
      mockArgs: ['--tokens', String(TPS * opts.streamSeconds), '--tps', String(TPS), '--chunks', String(Math.max(1, Math.floor(opts.streamSeconds / opts.eventIntervalS)))],
      // Every stream holds an upstream connection for its whole life: the pools must allow N at once.
      upstreamConnections: opts.streams + 64,
      gatewayLogLevel: opts.gatewayLogLevel,
      floor: opts.targets.includes('floor'),
      // Memory is sampled after a full collection, forced through the inspector.
      inspect: true,
    });
    log(`mock ${stack.mockUrl}, floor ${stack.floorUrl ?? '-'}, switchyard ${stack.gatewayUrl}`);
    const results: TargetResult[] = [];
    for (const target of opts.targets) {
      log('');
      log(`${target}: ${opts.streams} streams`);
      results.push(await measureTarget(stack, target, opts));
    }
    const gw = results.find((r) => r.target === 'switchyard');
    const floor = results.find((r) => r.target === 'floor');
    const failures = results.reduce((n, r) => n + r.failed, 0);
    const goal = gw === undefined ? undefined : { bytesPerStream: GOAL_BYTES_PER_STREAM, met: gw.rssPerStreamBytes < GOAL_BYTES_PER_STREAM && gw.failed === 0 };
    const result = {
      kind: 'streams',
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: host,
      pinning,
      openFiles: { needed: fds.needed, bench: fds.after, note: fds.note },
      options: { streams: opts.streams, streamSeconds: opts.streamSeconds, eventIntervalS: opts.eventIntervalS, batch: opts.batch, tokensPerSecond: TPS, gatewayLogLevel: opts.gatewayLogLevel, pipeline: 'full', gitCommit: gitCommit() },
      targets: results,
      ...(gw !== undefined && floor !== undefined ? { switchyardOverFloorPerStream: Math.round((gw.rssPerStreamBytes / Math.max(1, floor.rssPerStreamBytes)) * 100) / 100 } : {}),
      goal,
      failures,
    };
    const file = writeResult('streams', startedAt, result, opts.out);
    log('');
    for (const r of results) {
      log(
        `${r.target.padEnd(10)} ${String(r.openWhenSampled).padStart(5)} open: ${(r.rssPerStreamBytes / 1024).toFixed(1).padStart(6)} KiB RSS/stream (marginal ${kib(r.marginalRssPerStreamBytes)})` +
          `, ${(r.heapPerStreamBytes / 1024).toFixed(1)} KiB heap/stream` +
          `  (RSS ${mib(r.baseline.rssBytes)} → ${mib(r.halfOpen.rssBytes)} → ${mib(r.open.rssBytes)} → ${mib(r.after.rssBytes)} MiB; opened in ${r.openSeconds} s; failed ${r.failed})`,
      );
    }
    if (goal !== undefined) log(`goal: < ${GOAL_BYTES_PER_STREAM / 1024} KiB per open stream through Switchyard: ${goal.met ? 'MET' : 'NOT MET'}`);
    if (failures > 0) log(`!!!!!!!! ${failures} streams failed`);
    log(`results: ${file}`);
    return failures === 0 ? 0 : 1;
  });
}

runScript('bench:streams failed', () => main(process.argv.slice(2)));
