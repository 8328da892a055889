/**
 * What every scale bench does around its measurement: the machine
 * description and git commit for the result file, a temporary directory for
 * the children's logs (kept when the run fails), children stopped on every
 * way out (Ctrl-C, SIGTERM, an error, a watchdog past the time budget).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildSet, describePinning, planPinning, type Pinning } from './processes.ts';
import { repoRoot } from './stack.ts';

export const log = (line: string): void => void process.stdout.write(`${line}\n`);

export { machine, type Machine } from './machine.ts';

export function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Writes `bench/results/<prefix>-<timestamp>.json` (or `out`) and returns its path. */
export function writeResult(prefix: string, startedAt: Date, result: unknown, out?: string): string {
  const dir = join(repoRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = out ?? join(dir, `${prefix}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export interface BenchContext {
  children: ChildSet;
  tmpDir: string;
  pinning: Pinning;
}

/**
 * Runs one bench: `body` returns the exit code (0: measured and every check
 * passed). Past `budgetS` seconds everything is killed and the process exits 1.
 */
export async function runBench(name: string, options: { budgetS: number; pin: boolean }, body: (ctx: BenchContext) => Promise<number>): Promise<number> {
  const children = new ChildSet();
  const tmpDir = mkdtempSync(join(tmpdir(), `switchyard-${name}-`));
  // Last resort, synchronous: nothing we started survives this process.
  process.on('exit', () => children.killNow());
  const interrupt = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the bench and its child processes\n`);
    const force = setTimeout(() => process.exit(130), 3_000);
    children.stopAll(2_000).finally(() => {
      clearTimeout(force);
      rmSync(tmpDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const watchdog = setTimeout(() => {
    process.stderr.write(`\n!!! ${name} ran past its ${options.budgetS} s budget: stopping everything (logs in ${tmpDir})\n`);
    children.killNow();
    process.exit(1);
  }, options.budgetS * 1000);
  watchdog.unref();

  const pinning = planPinning(options.pin);
  log(describePinning(pinning));
  let code = 1;
  try {
    code = await body({ children, tmpDir, pinning });
    return code;
  } catch (err) {
    process.stderr.write(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await children.stopAll();
    clearTimeout(watchdog);
    // Keep the child logs when something went wrong: they say why.
    if (code === 0) rmSync(tmpDir, { recursive: true, force: true });
    else process.stderr.write(`child process logs kept in ${tmpDir}\n`);
  }
}

/** Positive number flag, with a range. */
export function numberFlag(flag: string, raw: string | undefined, fallback: number, { min = 0, max = Infinity, integer = false } = {}): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`--${flag} must be ${integer ? 'an integer' : 'a number'} above ${min}${max === Infinity ? '' : ` and at most ${max}`}, got '${raw}'`);
  }
  return value;
}

/** Bytes in MiB, one decimal: for reports. */
export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Seconds since `t0` (performance.now()), 0.1 s resolution: for progress lines. */
export const since = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/**
 * A bench script's parsed options, or the exit code when there is nothing to
 * run: 0 after printing the usage for --help, 2 with the problem and the
 * usage on stderr for a bad flag.
 */
export function optionsOrExit<T>(parse: () => T | 'help', usage: string): { options: T } | { exit: number } {
  let parsed: T | 'help';
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return { exit: 2 };
  }
  if (parsed === 'help') {
    process.stdout.write(usage);
    return { exit: 0 };
  }
  return { options: parsed };
}

/**
 * For scripts that read their flags at the top level: what `parse` returns,
 * or the process exits — 0 after printing the usage for --help, 2 with the
 * problem and the usage on stderr for an unknown flag or a bad value.
 */
export function flagsOrExit<T extends { help?: boolean | undefined }>(usage: string, parse: () => T): T {
  let values: T;
  try {
    values = parse();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}

/**
 * A bench script's entry point: runs `main` and sets the exit code it returns;
 * if it throws, prints `<label>: <message>` and exits with `failureCode`.
 */
export function runScript(label: string, main: () => Promise<number>, failureCode = 1): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${label}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = failureCode;
    },
  );
}
