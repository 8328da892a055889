import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareMicro, fasterOf, formatComparison, parseThresholdPct, verdictFor } from '../../bench/lib/micro-compare.ts';
import { latestMicroResult, readMicroResult, type MicroResult, type MicroTaskResult } from '../../bench/lib/micro-result.ts';

function task(id: string, p50Ns: number): MicroTaskResult {
  return { id, title: id, batch: 1, clock: 'wall', samples: 100, opsPerSec: 1e9 / p50Ns, meanNs: p50Ns, p50Ns, p99Ns: p50Ns * 2, rmePct: 1 };
}

function run(tasks: MicroTaskResult[], machine: Partial<MicroResult['machine']> = {}, timeMs = 400): MicroResult {
  return {
    kind: 'micro',
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:20.000Z',
    gitCommit: 'abc1234',
    machine: { cpus: 2, cpuModel: 'AMD EPYC', node: 'v24.21.0', os: 'Linux', totalMemoryGiB: 8, loadAverage: [0.2, 0.2, 0.2], ...machine },
    options: { timeMs, warmupMs: 100, rounds: 1 },
    tasks,
  };
}

describe('verdictFor', () => {
  it('calls a slowdown beyond the threshold a REGRESSION, and one at or under it the same', () => {
    assert.equal(verdictFor(1.26, 25), 'REGRESSION');
    assert.equal(verdictFor(1.25, 25), 'same');
    assert.equal(verdictFor(1.1, 25), 'same');
    assert.equal(verdictFor(1.11, 10), 'REGRESSION');
  });

  it('calls a speed-up by the same factor faster', () => {
    assert.equal(verdictFor(0.79, 25), 'faster');
    assert.equal(verdictFor(0.8, 25), 'same');
    assert.equal(verdictFor(0.9, 25), 'same');
  });

  it('calls a change of less than 10 ns per call the same, whatever its ratio', () => {
    assert.equal(verdictFor(1.5, 25, 9), 'same');
    assert.equal(verdictFor(0.5, 25, -9), 'same');
    assert.equal(verdictFor(1.5, 25, 10), 'REGRESSION');
  });

  it('refuses to judge a ratio that is not a positive number', () => {
    assert.equal(verdictFor(NaN, 25), 'n/a');
    assert.equal(verdictFor(Infinity, 25), 'n/a');
    assert.equal(verdictFor(0, 25), 'n/a');
  });
});

describe('parseThresholdPct', () => {
  it('reads a percentage with or without %', () => {
    assert.equal(parseThresholdPct('25'), 25);
    assert.equal(parseThresholdPct('12.5%'), 12.5);
  });

  it('rejects what is not a sensible percentage', () => {
    for (const bad of ['', 'abc', '0', '-5', '1e3', '1000']) assert.throws(() => parseThresholdPct(bad), /--threshold/, bad);
  });
});

