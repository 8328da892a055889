/**
 * `npm run bench:soak`: does the gateway's memory keep growing under steady
 * load? Several minutes (default 5) of moderate open-loop load through
 * Switchyard on the full pipeline, every shape of bench/run.ts in turn
 * (streaming and not, passthrough and translated), sampling RSS and the V8
 * heap (after a forced full GC) every few seconds. After a warm-up, a
 * least-squares line through the samples gives MiB per minute; the verdict is
 * "flat" when the slope (less two standard errors) is small and the last third
 * of the samples is not above the first third by more than a few percent. Every request must succeed.
 * Methodology: docs/benchmarks.md. Bounded in time; children never outlive it.
 */
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { gitCommit, log, machine, mib, numberFlag, optionsOrExit, runBench, runScript, writeResult } from './lib/harness.ts';
import { Inspector } from './lib/inspector.ts';
import { rssBytes } from './lib/memory.ts';
import { assertStackAlive, gatewayCredential, startScaleStack } from './lib/scale-stack.ts';
import { shapes, type Shape } from './lib/shapes.ts';
import { postOnce, unboundedAgent } from './lib/stream-client.ts';
import { memoryTrend, type MemorySample, type TrendLimits } from './lib/trend.ts';

const usage = `Usage: npm run bench:soak -- [options]     (or: node bench/soak.ts [options])

  --minutes M        length of the load (default 5)
  --quick            1 minute, samples every 2 s
  --rate N           requests per second, open loop, spread over every shape (default 100)
  --sample-every S   seconds between memory samples (default 5, quick 2)
  --warmup S         seconds left out of the trend at the start (default: 20% of the run, at least 20)
  --max-slope X      largest slope that counts as flat, MiB/min (default 1)
  --max-rise P       largest rise of the last third over the first, percent (default 5)
  --no-pin           do not pin processes to CPUs with taskset
  --out FILE         write the JSON result here instead of bench/results/soak-<timestamp>.json
  -h, --help
`;

