/**
 * `npm run bench:micro`: micro-benchmarks of the hot path's pure functions —
 * routing, SSE parsing, stream and request translation, token counting, the
 * passthrough tap — with a regression check against a reference run.
 * docs/benchmarks.md, "Micro-benchmarks".
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { optionsOrExit, runScript } from './lib/harness.ts';
import { compareMicro, DEFAULT_THRESHOLD_PCT, fasterOf, formatComparison, parseThresholdPct } from './lib/micro-compare.ts';
import { formatDuration, formatResultTable } from './lib/micro-report.ts';
import { BASELINE_NAME, gitCommit, latestMicroResult, machineInfo, readMicroResult, type MicroResult, type MicroTaskResult } from './lib/micro-result.ts';
import { routingTasks } from './micro/routing.ts';
import { sseTasks } from './micro/sse.ts';
import { tapTasks } from './micro/tap.ts';
import { measure, type MeasureOptions, type MicroTask } from './micro/task.ts';
import { tokenTasks } from './micro/tokens.ts';
import { translateTasks } from './micro/translate.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(repoRoot, 'bench/results');
const baselineFile = join(resultsDir, BASELINE_NAME);

const usage = `Usage: npm run bench:micro -- [options]     (or: node bench/micro.ts [options])

Measures each task for a fixed time, prints ops/s, mean, p50 and p99 per call,
and saves bench/results/micro-<timestamp>.json.

  --check               compare with a reference run (see --against) by median time per call;
                        exit 1 if a task is slower by more than --threshold
  --threshold PCT       regression threshold in percent (default ${DEFAULT_THRESHOLD_PCT})
  --against REF         reference for --check: "baseline" (bench/results/${BASELINE_NAME}),
                        "last" (the newest micro-<timestamp>.json) or a file;
                        default: the baseline if it exists, else the last run
  --remeasure N         with --check, measure a task that looks regressed up to N more times
                        and keep its best run (default 1; 0 to judge the first run alone)
  --save-baseline       also write the result to bench/results/${BASELINE_NAME} (commit it)
  --rounds N            measure every task N times, round after round, and keep each task's
                        best run (default 1; 3 for a baseline: --save-baseline --rounds 3)
  --time MS             measured time per task (default 400)
  --warmup MS           warm-up time per task (default 100)
  --filter A,B          only tasks whose id contains one of these texts
  --max-seconds S       stop measuring after S seconds in all (default 180)
  --out FILE            write the JSON here instead of bench/results/micro-<timestamp>.json
  --no-save             do not write a result file
  --list                list the tasks and exit
  --help                this text`;

interface Options {
  check: boolean;
  thresholdPct: number;
  against: string | undefined;
  remeasure: number;
  rounds: number;
  saveBaseline: boolean;
  timeMs: number;
  warmupMs: number;
  filter: string[];
  maxSeconds: number;
  out: string | undefined;
  save: boolean;
  list: boolean;
}

function positive(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${text}"`);
  return value;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      check: { type: 'boolean' },
      threshold: { type: 'string' },
      against: { type: 'string' },
      remeasure: { type: 'string' },
      rounds: { type: 'string' },
      'save-baseline': { type: 'boolean' },
      time: { type: 'string' },
      warmup: { type: 'string' },
      filter: { type: 'string' },
      'max-seconds': { type: 'string' },
      out: { type: 'string' },
      'no-save': { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const options: Options = {
    check: values.check === true,
    thresholdPct: values.threshold === undefined ? DEFAULT_THRESHOLD_PCT : parseThresholdPct(values.threshold),
    against: values.against,
    remeasure: Math.floor(positive('remeasure', values.remeasure, 1, true)),
    rounds: Math.max(1, Math.floor(positive('rounds', values.rounds, 1))),
    saveBaseline: values['save-baseline'] === true,
    timeMs: positive('time', values.time, 400),
    warmupMs: positive('warmup', values.warmup, 100, true),
    filter: (values.filter ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    maxSeconds: positive('max-seconds', values['max-seconds'], 180),
    out: values.out,
    save: values['no-save'] !== true,
    list: values.list === true,
  };
  if (options.saveBaseline && options.filter.length > 0) throw new Error('--save-baseline needs every task: drop --filter');
  if (options.saveBaseline && !options.save) throw new Error('--save-baseline and --no-save contradict each other');
  return options;
}

async function allTasks(): Promise<MicroTask[]> {
  return [...(await routingTasks()), ...sseTasks(), ...translateTasks(), ...tokenTasks(), ...tapTasks()];
}

/** The reference run's file for --check: the baseline by default, the newest saved run when there is no baseline. */
function referenceFile(against: string | undefined): string {
  if (against === 'last' || (against === undefined && !existsSync(baselineFile))) {
    const last = latestMicroResult(resultsDir);
    if (last === undefined) throw new Error(`no reference: neither ${BASELINE_NAME} nor a micro-<timestamp>.json in bench/results (run once without --check)`);
    return last;
  }
  if (against === undefined || against === 'baseline') {
    if (!existsSync(baselineFile)) throw new Error(`no reference: bench/results/${BASELINE_NAME} does not exist (make one with --save-baseline)`);
    return baselineFile;
  }
  return against;
}