describe('compareMicro', () => {
  it('compares medians task by task and lists the regressions', () => {
    const baseline = run([task('a', 100), task('b', 1000), task('c', 50)]);
    const current = run([task('a', 130), task('b', 700), task('c', 55)]);
    const c = compareMicro(baseline, current, 25);
    assert.deepEqual(
      c.rows.map((r) => [r.id, r.verdict]),
      [
        ['a', 'REGRESSION'],
        ['b', 'faster'],
        ['c', 'same'],
      ],
    );
    assert.equal(c.rows[0]?.ratio, 1.3);
    assert.deepEqual(c.regressions, ['a']);
    assert.deepEqual(c.warnings, []);
  });

  it('uses the median, not the mean: outliers that inflate the mean alone are no regression', () => {
    const baseline = run([task('a', 100)]);
    const noisy = { ...task('a', 105), meanNs: 900, p99Ns: 50_000 };
    assert.deepEqual(compareMicro(baseline, run([noisy])).regressions, []);
  });

  it('applies the threshold it is given, 25% by default', () => {
    const baseline = run([task('a', 100)]);
    const current = run([task('a', 120)]);
    assert.deepEqual(compareMicro(baseline, current).regressions, []);
    assert.deepEqual(compareMicro(baseline, current, 10).regressions, ['a']);
  });

  it('does not judge a few-ns task by its ratio alone', () => {
    const c = compareMicro(run([task('tiny', 14)]), run([task('tiny', 18)]));
    assert.equal(c.rows[0]?.verdict, 'same');
    assert.deepEqual(compareMicro(run([task('tiny', 14)]), run([task('tiny', 40)])).regressions, ['tiny']);
  });

  it("judges a noisy task by its own wider threshold, and says so", () => {
    const noisy = (p50: number): MicroTaskResult => ({ ...task('tokens.short.cached', p50), tolerancePct: 300 });
    const baseline = run([noisy(200), task('plain', 200)]);
    const c = compareMicro(baseline, run([noisy(700), task('plain', 700)]));
    assert.deepEqual(c.regressions, ['plain']);
    assert.equal(c.rows[0]?.thresholdPct, 300);
    assert.match(formatComparison(c, 25, 'x').join('\n'), /tokens\.short\.cached .* same \(noisy task: limit 4\.00×\)/);
    assert.deepEqual(compareMicro(baseline, run([noisy(900)])).regressions, ['tokens.short.cached']);
    // A task's tolerance only ever widens the threshold.
    assert.deepEqual(compareMicro(baseline, run([{ ...task('plain', 300), tolerancePct: 10 }])).regressions, ['plain']);
  });

  it('reports new and missing tasks without failing on them', () => {
    const c = compareMicro(run([task('old', 10), task('kept', 10)]), run([task('kept', 10), task('new', 10)]));
    assert.deepEqual(
      c.rows.map((r) => [r.id, r.verdict]),
      [
        ['kept', 'same'],
        ['new', 'new'],
        ['old', 'missing'],
      ],
    );
    assert.deepEqual(c.regressions, []);
  });

  it('warns when the runs differ in machine, Node, time per task or were made on a busy machine', () => {
    const baseline = run([task('a', 10)]);
    assert.match(compareMicro(baseline, run([task('a', 10)], { cpuModel: 'Apple M3' })).warnings.join('\n'), /different machines/);
    assert.match(compareMicro(baseline, run([task('a', 10)], { node: 'v22.1.0' })).warnings.join('\n'), /Node major/);
    assert.deepEqual(compareMicro(baseline, run([task('a', 10)], { node: 'v24.9.0' })).warnings, []);
    assert.match(compareMicro(baseline, run([task('a', 10)], {}, 200)).warnings.join('\n'), /time per task/);
    assert.match(compareMicro(baseline, run([task('a', 10)], { loadAverage: [3.5, 2, 1] })).warnings.join('\n'), /busy/);
    assert.match(compareMicro(baseline, run([{ ...task('a', 10), clock: 'cpu' }])).warnings.join('\n'), /another clock.*: a$/);
  });
});

describe('formatComparison', () => {
  it('prints a row per task with ratio and verdict, and the regressions at the end', () => {
    const c = compareMicro(run([task('route.by-name', 40), task('sse.openai-text', 30_000)]), run([task('route.by-name', 80), task('sse.openai-text', 29_000)]));
    const text = formatComparison(c, 25, 'bench/results/micro-baseline.json').join('\n');
    assert.match(text, /against bench\/results\/micro-baseline\.json/);
    assert.match(text, /route\.by-name\s+40\.0 ns\s+80\.0 ns\s+2\.00×\s+REGRESSION/);
    assert.match(text, /sse\.openai-text\s+30\.0 µs\s+29\.0 µs\s+0\.97×\s+same/);
    assert.match(text, /1 REGRESSION\(S\): route\.by-name/);
  });

  it('says so when nothing regressed', () => {
    const c = compareMicro(run([task('a', 10)]), run([task('a', 10)]));
    assert.match(formatComparison(c, 25, 'x').join('\n'), /No regression\./);
  });
});

describe('fasterOf', () => {
  it('keeps the measurement with the lower median', () => {
    const slow = task('a', 200);
    const fast = task('a', 150);
    assert.equal(fasterOf(slow, fast), fast);
    assert.equal(fasterOf(fast, slow), fast);
  });
});

describe('result files', () => {
  it('reads back a valid result and rejects a file that is not one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'micro-'));
    try {
      const good = join(dir, 'micro-2026-01-01T00-00-00-000Z.json');
      writeFileSync(good, JSON.stringify(run([task('a', 10)])));
      assert.equal(readMicroResult(good).tasks[0]?.id, 'a');
      const bad = join(dir, 'micro-2026-01-02T00-00-00-000Z.json');
      writeFileSync(bad, JSON.stringify({ kind: 'micro', tasks: 'none' }));
      assert.throws(() => readMicroResult(bad), /not a micro-benchmark result/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the newest timestamped run, never the baseline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'micro-'));
    try {
      assert.equal(latestMicroResult(dir), undefined);
      for (const name of ['micro-2026-01-01T00-00-00-000Z.json', 'micro-2026-03-01T00-00-00-000Z.json', 'micro-baseline.json', '2026-04-01T00-00-00-000Z.json']) {
        writeFileSync(join(dir, name), '{}');
      }
      assert.equal(latestMicroResult(dir), join(dir, 'micro-2026-03-01T00-00-00-000Z.json'));
      assert.equal(latestMicroResult(dir, join(dir, 'micro-2026-03-01T00-00-00-000Z.json')), join(dir, 'micro-2026-01-01T00-00-00-000Z.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