interface Options {
  quick: boolean;
  seconds: number;
  rate: number;
  sampleEveryS: number;
  limits: TrendLimits;
  pin: boolean;
  out: string | undefined;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      minutes: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rate: { type: 'string' },
      'sample-every': { type: 'string' },
      warmup: { type: 'string' },
      'max-slope': { type: 'string' },
      'max-rise': { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const seconds = 60 * numberFlag('minutes', values.minutes, quick ? 1 : 5, { max: 120 });
  const warmupS = numberFlag('warmup', values.warmup, Math.max(20, seconds * 0.2), { max: seconds * 0.8 });
  return {
    quick,
    seconds,
    rate: numberFlag('rate', values.rate, 100, { max: 5000 }),
    sampleEveryS: numberFlag('sample-every', values['sample-every'], quick ? 2 : 5, { max: 60 }),
    limits: {
      warmupS,
      maxSlopeMiBPerMin: numberFlag('max-slope', values['max-slope'], 1),
      maxThirdsRise: numberFlag('max-rise', values['max-rise'], 5, { max: 100 }) / 100,
    },
    pin: !values['no-pin'],
    out: values.out,
  };
}

interface Sample {
  tS: number;
  rssBytes: number;
  heapUsedBytes: number;
  requests: number;
}

async function main(argv: string[]): Promise<number> {
  const parsed = optionsOrExit(() => parseOptions(argv), usage);
  if ('exit' in parsed) return parsed.exit;
  const opts = parsed.options;
  const budgetS = Math.ceil(opts.seconds * 1.5 + 120);
  log(`planned: ${opts.seconds} s of ${opts.rate} req/s over ${shapes.length} shapes, memory every ${opts.sampleEveryS} s, trend after ${opts.limits.warmupS} s; at most ${budgetS} s`);
  return runBench('soak', { budgetS, pin: opts.pin }, async ({ children, tmpDir, pinning }) => {
    const startedAt = new Date();
    const host = machine();
    if (host.loadAverageAtStart > 0.5) log(`! load average ${host.loadAverageAtStart} at start: other processes are using the CPUs, expect noisy numbers`);
    const stack = await startScaleStack(children, { tmpDir, pinning, floor: false, mockArgs: ['--tokens', '24'], inspect: true });
    const inspector = await Inspector.fromLog(stack.gateway.logFile);
    log(`mock ${stack.mockUrl}, switchyard ${stack.gatewayUrl} (pid ${stack.gateway.pid})`);

    const requests = shapes.map((shape: Shape) => ({
      shape,
      url: new URL(shape.path, stack.gatewayUrl),
      headers: { ...shape.headers, ...gatewayCredential(stack, shape.client) },
      body: shape.body('switchyard'),
    }));
    const agent = unboundedAgent(true);
    const hist = createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });
    const byShape = new Map(shapes.map((s) => [s.id, { sent: 0, errors: 0 }]));
    let sent = 0;
    let done = 0;
    let errors = 0;
    let skipped = 0;
    let inFlight = 0;
    const problems = new Set<string>();
    const MAX_IN_FLIGHT = 256;

    const fire = (i: number): void => {
      const r = requests[i % requests.length] as (typeof requests)[number];
      const counts = byShape.get(r.shape.id) as { sent: number; errors: number };
      counts.sent++;
      sent++;
      inFlight++;
      postOnce(agent, r.url, r.headers, r.body)
        .then(
          (res) => {
            if (res.status === 200 && r.shape.looksComplete(res.text)) hist.record(Math.max(1, Math.round(res.ms * 1000)));
            else {
              errors++;
              counts.errors++;
              if (problems.size < 5) problems.add(`${r.shape.id}: ${r.shape.validate(res.status, res.text) ?? 'incomplete response'}`);
            }
          },
          (err: unknown) => {
            errors++;
            counts.errors++;
            if (problems.size < 5) problems.add(`${r.shape.id}: ${err instanceof Error ? err.message : String(err)}`);
          },
        )
        .finally(() => {
          inFlight--;
          done++;
        });
    };

    // Open loop: a tick every 20 ms sends what the rate owes so far; never more than MAX_IN_FLIGHT at once.
    const t0 = performance.now();
    const elapsedS = (): number => (performance.now() - t0) / 1000;
    const ticker = setInterval(() => {
      const owed = Math.floor(Math.min(elapsedS(), opts.seconds) * opts.rate) - sent - skipped;
      for (let i = 0; i < owed; i++) {
        if (inFlight >= MAX_IN_FLIGHT) skipped++;
        else fire(sent);
      }
    }, 20);

    const samples: Sample[] = [];
    const progressEvery = opts.quick ? 10 : 30;
    let nextProgress = progressEvery;
    try {
      while (elapsedS() < opts.seconds) {
        await sleep(Math.max(0, (samples.length + 1) * opts.sampleEveryS * 1000 - (performance.now() - t0)));
        if (elapsedS() > opts.seconds + 1) break;
        const heap = await inspector.collectAndMeasure();
        const sample = { tS: Math.round(elapsedS() * 10) / 10, rssBytes: rssBytes(stack.gateway.pid) ?? 0, heapUsedBytes: heap.usedBytes, requests: done };
        samples.push(sample);
        assertStackAlive(stack);
        if (sample.tS >= nextProgress) {
          nextProgress += progressEvery;
          log(`  ${sample.tS.toFixed(0).padStart(4)} / ${opts.seconds} s: ${done} requests, ${errors} errors, RSS ${mib(sample.rssBytes)} MiB, heap ${mib(sample.heapUsedBytes)} MiB${skipped > 0 ? `, ${skipped} skipped (generator behind)` : ''}`);
        }
      }
    } finally {
      clearInterval(ticker);
    }
    // Let the last requests finish (bounded).
    for (let i = 0; i < 300 && inFlight > 0; i++) await sleep(100);
    agent.destroy();
    inspector.close();
    if (inFlight > 0) {
      errors += inFlight;
      problems.add(`${inFlight} requests still unanswered 30 s after the load stopped`);
    }

    const toTrend = (pick: (s: Sample) => number): MemorySample[] => samples.map((s) => ({ tS: s.tS, bytes: pick(s) }));
    const rssTrend = memoryTrend(toTrend((s) => s.rssBytes), opts.limits);
    const heapTrend = memoryTrend(toTrend((s) => s.heapUsedBytes), opts.limits);
    const flat = rssTrend.flat && heapTrend.flat;
    const ms = (us: number): number => Math.round(us) / 1000;
    const result = {
      kind: 'soak',
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: host,
      pinning,
      options: { quick: opts.quick, seconds: opts.seconds, rate: opts.rate, sampleEveryS: opts.sampleEveryS, limits: opts.limits, shapes: shapes.map((s) => s.id), pipeline: 'full', gitCommit: gitCommit() },
      requests: { sent, completed: done, errors, skipped, achievedRate: Math.round((done / opts.seconds) * 10) / 10, byShape: Object.fromEntries(byShape), problems: [...problems] },
      latency: { p50Ms: ms(hist.percentile(50)), p99Ms: ms(hist.percentile(99)), maxMs: ms(hist.max) },
      memory: { rss: rssTrend, heapAfterGc: heapTrend, samples },
      verdict: { flat, errorsFree: errors === 0 },
    };
    const file = writeResult('soak', startedAt, result, opts.out);
    log('');
    log(`requests: ${done} in ${opts.seconds} s (${result.requests.achievedRate}/s), errors ${errors}${skipped > 0 ? `, ${skipped} not sent (over ${MAX_IN_FLIGHT} in flight)` : ''}; latency p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms`);
    for (const [name, t] of [['RSS', rssTrend], ['heap after GC', heapTrend]] as const) {
      log(`${name.padEnd(14)} ${t.firstThirdMiB} → ${t.lastThirdMiB} MiB (first → last third), slope ${t.slopeMiBPerMin} ± ${t.slopeMarginMiBPerMin} MiB/min over ${t.samples} samples (r² ${t.r2}): ${t.flat ? 'flat' : 'RISING'} — ${t.reason}`);
    }
    log(`verdict: ${flat ? 'no upward trend' : 'MEMORY TRENDS UPWARD'}; ${errors === 0 ? 'every request succeeded' : `!!!!!!!! ${errors} requests failed: ${[...problems].join(' | ')}`}`);
    log(`results: ${file}`);
    return errors === 0 && skipped === 0 ? 0 : 1;
  });
}

runScript('bench:soak failed', () => main(process.argv.slice(2)));