/** A path relative to the repository when it is inside it, else as it is. */
function shown(file: string): string {
  const rel = relative(repoRoot, file);
  return rel.startsWith('..') ? file : rel;
}

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  const parsed = optionsOrExit(() => parseOptions(process.argv.slice(2)), usage);
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.options;
  // Read before this run writes its own file, so "last" is the previous run.
  const referencePath = o.check ? referenceFile(o.against) : undefined;
  const reference = referencePath === undefined ? undefined : readMicroResult(referencePath);

  const startedAt = new Date();
  const machine = machineInfo();
  process.stderr.write('preparing tasks (building the router, loading the tokenizer)…\n');
  let tasks = await allTasks();
  if (o.filter.length > 0) tasks = tasks.filter((t) => o.filter.some((f) => t.id.includes(f)));
  if (o.list) {
    for (const t of tasks) log(`${t.id.padEnd(40)} ${t.title}`);
    return 0;
  }
  if (tasks.length === 0) throw new Error(`no task matches --filter ${o.filter.join(',')} (see --list)`);

  const measureOptions: MeasureOptions = { timeMs: o.timeMs, warmupMs: o.warmupMs, signal: AbortSignal.timeout(o.maxSeconds * 1000) };
  const byId = new Map<string, MicroTask>(tasks.map((t) => [t.id, t]));
  const results: MicroTaskResult[] = [];
  // Rounds go over every task in turn, so a burst of load hits one round of a task, not all of them.
  measuring: for (let round = 1; round <= o.rounds; round++) {
    for (const [i, task] of tasks.entries()) {
      if (measureOptions.signal?.aborted === true) {
        process.stderr.write(`--max-seconds ${o.maxSeconds} reached: round ${round} stopped before ${task.id}\n`);
        break measuring;
      }
      const r = await measure(task, measureOptions);
      const index = results.findIndex((x) => x.id === r.id);
      if (index === -1) results.push(r);
      else results[index] = fasterOf(results[index] as MicroTaskResult, r);
      const where = o.rounds > 1 ? `round ${round}/${o.rounds}, ` : '';
      process.stderr.write(`[${where}${i + 1}/${tasks.length}] ${task.id}: p50 ${formatDuration(r.p50Ns)}, ${r.samples} samples × ${r.batch}\n`);
    }
  }

  const result: MicroResult = {
    kind: 'micro',
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    machine,
    options: { timeMs: o.timeMs, warmupMs: o.warmupMs, rounds: o.rounds },
    tasks: results,
  };
  const commit = gitCommit(repoRoot);
  if (commit !== undefined) result.gitCommit = commit;

  let comparison: ReturnType<typeof compareMicro> | undefined;
  if (reference !== undefined) {
    comparison = compareMicro(reference, result, o.thresholdPct);
    // A regression on a noisy machine is measured again before it counts.
    for (let round = 0; round < o.remeasure && comparison.regressions.length > 0; round++) {
      process.stderr.write(`measuring again: ${comparison.regressions.join(', ')}\n`);
      for (const id of comparison.regressions) {
        const index = results.findIndex((r) => r.id === id);
        const task = byId.get(id);
        if (index === -1 || task === undefined) continue;
        results[index] = fasterOf(results[index] as MicroTaskResult, await measure(task, { ...measureOptions, signal: undefined }));
      }
      comparison = compareMicro(reference, result, o.thresholdPct);
    }
  }
  result.finishedAt = new Date().toISOString();

  log();
  for (const line of formatResultTable(result)) log(line);
  if (o.save) {
    mkdirSync(resultsDir, { recursive: true });
    const out = o.out ?? join(resultsDir, `micro-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(out, json);
    log(`\nsaved ${shown(out)}`);
    if (o.saveBaseline) {
      writeFileSync(baselineFile, json);
      log(`saved ${shown(baselineFile)}: commit it to make it the reference of --check`);
    }
  }
  if (comparison !== undefined) {
    log();
    for (const line of formatComparison(comparison, o.thresholdPct, shown(referencePath ?? ''))) log(line);
    return comparison.regressions.length > 0 ? 1 : 0;
  }
  return 0;
}

runScript('bench:micro', main, 2);
